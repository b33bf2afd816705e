"""Retrieval: a `Query` → ranked `Passage`s, each with the sentence that best supports it.

Ranking only; the engine (`qa/engine.py`) makes the query and holds the index. In order:
1. Relevance. Hybrid by default: BM25 (names, numbers, outlets) fused with dense cosine
   similarity (paraphrase), each normalised by its best score for the query. Candidates are
   the best `candidate_pool` of each side; their cosine is computed exactly from the stored
   chunk vectors, whatever the vector index's type.
2. Constraints. Outlets and dates named in the question: a date bound to a report
   ("published on …") filters, falling back to a boost when nothing matches; other dates
   boost. When two or more outlets are named, their best passages take turns at the top.
   Explicit `sources=`, `since=`, `until=` filter, in SQL and in FAISS's id selector.
3. Time. For a status question ("did the summit happen?") the story of the best passage is
   brought in whole and its newest dated report leads, even when it shares no word with the
   question; the rest follows by relevance. Reports of other stories never lead by being new.
4. Spread. At most `max_per_article` passages per article; near-duplicates (syndicated
   copies) are dropped.

No model runs here: the sentence to cite is chosen with sentence vectors stored at build time.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from .config import Config, Mode
from .evidence import support
from .freshness import newer_on_subject
from .query import Query, asks_yes_or_no
from .records import Article, Chunk, Citation, Passage
from .status import status_sentences
from .storage import AnyIndex, CandidateRows, Filter
from .storage.keyword import analyze

__all__ = ["search", "renumber", "on_topic", "narrowed"]


def search(idx: AnyIndex, query: Query, k: int, *, mode: Mode, where: Filter, config: Config) -> list[Passage]:
    """The `k` best passages for `query` among the chunks `where` admits; one metadata snapshot."""
    with idx.snapshot():
        scores = _rank(idx, query, where, mode, config)
        if scores is None:
            return []
        chosen = _spread(scores, k, config)
        passages = _passages(idx, scores, chosen, query, config)
        return _newer_leads(passages, query, config) if _asks_how_things_stand(query) else passages


def narrowed(where: Filter, since: object, until: object) -> Filter:
    """`where` intersected with a date range."""
    lows = [d for d in (where.since, since) if d]
    highs = [d for d in (where.until, until) if d]
    return Filter(where.sources, max(lows) if lows else None, min(highs) if highs else None)  # type: ignore[type-var]


@dataclass(frozen=True)
class _Scores:
    """Candidate chunks with their columns and scores, row for row."""

    rows: CandidateRows
    score: np.ndarray  #: fused, boosted, story-ordered: what ranks
    similarity: np.ndarray  #: cosine of question and chunk
    coverage: np.ndarray  #: BM25 score over what the question's words could reach
    order: np.ndarray  #: rows, best first


def _rank(idx: AnyIndex, query: Query, where: Filter, mode: Mode, config: Config) -> _Scores | None:
    implied = query.constraints
    if implied.published and (implied.since or implied.until):
        # A date bound to a report filters, unless it would leave nothing (then it only boosts).
        published = narrowed(where, implied.since, implied.until)
        if idx.admits_any(published):
            where = published
    if where and not idx.admits_any(where):
        return None
    pool = config.candidate_pool
    keyword_ids, keyword_scores = idx.keyword(query.terms, pool, where)
    found = {int(i): float(s) for i, s in zip(keyword_ids, keyword_scores)}
    pools = [keyword_ids, _dense(idx, query.vector, where, pool, config.listed_filter_max)]
    outlets = implied.sources if len(implied.sources) >= 2 else ()
    for source in outlets:  # each named outlet's own best passages, however the others score
        own = (
            Filter((source.casefold(),), where.since, where.until)
            if not where.sources or source.casefold() in where.sources
            else None
        )
        if own is None:
            continue
        ids, scores = idx.keyword(query.terms, pool, own)
        found.update({int(i): float(s) for i, s in zip(ids, scores)})
        pools += [ids, _dense(idx, query.vector, own, pool, config.listed_filter_max)]
    for part in query.parts if query.multipart else ():  # each clause's own best passages, however the whole scores them
        pools += [idx.keyword(part.terms, pool, where)[0], _dense(idx, part.vector, where, pool, config.listed_filter_max)]
    rows = idx.candidates(np.concatenate(pools))
    if where:
        rows = rows.where(where.admits(rows.sources, rows.dates))
    if not len(rows.ids):
        return None
    best_keyword = max(found.values(), default=0.0)
    reachable = idx.reachable(query.terms)
    bm25 = _keyword_of(idx, query, rows, found)
    scores = _score(rows, bm25, query, best_keyword, reachable, mode, config)
    if query.status:
        scores = _story_first(idx, query, scores, bm25, where, best_keyword, reachable, mode, config)
    if outlets:
        scores = dataclasses.replace(scores, order=_take_turns(scores, outlets))
    if query.multipart:
        scores = _parts_in_view(idx, query, scores, mode, config)
    return scores


def _dense(idx: AnyIndex, vector: np.ndarray, where: Filter, pool: int, listed_max: int) -> np.ndarray:
    """The nearest chunks among those `where` admits.

    A selective filter goes into FAISS as an id selector. A broad one would cost more to list (at
    1M chunks one large outlet is ~100k ids, 0.13 s) than to skip: the search then takes more
    neighbours and keeps those the filter admits, in order (bench/README.md).
    """
    if not where:
        return idx.dense(vector, pool, None)
    share = idx.share(where)
    if share * idx.manifest["chunks"] <= listed_max:
        return idx.dense(vector, pool, idx.filtered_ids(where))
    wider = idx.dense(vector, min(int(1.5 * pool / max(share, 1e-9)) + 1, 20 * pool), None)
    return idx.admitted(wider, where)[:pool]


def _keyword_of(idx: AnyIndex, query: Query, rows: CandidateRows, found: dict[int, float]) -> np.ndarray:
    """BM25 of each row: from the keyword pools, or asked of the index for the dense-only rows."""
    bm25 = np.array([found.get(int(i), np.nan) for i in rows.ids], dtype=np.float32)
    unknown = np.isnan(bm25)
    if unknown.any():
        bm25[unknown] = idx.keyword_scores(query.terms, rows.ids[unknown])
    return bm25


def _score(
    rows: CandidateRows, bm25: np.ndarray, query: Query, best_keyword: float, reachable: float, mode: Mode, config: Config
) -> _Scores:
    similarity = rows.vectors @ query.vector
    coverage = bm25 / max(reachable, 1e-6)
    # For ranking, each side is normalised by its best (measured on bench/dev_questions.jsonl:
    # better than normalising BM25 by `reachable`, and than raw cosine).
    dense = similarity / max(float(similarity.max()), 1e-6)
    keyword = bm25 / max(best_keyword, 1e-6)
    if mode == "dense":
        score = dense
    elif mode == "bm25":
        score = keyword + 1e-3 * dense  # dense only breaks ties
    else:
        score = config.bm25_weight * keyword + (1 - config.bm25_weight) * dense
    score = score + _constraint_boost(rows, query, config)
    return _Scores(rows, score, similarity, coverage, np.argsort(-score, kind="stable"))


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


def _story_first(
    idx: AnyIndex,
    query: Query,
    scores: _Scores,
    bm25: np.ndarray,
    where: Filter,
    best_keyword: float,
    reachable: float,
    mode: Mode,
    config: Config,
) -> _Scores:
    """For a status question: the best passage's story, brought in whole, newest dated report first.

    The newest report of a story often shares no word with the question ("the Kestrel mission is
    postponed" for "will the Aurora-2 launch on March 15?"), so its chunks are added to the
    candidates. The newest dated report's best passage then leads; undated reports count as older
    than any dated one. Everything else keeps its relevance order, so the passage that best
    matches the question (often an earlier report) comes right after it.
    """
    rows = scores.rows
    story = rows.stories[int(scores.order[0])]
    present = set(rows.ids.tolist())
    missing = [int(i) for i in idx.story_chunk_ids(story, where) if int(i) not in present]
    if missing:
        extra = idx.candidates(missing)
        rows = rows.join(extra)
        bm25 = np.concatenate([bm25, idx.keyword_scores(query.terms, extra.ids)])
        scores = _score(rows, bm25, query, best_keyword, reachable, mode, config)
    in_story = np.flatnonzero(np.array([s == story for s in rows.stories]))
    dates = rows.dates[in_story]
    if dates.max() == 0 or dates.min() == dates.max():
        return scores  # no dated report, or all from one day: nothing is newer than the rest
    newest = in_story[dates == dates.max()]
    lead = int(newest[np.argmax(scores.score[newest])])
    score = scores.score.copy()
    score[lead] = float(scores.score.max()) + 1.0
    return dataclasses.replace(scores, score=score, order=np.argsort(-score, kind="stable"))


def _parts_in_view(idx: AnyIndex, query: Query, scores: _Scores, mode: Mode, config: Config) -> _Scores:
    """A multi-part question: each part's best passage comes right after the question's two best,
    so that every part's evidence is in the top k. A part is ranked as a question of its own over the
    candidates (its own pools are among them)."""
    rows = scores.rows
    bests: list[int] = []
    for part in query.parts:
        similarity = rows.vectors @ part.vector
        bm25 = idx.keyword_scores(part.terms, rows.ids)
        dense = similarity / max(float(similarity.max()), 1e-6)
        keyword = bm25 / max(float(bm25.max()), 1e-6)
        if mode == "dense":
            fused = dense
        elif mode == "bm25":
            fused = keyword + 1e-3 * dense
        else:
            fused = config.bm25_weight * keyword + (1 - config.bm25_weight) * dense
        bests.append(int(np.argmax(fused)))
    head = [int(j) for j in scores.order[:2]]  # the two best passages of the whole question keep their place
    first = head + [j for j in dict.fromkeys(bests) if j not in head]
    taken = set(first)
    order = np.array(first + [int(j) for j in scores.order if int(j) not in taken], dtype=np.int64)
    return dataclasses.replace(scores, order=order)


def _asks_how_things_stand(query: Query) -> bool:
    """A status question, or a yes/no question about an event ("was he convicted?"); not one about
    what named outlets reported ("did TechCrunch report X before The Verge …?"), which is answered
    by the reports it names, whatever their dates."""
    return query.status or (asks_yes_or_no(query.text) and not query.multipart and not query.constraints.sources)


def _newer_leads(passages: list[Passage], query: Query, config: Config) -> list[Passage]:
    """For a status question: a retrieved report newer than the lead, on the lead's subject but not
    linked into its story (`qa/freshness.py`), leads instead when it answers the question: a
    sentence of it states a status of what is asked, or it is as close to the question as the lead.
    Story linking is the first line (`_story_first`); this is the net under it."""
    if not passages:
        return passages
    first = passages[0]
    stating = [
        p
        for p in newer_on_subject(first, passages, query.text, strict=True)
        if status_sentences(p, config.status_sentence_margin) or p.similarity >= 0.9 * first.similarity
    ]
    if not stating:
        return passages
    return renumber([stating[0]] + [p for p in passages if p is not stating[0]])


def _take_turns(scores: _Scores, outlets: tuple[str, ...]) -> np.ndarray:
    """The named outlets' passages take turns at the top, best outlet first; then everything else."""
    sources = scores.rows.sources
    named = [s.casefold() for s in outlets]
    queues = [[int(j) for j in scores.order if sources[j] == s] for s in named]
    queues = sorted((q for q in queues if q), key=lambda q: -scores.score[q[0]])
    merged: list[int] = []
    for turn in range(max((len(q) for q in queues), default=0)):
        merged += [q[turn] for q in queues if turn < len(q)]
    return np.array(merged + [int(j) for j in scores.order if sources[j] not in named], dtype=np.int64)


def on_topic(similarity: np.ndarray, share: float) -> np.ndarray:
    """Which passages bear on the question: close in meaning to it, relative to the closest."""
    if similarity.size == 0:
        return similarity.astype(bool)
    return similarity >= share * float(similarity.max())


def _spread(scores: _Scores, k: int, config: Config) -> list[int]:
    """Top k rows with at most `max_per_article` per article and no near-duplicate of one taken."""
    chosen: list[int] = []
    taken: dict[int, int] = {}
    rows = scores.rows
    for j in scores.order:
        if len(chosen) >= k:
            break
        article = int(rows.articles[j])
        if taken.get(article, 0) >= config.max_per_article:
            continue
        if chosen and float(np.max(rows.vectors[chosen] @ rows.vectors[j])) >= config.duplicate_cosine:
            continue  # a syndicated copy of a passage already shown
        chosen.append(int(j))
        taken[article] = taken.get(article, 0) + 1
    return chosen


def _passages(idx: AnyIndex, scores: _Scores, chosen: list[int], query: Query, config: Config) -> list[Passage]:
    """Passages with citations: each cites its sentence that best answers the question (no model runs)."""
    loaded = idx.chunks([int(scores.rows.ids[j]) for j in chosen])
    chosen = [j for j in chosen if int(scores.rows.ids[j]) in loaded]  # not deleted by a build committed a moment ago
    texts = [_title_and_sentences(loaded[int(scores.rows.ids[j])]) for j in chosen]
    supported = support(idx, query.parts, scores.rows.ids[chosen], scores.rows.vectors[chosen], texts)
    passages = []
    for rank, j in enumerate(chosen, 1):
        chunk, article, vectors = loaded[int(scores.rows.ids[j])]
        evidence = tuple(float(x) for x in supported[:, rank - 1])
        # The sentence to cite answers what this passage is here for: the question, or the part it supports best.
        serves = query.parts[int(np.argmax(evidence))] if query.multipart else query
        sentences = [article.text[s.start : s.end] for s in chunk.sentences]
        wanted = set(serves.terms)
        overlap = [len(wanted & set(analyze(s))) / max(len(wanted), 1) for s in sentences]
        similarity = vectors @ serves.vector if len(vectors) == len(sentences) else np.zeros(len(sentences), np.float32)
        sentence_scores = tuple(float(v) + config.sentence_overlap * o for v, o in zip(similarity, overlap))
        best = chunk.sentences[int(np.argmax(sentence_scores))]
        citation = Citation(
            rank,
            article.id,
            article.label,
            article.date,
            article.source,
            article.url,
            article.text[best.start : best.end],
            best.start,
            best.end,
        )
        passages.append(
            Passage(
                rank,
                article.text[chunk.start : chunk.end],
                float(scores.score[j]),
                float(scores.similarity[j]),
                float(scores.coverage[j]),
                article,
                chunk,
                citation,
                sentence_scores,
                evidence,
            )
        )
    return renumber(passages)


def _title_and_sentences(loaded: tuple[Chunk, Article, np.ndarray]) -> tuple[str, list[str]]:
    chunk, article, _ = loaded
    sentences = [article.text[s.start : s.end] for s in chunk.sentences] or [article.text[chunk.start : chunk.end]]
    return article.title or "", sentences


def renumber(passages: list[Passage]) -> list[Passage]:
    """Passages in the given order with ranks and citation numbers 1, 2, 3…"""
    return [dataclasses.replace(p, rank=n, citation=dataclasses.replace(p.citation, number=n)) for n, p in enumerate(passages, 1)]
