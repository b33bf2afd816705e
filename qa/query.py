"""Query constraints read from the question itself, without an LLM: sources and dates.

News questions name their outlets ("…as reported by TechCrunch and The Verge…")
and their days ("…published on October 5, 2023…"). Sources are recognised
only when the index holds them, so "fortune" in "a small fortune" is not the
magazine; dates only when they are real calendar expressions. Both become
boosts in retrieval, not filters: a misread constraint must not hide the answer.
Explicit `sources=`, `since=`, `until=` arguments are filters.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass

from .dates import parse_date

__all__ = ["Constraints", "parse_constraints", "source_aliases"]


@dataclass(frozen=True)
class Constraints:
    sources: tuple[str, ...] = ()  #: source names as stored in the index
    since: dt.date | None = None
    until: dt.date | None = None

    def __bool__(self) -> bool:
        return bool(self.sources or self.since or self.until)


_MONTHS = r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|jun(?:e)?|jul(?:y)?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
_DAY = rf"(?:{_MONTHS}\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+(?:19|20)\d\d|\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTHS}\.?,?\s+(?:19|20)\d\d|\d{{4}}-\d{{2}}-\d{{2}})"
_MONTH = rf"(?:{_MONTHS}\.?,?\s+(?:19|20)\d\d)"
_YEAR = r"(?:(?:19|20)\d\d)"
_DATE_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("between", re.compile(rf"\bbetween\s+(?P<a>{_DAY}|{_MONTH})\s+and\s+(?P<b>{_DAY}|{_MONTH})", re.I)),
    ("after", re.compile(rf"\b(?:after|since|from)\s+(?P<a>{_DAY}|{_MONTH}|{_YEAR})\b", re.I)),
    ("before", re.compile(rf"\b(?:before|until|prior to|by)\s+(?P<a>{_DAY}|{_MONTH}|{_YEAR})\b", re.I)),
    ("on", re.compile(rf"(?P<a>{_DAY})", re.I)),
    ("in", re.compile(rf"(?P<a>{_MONTH})", re.I)),
    ("year", re.compile(rf"\b(?:in|during|of)\s+(?P<a>{_YEAR})\b", re.I)),
]


def _period(expression: str) -> tuple[dt.date, dt.date] | None:
    """The first and last day an expression covers: a day, a month or a year."""
    text = expression.strip().rstrip(",")
    if re.fullmatch(_YEAR, text):
        year = int(text)
        return dt.date(year, 1, 1), dt.date(year, 12, 31)
    if re.fullmatch(_MONTH, text, re.I):
        first = parse_date("1 " + re.sub(r"[.,]", " ", text))
        if first is None:
            return None
        last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
        return first, last
    day = parse_date(re.sub(r"(\d)(st|nd|rd|th)\b", r"\1", text))
    return (day, day) if day else None


def _dates(question: str) -> tuple[dt.date | None, dt.date | None]:
    for kind, pattern in _DATE_PATTERNS:
        match = pattern.search(question)
        if not match:
            continue
        first = _period(match.group("a"))
        if first is None:
            continue
        if kind == "between":
            second = _period(match.group("b"))
            return (first[0], second[1]) if second else (first[0], None)
        if kind == "after":
            return first[0], None
        if kind == "before":
            return None, first[0] - dt.timedelta(days=1)
        return first
    return None, None


def source_aliases(source: str) -> set[str]:
    """Ways a question may name a source: "The Verge" → {"the verge", "verge"}; "themoscowtimes.com" → {"themoscowtimes"}."""
    name = source.strip()
    aliases = {name}
    if "." in name and " " not in name:  # a domain
        stem = name.split(".")[0].lower()
        aliases = {stem, stem.removeprefix("the")}
    aliases |= {a[4:] for a in aliases if a.lower().startswith("the ")}
    return {a for a in aliases if len(a) >= 3}


def parse_constraints(question: str, known_sources: Iterable[str]) -> Constraints:
    """Sources (only those in the index) and a date range named in `question`."""
    found: list[str] = []
    squashed = re.sub(r"[^a-z0-9]", "", question.lower())
    for source in sorted(set(known_sources)):
        for alias in source_aliases(source):
            if " " in alias or not alias.islower():
                # Multi-word or capitalised names: whole words; a one-word name must keep its capital.
                flags = re.I if " " in alias else 0
                if re.search(rf"(?<!\w){re.escape(alias)}(?!\w)", question, flags):
                    found.append(source)
                    break
            elif len(alias) >= 8 and alias in squashed:  # a domain stem: "The Moscow Times" ~ "themoscowtimes"
                found.append(source)
                break
    since, until = _dates(question)
    return Constraints(tuple(found), since, until)
