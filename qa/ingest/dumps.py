"""JSON and JSONL news dumps: records with `title, body, published_at, source, url, author`.

A bad record is a note and the rest of the dump is read; a record's id comes from its own
`id`/`guid`/`uuid`/`url`/`link`, else from a hash of its text, never from its position.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from typing import Any

from ..cleaning import clean_text
from ..records import Article
from .fields import FIELD_ALIASES, IngestError, date_note, field, make_article, safe_text

__all__ = ["parse_records"]

_MAX_NOTES = 20  # a dump of 100,000 broken lines gets a count, not 100,000 warnings


def parse_records(text: str, file_id: str, *, jsonl: bool) -> tuple[list[Article], list[str]]:
    """The articles of a dump and a note per record that is not one."""
    articles: list[Article] = []
    notes: list[str] = []
    skipped = 0
    seen: dict[str, str] = {}
    label = "line" if jsonl else "record"
    for number, record in _records(text, jsonl=jsonl):
        try:
            article = _article(record, file_id, f"{label} {number}", seen)
        except IngestError as error:
            skipped += 1
            if len(notes) < _MAX_NOTES:
                notes.append(f"{label} {number}: {error}, skipped")
            continue
        except (ValueError, TypeError, RecursionError) as error:  # a record shaped in a way nobody foresaw
            skipped += 1
            if len(notes) < _MAX_NOTES:
                notes.append(f"{label} {number} could not be read ({type(error).__name__}), skipped")
            continue
        articles.append(article)
        if isinstance(record, dict) and (note := date_note(field(record, "date"))) and len(notes) < _MAX_NOTES:
            notes.append(f"{label} {number}: {note}")
    if skipped > len(notes):
        notes.append(f"{skipped} records skipped in all")
    return articles, notes


def _article(record: Any, file_id: str, where: str, seen: dict[str, str]) -> Article:
    if isinstance(record, IngestError):
        raise record
    if not isinstance(record, dict):
        raise IngestError(f"not an object but {type(record).__name__}")
    body = next((record[key] for key in FIELD_ALIASES["body"] if record.get(key) not in (None, "")), None)
    if body is not None and not isinstance(body, str):
        raise IngestError(f"body is {type(body).__name__}, not text")
    cleaned = clean_text(safe_text(body)) if body else ""
    if not cleaned:
        raise IngestError("no body")
    article_id = f"{file_id}#{_record_key(record, cleaned)}"
    if article_id in seen:
        raise IngestError(f"same id as {seen[article_id]}")
    seen[article_id] = where
    return make_article(
        article_id,
        cleaned,
        field(record, "title"),
        field(record, "date"),
        field(record, "source"),
        field(record, "url"),
        field(record, "author"),
    )


def _record_key(record: dict[str, Any], body: str) -> str:
    """A record's own identity: its id, guid or url; else a hash of its text. Never its position."""
    for name in ("id", "guid", "uuid", "url", "link"):
        value = record.get(name)
        if isinstance(value, (str, int)) and not isinstance(value, bool) and len(str(value).strip()) > 0:
            return re.sub(r"\s+", " ", safe_text(str(value)).strip())[:500]
    return hashlib.sha1(body.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def _records(text: str, *, jsonl: bool) -> Iterator[tuple[int, Any]]:
    """(number, record) pairs; a line that is not JSON yields an `IngestError` in its place."""
    if not jsonl:
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as error:
            message = f"{error.msg} at line {error.lineno}" if isinstance(error, json.JSONDecodeError) else type(error).__name__
            raise IngestError(f"invalid JSON ({message})") from None
        yield from enumerate(data if isinstance(data, list) else [data], start=1)
        return
    # Lines end at "\n" only: `splitlines` also splits at U+2028, which JSON strings may hold raw.
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as error:
            yield number, IngestError(f"not valid JSON ({error.msg})")
        except (ValueError, RecursionError) as error:  # a 5,000-digit number, [ × 100,000
            yield number, IngestError(f"not valid JSON ({type(error).__name__})")
