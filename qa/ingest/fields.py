"""Metadata fields → an `Article`; every string is made safe to store, index and show."""

from __future__ import annotations

import re
import unicodedata
from typing import Any
from urllib.parse import urlparse

from ..dates import SANE_YEARS, parse_date
from ..errors import shown
from ..records import Article

__all__ = ["date_note", "IngestError", "field", "make_article", "safe_text"]


class IngestError(ValueError):
    """A file or record that cannot become an article; the message says why in a few words."""


FIELD_ALIASES = {
    "title": ("title", "headline"),
    "date": ("date", "published", "published_at", "publication_date", "pubdate", "datetime"),
    "source": ("source", "publisher", "site", "site_name", "sitename", "outlet"),
    "url": ("url", "link", "original_url", "canonical_url"),
    "author": ("author", "authors", "byline"),
    "body": ("body", "text", "content", "article"),
}
#: The longest metadata values kept: a 250-token "source" once left no room for the chunk it labels.
LIMITS = {"title": 300, "source": 80, "author": 200, "url": 2000}
#: Share of letters, marks, digits and spaces below which a body is not prose (news text: ~0.97;
#: random bytes read as cp1252: ~0.6, measured in tests/test_hostile.py).
MIN_WORDY_SHARE = 0.75

# Lone surrogates (from a JSON "\ud800") cannot be encoded for SQLite or the tokenizer; C0 controls
# other than tab and newline are noise in any article.
_UNSAFE = re.compile("[\ud800-\udfff]|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def safe_text(text: str) -> str:
    return _UNSAFE.sub(lambda m: "\ufffd" if m[0] >= "\ud800" else "", text)


def field(meta: dict[str, Any], name: str) -> Any:
    """A metadata value under any of its usual names; a list becomes "a, b"; nested values are not metadata."""
    for key in FIELD_ALIASES[name]:
        value = meta.get(key)
        if value in (None, "", []) or isinstance(value, (dict, bool)):
            continue
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value[:20] if isinstance(v, (str, int, float)))
            if not value:
                continue
        return value if name == "date" else safe_text(str(value)).strip()
    return None


def make_article(article_id: str, body: str, title: Any, date: Any, source: Any, url: Any, author: Any) -> Article:
    """The article, or `IngestError` when its body is not prose (binary that happened to decode)."""
    share = wordy_share(body)
    if share < MIN_WORDY_SHARE:
        raise IngestError(f"not prose (only {share:.0%} letters, digits and spaces)")
    url = _web_url(url)
    if not source and url:
        source = urlparse(url).netloc.removeprefix("www.") or None  # the site that published it
    return Article(
        id=article_id,
        text=body,
        title=_short(title, "title"),
        date=parse_date(date) if not isinstance(date, (list, dict)) else None,
        source=_short(source, "source"),
        url=url,
        author=_short(author, "author"),
    )


def date_note(value: Any) -> str | None:
    """Why a stated publication date is not used, or `None`: a lost date breaks "the newest report
    leads", so it is never dropped without a word."""
    if value is None or value == "" or isinstance(value, (list, dict)) or parse_date(value) is not None:
        return None
    lo, hi = SANE_YEARS
    return f"date {shown(str(value), 40)!r} is not a full calendar date from {lo} to {hi}; read as undated"


def _short(value: Any, name: str) -> str | None:
    if value is None:
        return None
    text = re.sub(r"\s+", " ", safe_text(str(value))).strip()
    limit = LIMITS[name]
    return (text if len(text) <= limit else text[: limit - 1].rstrip() + "…") or None


def _web_url(value: Any) -> str | None:
    """Only web links are shown as links: a `javascript:` URL or a malformed one (`http://[::1`) is not."""
    url = safe_text(str(value)).strip() if value else ""
    if not url or len(url) > LIMITS["url"] or not re.match(r"^https?://\S+$", url):
        return None
    try:
        return url if urlparse(url).netloc else None
    except ValueError:
        return None


def wordy_share(text: str) -> float:
    """The share of letters, marks, digits and spaces in (a sample of) `text`: prose is mostly words."""
    sample = text[:65536]
    if not sample:
        return 0.0
    wordy = sum(1 for ch in sample if ch.isspace() or unicodedata.category(ch)[0] in "LMN")
    return wordy / len(sample)
