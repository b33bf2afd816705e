"""One question's reads, asked of an index in two requests: ranking (`Probe`), then passages (`Fetch`).

Ranking needs many small things of the index: each pool's keyword and dense neighbours, the rows
of every candidate, BM25 of each candidate for the question and for each of its parts, the best
score each word reaches, how many chunks hold each word. Asked one by one, a shard set pays a
round trip for each (14 per shard for a status question, 28 for a multi-part one). Gathered here,
a question costs each shard two requests: a `Probe` (everything ranking needs) and a `Fetch` (the
texts of the passages to show, and for a status question its story brought in whole). A third
one is needed only when ranking then picks a passage the fetch did not bring (rare).

The functions below answer both requests for one `Index` in process; `ShardedIndex` sends the same
requests to each shard and merges the answers (`merge_probed`, `merge_fetched`), so one index and a
shard set rank alike.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..records import Article, Chunk
from .metadata import CandidateRows

if TYPE_CHECKING:
    from .filters import Filter
    from .reader import Index

__all__ = ["Pool", "Probe", "Probed", "Fetch", "Fetched", "probe_index", "fetch_index", "merge_probed", "merge_fetched"]

#: A chunk with its article (text included) and its sentences' vectors: what a passage is made of.
Loaded = tuple[Chunk, Article, np.ndarray]


@dataclass(frozen=True)
class Pool:
    """A pool of candidates: the best chunks for these words and this vector among those `where` admits."""

    terms: tuple[str, ...]
    vector: np.ndarray
    where: Filter


@dataclass(frozen=True)
class Probe:
    """Everything ranking asks of an index for one question."""

    pools: tuple[Pool, ...]
    where: Filter  #: what every candidate must pass
    size: int  #: each pool's length (`Config.candidate_pool`)
    listed_max: int  #: above this many chunks a filter is applied after the dense search (`Config.listed_filter_max`)
    scored: tuple[tuple[str, ...], ...]  #: word lists whose BM25 every candidate needs (question, parts, parts' content)


@dataclass(frozen=True)
class Probed:
    """An index's answer to a `Probe`."""

    keyword: tuple[tuple[np.ndarray, np.ndarray], ...]  #: per pool: ids and BM25, best first
    dense: tuple[tuple[np.ndarray, np.ndarray], ...]  #: per pool: ids and similarity, best first
    rows: CandidateRows  #: every pooled chunk `Probe.where` admits, in pool order
    bm25: tuple[np.ndarray, ...]  #: per `Probe.scored` list, row for row
    maxes: dict[str, float]  #: the best BM25 each scored word reaches anywhere
    chunks: int  #: real chunks (ballast not counted)
    holding: dict[str, int]  #: chunks holding each scored word


@dataclass(frozen=True)
class Fetch:
    """What the passages of one question need, once it is ranked."""

    chunks: tuple[int, ...]  #: chunks whose text and article are shown
    story: str | None  #: a story whose chunks are brought in whole (a status question), else None
    reports: str | None  #: a story whose articles the answer lists (the first passage's)
    where: Filter
    scored: tuple[tuple[str, ...], ...]  #: as `Probe.scored`, for the story's chunks
    weights: tuple[float, float]  #: (keyword, similarity) weights of ranking: each story article's best chunk is loaded
    vector: np.ndarray  #: the question's vector


@dataclass(frozen=True)
class Fetched:
    """An index's answer to a `Fetch`."""

    loaded: dict[int, Loaded]
    story_rows: CandidateRows  #: every chunk of the story `where` admits
    story_bm25: tuple[np.ndarray, ...]  #: per `Fetch.scored` list, row for row
    reports: tuple[Article, ...]  #: the articles of `Fetch.reports`


def probe_index(index: Index, probe: Probe, boosts: Mapping[str, float] | None = None) -> Probed:
    """`probe` answered by one index; `boosts` turn a shard's idf of each word into its set's."""
    if probe.where and not index.admits_any(probe.where):
        return merge_probed([], probe, index.dimension)
    keyword, dense = [], []
    for pool in probe.pools:
        keyword.append(index.keyword(pool.terms, probe.size, pool.where, boosts))
        dense.append(_dense(index, pool, probe.size, probe.listed_max))
    ids = np.concatenate([np.zeros(0, dtype=np.int64), *(p[0] for pair in zip(keyword, dense) for p in pair)])
    rows = index.candidates(ids)
    if probe.where:
        rows = rows.where(probe.where.admits(rows.sources, rows.dates))
    scored = [index.keyword_scores(terms, rows.ids, boosts) for terms in probe.scored]
    words = list(dict.fromkeys(t for terms in probe.scored for t in terms))
    maxes = {t: m * (boosts.get(t, 1.0) if boosts else 1.0) for t, m in index.term_maxes(words).items()}
    _, chunks, holding = index.term_statistics(words)
    return Probed(tuple(keyword), tuple(dense), rows, tuple(scored), maxes, chunks, dict(zip(words, holding)))


def _dense(index: Index, pool: Pool, size: int, listed_max: int) -> tuple[np.ndarray, np.ndarray]:
    """The nearest chunks among those `pool.where` admits.

    A selective filter goes into FAISS as an id selector. A broad one would cost more to list (at
    1M chunks one large outlet is ~100k ids, 0.13 s) than to skip: the search then takes more
    neighbours and keeps those the filter admits, in order (bench/README.md).
    """
    where = pool.where
    if not where:
        return index.dense_scored(pool.vector, size, None)
    share = index.share(where)
    if share * index.manifest["chunks"] <= listed_max:
        return index.dense_scored(pool.vector, size, index.filtered_ids(where))
    ids, scores = index.dense_scored(pool.vector, min(int(1.5 * size / max(share, 1e-9)) + 1, 20 * size), None)
    keep = set(index.admitted(ids, where).tolist())
    picked = np.array([n for n, i in enumerate(ids) if int(i) in keep], dtype=np.int64)[:size]
    return ids[picked], scores[picked]


def fetch_index(index: Index, fetch: Fetch, boosts: Mapping[str, float] | None = None) -> Fetched:
    """`fetch` answered by one index: the chunks asked for, and the story's rows, articles and each
    article's best chunk (the newest report's may lead, `retrieval._story_first`)."""
    wanted = list(fetch.chunks)
    rows, scored = CandidateRows.empty(index.dimension), ()
    reports = tuple(index.story_articles(fetch.reports)) if fetch.reports is not None else ()
    if fetch.story is not None:
        rows = index.candidates(index.story_chunk_ids(fetch.story, fetch.where))
        scored = tuple(index.keyword_scores(terms, rows.ids, boosts) for terms in fetch.scored)
        if len(rows.ids) and fetch.scored:
            # Within an article the source and date boosts are the same: its best chunk is the best by relevance.
            relevance = fetch.weights[0] * scored[0] + fetch.weights[1] * (rows.vectors @ fetch.vector)
            best: dict[int, int] = {}
            for n, article in enumerate(rows.articles.tolist()):
                if article not in best or relevance[n] > relevance[best[article]]:
                    best[article] = n
            wanted += [int(rows.ids[n]) for n in best.values()]
    return Fetched(index.chunks(list(dict.fromkeys(wanted))), rows, scored, reports)


def merge_probed(parts: Sequence[Probed], probe: Probe, dimension: int) -> Probed:
    """Several shards' answers as one index's: each pool's best `size` over all shards, the rows of
    those (each chunk lives in one shard), sums of counts, the best of each word's maxima."""
    if not parts:
        empty = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32))
        return Probed(
            tuple(empty for _ in probe.pools),
            tuple(empty for _ in probe.pools),
            CandidateRows.empty(dimension),
            tuple(np.zeros(0, dtype=np.float32) for _ in probe.scored),
            {},
            0,
            {},
        )
    keyword = tuple(_top([p.keyword[n] for p in parts], probe.size) for n in range(len(probe.pools)))
    dense = tuple(_top([p.dense[n] for p in parts], probe.size) for n in range(len(probe.pools)))
    pooled = np.concatenate([np.zeros(0, dtype=np.int64), *(p[0] for pair in zip(keyword, dense) for p in pair)])
    rows, scored = _rows_in_order([p.rows for p in parts], [p.bm25 for p in parts], pooled, dimension)
    words = {t for p in parts for t in p.maxes}
    return Probed(
        keyword,
        dense,
        rows,
        scored,
        {t: max(p.maxes.get(t, 0.0) for p in parts) for t in words},
        sum(p.chunks for p in parts),
        {t: sum(p.holding.get(t, 0) for p in parts) for t in words},
    )


def merge_fetched(parts: Sequence[Fetched], dimension: int) -> Fetched:
    """Several shards' answers to one `Fetch` as one index's (each chunk and article lives in one shard)."""
    loaded: dict[int, Loaded] = {}
    for part in parts:
        loaded.update(part.loaded)
    everything = np.concatenate([np.zeros(0, dtype=np.int64), *(p.story_rows.ids for p in parts)])
    rows, scored = _rows_in_order([p.story_rows for p in parts], [p.story_bm25 for p in parts], everything, dimension)
    reports = tuple(a for p in parts for a in p.reports)
    return Fetched(loaded, rows, scored, reports)


def _rows_in_order(
    rows: Sequence[CandidateRows],
    scored: Sequence[tuple[np.ndarray, ...]],
    order: np.ndarray,
    dimension: int,
) -> tuple[CandidateRows, tuple[np.ndarray, ...]]:
    """The shards' rows (and their scores) of the chunks in `order`, deduplicated, in that order."""
    lists = len(scored[0]) if scored else 0
    joined, joined_scores = CandidateRows.empty(dimension), [np.zeros(0, dtype=np.float32) for _ in range(lists)]
    for part_rows, part_scores in zip(rows, scored):
        joined = joined.join(part_rows)
        joined_scores = [np.concatenate([a, b]) for a, b in zip(joined_scores, part_scores)]
    where = {int(i): n for n, i in enumerate(joined.ids)}
    picked = np.array([where[i] for i in dict.fromkeys(int(i) for i in order) if i in where], dtype=np.int64)
    return joined.take(picked), tuple(s[picked] for s in joined_scores)


def _top(results: Sequence[tuple[np.ndarray, np.ndarray]], limit: int) -> tuple[np.ndarray, np.ndarray]:
    """The `limit` best of several shards' (ids, scores), best first."""
    ids = np.concatenate([np.zeros(0, dtype=np.int64), *(r[0] for r in results)])
    scores = np.concatenate([np.zeros(0, dtype=np.float32), *(r[1] for r in results)])
    order = np.argsort(-scores, kind="stable")[:limit]
    return ids[order], scores[order]
