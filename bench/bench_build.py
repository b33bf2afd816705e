"""Build speed and query latency, on the sample articles and on the 609-article MultiHop-RAG corpus.

Prints figures; asserts nothing. Indexes go to bench/out/ (git-ignored), so a
later `run_eval.py` reuses the corpus index.

    .venv/bin/python bench/bench_build.py [--skip-corpus]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import time
from pathlib import Path

import qa
from qa.embedding import load_embedder

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
CORPUS = ROOT.parent / "shared" / "corpora" / "multihop_rag_articles.jsonl"
QUESTIONS = ["did the summit happen?", "Who said a Biden-Putin summit was not in the plans?",
             "What did TechCrunch report about OpenAI's leadership in November 2023?",
             "Which sanctions did Western governments impose on Russia?", "Is the Pixel 8 worth buying?"]


def build(name: str, articles: Path) -> qa.Config:
    config = qa.Config(articles=articles, index=OUT / name / "default")
    shutil.rmtree(OUT / name, ignore_errors=True)  # a cold build: nothing reused
    report = qa.build_index(config)
    print(f"{name}: {report.summary()}")
    return config


def latency(config: qa.Config, rounds: int) -> None:
    qa.retrieve(QUESTIONS[0], index=config.index, config=config)  # warm: model and index loaded
    times = []
    for _ in range(rounds):
        for question in QUESTIONS:
            started = time.perf_counter()
            qa.retrieve(question, k=5, index=config.index, config=config)
            times.append(time.perf_counter() - started)
    times.sort()
    print(f"  retrieve(k=5) over {len(times)} calls: p50 {1000 * statistics.median(times):.0f} ms, "
          f"p90 {1000 * times[int(0.9 * len(times))]:.0f} ms")
    started = time.perf_counter()
    for question in QUESTIONS:
        qa.answer(question, config=config)
    print(f"  answer(): mean {1000 * (time.perf_counter() - started) / len(QUESTIONS):.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--skip-corpus", action="store_true")
    args = parser.parse_args()
    started = time.perf_counter()
    load_embedder()
    print(f"model load: {time.perf_counter() - started:.1f} s")
    latency(build("seeds", ROOT / "articles"), rounds=10)
    if args.skip_corpus:
        return
    if not CORPUS.exists():
        print(f"skipping the corpus benchmark: {CORPUS} is not here", file=sys.stderr)
        return
    corpus_dir = OUT / "corpus_articles"
    corpus_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(CORPUS, corpus_dir / CORPUS.name)
    latency(build("multihop", corpus_dir), rounds=4)


if __name__ == "__main__":
    main()
