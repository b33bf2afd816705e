"""Retrieval: a question → ranked `Passage`s, each with the sentence that best supports it.

Ranking, in order:
1. Relevance. Hybrid by default: BM25 (names, numbers, outlets) fused with dense
   cosine similarity (paraphrase), each normalised by its best score for the query.
2. Constraints. Sources and dates named in the question boost matching chunks;
   explicit `sources=`, `since=`, `until=` filter them.
3. Time. For a status question ("did the summit happen?") the newest dated on-topic
   report leads: in news the newest report decides. Undated ones never lead by accident.
4. Spread. At most `max_per_article` passages per article, and near-duplicate
   (syndicated) passages are dropped, so multi-source questions see several sources.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

from .config import Config, Mode
from .embedding import load_embedder
from .query import Constraints, parse_constraints
from .records import Citation, Passage
from .store import Index, bm25_tokens, open_index

__all__ = ["retrieve", "load_index", "prepare_question", "rank_sentences", "renumber", "on_topic", "STATUS_QUESTION"]

_POOL = 200  # candidates taken from each side before fusion
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
    text, _ = prepare_question(question, config)
    idx = load_index(index, config)
    since_date, until_date = _as_date(since), _as_date(until)
    allowed = _filter(idx, sources, since_date, until_date)
    implied = parse_constraints(text, {a.source for a in idx.articles.values() if a.source})
    query = load_embedder(config.model).encode([text])[0]
    ranked = _rank(idx, text, query, allowed, implied, mode or config.mode, config)
    chosen = _spread(idx, ranked, k, config.max_per_article)
    return _passages(idx, chosen, text, query, config)


def _as_date(value: dt.date | str | None) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def _filter(idx: Index, sources: Iterable[str] | None, since: dt.date | None, until: dt.date | None) -> np.ndarray:
    allowed = np.ones(len(idx.chunks), dtype=bool)
    every = np.arange(len(idx.chunks))
    if sources:
        allowed &= _from_sources(idx, every, sources)
    if since or until:
        allowed &= _published_within(idx, every, since, until)
    return allowed


def _from_sources(idx: Index, chunks: np.ndarray, sources: Iterable[str]) -> np.ndarray:
    wanted = {s.casefold() for s in sources}
    return np.array([idx.chunk_sources[i] in wanted for i in chunks], dtype=bool)


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
    score: float  #: fused, boosted, recency-adjusted: what ranks
    similarity: float  #: cosine of question and chunk
    keyword: float  #: BM25 coverage: the chunk's score over what the question's words could reach


def _rank(idx: Index, text: str, query: np.ndarray, allowed: np.ndarray, implied: Constraints,
          mode: Mode, config: Config) -> list[_Scored]:
    """Every candidate chunk, best first."""
    ids = np.flatnonzero(allowed)
    if ids.size == 0:
        return []
    pool = min(_POOL, ids.size)
    params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(ids.astype(np.int64)))
    _, dense_ids = idx.vectors.search(query[None, :], pool, params=params)
    tokens = [t for t in bm25_tokens([text])[0] if t in idx.bm25.vocab_dict]
    bm25 = np.zeros(len(idx.chunks), dtype=np.float32)
    if tokens:
        bm25 = np.asarray(idx.bm25.get_scores(tokens), dtype=np.float32)
        bm25[~allowed] = 0.0
    # The best score each question word reaches anywhere: a chunk's share of their sum says how much
    # of the question it covers, comparable across questions (the abstention signal uses it).
    reachable = sum(float(idx.bm25.get_scores([t]).max()) for t in set(tokens))
    keyword_ids = ids[np.argsort(-bm25[ids])[:pool]]
    candidates = np.unique(np.concatenate([dense_ids[0][dense_ids[0] >= 0], keyword_ids[bm25[keyword_ids] > 0]]))
    similarity = idx.vectors.reconstruct_batch(candidates) @ query
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
    score = score + _constraint_boost(idx, candidates, implied)
    if STATUS_QUESTION.search(text):
        score = score + _recency_bonus(idx, candidates, score, similarity)
    order = np.argsort(-score)
    return [_Scored(int(candidates[j]), float(score[j]), float(similarity[j]), float(coverage[j])) for j in order]


def _constraint_boost(idx: Index, candidates: np.ndarray, implied: Constraints) -> np.ndarray:
    boost = np.zeros(len(candidates), dtype=np.float32)
    if implied.sources:
        boost += _SOURCE_BOOST * _from_sources(idx, candidates, implied.sources)
    if implied.since or implied.until:
        boost += _DATE_BOOST * _published_within(idx, candidates, implied.since, implied.until)
    return boost


#: Questions about how things stand ("did the summit happen?", "is the merger still on?"):
#: for these the newest on-topic dated report leads.
STATUS_QUESTION = re.compile(
    r"\b(happen(?:ed|ing)?|take place|taking place|took place|go(?:ne|ing)? ahead|went ahead|still|latest|"
    r"current(?:ly)?|right now|as of now|status|any update|called off|cancel+ed|postponed|delayed|on track|"
    r"go forward|what happened|outcome|final(?:ly)?|end(?:ed)? up)\b",
    re.IGNORECASE,
)


def on_topic(similarity: np.ndarray) -> np.ndarray:
    """Which passages bear on the question: close in meaning to it, relative to the closest.

    Meaning rather than words: a newer report of the same event often uses other words
    ("postponed until September" against "will take place on June 14").
    """
    return similarity >= ON_TOPIC * float(similarity.max())


def _recency_bonus(idx: Index, candidates: np.ndarray, score: np.ndarray, similarity: np.ndarray) -> np.ndarray:
    """For a status question: among on-topic passages, newer dated reports move up, the newest to the top.

    Undated passages count as older than any dated one, so they never lead as the newest by
    accident. Applied to every question this cost MRR on the development set (most questions
    ask for a fact, not for the latest state), so it is kept to status questions.
    """
    bonus = np.zeros(len(candidates), dtype=np.float32)
    best = float(score.max())
    band = on_topic(similarity)
    dates = idx.chunk_dates[candidates]
    days = sorted({int(d) for d in dates[band]})  # 0 stands for undated
    if len(days) < 2:
        return bonus
    position = {day: n / (len(days) - 1) for n, day in enumerate(days)}  # oldest (or undated) 0 … newest 1
    for j in np.flatnonzero(band):
        bonus[j] = best * position[int(dates[j])]
    return bonus


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


def _passages(idx: Index, chosen: list[_Scored], question: str, query: np.ndarray, config: Config) -> list[Passage]:
    """Passages with citations: each cites its sentence that best answers the question.

    Embedding sentences is nearly all of a query's time, so only the few sentences of each passage
    that share most words with the question are embedded, in one batch.
    """
    groups = []
    for item in chosen:
        chunk = idx.chunks[item.chunk]
        text = idx.article_of(chunk).text
        sentences = [text[s.start : s.end] for s in chunk.sentences]
        overlap = _overlaps(question, sentences)
        embed = sorted(range(len(sentences)), key=lambda j: -overlap[j])[:_SENTENCES_EMBEDDED]
        groups.append((sentences, overlap, embed))
    batch = [sentences[j] for sentences, _, embed in groups for j in embed]
    vectors = iter(load_embedder(config.model).encode(batch)) if batch else iter([])
    passages = []
    for rank, (item, (sentences, overlap, embed)) in enumerate(zip(chosen, groups), 1):
        scores = [-1.0] * len(sentences)
        for j in embed:
            scores[j] = _sentence_score(next(vectors), query, overlap[j])
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
