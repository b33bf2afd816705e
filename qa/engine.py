"""The engine: configuration, encoder and index loaded once; one `Query` per question.

`qa.retrieve` and `qa.answer` are thin functions over a cached `Engine` per index path and
configuration. Before each question the engine checks the index's generation (one SQLite
read) and loads a newer build when one was committed, so a running server never needs a
restart after `qa build` / `qa add` / `qa remove`. A question is encoded once; nothing after
that runs the model, except to verify a generated answer's sentences (`qa/compose/`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .answer import compose
from .answer_type import expected_type
from .compose import Endpoint, generate
from .config import Composer, Config, Mode
from .embedding import Encoder, encoder_key, load_encoder
from .errors import IndexMismatchError, InvalidRequest, shown
from .parts import content_terms, named_words, split_parts
from .query import (
    OTHER_EXAMPLES,
    STATUS_EXAMPLES,
    Part,
    Query,
    asks_about_now,
    asks_yes_or_no,
    keyword_terms,
    parse_constraints,
    status_margin,
)
from .question import checked_filter, checked_k, make_filter, prepare_question, with_context
from .records import Answer, Passage
from .retrieval import search
from .storage import AnyIndex, Index, ShardedIndex, open_index
from .storage.feeds import fetch_times

__all__ = ["Engine", "Loaded", "LOADED", "shared_encoder", "engine_for", "retrieve", "answer", "load_index", "prepare_question"]


class Engine:
    """Everything a question needs, loaded once per process and index."""

    def __init__(self, config: Config, index: Path | str | None = None) -> None:
        self.config = config
        self.path = Path(index) if index is not None else Path(config.index)
        self._index: AnyIndex | None = None
        self._lock = threading.Lock()
        self._examples: tuple[np.ndarray, np.ndarray] | None = None
        self._endpoint: Endpoint | None = None

    def endpoint(self) -> Endpoint:
        """The configured chat endpoint of the generative composer (made on first use)."""
        with self._lock:
            if self._endpoint is None:
                self._endpoint = Endpoint(self.config)
            return self._endpoint

    @property
    def encoder(self) -> Encoder:
        return shared_encoder(self.config)

    def index(self) -> AnyIndex:
        """The current generation (of one index or a shard set), reloaded when a newer one was committed."""
        with self._lock:
            current = self._index
            if current is None or current.generation_now() != current.generation:
                fresh = open_index(
                    self.path,
                    nprobe=self.config.ivf_nprobe,
                    shard_workers=self.config.shard_workers,
                    ray_address=self.config.ray_address,
                    shard_seconds=self.config.shard_seconds,
                )
                if fresh.model_id != self.encoder.model_id:
                    raise IndexMismatchError(
                        f"index at {self.path} was built with model {fresh.model_id!r}, but the configured model is "
                        f"{self.encoder.model_id!r}; rebuild it with `qa build --full --index {self.path}` "
                        "(or configure the model it was built with)"
                    )
                self._index = current = fresh
            return current

    def make_query(self, question: str, index: AnyIndex) -> tuple[Query, list[str]]:
        """The question read and encoded once: vector, words, outlets, dates, and whether it asks how things stand."""
        text, notes = prepare_question(question, self.config)
        known = index.sources()
        pieces = split_parts(text, known)
        # One batch: the question and, when it has several, its parts.
        vectors = self.encoder.encode([text, *pieces] if len(pieces) > 1 else [text])
        vector = vectors[0]
        margin = status_margin(vector, *self._status_examples())
        # A wh-question ("why was he fired?") asks for a fact unless its meaning leans hard towards the
        # current state ("what is the latest on the talks?"); a yes/no question needs only to lean.
        status = asks_about_now(text) or margin > (
            self.config.status_margin if asks_yes_or_no(text) else self.config.status_margin_open
        )
        parts = tuple(
            Part(piece, part_vector, keyword_terms(piece), tuple(dict.fromkeys(content_terms(piece, known))))
            for piece, part_vector in zip(pieces, vectors[1:] if len(pieces) > 1 else vectors)
        )
        # What the question names that no article holds: from the index's term counts, no shard asked.
        names = named_words(text, known)
        terms = sorted({t for word_terms in names.values() for t in word_terms})
        holding = dict(zip(terms, index.term_statistics(terms)[2])) if terms else {}
        unknown = tuple(word for word, word_terms in names.items() if any(holding[t] == 0 for t in word_terms))
        query = Query(
            text, vector, parse_constraints(text, known), status, keyword_terms(text), parts, expected_type(text), unknown
        )
        return query, notes

    def _status_examples(self) -> tuple[np.ndarray, np.ndarray]:
        if self._examples is None:
            self._examples = (self.encoder.encode(list(STATUS_EXAMPLES)), self.encoder.encode(list(OTHER_EXAMPLES)))
        return self._examples

    def retrieve(
        self,
        question: str,
        k: int | None = None,
        *,
        mode: Mode | None = None,
        sources: Iterable[str] | str | None = None,
        since: dt.date | str | None = None,
        until: dt.date | str | None = None,
    ) -> list[Passage]:
        index = self.index()
        where = checked_filter(index, make_filter(sources, since, until))
        query, _ = self.make_query(question, index)
        with index.snapshot():
            return self._fetched(
                search(index, query, checked_k(k, self.config), mode=mode or self.config.mode, where=where, config=self.config)
            )

    def answer(
        self,
        question: str,
        history: Sequence[Any] | None = None,
        *,
        sources: Iterable[str] | str | None = None,
        since: dt.date | str | None = None,
        until: dt.date | str | None = None,
        k: int | None = None,
        mode: Mode | None = None,
        composer: Composer | None = None,
    ) -> Answer:
        result: Answer | None = None
        for item in self.answer_stream(
            question, history, sources=sources, since=since, until=until, k=k, mode=mode, composer=composer
        ):
            if isinstance(item, Answer):
                result = item
        assert result is not None
        return result

    def answer_stream(
        self,
        question: str,
        history: Sequence[Any] | None = None,
        *,
        sources: Iterable[str] | str | None = None,
        since: dt.date | str | None = None,
        until: dt.date | str | None = None,
        k: int | None = None,
        mode: Mode | None = None,
        composer: Composer | None = None,
    ) -> Iterator[str | Answer]:
        """The answer as it is written: for a generated one its text in pieces, then the final
        `Answer` (always last; a fallback to quotes says why in its notes)."""
        chosen = composer or self.config.answer
        if chosen not in ("extractive", "generative"):
            raise InvalidRequest(f"composer must be 'extractive' or 'generative', not {shown(repr(chosen))}")
        index = self.index()
        where = checked_filter(index, make_filter(sources, since, until))
        text, notes = prepare_question(question, self.config)
        searched = with_context(text, history)
        if searched != text:  # say how a follow-up was read
            notes = [*notes, f"Searched with: {searched}"]
        query, _ = self.make_query(searched, index)
        with index.snapshot() as reading:  # search and compose read one generation
            passages = search(
                index, query, checked_k(k, self.config), mode=mode or self.config.mode, where=where, config=self.config
            )
            if isinstance(reading, set) and reading:  # a shard set served by Ray, some shards silent
                notes = [*notes, _missing_shards(reading, index)]
            result = compose(question, query, passages, index, self.config, notes)
        result = dataclasses.replace(result, passages=tuple(self._fetched(result.passages)))
        if chosen == "extractive" or not result.answered:
            yield result
            return
        yield from generate(result, query, self.config, self.encoder, self.endpoint)

    def _fetched(self, passages: Sequence[Passage]) -> list[Passage]:
        """Citations of articles a feed brought say when they were fetched (`qa/storage/feeds.py`)."""
        times = fetch_times(self.path, [p.article.id for p in passages])
        return [
            dataclasses.replace(p, citation=dataclasses.replace(p.citation, fetched=times[p.article.id]))
            if p.article.id in times
            else p
            for p in passages
        ]


def _missing_shards(missing: set[int], index: AnyIndex) -> str:
    """The note of an answer that some shards of a set did not help to make."""
    names = ", ".join(str(n + 1) for n in sorted(missing))
    return (
        f"Shard {names} of {index.shard_count} did not answer in time (QA_SHARD_SECONDS): "  # type: ignore[union-attr]
        "this answer leaves out the articles it holds."
    )


class Loaded:
    """Everything this process has loaded, in one place: one engine per index and configuration
    (each holding its index generation and caches), and one encoder per model setting, shared by
    reference between those engines and with the builds that run in this process."""

    def __init__(self) -> None:
        self._engines: dict[tuple[str, Config], Engine] = {}
        self._encoders: dict[tuple[object, ...], Encoder] = {}
        self._lock = threading.Lock()

    def encoder(self, config: Config) -> Encoder:
        key = encoder_key(config)
        with self._lock:
            if key not in self._encoders:
                self._encoders[key] = load_encoder(config)
            return self._encoders[key]

    def engine(self, path: Path, config: Config) -> Engine:
        key = (str(path.absolute()), config)
        with self._lock:
            if key not in self._engines:
                self._engines[key] = Engine(config, path)
            return self._engines[key]


#: The process's one owner of loaded state (`qa.retrieve`, `qa.answer` and builds go through it).
LOADED = Loaded()


def shared_encoder(config: Config) -> Encoder:
    """The loaded encoder for `config`'s model settings (loaded on first use)."""
    return LOADED.encoder(config)


def engine_for(index: AnyIndex | Path | str | None = None, config: Config | None = None) -> Engine:
    """The engine for an index (an `Index` or `ShardedIndex`, a folder path, or the configured default)."""
    config = config or Config.from_env()
    if isinstance(index, (Index, ShardedIndex)):
        index = index.path
    return LOADED.engine(Path(index) if index is not None else Path(config.index), config)


def load_index(index: AnyIndex | Path | str | None = None, config: Config | None = None) -> AnyIndex:
    """The current generation of an index (an `Index`, a folder path, or the configured default)."""
    return engine_for(index, config).index()


def retrieve(
    question: str,
    k: int = 5,
    index: AnyIndex | Path | str | None = None,
    *,
    mode: Mode | None = None,
    sources: Iterable[str] | str | None = None,
    since: dt.date | str | None = None,
    until: dt.date | str | None = None,
    config: Config | None = None,
) -> list[Passage]:
    """The `k` passages that best answer `question`; for status questions the newest report first.

    `index` is an `Index` or the path of an index folder (default: the configured one).
    `sources`, `since` and `until` filter by the article's outlet and publication date;
    undated articles are excluded once a date filter is given.
    """
    return engine_for(index, config).retrieve(question, k, mode=mode, sources=sources, since=since, until=until)


def answer(
    question: str,
    history: Sequence[Any] | None = None,
    since: dt.date | str | None = None,
    until: dt.date | str | None = None,
    *,
    sources: Iterable[str] | str | None = None,
    k: int | None = None,
    index: AnyIndex | Path | str | None = None,
    config: Config | None = None,
    composer: Composer | None = None,
) -> Answer:
    """Answer `question` from the index, with dated, numbered citations; declines when nothing is relevant.

    `history` is the chat so far (role/content messages, [user, assistant] pairs or plain strings);
    a short follow-up such as "and why?" is searched together with the previous question.
    `composer` ("extractive" or "generative"; default `config.answer`) chooses who writes it.
    """
    return engine_for(index, config).answer(question, history, sources=sources, since=since, until=until, k=k, composer=composer)
