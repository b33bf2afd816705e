"""The one error of fetching: a URL that could not be fetched, and why, in a line."""

from __future__ import annotations

from ..errors import QAError

__all__ = ["FetchError"]


class FetchError(QAError):
    """A feed, page or robots.txt that was not fetched; the message says why in a line.

    `retry`: a failure that may pass (a timeout, a refused connection, HTTP 5xx or 429);
    `status`: the HTTP status, when the server answered."""

    def __init__(self, message: str, *, retry: bool = False, status: int | None = None) -> None:
        super().__init__(message)
        self.retry, self.status = retry, status
