"""Writer throughput of `qa build --ray --shards N`: the writing step alone, with 1, 2 and 4 shard writers.

    .venv/bin/python bench/shard_writers.py [--index bench/out/multihop/default] [--writers 1 2 4]

The articles, chunks, vectors and stories of a built index (copied first: the index is only read)
are given to the driver's `ShardRouter` as `build_shards` gives them after embedding, so the
encoder does not count. For each N, on a two-node Ray cluster on this machine (`ray start`, one
CPU a node), N writer actors are started, then timed: routing (the driver makes each article's rows
and sends them to its shard's writer) and the writers' work (SQLite rows, then FAISS, tantivy and
ballast), then the set's BM25 statistics (`terms.sqlite`, counted here from the written shards).
Printed: chunks/s of the writing step, the driver's share (routing, storing the statistics, and story
linking of every article, which a build also does here), and the same with one writer in this
process (no Ray) as the floor. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from ray_cluster import loopback_cluster  # noqa: E402

import qa  # noqa: E402
from qa.indexing.shard_writers import ShardRouter  # noqa: E402
from qa.records import Article, Chunk  # noqa: E402
from qa.storage.metadata import ARTICLE_COLUMNS, article_from_row, chunk_from_row, from_f16  # noqa: E402
from qa.storage.split import write_set_manifest  # noqa: E402
from qa.storage.stories import read_names  # noqa: E402
from qa.stories import StoryMember, assign_stories  # noqa: E402


def load(index: Path, work: Path) -> tuple[dict, list[tuple[Article, StoryMember]], list[Chunk], np.ndarray, list[np.ndarray]]:
    """What the driver holds after embedding: articles with stories (in key order), chunks, vectors."""
    copy = work / "source.sqlite"
    shutil.copyfile(index / "qa.sqlite", copy)  # its WAL is empty after a build: the file is the index
    connection = sqlite3.connect(copy)
    meta = {k: json.loads(v) for k, v in connection.execute("SELECT key, value FROM meta")}
    dimension = int(meta["dimension"])
    members = []
    for row in connection.execute(f"SELECT {ARTICLE_COLUMNS}, story, names FROM articles ORDER BY key"):
        article = article_from_row(row[:8])
        names, subject = read_names(row[9])
        members.append((article, StoryMember(article.id, article.date, article.source, names, row[8], subject)))
    chunks, vectors, sentences = [], [], []
    for row in connection.execute(
        "SELECT a.id, c.id, c.start, c.end, c.token_count, c.content_hash, c.sentences, c.vector, s.vectors "
        "FROM chunks c JOIN articles a ON a.key = c.article LEFT JOIN sentence_vectors s ON s.chunk = c.id "
        "ORDER BY c.article, c.ordinal"
    ):
        chunks.append(chunk_from_row(*row[:7]))
        vectors.append(from_f16(row[7], dimension)[0])
        sentences.append(from_f16(row[8] or b"", dimension))
    connection.close()
    return meta, members, chunks, np.stack(vectors), sentences


def write(router: ShardRouter, meta: dict, members: list, chunks: list, vectors: np.ndarray, sentences: list) -> dict:
    started = time.perf_counter()
    router.add(members, chunks, vectors, sentences)
    router._wait(0)  # every row is in its shard's SQLite
    rows = time.perf_counter() - started
    sizes = router.finish(meta)
    written = time.perf_counter()
    write_set_manifest(router.staging, sizes, 1, model=str(meta["model"]), source="bench")  # counts every shard's terms here
    done = time.perf_counter()
    return {"seconds": done - started, "rows": rows, "routing": router.routing_seconds, "statistics": done - written}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--index", type=Path, default=ROOT / "bench" / "out" / "multihop" / "default")
    parser.add_argument("--writers", type=int, nargs="+", default=[1, 2, 4])
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="qa-shardwriters-"))
    config = qa.Config.from_env()
    try:
        meta, members, chunks, vectors, sentences = load(args.index, work)
        n = len(chunks)
        print(f"{len(members)} articles, {n} chunks from {args.index} (dimension {meta['dimension']})")

        first = {}
        for i, chunk in enumerate(chunks):
            first.setdefault(chunk.article_id, i)
        leads = np.array([vectors[first[a.id]] for a, _ in members], dtype=np.float32)
        started = time.perf_counter()
        assign_stories([a for a, _ in members], leads, config)
        linking = time.perf_counter() - started
        print(f"driver: story linking of all {len(members)} articles {linking:.2f} s")

        with loopback_cluster(workers=1) as env:
            os.environ.update(env)  # Ray reads its authentication settings when it is imported
            import ray

            ray.init(address=env["RAY_ADDRESS"], include_dashboard=False, log_to_driver=False)
            print(f"cluster: head 127.0.0.2 + 1 worker node, 1 CPU each, at {env['RAY_ADDRESS']}")
            for writers in args.writers:
                started = time.perf_counter()
                router = ShardRouter(work / f"ray-{writers}", writers, config, ray)
                nodes = router.nodes()  # every actor has started
                startup = time.perf_counter() - started
                got = write(router, meta, members, chunks, vectors, sentences)
                router.close()
                driver = got["routing"] + linking + got["statistics"]
                print(
                    f"{writers} writer actor(s) on {len(set(nodes))} node(s): {got['seconds']:.1f} s, "
                    f"{n / got['seconds']:.0f} chunks/s (rows in {got['rows']:.1f} s; started in {startup:.1f} s); "
                    f"driver: routing {got['routing']:.1f} s + linking {linking:.1f} s + the set's term statistics "
                    f"{got['statistics']:.1f} s = {driver:.1f} s, "
                    f"{driver / got['seconds']:.0%} of the wall time, a ceiling of {n / driver:.0f} chunks/s"
                )
            ray.shutdown()
        here = ShardRouter(work / "here", 1, config)
        got = write(here, meta, members, chunks, vectors, sentences)
        here.close()
        print(
            f"1 writer in this process (no Ray): {got['seconds']:.1f} s, {n / got['seconds']:.0f} chunks/s "
            f"(rows made and written in {got['rows']:.1f} s, then FAISS, tantivy and ballast; "
            f"then the set's term statistics {got['statistics']:.1f} s)"
        )

    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
