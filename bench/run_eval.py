"""Retrieval quality on our own development questions over the MultiHop-RAG corpus.

Builds the corpus index in bench/out/ if it is not there yet, then runs the
same evaluation as `qa eval` for each retrieval mode, on the tuning part
(`dev-*`) and the held-aside part (`held-*`) separately. Prints figures only.

    .venv/bin/python bench/run_eval.py [--k 10] [--modes hybrid,dense,bm25]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import qa
from qa.evaluation import evaluate, format_report, load_questions

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
CORPUS = ROOT.parent / "shared" / "corpora" / "multihop_rag_articles.jsonl"
QUESTIONS = ROOT / "bench" / "dev_questions.jsonl"
#: Issue 19's set: long multi-part, comparison and temporal questions, single facts, status
#: questions and unanswerable ones shaped like them, written by people who had not read the code.
NEW_SETS = [ROOT / "bench" / "questions" / "multipart.jsonl", ROOT / "bench" / "questions" / "single_status.jsonl"]
#: Null questions: long questions about what the corpus never reports (an invented company or
#: person, an event that did not happen, a league or election it never covers); all must be declined.
NULL_SET = ROOT / "bench" / "questions" / "null.jsonl"


def corpus_index() -> qa.Config:
    config = qa.Config(articles=OUT / "corpus_articles", index=OUT / "multihop" / "default")
    if not config.index.exists():
        if not CORPUS.exists():
            sys.exit(f"{CORPUS} is not here; it lives in the shared folder beside the checkout")
        config.articles.mkdir(parents=True, exist_ok=True)
        shutil.copy(CORPUS, config.articles / CORPUS.name)
        print(qa.build_index(config).summary())
    return config


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--modes", default="hybrid,dense,bm25")
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--set",
        choices=["old", "new", "null"],
        default="old",
        help="bench/dev_questions.jsonl, bench/questions/, or its null set",
    )
    parser.add_argument("--parts", default="dev,held", help="which parts to score: keep held for the final figures")
    args = parser.parse_args()
    config = corpus_index()
    paths = {"old": [QUESTIONS], "new": NEW_SETS, "null": [NULL_SET]}[args.set]
    questions = [q for path in paths for q in load_questions(path)]
    parts = {part: [q for q in questions if q.id.startswith(part)] for part in args.parts.split(",")}
    results = {}
    for mode in args.modes.split(","):
        for part, subset in parts.items():
            report = evaluate(subset, k=args.k, mode=mode, config=config)
            results[f"{mode}/{part}"] = report
            if not args.json:
                print(f"\n== {mode}, {part} part ({len(subset)} questions) ==\n{format_report(report)}")
    if args.json:
        print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
