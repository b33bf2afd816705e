"""The errors a user can meet, each with a message that says what to do next."""

from __future__ import annotations

__all__ = ["QAError", "IndexNotFoundError", "IndexMismatchError", "CorruptIndexError", "BuildError", "NoMatchError"]


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


class NoMatchError(QAError, ValueError):
    """A filter (`sources=`, `since=`, `until=`) that no article passes."""
