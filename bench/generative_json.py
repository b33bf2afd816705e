"""The request shape not taken (issue 23): one request, the output constrained by a JSON schema.

llama-cpp-python's server takes `response_format={"type": "json_object", "schema": …}` and turns
the schema into a grammar (llama.cpp's own server also takes `"type": "json_schema"`; OpenAI takes
only that form, and other servers may ignore the schema). The schema forces
`{"sentences": [{"text": …, "passage": n}]}` with `n` one of the given passages, so that every
sentence names a passage; the prompt is the `cited` shape's (qa/compose/brief.py `messages`).
Each sentence, cited with its `passage`, goes through the product's verifier as it is. Printed:
sentences written, kept, answers with at least one kept sentence, replies that were not JSON.
Compare with `bench/generative.py --sets seed` (the `passages` shape qa uses).

    .venv/bin/python bench/generative_json.py [--models smollm2,gemma3] [--examples]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import openai

from qa.compose import LocalServer, brief_of, messages, verify
from qa.engine import engine_for

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generative import SEEDS, rows, seed_config  # bench/ is not a package


def schema(numbers: list[int]) -> dict:
    sentence = {
        "type": "object",
        "properties": {"text": {"type": "string"}, "passage": {"type": "integer", "enum": numbers}},
        "required": ["text", "passage"],
    }
    return {
        "type": "object",
        "properties": {"sentences": {"type": "array", "minItems": 1, "maxItems": 3, "items": sentence}},
        "required": ["sentences"],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", default="smollm2")
    parser.add_argument("--examples", action="store_true")
    args = parser.parse_args()
    config = seed_config()
    engine = engine_for(config.index, config)
    for model in args.models.split(","):
        with LocalServer(model, config) as server:  # type: ignore[arg-type]
            client = openai.OpenAI(base_url=server.url, api_key="none", max_retries=0)
            written = kept = answers = useful = broken = 0
            seconds: list[float] = []
            for row in rows(SEEDS, 1):
                answer = engine.answer(row["question"], composer="extractive")
                if not answer.answered:
                    continue
                answers += 1
                brief = brief_of(answer)
                chat = messages(brief)
                chat[0]["content"] += '\nReply in JSON: {"sentences": [{"text": "…", "passage": n}]}'
                start = time.perf_counter()
                reply = client.chat.completions.create(
                    model=server.alias,
                    messages=chat,  # type: ignore[arg-type]
                    temperature=0.0,
                    seed=0,
                    max_tokens=200,
                    extra_body={"response_format": {"type": "json_object", "schema": schema([g.number for g in brief.passages])}},
                )
                seconds.append(time.perf_counter() - start)
                raw = reply.choices[0].message.content or ""
                try:
                    text = " ".join(f"{s['text'].strip()} [{s['passage']}]" for s in json.loads(raw)["sentences"])
                except (ValueError, KeyError, TypeError, AttributeError):
                    broken += 1
                    continue
                claims = verify(text, brief, engine.encoder, min_words=config.verify_words, min_cosine=config.verify_cosine)
                written += len(claims)
                kept += sum(c.reason is None for c in claims)
                useful += any(c.reason is None for c in claims)
                if args.examples:
                    print(f"  {row['id']}: {row['question']}")
                    for c in claims:
                        print(f"    {'kept' if c.reason is None else 'DROPPED'}: {c.text!r} {c.reason or ''}")
            seconds.sort()
            print(
                f"{model}: json schema, seed set: {answers} answered, {written} sentences, kept {kept} "
                f"({kept / max(written, 1):.0%}), answers with a kept sentence {useful} ({useful / max(answers, 1):.0%}), "
                f"not JSON {broken}; reply p50 {seconds[len(seconds) // 2]:.2f} s",
                flush=True,
            )


if __name__ == "__main__":
    main()
