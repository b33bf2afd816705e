"""Retrieval: a `Query` → ranked `Passage`s, each with the sentence that best supports it.

The engine (`qa/engine.py`) makes the query and holds the index; ranking (relevance,
constraints, the story's newest report first, parts in view) is `qa/ranking.py`. Here: the index
is asked for what ranking needs, then for the passages' texts; at most `max_per_article`
passages per article and no near-duplicates (syndicated copies) are kept; each passage cites
its best sentence; for a status question a newer report on the lead's subject may lead.

No model runs here: the sentence to cite is chosen with sentence vectors stored at build time.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .answer_type import holds_answer
from .config import Config, Mode
from .evidence import support
from .freshness import newer_on_subject
from .query import Query, asks_how_things_stand
from .ranking import Scores, in_turn, rank, story_first, weights
from .records import Article, Chunk, Citation, Passage
from .status import status_sentences
from .storage import AnyIndex, Filter
from .storage.keyword import analyze
from .storage.probe import Fetch

__all__ = ["search", "renumber", "on_topic"]


def search(idx: AnyIndex, query: Query, k: int, *, mode: Mode, where: Filter, config: Config) -> list[Passage]:
    """The `k` best passages for `query` among the chunks `where` admits; one metadata snapshot.

    The index is asked twice (`qa/storage/probe.py`): once for everything ranking needs, once
    for the texts of the passages to show and, for a status question, the story brought in whole.
    """
    with idx.snapshot():
        ranked = rank(idx, query, where, mode, config)
        if ranked is None:
            return []
        scores, probe = ranked
        story = scores.rows.stories[int(scores.order[0])] if query.status else None
        likely = _spread(in_turn(scores, query, mode, config), k + 2, config)  # the passages, before the story is in
        guess = tuple(int(scores.rows.ids[j]) for j in likely)
        fuse = weights(scores, mode, config)
        # The answer lists the first passage's story (`answer.compose`): asked for now, it costs no request then.
        first = story or scores.rows.stories[likely[0]]
        fetched = idx.fetch(Fetch(guess, story, first, probe.where, probe.scored, fuse, query.vector))
        if story is not None:
            scores = story_first(scores, story, fetched, query, mode, config)
        scores = in_turn(scores, query, mode, config)
        chosen = _spread(scores, k, config)
        loaded = dict(fetched.loaded)
        unloaded = tuple(int(scores.rows.ids[j]) for j in chosen if int(scores.rows.ids[j]) not in loaded)
        if unloaded:  # ranking picked a chunk the fetch did not bring (rare): one more request
            loaded.update(idx.fetch(Fetch(unloaded, None, None, probe.where, (), fuse, query.vector)).loaded)
        passages = _passages(scores, chosen, loaded, query, config)
        return _newer_leads(passages, query, config) if asks_how_things_stand(query) else passages


def _newer_leads(passages: list[Passage], query: Query, config: Config) -> list[Passage]:
    """For a status question: a retrieved report newer than the lead, on the lead's subject but not
    linked into its story (`qa/freshness.py`), leads instead when it answers the question: a
    sentence of it states a status of what is asked, or it is as close to the question as the lead.
    Story linking is the first line (`story_first`); this is the net under it."""
    if not passages:
        return passages
    first = passages[0]
    stating = [
        p
        for p in newer_on_subject(first, passages, query.text, by_words=False)
        if status_sentences(p, config.status_sentence_margin) or p.similarity >= 0.9 * first.similarity
    ]
    if not stating:
        return passages
    return renumber([stating[0]] + [p for p in passages if p is not stating[0]])


def on_topic(similarity: np.ndarray, share: float) -> np.ndarray:
    """Which passages bear on the question: close in meaning to it, relative to the closest."""
    if similarity.size == 0:
        return similarity.astype(bool)
    return similarity >= share * float(similarity.max())


def _spread(scores: Scores, k: int, config: Config) -> list[int]:
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


def _passages(
    scores: Scores, chosen: list[int], loaded: dict[int, tuple[Chunk, Article, np.ndarray]], query: Query, config: Config
) -> list[Passage]:
    """Passages with citations: each cites its sentence that best answers the question (no model runs)."""
    chosen = [j for j in chosen if int(scores.rows.ids[j]) in loaded]  # not deleted by a build committed a moment ago
    texts = [_title_and_sentences(loaded[int(scores.rows.ids[j])]) for j in chosen]
    first_content = len(scores.scored) - len(query.parts)
    content_bm25 = [bm25[chosen] for bm25 in scores.scored[first_content:]]
    supported = support(
        query.parts, content_bm25, (scores.maxes, scores.chunks, scores.holding), scores.rows.vectors[chosen], texts
    )
    passages = []
    for number, j in enumerate(chosen, 1):
        chunk, article, vectors = loaded[int(scores.rows.ids[j])]
        evidence = tuple(float(x) for x in supported[:, number - 1])
        # The sentence to cite answers what this passage is here for: the question, or the part it supports best.
        serves = query.parts[int(np.argmax(evidence))] if query.multipart else query
        sentences = [article.text[s.start : s.end] for s in chunk.sentences]
        wanted = set(serves.terms)
        overlap = [len(wanted & set(analyze(s))) / max(len(wanted), 1) for s in sentences]
        similarity = vectors @ serves.vector if len(vectors) == len(sentences) else np.zeros(len(sentences), np.float32)
        answers = [config.answer_type_bonus * holds_answer(s, query.wants, query.text) for s in sentences]
        sentence_scores = tuple(float(v) + config.sentence_overlap * o + a for v, o, a in zip(similarity, overlap, answers))
        best = chunk.sentences[int(np.argmax(sentence_scores))]
        citation = Citation(
            number,
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
                number,
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
