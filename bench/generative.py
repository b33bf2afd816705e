"""Generated answers from the bundled local models: how much verifies, how often they fall back, how fast.

For each bundled model (SmolLM2-135M-Instruct Q4_1, Gemma 3 270M Q4_K_M) a real llama.cpp server is
started on loopback, and the seed questions (../shared/eval/seed_questions.jsonl over articles/),
the story questions (bench/story_questions2.jsonl over bench/stories + bench/stories2) and a
sample of the dev set's held-aside part (bench/questions/*.jsonl, `held-*` ids, over the corpus
index that bench/run_eval.py builds: every held status question and every fourth of the other
answerable kinds; `--held-every 1` for all) are answered with the generative composer, in the
request shape of `--shape` (`passages`, the default, or `cited`; see qa/compose/brief.py) through
the API each model is served for (SmolLM2 chat, Gemma `/completions`; `--api` to force one).
Printed per model and set:
- kept: share of generated sentences that verified (qa/compose/verify.py);
- fell back: share of answered questions shown as quotes instead (server error, nothing verified,
  or a status answer that disagreed with the newest report);
- verdict agreement: on status questions with a verdict, the share of generated answers whose kept
  sentences agree with the extractive verdict (of those that kept a sentence);
- latency: from the call to the first generated token, and to the final checked answer (p50/p95).
The story set is subsampled (every third question; `--all` for all 60) to keep the run to minutes.

    .venv/bin/python bench/generative.py [--all] [--models smollm2,gemma3] [--sets seed,stories2,held]
        [--shape passages|cited] [--api chat|completions] [--corpus DIR] [--examples]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

import numpy as np

import qa
from qa.compose import LocalServer, agrees
from qa.engine import engine_for

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from stories import build as build_stories  # noqa: E402 - bench/ is not a package

SEEDS = ROOT.parent / "shared" / "eval" / "seed_questions.jsonl"
STORY_QUESTIONS = ROOT / "bench" / "story_questions2.jsonl"
HELD = [ROOT / "bench" / "questions" / "multipart.jsonl", ROOT / "bench" / "questions" / "single_status.jsonl"]
OUT = ROOT / "bench" / "out"


def seed_config() -> qa.Config:
    config = qa.Config(articles=ROOT / "articles", index=OUT / "generative_seeds" / "default")
    qa.build_index(config)
    return config


def rows(path: Path, every: int) -> list[dict]:
    found = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return found[::every]


def held_rows(every: int) -> list[dict]:
    """The held-aside part's status questions, and every `every`-th of its other answerable ones."""
    held = [row for path in HELD for row in rows(path, 1) if row["id"].startswith("held-") and row["kind"] != "unanswerable"]
    status = [row for row in held if row["kind"] == "status"]
    return status + [row for row in held if row["kind"] != "status"][::every]


def run(name: str, config: qa.Config, questions: list[dict], examples: bool) -> dict[str, float | int | str]:
    engine = engine_for(config.index, config)
    kept = total = fell = answered = agree = disagree = 0
    first: list[float] = []
    full: list[float] = []
    reasons: dict[str, int] = {}
    for row in questions:
        start = time.perf_counter()
        first_at = None
        result = None
        for item in engine.answer_stream(row["question"], composer="generative"):
            if isinstance(item, str):
                first_at = first_at or time.perf_counter()
            else:
                result = item
        assert result is not None
        if not result.answered:
            continue
        answered += 1
        full.append(time.perf_counter() - start)
        if first_at:
            first.append(first_at - start)
        total += len(result.claims)
        kept += sum(c.reason is None for c in result.claims)
        for claim in result.claims:
            if claim.reason:
                key = re.sub(r"\[\d+\]|“[^”]*”|\(.*\)|\d+%", "…", claim.reason).strip()
                reasons[key] = reasons.get(key, 0) + 1
        fell += result.composer != "generative"
        if row["kind"] in ("status", "temporal") and result.verdict and any(c.reason is None for c in result.claims):
            if agrees(result.claims, result.verdict, True) is None:
                agree += 1
            else:
                disagree += 1
        if examples:
            print(f"  {row['id']} ({row['kind']}): {row['question']}\n    verdict: {result.verdict}")
            for claim in result.claims:
                print(
                    f"    {'kept' if claim.reason is None else 'DROPPED'}: {claim.text!r}{f' -- {claim.reason}' if claim.reason else ''}"
                )
            why = next((n for n in result.notes if n.startswith(("No generated", "1 generated", "2 generated"))), "")
            print(f"    -> {result.composer}: {result.generated or why}", flush=True)
    p = lambda values, q: float(np.percentile(values, q)) if values else float("nan")  # noqa: E731
    top = sorted(reasons.items(), key=lambda kv: -kv[1])[:4]
    return {
        "set": name,
        "answered": answered,
        "sentences": total,
        "kept": kept / total if total else float("nan"),
        "fell_back": fell / answered if answered else float("nan"),
        "verdict_agreement": agree / (agree + disagree) if agree + disagree else float("nan"),
        "verdicts": agree + disagree,
        "first_p50": p(first, 50),
        "first_p95": p(first, 95),
        "full_p50": p(full, 50),
        "full_p95": p(full, 95),
        "drop_reasons": ", ".join(f"{k} ×{v}" for k, v in top),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--all", action="store_true", help="every story question (default: every third)")
    parser.add_argument("--models", default="smollm2,gemma3")
    parser.add_argument("--examples", action="store_true", help="print every generated answer")
    parser.add_argument("--sets", default="seed,stories2,held")
    parser.add_argument("--shape", choices=["passages", "cited"], default="passages")
    parser.add_argument("--api", choices=["chat", "completions"], help="default: the one each bundled model is served for")
    parser.add_argument("--held-every", type=int, default=4, help="every n-th held non-status question (status: all)")
    parser.add_argument("--corpus", type=Path, default=OUT / "multihop" / "default", help="the corpus index (bench/run_eval.py)")
    args = parser.parse_args()
    chosen = args.sets.split(",")
    sets = []
    if "seed" in chosen:
        sets.append(("seed", seed_config(), rows(SEEDS, 1)))
    if "stories2" in chosen:
        sets.append(("stories2", build_stories(False), rows(STORY_QUESTIONS, 1 if args.all else 3)))
    if "held" in chosen:
        if args.corpus.exists():
            sets.append(("held", qa.Config(index=args.corpus), held_rows(args.held_every)))
        else:
            print(f"No held-aside set: no corpus index at {args.corpus} (bench/run_eval.py builds it; or --corpus DIR)")
    if not sets:
        sys.exit("no question set to run (--sets seed,stories2,held)")
    for model in args.models.split(","):
        with LocalServer(model, sets[0][1]) as server:  # type: ignore[arg-type]
            api = args.api or server.api
            print(f"\n== {model} ({server.path.name}), {server.threads} threads, served at {server.url}; {args.shape} over {api}")
            for name, config, questions in sets:
                generative = config.with_overrides(llm_url=server.url, answer="generative", llm_shape=args.shape, llm_api=api)
                figures = run(name, generative, questions, args.examples)
                print(
                    f"{name:9} answered {figures['answered']:3}  sentences {figures['sentences']:3}  kept {figures['kept']:.0%}  "
                    f"fell back {figures['fell_back']:.0%}  verdict agreement {figures['verdict_agreement']:.0%} "
                    f"(n={figures['verdicts']})  first token p50 {figures['first_p50']:.2f} s p95 {figures['first_p95']:.2f} s  "
                    f"answer p50 {figures['full_p50']:.2f} s p95 {figures['full_p95']:.2f} s"
                )
                print(f"          dropped because: {figures['drop_reasons'] or 'none'}", flush=True)


if __name__ == "__main__":
    main()
