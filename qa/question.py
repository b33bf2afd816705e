"""A question's request, checked before anything runs: the question's text, the filters, `k` and a
follow-up's context. Every refusal is an `InvalidRequest` or `NoMatchError` of one line.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from typing import Any

from .config import MAX_K, Config
from .errors import InvalidRequest, NoMatchError, shown
from .storage import AnyIndex, Filter

__all__ = ["prepare_question", "make_filter", "checked_filter", "checked_k", "with_context"]


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


def checked_filter(index: AnyIndex, where: Filter) -> Filter:
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


def checked_k(k: int | None, config: Config) -> int:
    k = config.k if k is None else k
    if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= MAX_K:
        raise InvalidRequest(f"k must be a whole number from 1 to {MAX_K}, not {shown(repr(k))}")
    return k


def with_context(question: str, history: Sequence[Any] | None) -> str:
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
