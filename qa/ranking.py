"""Ranking: the candidate chunks of a `Query` and their scores, best first (`Scores`).

`retrieval.search` asks the index once for everything ranking needs (`qa/storage/probe.py`), then:
1. Relevance. Hybrid by default: BM25 (names, numbers, outlets) fused with dense cosine
   similarity (paraphrase), each normalised by its best score for the query. Candidates are
   the best `candidate_pool` of each side; their cosine is computed exactly from the stored
   chunk vectors, whatever the vector index's type.
2. Constraints. Outlets and dates named in the question: a date bound to a report
   ("published on …") filters, falling back to a boost when nothing matches; other dates
   boost. When two or more outlets are named, their best passages take turns at the top.
   Explicit `sources=`, `since=`, `until=` filter, in SQL and in FAISS's id selector.
3. Time. For a status question ("did the summit happen?") the story of the best passage is
   brought in whole (`story_first`) and its newest dated report leads, even when it shares no
   word with the question; the rest follows by relevance. Reports of other stories never lead
   by being new.
4. Parts. A multi-part question has each part's best passage in view.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from .config import Config, Mode
from .query import Query
from .storage import AnyIndex, CandidateRows, Filter
from .storage.probe import Fetched, Pool, Probe

__all__ = ["Scores", "rank", "in_turn", "weights", "story_first", "scored_lists", "narrowed"]


def narrowed(where: Filter, since: object, until: object) -> Filter:
    """`where` intersected with a date range."""
    lows = [d for d in (where.since, since) if d]
    highs = [d for d in (where.until, until) if d]
    return Filter(where.sources, max(lows) if lows else None, min(highs) if highs else None)  # type: ignore[type-var]


@dataclass(frozen=True)
class Scores:
    """Candidate chunks with their columns and scores, row for row."""

    rows: CandidateRows
    score: np.ndarray  #: fused, boosted, story-ordered: what ranks
    similarity: np.ndarray  #: cosine of question and chunk
    coverage: np.ndarray  #: BM25 score over what the question's words could reach
    order: np.ndarray  #: rows, best first
    bm25: np.ndarray  #: BM25 of the question, as ranking uses it
    scored: tuple[np.ndarray, ...]  #: BM25 of each `Probe.scored` word list (`scored_lists`)
    best_keyword: float  #: the best BM25 of the question's keyword pools: what keyword scores are shares of
    reachable: float  #: what the question's words could reach anywhere
    maxes: dict[str, float]  #: the best BM25 each scored word reaches
    chunks: int  #: chunks in the index
    holding: dict[str, int]  #: chunks holding each scored word


def scored_lists(query: Query) -> tuple[tuple[str, ...], ...]:
    """The word lists whose BM25 every candidate needs: the question, each part (when it is ranked by
    part), then each part's own words (for evidence, `qa/evidence.py`)."""
    parts = query.parts if query.multipart else ()
    return (tuple(query.terms), *(tuple(p.terms) for p in parts), *(tuple(p.content) for p in query.parts))


def rank(idx: AnyIndex, query: Query, where: Filter, mode: Mode, config: Config) -> tuple[Scores, Probe] | None:
    implied = query.constraints
    if implied.published and (implied.since or implied.until):
        # A date bound to a report filters, unless it would leave nothing (then it only boosts).
        published = narrowed(where, implied.since, implied.until)
        if idx.admits_any(published):
            where = published
    terms, vector = tuple(query.terms), query.vector
    pools = [Pool(terms, vector, where)]
    outlets = implied.sources if len(implied.sources) >= 2 else ()
    for source in outlets:  # each named outlet's own best passages, however the others score
        if not where.sources or source.casefold() in where.sources:
            pools.append(Pool(terms, vector, Filter((source.casefold(),), where.since, where.until)))
    asked = len(pools)  # the question's own pools (the whole set's, then each outlet's)
    for part in query.parts if query.multipart else ():  # each clause's own best passages, however the whole scores them
        pools.append(Pool(tuple(part.terms), part.vector, where))
    probe = Probe(tuple(pools), where, config.candidate_pool, config.listed_filter_max, scored_lists(query))
    probed = idx.probe(probe)
    rows = probed.rows
    if not len(rows.ids):
        return None
    # BM25 as the keyword pools of the question and its outlets scored it, else the question's words'.
    found: dict[int, float] = {}
    for ids, scores in probed.keyword[:asked]:
        found.update({int(i): float(s) for i, s in zip(ids, scores)})
    bm25 = np.array([found.get(int(i), np.nan) for i in rows.ids], dtype=np.float32)
    unknown = np.isnan(bm25)
    bm25[unknown] = probed.bm25[0][unknown]
    reachable = sum(probed.maxes.get(t, 0.0) for t in set(query.terms))
    scores = _score(
        rows,
        bm25,
        probed.bm25,
        query,
        max(found.values(), default=0.0),
        reachable,
        (probed.maxes, probed.chunks, probed.holding),
        mode,
        config,
    )
    return scores, probe


def in_turn(scores: Scores, query: Query, mode: Mode, config: Config) -> Scores:
    """Named outlets take turns at the top; each part of a multi-part question has its best passage in view."""
    outlets = query.constraints.sources if len(query.constraints.sources) >= 2 else ()
    if outlets:
        scores = dataclasses.replace(scores, order=_take_turns(scores, outlets))
    if query.multipart:
        scores = _parts_in_view(query, scores, mode, config)
    return scores


def weights(scores: Scores, mode: Mode, config: Config) -> tuple[float, float]:
    """What BM25 and cosine are multiplied by in `_score`: (keyword, similarity)."""
    return _mix(scores.best_keyword, float(scores.similarity.max()), mode, config)


def _mix(best_keyword: float, best_similarity: float, mode: Mode, config: Config) -> tuple[float, float]:
    """The fusion's weights of BM25 and cosine, each side normalised by its best (measured on
    bench/dev_questions.jsonl: better than normalising BM25 by what the words could reach, and
    than raw cosine). BM25 alone keeps cosine only to break ties."""
    keyword, dense = 1.0 / max(best_keyword, 1e-6), 1.0 / max(best_similarity, 1e-6)
    if mode == "dense":
        return 0.0, dense
    if mode == "bm25":
        return keyword, 1e-3 * dense
    return config.bm25_weight * keyword, (1 - config.bm25_weight) * dense


def _score(
    rows: CandidateRows,
    bm25: np.ndarray,
    scored: tuple[np.ndarray, ...],
    query: Query,
    best_keyword: float,
    reachable: float,
    statistics: tuple[dict[str, float], int, dict[str, int]],
    mode: Mode,
    config: Config,
) -> Scores:
    similarity = rows.vectors @ query.vector
    coverage = bm25 / max(reachable, 1e-6)
    keyword_weight, dense_weight = _mix(best_keyword, float(similarity.max()), mode, config)
    score = keyword_weight * bm25 + dense_weight * similarity + _constraint_boost(rows, query, config)
    maxes, chunks, holding = statistics
    return Scores(
        rows,
        score,
        similarity,
        coverage,
        np.argsort(-score, kind="stable"),
        bm25,
        scored,
        best_keyword,
        reachable,
        maxes,
        chunks,
        holding,
    )


def _constraint_boost(rows: CandidateRows, query: Query, config: Config) -> np.ndarray:
    implied = query.constraints
    boost = np.zeros(len(rows.ids), dtype=np.float32)
    if implied.sources:
        wanted = {s.casefold() for s in implied.sources}
        boost += config.source_boost * np.array([s in wanted for s in rows.sources], dtype=np.float32)
    if implied.since or implied.until:
        inside = rows.dates > 0
        if implied.since:
            inside &= rows.dates >= implied.since.toordinal()
        if implied.until:
            inside &= rows.dates <= implied.until.toordinal()
        boost += config.date_boost * inside
    return boost


def story_first(scores: Scores, story: str, fetched: Fetched, query: Query, mode: Mode, config: Config) -> Scores:
    """For a status question: the best passage's story, brought in whole, newest dated report first.

    The newest report of a story often shares no word with the question ("the Kestrel mission is
    postponed" for "will the Aurora-2 launch on March 15?"), so its chunks (`fetched.story_rows`)
    are added to the candidates. The newest dated report's best passage then leads; undated
    reports count as older than any dated one. Everything else keeps its relevance order, so the
    passage that best matches the question (often an earlier report) comes right after it.
    """
    present = set(scores.rows.ids.tolist())
    extra = np.array([n for n, i in enumerate(fetched.story_rows.ids) if int(i) not in present], dtype=np.int64)
    if len(extra):
        rows = scores.rows.join(fetched.story_rows.take(extra))
        scored = tuple(np.concatenate([a, b[extra]]) for a, b in zip(scores.scored, fetched.story_bm25))
        bm25 = np.concatenate([scores.bm25, fetched.story_bm25[0][extra]])
        statistics = (scores.maxes, scores.chunks, scores.holding)
        scores = _score(rows, bm25, scored, query, scores.best_keyword, scores.reachable, statistics, mode, config)
    rows = scores.rows
    in_story = np.flatnonzero(np.array([s == story for s in rows.stories]))
    dates = rows.dates[in_story]
    if dates.max() == 0 or dates.min() == dates.max():
        return scores  # no dated report, or all from one day: nothing is newer than the rest
    newest = in_story[dates == dates.max()]
    lead = int(newest[np.argmax(scores.score[newest])])
    score = scores.score.copy()
    score[lead] = float(scores.score.max()) + 1.0
    return dataclasses.replace(scores, score=score, order=np.argsort(-score, kind="stable"))


def _parts_in_view(query: Query, scores: Scores, mode: Mode, config: Config) -> Scores:
    """A multi-part question: each part's best passage comes right after the question's two best,
    so that every part's evidence is in the top k. A part is ranked as a question of its own over the
    candidates (its own pools are among them)."""
    rows = scores.rows
    bests: list[int] = []
    for n, part in enumerate(query.parts):
        similarity = rows.vectors @ part.vector
        bm25 = scores.scored[1 + n]
        keyword_weight, dense_weight = _mix(float(bm25.max()), float(similarity.max()), mode, config)
        bests.append(int(np.argmax(keyword_weight * bm25 + dense_weight * similarity)))
    head = [int(j) for j in scores.order[:2]]  # the two best passages of the whole question keep their place
    first = head + [j for j in dict.fromkeys(bests) if j not in head]
    taken = set(first)
    order = np.array(first + [int(j) for j in scores.order if int(j) not in taken], dtype=np.int64)
    return dataclasses.replace(scores, order=order)


def _take_turns(scores: Scores, outlets: tuple[str, ...]) -> np.ndarray:
    """The named outlets' passages take turns at the top, best outlet first; then everything else."""
    sources = scores.rows.sources
    named = [s.casefold() for s in outlets]
    queues = [[int(j) for j in scores.order if sources[j] == s] for s in named]
    queues = sorted((q for q in queues if q), key=lambda q: -scores.score[q[0]])
    merged: list[int] = []
    for turn in range(max((len(q) for q in queues), default=0)):
        merged += [q[turn] for q in queues if turn < len(q)]
    return np.array(merged + [int(j) for j in scores.order if sources[j] not in named], dtype=np.int64)
