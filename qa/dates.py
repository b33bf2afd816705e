"""Dates: publication dates read from metadata or text, and relative dates resolved against them.

In news the newest report decides, so a wrong date is worse than none: every
function here returns `None` rather than guess.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache

import dateparser

__all__ = ["parse_date", "is_date_line", "resolve_in_sentence", "format_date"]

_DATEPARSER_SETTINGS = {
    "PREFER_DAY_OF_MONTH": "first",
    "RETURN_AS_TIMEZONE_AWARE": False,
    "REQUIRE_PARTS": ["day", "month", "year"],
}
_HAS_YEAR = re.compile(r"\b(19|20)\d\d\b")
_ISO = re.compile(r"^\s*(\d{4}-\d{2}-\d{2})([T ][\d:.+\-Z]*)?\s*$")


def parse_date(value: object) -> dt.date | None:
    """A full calendar date (day, month and year) from a metadata value, or `None`."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    if not text or len(text) > 80:
        return None
    iso = _ISO.match(text)
    if iso:
        try:
            return dt.date.fromisoformat(iso.group(1))
        except ValueError:
            return None
    if not _HAS_YEAR.search(text):
        return None
    return _dateparser(text)


@lru_cache(maxsize=4096)
def _dateparser(text: str) -> dt.date | None:
    parsed = dateparser.parse(text, languages=["en"], settings=_DATEPARSER_SETTINGS)
    return parsed.date() if parsed else None


_DATE_LINE = re.compile(
    r"^(?:(?:published|updated|posted|date)\s*:?\s*)?"
    r"(?:(?:mon|tues|wednes|thurs|fri|satur|sun)day,?\s+)?"
    r"(?:[A-Z][a-z]{2,8}\.?\s+\d{1,2},?\s+\d{4}|\d{1,2}\s+[A-Z][a-z]{2,8}\.?,?\s+\d{4}|\d{4}-\d{2}-\d{2})"
    r"(?:[,\s]+(?:at\s+)?\d{1,2}[:.]\d{2}\s*(?:[ap]\.?m\.?)?(?:\s+[A-Z]{2,4})?)?\s*$",
    re.IGNORECASE,
)


def is_date_line(line: str) -> dt.date | None:
    """The date when a whole line is a date ("February 23, 2022", "Published: 23 Feb 2022")."""
    text = line.strip().strip("*_ ")
    if len(text) > 60 or not _DATE_LINE.match(text):
        return None
    text = re.sub(r"^(published|updated|posted|date)\s*:?\s*", "", text, flags=re.IGNORECASE)
    return parse_date(text)


_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_RELATIVE = re.compile(
    r"\b(?:(?P<mod>this|next|last|on|earlier|late|early)\s+)?(?P<day>"
    + "|".join(_WEEKDAYS)
    + r")\b|\b(?P<word>yesterday|today|tomorrow|tonight)\b",
    re.IGNORECASE,
)
_MONTH_DAY = re.compile(
    r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s+\d{1,2}(?:st|nd|rd|th)?"
    r"(?:,?\s+(?:19|20)\d\d)?\b",
    re.IGNORECASE,
)
_FUTURE = re.compile(r"\b(will|would|is due|are due|scheduled|is set to|are set to|plans? to|upcoming)\b", re.I)


def resolve_in_sentence(sentence: str, published: dt.date | None) -> dt.date | None:
    """The day a sentence speaks of, from its first date expression, or `None`.

    Relative expressions need the article's publication date; a weekday is read as
    the past one unless the sentence is in the future tense or says "this"/"next"
    (news convention: "Biden on Tuesday imposed…" in Wednesday's paper is yesterday).
    """
    month_day = _MONTH_DAY.search(sentence)
    relative = _RELATIVE.search(sentence)
    if month_day and (relative is None or month_day.start() < relative.start()):
        return _absolute(month_day.group(0), published)
    if relative is None or published is None:
        return None
    word = (relative.group("word") or "").lower()
    if word:
        offset = {"yesterday": -1, "today": 0, "tonight": 0, "tomorrow": 1}[word]
        return published + dt.timedelta(days=offset)
    target = _WEEKDAYS.index(relative.group("day").lower())
    mod = (relative.group("mod") or "").lower()
    back = (published.weekday() - target) % 7  # days since the most recent such weekday (0 = today)
    if mod == "last":
        return published - dt.timedelta(days=back or 7)
    if mod in ("this", "next") or _FUTURE.search(sentence):
        ahead = (target - published.weekday()) % 7
        if mod == "next" and ahead == 0:
            ahead = 7
        return published + dt.timedelta(days=ahead)
    return published - dt.timedelta(days=back)


def _absolute(expression: str, published: dt.date | None) -> dt.date | None:
    """A month-day expression; without a year it takes the publication year (past preferred)."""
    if _HAS_YEAR.search(expression):
        return parse_date(expression)
    if published is None:
        return None
    base = dt.datetime.combine(published, dt.time())
    parsed = dateparser.parse(
        expression,
        languages=["en"],
        settings={"RELATIVE_BASE": base, "PREFER_DATES_FROM": "past", "RETURN_AS_TIMEZONE_AWARE": False},
    )
    return parsed.date() if parsed else None


def format_date(date: dt.date | None) -> str:
    """How dates read in answers: "23 Feb 2022", or "undated"."""
    return f"{date.day} {date:%b %Y}" if date else "undated"
