"""Status questions over the shared corpus: does the newest report lead, with the sentence that says it?

`bench/questions/single_status.jsonl` holds status questions (kind "status") written from the
609 MultiHop-RAG articles (trials, deals, executives, strikes, launches…), each with the report
and the sentence that must lead the answer. Prints, per question and in all, whether the answer
leads with that report and quotes that sentence, and how many verdicts come from an older report.

    .venv/bin/python bench/status_questions.py [--part dev|held|all]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from run_eval import corpus_index

import qa
from qa.evaluation import normalise

QUESTIONS = Path(__file__).resolve().parent / "questions" / "single_status.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--part", choices=["all", "dev", "held"], default="dev")
    args = parser.parse_args()
    config = corpus_index()
    rows = [json.loads(line) for line in QUESTIONS.read_text().splitlines() if line.strip()]
    rows = [r for r in rows if r["kind"] == "status" and (args.part == "all" or r["id"].startswith(args.part))]
    led = sentence = answered = 0
    for row in rows:
        result = qa.answer(row["question"], config=config)
        want = row["relevant"][0]["article"]
        lead = result.passages[0].article.url if result.answered and result.passages else None
        ok = lead == want
        quoted = " ".join(q.text for q in result.lead.quotes) if result.lead else ""
        hit = ok and normalise(row["lead"]) in normalise(quoted)
        led, sentence, answered = led + ok, sentence + hit, answered + result.answered
        print(f"{'ok ' if ok else 'MISS'} {'sentence' if hit else '        '} {row['id']:12} {result.verdict!r}")
    n = max(len(rows), 1)
    print(
        f"\n{len(rows)} status questions: answered {answered / n:.3f}; the expected report leads {led}/{len(rows)} = "
        f"{led / n:.3f}; with the expected sentence {sentence}/{len(rows)} = {sentence / n:.3f}"
    )


if __name__ == "__main__":
    main()
