"""Which articles may answer a question: `Filter`, its outlets and its publication-date range.

Kept apart from the reader (`reader.py`) because every side of a question uses it: the question and
ranking build one, `Index` applies it as SQL, `probe.py` as a mask over candidate rows, and it
travels to shards inside a `Probe`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Filter"]


@dataclass(frozen=True)
class Filter:
    """Which articles may answer: outlets (casefolded) and a publication-date range (undated never match)."""

    sources: tuple[str, ...] = ()
    since: dt.date | None = None
    until: dt.date | None = None

    def __bool__(self) -> bool:
        return bool(self.sources or self.since or self.until)

    def admits(self, sources: Sequence[str], dates: np.ndarray) -> np.ndarray:
        """Which rows (casefolded source, date ordinal with 0 for undated) pass, as a mask."""
        keep = np.ones(len(dates), dtype=bool)
        if self.sources:
            keep &= np.array([s in self.sources for s in sources], dtype=bool)
        if self.since or self.until:
            keep &= dates > 0
        if self.since:
            keep &= dates >= self.since.toordinal()
        if self.until:
            keep &= dates <= self.until.toordinal()
        return keep

    def sql(self) -> tuple[str, list[Any]]:
        """A condition on `articles a`."""
        parts: list[str] = []
        params: list[Any] = []
        if self.sources:
            parts.append(f"a.source_fold IN ({','.join('?' * len(self.sources))})")
            params += list(self.sources)
        if self.since:
            parts.append("a.date >= ?")
            params.append(self.since.toordinal())
        if self.until:
            parts.append("a.date <= ?")
            params.append(self.until.toordinal())
        if self.since or self.until:
            parts.append("a.date IS NOT NULL")
        return " AND ".join(parts) or "1", params
