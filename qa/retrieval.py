"""Retrieval: a question → ranked `Passage`s, each with the sentence that best supports it.

Ranking, in order:
1. Relevance. Hybrid by default: BM25 (names, numbers, outlets) fused with dense
   cosine similarity (paraphrase), each normalised by its best score for the query.
2. Constraints. Outlets and dates named in the question: a date bound to a report
   ("published on …") filters, falling back to a boost when nothing matches; other
   dates boost. When two or more outlets are named, their best passages take turns at
   the top, so each outlet is heard. Explicit `sources=`, `since=`, `until=` filter.
3. Time. For a status question ("did the summit happen?", "did X sign with Y?",
   recognised by meaning) the story of the best passage is brought in whole, and its
   newest dated report leads even when it shares no word with the question; the rest
   follows by relevance. Reports of other stories never lead by being new.
4. Spread. At most `max_per_article` passages per article, and near-duplicate
   (syndicated) passages are dropped, so multi-source questions see several sources.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import faiss
import numpy as np

from .config import Config, Mode
from .embedding import load_embedder
from .query import OTHER_EXAMPLES, STATUS_EXAMPLES, Query, asks_yes_or_no, parse_constraints, status_margin
from .records import Citation, Passage
from .store import Index, bm25_tokens, open_index

__all__ = ["retrieve", "search", "make_query", "load_index", "prepare_question", "rank_sentences", "renumber", "on_topic"]

_POOL = 200  # candidates taken from each side (and from each named outlet) before fusion
_SOURCE_BOOST = 0.25  # named outlets are strong evidence of intent ("as reported by The Verge")
_DATE_BOOST = 0.15
#: A passage is on topic when its cosine similarity is at least this share of the best one's.
ON_TOPIC = 0.6
_DUPLICATE_COSINE = 0.97
_SENTENCES_EMBEDDED = 3  # per passage, when choosing the sentence to cite


def load_index(index: Index | Path | str | None = None, config: Config | None = None) -> Index:
    """An `Index` from an index, a path to its folder, or the configured default."""
    if isinstance(index, Index):
        return index
    config = config or Config.from_env()
    embedder = load_embedder(config.model)
    return open_index(Path(index) if index is not None else config.index, model_id=embedder.model_id)


def prepare_question(question: str, config: Config) -> tuple[str, list[str]]:
    """The question as it will be searched, and notes for the user if it had to change."""
    if not isinstance(question, str) or not question.strip():
        raise ValueError("the question is empty")
    text = re.sub(r"\s+", " ", question).strip()
    notes = []
    if len(text) > config.max_question_chars:
        notes.append(f"The question was {len(text):,} characters long; only the first {config.max_question_chars:,} were used.")
        text = text[: config.max_question_chars]
    return text, notes


@lru_cache(maxsize=4)
def _status_examples(model: str) -> tuple[np.ndarray, np.ndarray]:
    """The example status and other questions, encoded once per model."""
    embedder = load_embedder(model)
    return embedder.encode(list(STATUS_EXAMPLES)), embedder.encode(list(OTHER_EXAMPLES))


def make_query(question: str, idx: Index, config: Config) -> tuple[Query, list[str]]:
    """The question encoded and read once: vector, named outlets and dates, and whether it asks how things stand."""
    text, notes = prepare_question(question, config)
    vector = load_embedder(config.model).encode([text])[0]
    margin = status_margin(vector, *_status_examples(config.model))
    # A wh-question ("why was he fired?") asks for a fact unless its meaning leans hard towards the
    # current state ("what is the latest on the talks?"); a yes/no question needs only to lean.
    status = margin > (config.status_margin if asks_yes_or_no(text) else config.status_margin_open)
    return Query(text, vector, parse_constraints(text, idx.sources), status), notes


def retrieve(
    question: str,
    k: int = 5,
    index: Index | Path | str | None = None,
    *,
    mode: Mode | None = None,
    sources: Iterable[str] | None = None,
    since: dt.date | str | None = None,
    until: dt.date | str | None = None,
    config: Config | None = None,
) -> list[Passage]:
    """The `k` passages that best answer `question`; for status questions the newest report first.

    `index` is an `Index` or the path of an index folder (default: the configured one).
    `sources`, `since` and `until` filter by the article's outlet and publication date;
    undated articles are excluded once a date filter is given.
    """
    config = config or Config.from_env()
    idx = load_index(index, config)
    query, _ = make_query(question, idx, config)
    return search(query, idx, k, mode=mode, sources=sources, since=since, until=until, config=config)


def search(query: Query, idx: Index, k: int, *, mode: Mode | None = None, sources: Iterable[str] | None = None,
           since: dt.date | str | None = None, until: dt.date | str | None = None,
           config: Config) -> list[Passage]:
    """`retrieve` for a question already made into a `Query`."""
    allowed = _filter(idx, sources, _as_date(since), _as_date(until))
    ranked = _rank(idx, query, allowed, mode or config.mode, config)
    chosen = _spread(idx, ranked, k, config.max_per_article)
    return _passages(idx, chosen, query, config)


def _as_date(value: dt.date | str | None) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def _filter(idx: Index, sources: Iterable[str] | None, since: dt.date | None, until: dt.date | None) -> np.ndarray:
    allowed = np.ones(len(idx.chunks), dtype=bool)
    if sources:
        allowed &= _from_sources(idx, sources)
    if since or until:
        allowed &= _published_within(idx, np.arange(len(idx.chunks)), since, until)
    return allowed


def _from_sources(idx: Index, sources: Iterable[str], chunks: np.ndarray | None = None) -> np.ndarray:
    wanted = {s.casefold() for s in sources}
    everyone = idx.chunk_sources if chunks is None else [idx.chunk_sources[i] for i in chunks]
    return np.array([source in wanted for source in everyone], dtype=bool)


def _published_within(idx: Index, chunks: np.ndarray, since: dt.date | None, until: dt.date | None) -> np.ndarray:
    """Chunks of dated articles published in [since, until]; undated ones never match a date range."""
    dates = idx.chunk_dates[chunks]
    inside = dates > 0
    if since:
        inside &= dates >= since.toordinal()
    if until:
        inside &= dates <= until.toordinal()
    return inside


@dataclass(frozen=True)
class _Scored:
    chunk: int
    score: float  #: fused, boosted, story-ordered: what ranks
    similarity: float  #: cosine of question and chunk
    keyword: float  #: BM25 coverage: the chunk's score over what the question's words could reach


@dataclass(frozen=True)
class _Scores:
    """Scores of candidate chunks, array for array."""

    chunks: np.ndarray
    score: np.ndarray
    similarity: np.ndarray
    coverage: np.ndarray


def _rank(idx: Index, query: Query, allowed: np.ndarray, mode: Mode, config: Config) -> list[_Scored]:
    """Every candidate chunk, best first."""
    implied = query.constraints
    if implied.published and (implied.since or implied.until):
        # A date bound to a report filters, unless it would leave nothing (then it only boosts).
        published = allowed & _published_within(idx, np.arange(len(idx.chunks)), implied.since, implied.until)
        allowed = published if published.any() else allowed
    ids = np.flatnonzero(allowed)
    if ids.size == 0:
        return []
    tokens = [t for t in bm25_tokens([query.text])[0] if t in idx.bm25.vocab_dict]
    bm25 = np.zeros(len(idx.chunks), dtype=np.float32)
    if tokens:
        bm25 = np.asarray(idx.bm25.get_scores(tokens), dtype=np.float32)
        bm25[~allowed] = 0.0
    # The best score each question word reaches anywhere: a chunk's share of their sum says how much
    # of the question it covers, comparable across questions (the abstention signal uses it).
    reachable = sum(float(idx.bm25.get_scores([t]).max()) for t in set(tokens))
    pools = [_candidates(idx, query.vector, bm25, ids)]
    outlets = implied.sources if len(implied.sources) >= 2 else ()
    for source in outlets:  # each named outlet's own best passages, however the others score
        pools.append(_candidates(idx, query.vector, bm25, ids[_from_sources(idx, [source], ids)]))
    candidates = np.unique(np.concatenate(pools))
    scores = _score(idx, query, candidates, bm25, reachable, mode, config)
    if query.status:
        scores = _story_first(idx, query, scores, allowed, bm25, reachable, mode, config)
    order = np.argsort(-scores.score, kind="stable")
    ranked = [_Scored(int(scores.chunks[j]), float(scores.score[j]), float(scores.similarity[j]), float(scores.coverage[j]))
              for j in order]
    return _take_turns(idx, ranked, outlets) if outlets else ranked


def _candidates(idx: Index, vector: np.ndarray, bm25: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """The best `_POOL` chunks among `ids` by meaning, and the best `_POOL` by keywords."""
    if ids.size == 0:
        return ids
    pool = min(_POOL, ids.size)
    params = None if ids.size == len(idx.chunks) else faiss.SearchParameters(sel=faiss.IDSelectorBatch(ids.astype(np.int64)))
    _, dense_ids = idx.vectors.search(vector[None, :], pool, params=params)
    keyword_ids = ids[np.argsort(-bm25[ids], kind="stable")[:pool]]
    return np.concatenate([dense_ids[0][dense_ids[0] >= 0], keyword_ids[bm25[keyword_ids] > 0]]).astype(np.int64)


def _score(idx: Index, query: Query, candidates: np.ndarray, bm25: np.ndarray, reachable: float,
           mode: Mode, config: Config) -> _Scores:
    similarity = idx.vectors.reconstruct_batch(candidates) @ query.vector
    coverage = bm25[candidates] / max(reachable, 1e-6)
    # For ranking, each side is normalised by its best candidate (measured on bench/dev_questions.jsonl:
    # better than normalising BM25 by `reachable`, and than raw cosine).
    dense = similarity / max(float(similarity.max()), 1e-6)
    keyword = bm25[candidates] / max(float(bm25.max()), 1e-6)
    if mode == "dense":
        score = dense
    elif mode == "bm25":
        score = keyword + 1e-3 * dense  # dense only breaks ties
    else:
        score = config.bm25_weight * keyword + (1 - config.bm25_weight) * dense
    return _Scores(candidates, score + _constraint_boost(idx, candidates, query), similarity, coverage)


def _constraint_boost(idx: Index, candidates: np.ndarray, query: Query) -> np.ndarray:
    implied = query.constraints
    boost = np.zeros(len(candidates), dtype=np.float32)
    if implied.sources:
        boost += _SOURCE_BOOST * _from_sources(idx, implied.sources, candidates)
    if implied.since or implied.until:
        boost += _DATE_BOOST * _published_within(idx, candidates, implied.since, implied.until)
    return boost


def _story_first(idx: Index, query: Query, scores: _Scores, allowed: np.ndarray, bm25: np.ndarray,
                 reachable: float, mode: Mode, config: Config) -> _Scores:
    """For a status question: the best passage's story, brought in whole, newest dated report first.

    The newest report of a story often shares no word with the question ("the Kestrel mission is
    postponed" for "will the Aurora-2 launch on March 15?"), so its chunks are added to the
    candidates. The newest dated report's best passage then leads; undated reports count as older
    than any dated one, so they never lead as the newest by accident. Everything else follows by
    relevance, so the passage that matches the question best (often an earlier report of the same
    story) comes right after it; the answer shows the rest of the story as dated context.
    """
    anchor = int(scores.chunks[int(np.argmax(scores.score))])
    story = idx.chunk_stories[anchor]
    members = idx.story_articles[idx.stories[idx.chunks[anchor].article_id].story]
    present = set(scores.chunks.tolist())
    missing = [i for a in members for i in idx.article_chunks[a] if allowed[i] and i not in present]
    if missing:
        scores = _score(idx, query, np.concatenate([scores.chunks, np.array(missing, dtype=np.int64)]),
                        bm25, reachable, mode, config)
    # The newest dated report leads through its best passage; everything else keeps its relevance,
    # so the passage that best matches the question (often an earlier report) follows right after.
    in_story = np.flatnonzero(idx.chunk_stories[scores.chunks] == story)
    dates = idx.chunk_dates[scores.chunks[in_story]]
    if dates.max() == 0 or dates.min() == dates.max():
        return scores  # no dated report, or all from one day: nothing is newer than the rest
    newest = in_story[dates == dates.max()]
    lead = int(newest[np.argmax(scores.score[newest])])
    score = scores.score.copy()
    score[lead] = float(scores.score.max()) + 1.0
    return dataclasses.replace(scores, score=score)


def _take_turns(idx: Index, ranked: list[_Scored], outlets: tuple[str, ...]) -> list[_Scored]:
    """The named outlets' passages take turns at the top, best outlet first; then everything else."""
    queues = {s.casefold(): [r for r in ranked if idx.chunk_sources[r.chunk] == s.casefold()] for s in outlets}
    order = sorted((q for q in queues.values() if q), key=lambda q: -q[0].score)
    merged: list[_Scored] = []
    for turn in range(max((len(q) for q in order), default=0)):
        merged += [queue[turn] for queue in order if turn < len(queue)]
    named = set(queues)
    return merged + [r for r in ranked if idx.chunk_sources[r.chunk] not in named]


def on_topic(similarity: np.ndarray) -> np.ndarray:
    """Which passages bear on the question: close in meaning to it, relative to the closest."""
    if similarity.size == 0:
        return similarity.astype(bool)
    return similarity >= ON_TOPIC * float(similarity.max())


def _spread(idx: Index, ranked: list[_Scored], k: int, per_article: int) -> list[_Scored]:
    """Top k with at most `per_article` per article and no near-duplicate of a passage already taken."""
    chosen: list[_Scored] = []
    taken: dict[str, int] = {}
    vectors: list[np.ndarray] = []
    for item in ranked:
        if len(chosen) == k:
            break
        article_id = idx.chunks[item.chunk].article_id
        if taken.get(article_id, 0) >= per_article:
            continue
        vector = idx.vectors.reconstruct(item.chunk)
        if any(float(vector @ v) >= _DUPLICATE_COSINE for v in vectors):
            continue  # a syndicated copy of a passage already shown
        chosen.append(item)
        vectors.append(vector)
        taken[article_id] = taken.get(article_id, 0) + 1
    return chosen


def _overlaps(question: str, sentences: list[str]) -> list[float]:
    """Share of the question's (stemmed, stopword-free) words that each sentence contains."""
    words = set(bm25_tokens([question])[0])
    return [len(words & set(tokens)) / max(len(words), 1) for tokens in bm25_tokens(sentences)]


def _sentence_score(vector: np.ndarray, query: np.ndarray, overlap: float) -> float:
    """How well a sentence answers the question: cosine similarity plus a share of the question's words."""
    return float(vector @ query) + 0.3 * overlap


def rank_sentences(question: str, query: np.ndarray, sentences: list[str], config: Config) -> list[float]:
    vectors = load_embedder(config.model).encode(sentences)
    return [_sentence_score(v, query, o) for v, o in zip(vectors, _overlaps(question, sentences))]


def _passages(idx: Index, chosen: list[_Scored], query: Query, config: Config) -> list[Passage]:
    """Passages with citations: each cites its sentence that best answers the question.

    Embedding sentences is nearly all of a query's time, so only the few sentences of each passage
    that share most words with the question are embedded, in one batch.
    """
    groups = []
    for item in chosen:
        chunk = idx.chunks[item.chunk]
        text = idx.article_of(chunk).text
        sentences = [text[s.start : s.end] for s in chunk.sentences]
        overlap = _overlaps(query.text, sentences)
        embed = sorted(range(len(sentences)), key=lambda j: -overlap[j])[:_SENTENCES_EMBEDDED]
        groups.append((sentences, overlap, embed))
    batch = [sentences[j] for sentences, _, embed in groups for j in embed]
    vectors = iter(load_embedder(config.model).encode(batch)) if batch else iter([])
    passages = []
    for rank, (item, (sentences, overlap, embed)) in enumerate(zip(chosen, groups), 1):
        scores = [-1.0] * len(sentences)
        for j in embed:
            scores[j] = _sentence_score(next(vectors), query.vector, overlap[j])
        chunk = idx.chunks[item.chunk]
        article = idx.article_of(chunk)
        best = chunk.sentences[int(np.argmax(scores))]
        citation = Citation(rank, article.id, article.label, article.date, article.source, article.url,
                            article.text[best.start : best.end], best.start, best.end)
        passages.append(Passage(rank, article.text[chunk.start : chunk.end], item.score, item.similarity,
                                item.keyword, article, chunk, citation))
    return passages


def renumber(passages: list[Passage]) -> list[Passage]:
    """Passages in the given order with ranks and citation numbers 1, 2, 3…"""
    return [
        dataclasses.replace(p, rank=n, citation=dataclasses.replace(p.citation, number=n))
        for n, p in enumerate(passages, 1)
    ]
