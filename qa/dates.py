"""Dates: publication dates read from metadata or text, and relative dates resolved against them.

In news the newest report decides, so a wrong date is worse than none: every
function here returns `None` rather than guess.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache

import dateparser

__all__ = ["parse_date", "is_date_line", "resolve_in_sentence", "tense_near", "format_date", "SANE_YEARS", "MONTHS"]

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
        return _sane(value.date())
    if isinstance(value, dt.date):
        return _sane(value)
    text = str(value).strip()
    if not text or len(text) > 80:
        return None
    iso = _ISO.match(text)
    if iso:
        try:
            return _sane(dt.date.fromisoformat(iso.group(1)))
        except ValueError:
            return None
    if not _HAS_YEAR.search(text):
        return None
    return _sane(_dateparser(text))


def _sane(date: dt.date | None) -> dt.date | None:
    return date if date is not None and SANE_YEARS[0] <= date.year <= SANE_YEARS[1] else None


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


#: Month names and their abbreviations, each with its number.
MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_RELATIVE = re.compile(
    r"\b(?:(?P<mod>this|next|last|on|earlier|late|early)\s+)?(?P<day>"
    + "|".join(_WEEKDAYS)
    + r")\b|\b(?P<word>yesterday|today|tomorrow|tonight)\b",
    re.IGNORECASE,
)
_MONTH_DAY = re.compile(
    r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s+\d{1,2}(?:st|nd|rd|th)?"
    r"(?:,?\s+(?:19|20)\d\d)?\b|\b\d{1,2}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\b"
    r"(?:,?\s+(?:19|20)\d\d)?",
    re.IGNORECASE,
)
#: What tells a sentence's tense around a date: the nearest such marker before the date (else the
#: first after it) decides. A move to a date ("postponed until May 1") points forward, although
#: its verb is in the past tense.
_TENSE = re.compile(
    r"(?P<future>\b(?:will|shall|won't|is to|are to|going to|is due|are due|due to|scheduled|slated|set to|set for|"
    r"expected to|plans? to|planned for|intends? to|aims? to|hopes? to|upcoming|next|tomorrow|"
    r"(?:postponed|moved|delayed|pushed back|put off|deferred|rescheduled|brought forward)\s+(?:\w+\s+){0,3}?(?:to|until|till|for))\b"
    r"|['’]ll\b)"
    r"|(?P<past>\b(?:was|were|had|did|didn't|wasn't|weren't|ago|last|earlier|yesterday|said|began|took|met|won|lost|"
    r"held|came|went|made|saw|told|fell|rose|gave|left|became|\w{3,}ed)\b)",
    re.IGNORECASE,
)
#: Publication dates outside this window are read as unknown: a year-9999 date is a scraper's
#: placeholder, and date arithmetic on it overflows.
SANE_YEARS = (1800, 2200)


def tense_near(sentence: str, start: int, end: int) -> str | None:
    """ "future", "past" or `None` for the date expression at `sentence[start:end]`."""
    markers = [m for m in _TENSE.finditer(sentence) if not _adjectival(sentence, m)]
    before = [m for m in markers if m.end() <= start]
    after = [m for m in markers if m.start() >= end]
    marker = before[-1] if before else after[0] if after else None
    if marker is None:
        return None
    return "future" if marker.group("future") else "past"


_LINKING = re.compile(r"\b(?:is|are|be|been|being|remains?|stays?|seems?|appears?|looks?)\s+$", re.I)


def _adjectival(sentence: str, marker: re.Match[str]) -> bool:
    """An -ed word after "is", "remains"… is a state in the present ("remains unchanged"), not the past."""
    word = marker.group(0).lower()
    return word.endswith("ed") and bool(marker.group("past")) and bool(_LINKING.search(sentence[: marker.start()]))


def resolve_in_sentence(sentence: str, published: dt.date | None) -> dt.date | None:
    """The day a sentence speaks of, from its first date expression, or `None`.

    Relative expressions and dates without a year need the article's publication date, and are
    read by the tense around them: "will play on Saturday" is the next Saturday, "met on Tuesday"
    the last one; "will begin selling on May 1" in an April article is this May 1, "was held on
    November 15" in a March article last November's. A weekday with no tense to go by is the past
    one (news convention: "Biden on Tuesday imposed…" in Wednesday's paper is yesterday).
    """
    try:
        return _resolve(sentence, published)
    except (OverflowError, ValueError):  # a date at the calendar's edge: unknown rather than wrong
        return None


def _resolve(sentence: str, published: dt.date | None) -> dt.date | None:
    month_day = _MONTH_DAY.search(sentence)
    relative = _RELATIVE.search(sentence)
    if month_day and (relative is None or month_day.start() < relative.start()):
        return _absolute(month_day.group(0), published, tense_near(sentence, month_day.start(), month_day.end()))
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
    if mod in ("this", "next") or tense_near(sentence, relative.start(), relative.end()) == "future":
        ahead = (target - published.weekday()) % 7
        if mod == "next" and ahead == 0:
            ahead = 7
        return published + dt.timedelta(days=ahead)
    return published - dt.timedelta(days=back)


def _absolute(expression: str, published: dt.date | None, tense: str | None) -> dt.date | None:
    """A month-day expression. Without a year: the future tense reads forward from publication (the
    next such day), the past tense backward (the last one); with no tense to go by, the publication
    year, so a date later in the same year is never pushed a year back."""
    if _HAS_YEAR.search(expression):
        return parse_date(expression)
    if published is None:
        return None
    bare = re.sub(r"(?<=\d)(st|nd|rd|th)\b|\bof\b", "", expression)
    day = parse_date(f"{bare} {published.year}")
    if day is None:  # 29 February in a common year, or no real day
        return None
    if tense == "future" and day < published:
        return _in_year(day, published.year + 1)
    if tense == "past" and day > published:
        return _in_year(day, published.year - 1)
    return day


def _in_year(day: dt.date, year: int) -> dt.date | None:
    try:
        return day.replace(year=year)
    except ValueError:  # 29 February
        return None


def format_date(date: dt.date | None) -> str:
    """How dates read in answers: "23 Feb 2022", or "undated"."""
    return f"{date.day} {date:%b %Y}" if date else "undated"
