"""Calibrate the abstention threshold (`Config.min_score`) on measurements, not guesses.

For each question of the seed set (two-article index) and of our development set
(609-article index) it prints the abstention signal, best cosine similarity plus
best BM25 coverage among the top k passages, and the range of each group, then
the thresholds that separate answerable from unanswerable questions on each set.

    .venv/bin/python bench/calibrate.py
"""

from __future__ import annotations

from pathlib import Path

import qa
from qa.evaluation import load_questions

ROOT = Path(__file__).resolve().parents[1]
SETS = [
    ("seeds", ROOT.parent / "shared" / "eval" / "seed_questions.jsonl", ROOT / "bench" / "out" / "seeds" / "default"),
    ("multihop dev set", ROOT / "bench" / "dev_questions.jsonl", ROOT / "bench" / "out" / "multihop" / "default"),
]


def main() -> None:
    for name, questions, index in SETS:
        if not questions.exists() or not index.exists():
            print(f"{name}: skipped ({questions} or {index} missing; run bench/bench_build.py first)")
            continue
        config = qa.Config(index=index)
        answerable, unanswerable = [], []
        for q in load_questions(questions):
            passages = qa.retrieve(q.question, k=config.k, config=config)
            signal = max(p.similarity for p in passages) + max(p.keyword for p in passages)
            (answerable if q.quotes else unanswerable).append((signal, q.question))
        low = min(answerable)
        high = max(unanswerable)
        print(f"{name}: answerable ≥ {low[0]:.3f} ({low[1]!r}); unanswerable ≤ {high[0]:.3f} ({high[1]!r})")
        wrong_declines = sum(signal < config.min_score for signal, _ in answerable)
        wrong_answers = sum(signal >= config.min_score for signal, _ in unanswerable)
        print(f"  answerable, lowest three: {[round(s, 3) for s, _ in sorted(answerable)[:3]]}; "
              f"unanswerable: {[round(s, 3) for s, _ in sorted(unanswerable)]}")
        print(f"  at min_score = {config.min_score}: {wrong_declines}/{len(answerable)} answerable declined, "
              f"{wrong_answers}/{len(unanswerable)} unanswerable answered")


if __name__ == "__main__":
    main()
