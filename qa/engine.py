"""The engine: configuration, encoder and index loaded once; one `Query` per question.

`qa.retrieve` and `qa.answer` are thin functions over a cached `Engine` per index path and
configuration. Before each question the engine checks the index's generation (one SQLite
read) and loads a newer build when one was committed, so a running server never needs a
restart after `qa build` / `qa add` / `qa remove`. A question is encoded once; nothing after
that runs the model.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .answer import compose
from .config import MAX_K, Config, Mode
from .embedding import Encoder, encoder_key, load_encoder
from .errors import IndexMismatchError, InvalidRequest, NoMatchError, shown
from .parts import content_terms, split_parts
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
from .records import Answer, Passage
from .retrieval import search
from .storage import AnyIndex, Filter, Index, ShardedIndex, open_index
from .storage.feeds import fetch_times

__all__ = ["Engine", "Loaded", "LOADED", "shared_encoder", "engine_for", "retrieve", "answer", "load_index", "prepare_question"]


def prepare_question(question: object, config: Config) -> tuple[str, list[str]]:
    """The question as it will be searched, and notes for the user if it had to change."""
    if not isinstance(question, str):
        raise InvalidRequest(f"the question must be text, not {'None' if question is None else type(question).__name__}")
    if not question.strip():
        raise InvalidRequest("the question is empty")
    if re.search("[\ud800-\udfff]", question):  # bytes that were not UTF-8 (a terminal's surrogateescape)
        raise InvalidRequest("the question is not valid UTF-8 text")
    text = re.sub(r"\s+", " ", question).strip()
    notes = []
    if len(text) > config.max_question_chars:
        notes.append(f"The question was {len(text):,} characters long; only the first {config.max_question_chars:,} were used.")
        text = text[: config.max_question_chars]
    return text, notes


def _as_date(value: dt.date | str | None, name: str) -> dt.date | None:
    if value is None or value == "" or isinstance(value, dt.date):
        return value or None
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise InvalidRequest(f"{name} must be a date as YYYY-MM-DD, not {shown(repr(value))}") from None


def make_filter(sources: Iterable[str] | str | None, since: dt.date | str | None, until: dt.date | str | None) -> Filter:
    """Explicit filters, checked: one source may be given as a plain string."""
    if isinstance(sources, str):
        sources = [sources]
    if sources is not None:
        if not isinstance(sources, Iterable) or isinstance(sources, (bytes, dict)):
            raise InvalidRequest("sources must be a source name or a list of source names")
        sources = list(sources)
        if not all(isinstance(s, str) for s in sources):
            raise InvalidRequest("sources must be a source name or a list of source names")
    wanted = tuple(dict.fromkeys(s.strip().casefold() for s in sources or () if s.strip()))
    low, high = _as_date(since, "since"), _as_date(until, "until")
    if low and high and low > high:
        raise InvalidRequest(f"since ({low}) is after until ({high}): no article can match")
    return Filter(wanted, low, high)


class Engine:
    """Everything a question needs, loaded once per process and index."""

    def __init__(self, config: Config, index: Path | str | None = None) -> None:
        self.config = config
        self.path = Path(index) if index is not None else Path(config.index)
        self._index: AnyIndex | None = None
        self._lock = threading.Lock()
        self._examples: tuple[np.ndarray, np.ndarray] | None = None

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
        query = Query(text, vector, parse_constraints(text, known), status, keyword_terms(text), parts)
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
        where = _checked_filter(index, make_filter(sources, since, until))
        query, _ = self.make_query(question, index)
        return self._fetched(
            search(index, query, _k(k, self.config), mode=mode or self.config.mode, where=where, config=self.config)
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
    ) -> Answer:
        index = self.index()
        where = _checked_filter(index, make_filter(sources, since, until))
        text, notes = prepare_question(question, self.config)
        searched = _with_context(text, history)
        if searched != text:  # say how a follow-up was read
            notes = [*notes, f"Searched with: {searched}"]
        query, _ = self.make_query(searched, index)
        with index.snapshot():  # search and compose read one generation
            passages = search(index, query, _k(k, self.config), mode=mode or self.config.mode, where=where, config=self.config)
            answered = compose(question, query, passages, index, self.config, notes)
        return dataclasses.replace(answered, passages=tuple(self._fetched(answered.passages)))

    def _fetched(self, passages: Sequence[Passage]) -> list[Passage]:
        """Citations of articles a feed brought say when they were fetched (`qa/storage/feeds.py`)."""
        times = fetch_times(self.path, [p.article.id for p in passages])
        return [
            dataclasses.replace(p, citation=dataclasses.replace(p.citation, fetched=times[p.article.id]))
            if p.article.id in times
            else p
            for p in passages
        ]


def _checked_filter(index: AnyIndex, where: Filter) -> Filter:
    """`where`, or a one-line `NoMatchError` saying what matched nothing and what there is."""
    if not where or index.admits_any(where):
        return where
    known = index.sources()
    sources = [s for s in known if s.casefold() in where.sources]
    if where.sources and not sources:
        listed = ", ".join(known[:12]) + (f" and {len(known) - 12} more" if len(known) > 12 else "")
        names = ", ".join(repr(s) for s in where.sources)
        raise NoMatchError(f"No articles match source {names} (known sources: {listed or 'none'})")
    low, high = index.date_range()
    span = f"from {low} to {high}" if low else "none of them dated"
    bounds = " and ".join(
        x
        for x in (f"on or after {where.since}" if where.since else "", f"on or before {where.until}" if where.until else "")
        if x
    )
    outlets = f" from {', '.join(sources)}" if where.sources else ""
    raise NoMatchError(f"No articles{outlets} were published {bounds} (the index holds articles {span})")


def _k(k: int | None, config: Config) -> int:
    k = config.k if k is None else k
    if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= MAX_K:
        raise InvalidRequest(f"k must be a whole number from 1 to {MAX_K}, not {shown(repr(k))}")
    return k


def _with_context(question: str, history: Sequence[Any] | None) -> str:
    """A follow-up of a few words is searched with the user's previous question."""
    if history is not None and (isinstance(history, (str, bytes, dict)) or not isinstance(history, Sequence)):
        raise InvalidRequest("history must be a list of chat messages")
    if not history or len(re.findall(r"\w{3,}", question)) > 4:
        return question
    for message in reversed(list(history)):
        content: Any = None
        if isinstance(message, str):
            content = message
        elif isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, list):  # Gradio may send content as typed blocks
                content = " ".join(b["text"] for b in content if isinstance(b, dict) and isinstance(b.get("text"), str))
        elif isinstance(message, (list, tuple)) and message and isinstance(message[0], str):
            content = message[0]  # [user, assistant] pairs
        if isinstance(content, str) and content.strip():
            return f"{content.strip()} {question}"
    return question


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
) -> Answer:
    """Answer `question` from the index, with dated, numbered citations; declines when nothing is relevant.

    `history` is the chat so far (role/content messages, [user, assistant] pairs or plain strings);
    a short follow-up such as "and why?" is searched together with the previous question.
    """
    return engine_for(index, config).answer(question, history, sources=sources, since=since, until=until, k=k)
