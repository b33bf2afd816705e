"""Engine v2 figures on the shared corpus: latency against its floor, add/remove one article, ANN recall.

    .venv/bin/python bench/engine.py [--questions 100]

Needs the corpus index (bench/run_eval.py builds it). Prints figures only; nothing is asserted.
- floor: encode the question + one FAISS search, in this process;
- retrieve() and answer() p50/p95 on the dev questions (each question asked once: no cache helps);
- add one new article to the built index (wall time, rank of the new article), then remove it;
- recall@10 of IVF-PQ (+ exact re-scoring of the candidate pool) against exact search, on real
  MiniLM vectors: the corpus's chunk and sentence vectors as the database, the questions as queries.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import faiss
import numpy as np

import qa
from qa.engine import engine_for
from qa.storage.vectors import build_vectors, factory_for, search_vectors

ROOT = Path(__file__).resolve().parents[1]
INDEX = ROOT / "bench" / "out" / "multihop" / "default"
QUESTIONS = ROOT / "bench" / "dev_questions.jsonl"


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values) * 1000, q))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", type=int, default=120)
    args = parser.parse_args()
    questions = [json.loads(line)["question"] for line in QUESTIONS.read_text().splitlines() if line.strip()]
    config = qa.Config.from_env()
    engine = engine_for(INDEX, config)
    index = engine.index()
    encoder = engine.encoder
    engine.retrieve("warm up", 5)
    print(
        f"index: {index.manifest['articles']} articles, {index.manifest['chunks']} chunks, vectors {index.factory}, "
        f"encoder backend {encoder.backend}"
    )

    floor, retrieve, answer = [], [], []
    for q in questions[: args.questions]:
        started = time.perf_counter()
        vector = encoder.encode([q])[0]
        search_vectors(index.vectors, vector, 10, None, config.ivf_nprobe)
        floor.append(time.perf_counter() - started)
    for q in questions[args.questions : 2 * args.questions] or questions[: args.questions]:
        started = time.perf_counter()
        engine.retrieve(q, 5)
        retrieve.append(time.perf_counter() - started)
    for q in questions[: args.questions]:
        started = time.perf_counter()
        engine.answer(q)
        answer.append(time.perf_counter() - started)
    base = statistics.median(floor) * 1000
    print(f"floor (encode + one FAISS search): p50 {base:.1f} ms")
    print(f"retrieve(): p50 {pct(retrieve, 50):.1f} ms ({pct(retrieve, 50) / base:.2f}x floor), p95 {pct(retrieve, 95):.1f} ms")
    print(f"answer():   p50 {pct(answer, 50):.1f} ms ({pct(answer, 50) / base:.2f}x floor), p95 {pct(answer, 95):.1f} ms")

    # Add one article to a copy of the built index, then remove it.
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / "index"
        shutil.copytree(INDEX.resolve(), copy)
        articles = Path(scratch) / "articles"
        articles.mkdir()
        new = Path(scratch) / "harbour.md"
        new.write_text(
            "# Skellig harbour reopens\n\nDate: 2024-06-03\n\nThe harbour of Portmagee reopened on Monday after "
            "engineers from Kerry County Council repaired the storm wall that the March gales had breached. "
            "Ferries to Skellig Michael resume on Wednesday, the council said.\n"
        )
        cfg = config.with_overrides(index=copy, articles=articles)
        started = time.perf_counter()
        report = qa.add_articles([new], cfg)
        added = time.perf_counter() - started
        rank = next(
            (
                p.rank
                for p in qa.retrieve(
                    "When does the Portmagee harbour reopen after the storm wall repair?", k=10, index=copy, config=cfg
                )
                if p.article.id == "harbour.md"
            ),
            None,
        )
        started = time.perf_counter()
        qa.remove_articles(["harbour.md"], cfg)
        removed = time.perf_counter() - started
        gone = all(
            p.article.id != "harbour.md" for p in qa.retrieve("Portmagee harbour storm wall", k=10, index=copy, config=cfg)
        )
        print(
            f"add one article: {added:.2f} s ({report.embedded} chunks embedded), found at rank {rank}; "
            f"remove: {removed:.2f} s, unfindable after: {gone}"
        )

    # ANN recall on real vectors.
    rows = index.connection.execute(
        "SELECT c.vector, s.vectors FROM chunks c JOIN sentence_vectors s ON s.chunk = c.id"
    ).fetchall()
    d = index.dimension
    database = np.concatenate(
        [np.frombuffer(b"".join(r[0] for r in rows), dtype=np.float16).reshape(-1, d)]
        + [np.frombuffer(r[1], dtype=np.float16).reshape(-1, d) for r in rows]
    ).astype(np.float32)
    database /= np.linalg.norm(database, axis=1, keepdims=True)
    queries = encoder.encode(questions)
    ids = np.arange(len(database), dtype=np.int64)
    exact = faiss.IndexFlatIP(d)
    exact.add(database)
    _, truth = exact.search(queries, 10)
    factory = factory_for(len(database), d, exact_below=0)
    started = time.perf_counter()
    ann = build_vectors(factory, ids, database)
    trained = time.perf_counter() - started
    for nprobe in (16, 48):
        faiss.extract_index_ivf(ann).nprobe = nprobe
        hits = 0
        for q, want in zip(queries, truth):
            pool, _ = search_vectors(ann, q, config.candidate_pool, None, nprobe)
            rescored = pool[np.argsort(-(database[pool] @ q))[:10]]  # what retrieval does: exact cosine of the pool
            hits += len(set(rescored.tolist()) & set(want.tolist()))
        print(
            f"recall@10, {factory} nprobe {nprobe} + exact re-scoring of {config.candidate_pool} candidates, "
            f"{len(database):,} real MiniLM vectors, {len(queries)} questions: {hits / (10 * len(queries)):.4f} "
            f"(trained and filled in {trained:.1f} s)"
        )


if __name__ == "__main__":
    main()
