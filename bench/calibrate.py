"""Calibrate abstention (`Config.min_support`, `Config.min_part_support`) on measurements.

For every question of the tuning parts (`dev-*`) of the question sets over the 609-article corpus
(`dev_questions.jsonl`, and issue 19's `questions/multipart.jsonl` and `questions/single_status.jsonl`)
and of the seed set (two-article index), it takes the passages `answer()` would judge (the top
`k`) and, for each part of the question (`qa/parts.py`; a question of one part is one part), the
best support a passage gives it (`qa/evidence.py`: cosine + BM25 share + idf-weighted share of the
part's own words).

For each threshold it prints, per set: answerable questions fully supported, answerable ones
answered at all (some part supported), unanswerable ones not fully supported, unanswerable ones
"not found". Questions of one part and parts of multi-part questions are printed apart, since
they have a threshold each. `--part held` gives the same on the held-aside parts: look at them
once, at the end.

    .venv/bin/python bench/calibrate.py [--part dev|held]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from run_eval import corpus_index

import qa
from qa.engine import engine_for
from qa.evaluation import load_questions
from qa.retrieval import search
from qa.storage import Filter

ROOT = Path(__file__).resolve().parents[1]
CORPUS_SETS = {
    "dev_questions": ROOT / "bench" / "dev_questions.jsonl",
    "multipart": ROOT / "bench" / "questions" / "multipart.jsonl",
    "single_status": ROOT / "bench" / "questions" / "single_status.jsonl",
}
SEEDS = ROOT.parent / "shared" / "eval" / "seed_questions.jsonl"


def best_support(config: qa.Config, questions: list) -> list[tuple[bool, list[float]]]:
    """(answerable, best support of each part) per question."""
    engine = engine_for(config.index, config)
    index = engine.index()
    rows = []
    for q in questions:
        query, _ = engine.make_query(q.question, index)
        passages = search(index, query, config.k, mode=config.mode, where=Filter(), config=config)
        rows.append((bool(q.quotes), [max((p.support[n] for p in passages), default=0.0) for n in range(len(query.parts))]))
    return rows


def shares(rows: list[tuple[bool, list[float]]], threshold: float) -> tuple[float, ...]:
    answerable = [b for a, b in rows if a]
    unanswerable = [b for a, b in rows if not a]

    def share(items: list[list[float]], test: object) -> float:
        return sum(test(b) for b in items) / len(items) if items else float("nan")  # type: ignore[operator]

    return (
        share(answerable, lambda b: all(x >= threshold for x in b)),
        share(answerable, lambda b: any(x >= threshold for x in b)),
        share(unanswerable, lambda b: not all(x >= threshold for x in b)),
        share(unanswerable, lambda b: not any(x >= threshold for x in b)),
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--part", choices=["dev", "held"], default="dev")
    args = parser.parse_args()
    corpus = corpus_index()
    measured: dict[str, list[tuple[bool, list[float]]]] = {}
    for name, path in CORPUS_SETS.items():
        measured[name] = best_support(corpus, [q for q in load_questions(path) if q.id.startswith(args.part)])
    if SEEDS.exists() and args.part == "dev":
        seeds = qa.Config(articles=ROOT / "articles", index=ROOT / "bench" / "out" / "seeds" / "default")
        if not seeds.index.exists():
            qa.build_index(seeds)
        measured["seeds"] = best_support(seeds, load_questions(SEEDS))
    config = qa.Config()
    print("answerable: fully supported / answered at all; unanswerable: not fully supported / not found")
    for kind, one_part, configured in (("one part", True, config.min_support), ("multi-part", False, config.min_part_support)):
        print(f"\n== questions of {kind} (configured: {configured}) ==")
        for threshold in sorted({round(configured + d, 2) for d in (-0.2, -0.1, -0.05, 0.0, 0.05, 0.1, 0.2)}):
            cells = []
            for name, rows in measured.items():
                picked = [r for r in rows if (len(r[1]) == 1) == one_part]
                if picked:
                    cells.append(f"{name} " + "/".join(f"{x:.2f}" for x in shares(picked, threshold)) + f" (n={len(picked)})")
            print(f"{threshold:5.2f}{' *' if threshold == configured else '  '} " + "; ".join(cells))


if __name__ == "__main__":
    main()
