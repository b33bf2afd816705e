"""Sharded serving: is a shard set's ranking the one big index's, and what does a query cost per shard?

    .venv/bin/python bench/shards.py [--index bench/out/multihop/default] [--shards 2 4 8] [--ray]

For each shard count N the corpus index is split (`qa shard`), and every dev question is asked of
the N-shard set and of a 1-shard set (the same index with a freshly written keyword index, so
neither side has deleted documents in its BM25 statistics). Printed per N: how many top-10
rankings are identical, top-1 agreement, the same without the whole set's idf (each shard's own
BM25 statistics), split time, bytes per chunk, and retrieve() p50/p99 with shards in this
process and (`--ray`) with one Ray actor per shard. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

import qa
from qa.engine import Engine
from qa.retrieval import search
from qa.storage import ShardedIndex
from qa.storage.split import split_index

ROOT = Path(__file__).resolve().parents[1]


def size_of(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def rankings(engine: Engine, index: object, questions: list[str], config: qa.Config) -> tuple[list[list[int]], list[float]]:
    out, seconds, requests = [], [], []
    for question in questions:
        started = time.perf_counter()
        sent = getattr(index, "requests", 0)
        query, _ = engine.make_query(question, index)  # type: ignore[arg-type]
        passages = search(index, query, 10, mode=config.mode, where=qa.storage.Filter(), config=config)  # type: ignore[arg-type]
        seconds.append(time.perf_counter() - started)
        requests.append((getattr(index, "requests", 0) - sent) / getattr(index, "shard_count", 1))
        out.append([p.chunk.id for p in passages])
    if isinstance(index, ShardedIndex):
        print(f"  requests per shard per question: mean {np.mean(requests):.2f}, max {max(requests):.0f}")
    return out, seconds


def agreement(a: list[list[int]], b: list[list[int]]) -> str:
    same = sum(x == y for x, y in zip(a, b))
    top1 = sum(bool(x) and bool(y) and x[0] == y[0] for x, y in zip(a, b))
    overlap = np.mean([len(set(x) & set(y)) / max(len(x), 1) for x, y in zip(a, b)])
    return f"identical top-10 {same}/{len(a)}, same top-1 {top1}/{len(a)}, mean top-10 overlap {overlap:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--index", type=Path, default=ROOT / "bench" / "out" / "multihop" / "default")
    parser.add_argument("--shards", type=int, nargs="+", default=[2, 4, 8])
    parser.add_argument("--ray", action="store_true", help="also serve each shard from its own Ray actor")
    args = parser.parse_args()
    config = qa.Config.from_env().with_overrides(index=args.index)
    questions = [
        json.loads(line)["question"] for line in (ROOT / "bench" / "dev_questions.jsonl").read_text().splitlines() if line.strip()
    ]
    work = Path(tempfile.mkdtemp(prefix="qa-shards-"))
    engine = Engine(config, args.index)
    engine.retrieve("warm up", 5)
    try:
        split_index(config, work / "one", 1)
        one = ShardedIndex(work / "one")
        reference, seconds = rankings(engine, one, questions, config)
        single = engine.index()
        direct, direct_seconds = rankings(engine, single, questions, config)
        print(
            f"{len(questions)} dev questions; index {single.manifest['chunks']} chunks, "
            f"{size_of(args.index.resolve()) / single.manifest['chunks']:.0f} bytes per chunk on disk"
        )
        print(
            f"the index itself vs its 1-shard copy: {agreement(direct, reference)} "
            "(differences: BM25 statistics of the deleted documents an incremental build leaves in tantivy)"
        )
        print(
            f"1 shard: retrieve p50 {np.percentile(seconds, 50) * 1000:.1f} ms, p99 {np.percentile(seconds, 99) * 1000:.1f} ms; "
            f"the index itself p50 {np.percentile(direct_seconds, 50) * 1000:.1f} ms"
        )
        for count in args.shards:
            started = time.perf_counter()
            split_index(config, work / f"n{count}", count)
            took = time.perf_counter() - started
            sharded = ShardedIndex(work / f"n{count}")
            got, seconds = rankings(engine, sharded, questions, config)
            own = ShardedIndex(work / f"n{count}", global_idf=False)
            got_own, _ = rankings(engine, own, questions, config)
            print(
                f"{count} shards (split in {took:.1f} s, {size_of(work / f'n{count}') / sharded.manifest['chunks']:.0f} bytes/chunk): "
                f"{agreement(got, reference)}; with each shard's own idf: {agreement(got_own, reference)}"
            )
            print(
                f"  in-process shards: retrieve p50 {np.percentile(seconds, 50) * 1000:.1f} ms, p99 {np.percentile(seconds, 99) * 1000:.1f} ms"
            )
            if args.ray:
                remote = ShardedIndex(work / f"n{count}", workers="ray")
                rankings(engine, remote, questions[:5], config)
                got_remote, seconds = rankings(engine, remote, questions, config)
                print(
                    f"  one Ray actor per shard: retrieve p50 {np.percentile(seconds, 50) * 1000:.1f} ms, "
                    f"p99 {np.percentile(seconds, 99) * 1000:.1f} ms; rankings equal to in-process: "
                    f"{sum(a == b for a, b in zip(got_remote, got))}/{len(got)}"
                )
                import ray

                for actor in remote.remote:
                    ray.kill(actor)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
