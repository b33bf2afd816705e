"""What the server's three parts share: the engine, one limit on answers in flight, a per-client
rate limit and a throttle on failed logins.

Answers run in threads (Gradio's workers and FastAPI's thread pool alike); `Gate` is the one
place that bounds how many run at once, so `QA_CONCURRENCY` means the same whether a question
comes from the chat, the Gradio API or the JSON API.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ..config import Config
from ..engine import Engine, engine_for
from ..records import Answer, Passage

__all__ = ["Gate", "RateLimit", "LoginThrottle", "Service", "weak_password", "MIN_PASSWORD"]

#: An admin password for a server others can reach must be at least this long.
MIN_PASSWORD = 12
_WEAK = {"password", "passw0rd", "qwerty", "letmein", "admin", "administrator", "changeme", "welcome", "secret", "iloveyou"}


def weak_password(password: str) -> str | None:
    """Why a password is too weak for an exposed server, or `None`."""
    if len(password) < MIN_PASSWORD:
        return f"it has {len(password)} characters; at least {MIN_PASSWORD} are needed"
    lowered = password.lower()
    if len(set(lowered)) <= 3 or any(word in lowered for word in _WEAK) or lowered in "0123456789" * 3 or lowered.isdigit():
        return "it is a well-known or repetitive password"
    return None


class Gate:
    """At most `limit` answers in flight; counts how many are, and the most there ever were."""

    def __init__(self, limit: int) -> None:
        self._slots = threading.BoundedSemaphore(limit)
        self._lock = threading.Lock()
        self.limit = limit
        self.in_flight = 0
        self.most = 0

    @contextmanager
    def slot(self) -> Iterator[None]:
        with self._slots:
            with self._lock:
                self.in_flight += 1
                self.most = max(self.most, self.in_flight)
            try:
                yield
            finally:
                with self._lock:
                    self.in_flight -= 1


class RateLimit:
    """At most `per_minute` questions a minute per client (0: no limit); remembers at most 10,000 clients."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._seen: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def wait(self, client: str) -> float:
        """0 when the client may ask now, else the seconds until it may (for `Retry-After`)."""
        if self.per_minute <= 0:
            return 0.0
        now = time.monotonic()
        with self._lock:
            times = self._seen.pop(client, deque())
            while times and times[0] <= now - 60:
                times.popleft()
            self._seen[client] = times
            while len(self._seen) > 10_000:
                self._seen.popitem(last=False)
            if len(times) >= self.per_minute:
                return max(times[0] + 60 - now, 0.001)
            times.append(now)
            return 0.0


class LoginThrottle:
    """Failed logins per client: after `free` failures within ten minutes, each further attempt must
    wait twice as long as the last (1 s, 2 s, 4 s … up to 10 min); a success clears the count."""

    def __init__(self, free: int = 5) -> None:
        self.free = free
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def wait(self, client: str) -> float:
        now = time.monotonic()
        with self._lock:
            times = self._failures.get(client, deque())
            while times and times[0] <= now - 600:
                times.popleft()
            over = len(times) - self.free
            if over < 0:
                return 0.0
            return max(times[-1] + min(2.0**over, 600.0) - now, 0.0)

    def failed(self, client: str) -> None:
        with self._lock:
            self._failures.setdefault(client, deque()).append(time.monotonic())
            self._failures.move_to_end(client)
            while len(self._failures) > 10_000:
                self._failures.popitem(last=False)

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._failures.pop(client, None)


@dataclass
class Service:
    """The engine and the limits every part of the server goes through."""

    config: Config
    admin_password: str | None = None
    gate: Gate = field(init=False)
    rate: RateLimit = field(init=False)
    logins: LoginThrottle = field(default_factory=LoginThrottle)

    def __post_init__(self) -> None:
        self.gate = Gate(self.config.concurrency)
        self.rate = RateLimit(self.config.rate_limit)

    @property
    def engine(self) -> Engine:
        return engine_for(self.config.index, self.config)

    def answer(self, question: str, **arguments: Any) -> Answer:
        with self.gate.slot():
            return self.engine.answer(question, **arguments)

    def answer_stream(self, question: str, **arguments: Any) -> Iterator[str | Answer]:
        """The answer as it is written (a generated one in pieces), the final `Answer` last; one slot throughout."""
        with self.gate.slot():
            yield from self.engine.answer_stream(question, **arguments)

    def retrieve(self, question: str, **arguments: Any) -> list[Passage]:
        with self.gate.slot():
            return self.engine.retrieve(question, **arguments)
