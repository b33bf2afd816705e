"""The errors a user can meet, each with a message that says what to do next."""

from __future__ import annotations

import re

__all__ = [
    "shown",
    "InvalidRequest",
    "QAError",
    "IndexNotFoundError",
    "IndexMismatchError",
    "CorruptIndexError",
    "BuildError",
    "NoMatchError",
]


class QAError(Exception):
    """Base of every error qa raises on purpose; the CLI prints its message on one line."""


class IndexNotFoundError(QAError):
    pass


class IndexMismatchError(QAError):
    """The index was built by another model or another format version: it must be rebuilt."""


class CorruptIndexError(QAError):
    pass


class BuildError(QAError):
    """A build that could not finish; the previous index, if any, is untouched and still serving."""


class InvalidRequest(QAError, ValueError):
    """A question, filter or argument that cannot be used as given (an empty question, k = 0, a date
    that is not YYYY-MM-DD); the message says what was wrong, quoting at most ~100 characters of it."""


class NoMatchError(QAError, ValueError):
    """A filter (`sources=`, `since=`, `until=`) that no article passes."""


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def shown(text: str, limit: int = 100) -> str:
    """Input quoted in a message: control and direction characters escaped (a file name must not
    move a terminal's cursor), and at most about `limit` characters, its start and end kept."""
    text = _CONTROL.sub(lambda m: m[0].encode("unicode_escape").decode("ascii"), text)
    if len(text) <= limit:
        return text
    return f"{text[: limit // 2 - 1]}…{text[-(limit // 2 - 1) :]}"
