"""Story linking from storage (issue 24) against the one pass it replaced: equality, candidates, cost.

    .venv/bin/python bench/linking.py [--index bench/out/multihop/default] [--reference ae89635] [--batches 4] [--scale 20]

Needs the corpus index (bench/run_eval.py builds it); reads its articles and stored lead vectors
(nothing is embedded) and writes only to a temporary folder. The reference is `qa/stories.py` as
it was at git revision `--reference` (the last one that linked in one pass over every member).
Prints figures only; nothing is asserted.
- equality, one-shot: every corpus article's story, linked in one batch, reference vs now;
- equality, incremental: the articles fed oldest first in `--batches` builds (each build's members
  written to a real index folder by `qa/storage/`, the next build linked against it), then a build
  that replaces every 25th article (the `leaving` path); reference fed the same batches in memory;
- candidates: reports each article's lead is compared with, one-shot (max, p95, mean);
- ANN: how many links a nearest-lead search alone would find (top-k among the earlier reports);
- one new article against the stored corpus (the 20 newest, each in turn): time, peak Python
  memory (tracemalloc, numpy included) and members read, before (load every member and lead
  vector, as the writer did) and now; then the same against the corpus grown `--scale` times with
  reports of other events (names of their own), to show what grows with the corpus and what not.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from qa import Config, stories
from qa.records import Article, Chunk
from qa.storage.writing import IndexStore

ROOT = Path(__file__).resolve().parents[1]
INDEX = ROOT / "bench" / "out" / "multihop" / "default"


def reference_module(revision: str) -> types.ModuleType:
    """`qa/stories.py` at `revision`, loaded as a module of the `qa` package (its relative imports hold)."""
    source = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{revision}:qa/stories.py"], capture_output=True, text=True, check=True
    ).stdout
    module = types.ModuleType("qa._reference_stories")
    module.__package__ = "qa"
    sys.modules[module.__name__] = module
    exec(compile(source, f"{revision}:qa/stories.py", "exec"), module.__dict__)
    return module


def corpus(index: Path) -> tuple[list[Article], np.ndarray]:
    """The corpus index's articles and stored lead vectors (read-only: the folder is not ours)."""
    connection = sqlite3.connect(f"file:{index / 'qa.sqlite'}?mode=ro", uri=True)
    rows = connection.execute(
        "SELECT a.id, a.title, a.date, a.source, a.url, a.author, a.text, c.vector FROM articles a "
        "LEFT JOIN chunks c ON c.article = a.key AND c.ordinal = 0 ORDER BY a.key"
    ).fetchall()
    articles = [Article(r[0], r[6], r[1], dt.date.fromordinal(r[2]) if r[2] else None, r[3], r[4], r[5]) for r in rows]
    return articles, np.array([np.frombuffer(r[7], dtype=np.float16) for r in rows], dtype=np.float32)


def write(store: IndexStore, generation: int, members: list[tuple[Article, stories.StoryMember, np.ndarray]]) -> None:
    """One generation adding these articles with their stories and lead vectors (one chunk each), by `qa/storage/`."""
    with store.generation(generation) as new:
        chunks = [
            Chunk(a.id, 0, min(len(a.text), 200), (), 1, f"h{generation}-{n}", generation * 10_000_000 + n)
            for n, (a, _, _) in enumerate(members)
        ]
        vectors = np.array([v for _, _, v in members], dtype=np.float32).reshape(len(members), -1)
        dimension = vectors.shape[1]
        new.insert([(a, "hash", m) for a, m, _ in members], chunks, vectors, [np.zeros((0, dimension), np.float32)] * len(chunks))
        new.publish({"dimension": dimension})
    store.reread_meta()


def measure(run: Callable[..., Any], *args: Any) -> tuple[Any, float, float]:
    """What `run(*args)` returns, its seconds and its peak traced memory (MB)."""
    tracemalloc.start()
    started = time.perf_counter()
    got = run(*args)
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    return got, seconds, peak


def load_everyone(store: IndexStore, leaving: set[str], dimension: int) -> tuple[list[stories.StoryMember], np.ndarray]:
    """What the writer read before each link (`IndexStore.story_members`, removed): every member and lead vector."""
    from qa.storage.stories import read_names

    rows = [
        r
        for r in store.connection.execute(
            "SELECT a.id, a.date, a.source, a.story, a.names, c.vector FROM articles a LEFT JOIN chunks c "
            "ON c.article = a.key AND c.ordinal = 0"
        )
        if r[0] not in leaving
    ]
    members = []
    for r in rows:
        names, subject = read_names(r[4])
        members.append(stories.StoryMember(r[0], dt.date.fromordinal(r[1]) if r[1] else None, r[2], names, r[3], subject))
    vectors = np.array([np.frombuffer(r[5], dtype=np.float16) for r in rows], dtype=np.float32).reshape(-1, dimension)
    return members, vectors


def one_new_article(
    store: IndexStore,
    reference: types.ModuleType,
    newest: list[int],
    articles: list[Article],
    vectors: np.ndarray,
    config: Config,
) -> None:
    """Each of `newest` linked anew against every other stored article, as a build adding it would."""
    dimension = vectors.shape[1]
    before_t, before_m, now_t, now_m, read, same = [], [], [], [], [], 0

    def today(i: int) -> list[Any]:
        known, known_vectors = load_everyone(store, {articles[i].id}, dimension)
        return reference.assign_stories([articles[i]], vectors[i : i + 1], config, known, known_vectors)

    def now(i: int) -> stories.Linking:
        return stories.assign_stories([articles[i]], vectors[i : i + 1], config, store.stories({articles[i].id}, dimension))

    for i in newest:
        old, seconds, peak = measure(today, i)
        before_t.append(seconds)
        before_m.append(peak)
        new, seconds, peak = measure(now, i)
        now_t.append(seconds)
        now_m.append(peak)
        read.append(new.read)
        same += old[0].story == new.members[0].story
    stored = store.stories(set(), dimension).articles()
    print(
        f"  {stored:,} stored articles: before {statistics.median(before_t) * 1000:.1f} ms, peak {max(before_m):.1f} MB, "
        f"{stored - 1:,} members read | now {statistics.median(now_t) * 1000:.1f} ms, peak {max(now_m):.2f} MB, "
        f"members read median {statistics.median(read):.0f}, max {max(read)} | same story {same}/{len(newest)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--index", type=Path, default=INDEX)
    parser.add_argument("--reference", default="ae89635", help="git revision of the one-pass qa/stories.py")
    parser.add_argument("--batches", type=int, default=4)
    parser.add_argument("--scale", type=int, default=20)
    args = parser.parse_args()
    if not (args.index / "qa.sqlite").exists():
        raise SystemExit(f"no corpus index at {args.index}: run bench/run_eval.py first")
    reference = reference_module(args.reference)
    config = Config()
    articles, vectors = corpus(args.index)
    print(f"{len(articles)} articles, lead vectors {vectors.shape}; reference qa/stories.py at {args.reference}")

    # (a) one-shot
    before = reference.assign_stories(articles, vectors, config)
    now = stories.assign_stories(articles, vectors, config)
    differ = sum(b.story != n.story for b, n in zip(before, now.members))
    print(f"one-shot: {len(articles) - differ}/{len(articles)} same story id ({len({m.story for m in now.members})} stories)")
    mentions: dict[str, set[int]] = {}
    shares = [0] * len(articles)  # today's candidates: the earlier reports that share any name
    for i in sorted(range(len(articles)), key=lambda i: (articles[i].date or dt.date.max, articles[i].id)):
        shares[i] = len(set().union(*(mentions.get(n, set()) for n in now.members[i].names)))
        for n in now.members[i].names:
            mentions.setdefault(n, set()).add(i)
    for label, counts in (("before (share any name)", shares), ("now (share a telling name)", now.compared)):
        print(
            f"  reports compared per article, {label}: max {max(counts)}, p95 {np.percentile(counts, 95):.0f}, "
            f"mean {np.mean(counts):.1f}"
        )
    ann(articles, vectors, now.members)

    # (b) incremental, through a real index folder
    order = sorted(range(len(articles)), key=lambda i: (articles[i].date or dt.date.max, articles[i].id))
    batches = [sorted(part.tolist()) for part in np.array_split(np.array(order), args.batches)]
    with tempfile.TemporaryDirectory() as tmp, IndexStore(Path(tmp), Path(tmp)) as store:
        dimension = vectors.shape[1]
        known: list[Any] = []
        known_vectors = np.zeros((0, dimension), np.float32)
        story_before: dict[str, str] = {}
        story_now: dict[str, str] = {}
        reads = []
        for n, batch in enumerate(batches, start=1):
            got = reference.assign_stories([articles[i] for i in batch], vectors[batch], config, known, known_vectors)
            known, known_vectors = known + got, np.concatenate([known_vectors, vectors[batch]])
            story_before.update({m.article_id: m.story for m in got})
            linking = stories.assign_stories(
                [articles[i] for i in batch], vectors[batch], config, store.stories(set(), dimension)
            )
            reads.append(linking.read)
            story_now.update({m.article_id: m.story for m in linking.members})
            write(store, n, [(articles[i], m, vectors[i]) for i, m in zip(batch, linking.members)])
        same = sum(story_before[a] == story_now[a] for a in story_before)
        print(
            f"incremental ({args.batches} builds by date): {same}/{len(articles)} same story id; stored members read per build "
            f"{reads} (before: {[sum(len(b) for b in batches[:k]) for k in range(len(batches))]})"
        )
        changed = order[::25]
        ids = {articles[i].id for i in changed}
        kept = [k for k in known if k.article_id not in ids]
        kept_vectors = np.array([known_vectors[j] for j, k in enumerate(known) if k.article_id not in ids])
        got = reference.assign_stories([articles[i] for i in changed], vectors[changed], config, kept, kept_vectors)
        linking = stories.assign_stories([articles[i] for i in changed], vectors[changed], config, store.stories(ids, dimension))
        same = sum(a.story == b.story for a, b in zip(got, linking.members))
        print(f"  a build replacing {len(changed)} stored articles (leaving): {same}/{len(changed)} same story id")
        print("one new article against the stored corpus (the 20 newest, each replaced in turn):")
        one_new_article(store, reference, order[-20:], articles, vectors, config)
    if args.scale > 1:
        grown(articles, vectors, story_now, order[-20:], args.scale, reference, config)


def grown(
    articles: list[Article],
    vectors: np.ndarray,
    story: dict[str, str],
    newest: list[int],
    scale: int,
    reference: types.ModuleType,
    config: Config,
) -> None:
    """The corpus plus (scale - 1) copies of it whose names are their own (other events), then one new article."""
    with tempfile.TemporaryDirectory() as tmp, IndexStore(Path(tmp), Path(tmp)) as store:
        write(store, 1, [(a, _member(a, story[a.id], ""), v) for a, v in zip(articles, vectors)])
        for copy in range(1, scale):
            tag = f"~{copy}"
            write(
                store,
                copy + 1,
                [
                    (dataclasses.replace(a, id=a.id + tag, text=a.text[:200]), _member(a, story[a.id] + tag, tag), v)
                    for a, v in zip(articles, vectors)
                ],
            )
        print(f"the same, the corpus grown {scale} times with reports of other events (names of their own):")
        one_new_article(store, reference, newest, articles, vectors, config)


def _member(article: Article, story: str, tag: str) -> stories.StoryMember:
    member = stories.member_of(article)
    return dataclasses.replace(
        member,
        article_id=article.id + tag,
        story=story,
        names=frozenset(n + tag for n in member.names),
        subject=frozenset(n + tag for n in member.subject),
    )


def ann(articles: list[Article], vectors: np.ndarray, members: list[stories.StoryMember]) -> None:
    """Links a nearest-lead search alone would reach: for each article that joined an earlier story, the
    rank of that story's nearest earlier report among all earlier reports (exact search: an ANN index
    can only do worse)."""
    order = sorted(range(len(articles)), key=lambda i: (articles[i].date or dt.date.max, articles[i].id))
    ranks = []
    for n, i in enumerate(order):
        if members[i].story == articles[i].id or n == 0:
            continue
        earlier = np.array(order[:n])
        similarity = vectors[earlier] @ vectors[i]
        inside = np.array([members[j].story == members[i].story for j in earlier])
        best = similarity[inside].max()
        ranks.append(int((similarity > best).sum()) + 1)
    ranks_array = np.array(ranks)
    found = ", ".join(f"top-{k}: {(ranks_array <= k).mean():.0%}" for k in (1, 5, 20, 100))
    print(f"  joined an earlier story: {len(ranks)} articles; that story's nearest report within the nearest leads, {found}")
    print(f"  (rank among the earlier reports: median {np.median(ranks_array):.0f}, max {ranks_array.max()})")


if __name__ == "__main__":
    main()
