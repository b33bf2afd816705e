"""Ingest: a folder of news files → clean `Article`s with the metadata they state.

Metadata comes from front matter or record fields first, then from the text
itself (a `# Title` heading, a date line near the top, an "Original url:" line),
and otherwise stays `None`: an invented date would make the newest-report-wins
logic lie. A bad file never stops a build: it becomes an `IngestWarning`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import frontmatter
from charset_normalizer import from_bytes

from .cleaning import clean_text, strip_markdown
from .dates import is_date_line, parse_date
from .records import Article, IngestWarning

__all__ = ["load_articles", "article_files", "parse_bytes", "read_article_file", "parse_markdown", "parse_html", "parse_records", "IngestError"]

TEXT_SUFFIXES = {".txt", ".md", ".markdown"}
HTML_SUFFIXES = {".html", ".htm"}
RECORD_SUFFIXES = {".json", ".jsonl"}
SUPPORTED = TEXT_SUFFIXES | HTML_SUFFIXES | RECORD_SUFFIXES


class IngestError(ValueError):
    """A file that cannot become an article; the message says why in a few words."""


def article_files(folder: Path) -> tuple[list[tuple[Path, str]], list[IngestWarning]]:
    """Each supported file under `folder` (or `folder` itself) with its id, the path relative to the folder."""
    folder = Path(folder)
    if folder.is_file():
        paths, root = [folder], folder.parent
    elif folder.is_dir():
        paths, root = sorted(p for p in folder.rglob("*") if p.is_file()), folder
    else:
        raise FileNotFoundError(f"articles folder not found: {folder}")
    found: list[tuple[Path, str]] = []
    warnings: list[IngestWarning] = []
    for path in paths:
        rel = path.relative_to(root).as_posix()
        if any(part.startswith(".") for part in Path(rel).parts):
            continue  # hidden files and folders (.DS_Store, .git) are not articles
        if path.suffix.lower() not in SUPPORTED:
            warnings.append(IngestWarning(rel, f"unsupported file type {path.suffix or '(none)'}, skipped"))
            continue
        found.append((path, rel))
    return found, warnings


def load_articles(folder: Path, *, max_bytes: int = 10_000_000) -> tuple[list[Article], list[IngestWarning]]:
    """Every readable article under `folder` (recursively), plus a warning per file that was not."""
    files, warnings = article_files(folder)
    articles: list[Article] = []
    for path, rel in files:
        try:
            found, notes = read_article_file(path, rel, max_bytes=max_bytes)
        except IngestError as error:
            warnings.append(IngestWarning(rel, f"{error}, skipped"))
            continue
        articles.extend(found)
        warnings.extend(IngestWarning(rel, note) for note in notes)
    return articles, warnings


def read_article_file(path: Path, rel: str, *, max_bytes: int) -> tuple[list[Article], list[str]]:
    """The articles in one file and any notes on how it was read; raises `IngestError` if none."""
    size = path.stat().st_size
    if size == 0:
        raise IngestError("empty file")
    if size > max_bytes:
        raise IngestError(f"{size / 1e6:.1f} MB is over the {max_bytes / 1e6:.0f} MB limit (QA_MAX_ARTICLE_BYTES)")
    return parse_bytes(path.read_bytes(), path.suffix, rel)


def parse_bytes(raw: bytes, suffix: str, rel: str) -> tuple[list[Article], list[str]]:
    """The articles in one file's bytes (see `read_article_file`)."""
    if not raw:
        raise IngestError("empty file")
    if b"\x00" in raw[:8192]:
        raise IngestError("binary file (NUL bytes), not text")
    text, notes = _decode(raw)
    suffix = suffix.lower()
    if suffix in RECORD_SUFFIXES:
        articles, record_notes = parse_records(text, rel, jsonl=suffix == ".jsonl")
        notes += record_notes
    elif suffix in HTML_SUFFIXES:
        articles = [parse_html(text, rel)]
    else:
        articles = [parse_markdown(text, rel)]
    if not articles:
        raise IngestError("no article text found")
    return articles, notes


def _decode(raw: bytes) -> tuple[str, list[str]]:
    try:
        return raw.decode("utf-8-sig"), []
    except UnicodeDecodeError as error:
        try:  # the usual mis-encoding of English news: Windows-1252 (a superset of Latin-1's letters)
            return raw.decode("cp1252"), [f"not valid UTF-8 (byte {error.start}); read as cp1252"]
        except UnicodeDecodeError:
            pass
        best = from_bytes(raw).best()
        if best is None:
            raise IngestError(f"not valid UTF-8 ({error.reason} at byte {error.start}) and no other encoding fits") from None
        return str(best), [f"not valid UTF-8 (byte {error.start}); read as {best.encoding}"]


# --- plain text and Markdown -------------------------------------------------------------------

_TITLE_HEADING = re.compile(r"^#\s+(.+?)\s*#*\s*$")
_ORIGINAL_URL = re.compile(r"^\s*(?:original\s+url|source\s+url|url|link)\s*:\s*<?(\S*?)>?\s*$", re.IGNORECASE)
_BARE_URL = re.compile(r"^\s*<?(https?://\S+?)>?\s*$")
_BYLINE = re.compile(r"^\s*by\s+([A-Z][\w.'\-]+(?:\s+(?:and\s+)?[A-Z][\w.'\-]+){0,5})\s*$")
_FIELD_ALIASES = {
    "title": ("title", "headline"),
    "date": ("date", "published", "published_at", "publication_date", "pubdate", "datetime"),
    "source": ("source", "publisher", "site", "site_name", "sitename", "outlet"),
    "url": ("url", "link", "original_url", "canonical_url"),
    "author": ("author", "authors", "byline"),
    "body": ("body", "text", "content", "article"),
}


def parse_markdown(text: str, article_id: str) -> Article:
    """A `.txt` or `.md` article: front matter first, then what the text itself states."""
    try:
        post = frontmatter.loads(text)
        meta, content = dict(post.metadata), post.content
    except Exception:  # malformed front matter: read the whole file as text rather than lose it
        meta, content = {}, text
    lines = content.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    title, date, url, author = _field(meta, "title"), parse_date(_field(meta, "date")), _field(meta, "url"), _field(meta, "author")
    kept: list[str] = []
    seen_text = 0  # non-empty lines seen so far: title, date and byline are only read near the top
    lines_iter = iter(enumerate(lines))
    for i, line in lines_iter:
        stripped = line.strip()
        if not stripped:
            kept.append("")
            continue
        seen_text += 1
        heading = _TITLE_HEADING.match(stripped)
        if heading and seen_text == 1:  # the headline: metadata, not body (front matter's title wins)
            title = title or strip_markdown(heading.group(1))
            continue
        if seen_text <= 6 and (found := is_date_line(stripped)) is not None:
            date = date or found
            continue
        if seen_text <= 6 and author is None and (by := _BYLINE.match(strip_markdown(stripped))):
            author = by.group(1)
            continue
        if match := _ORIGINAL_URL.match(stripped):
            value = match.group(1) or _next_url(lines, i)
            url = url or value
            continue
        if url and (bare := _BARE_URL.match(stripped)) and bare.group(1) == url:
            continue  # the URL already taken from an "Original url:" line
        kept.append(line)
    body = clean_text("\n".join(kept))
    if not body:
        raise IngestError("no text after cleaning")
    return _article(article_id, body, title, date, _field(meta, "source"), url, author)


def _next_url(lines: list[str], i: int) -> str | None:
    for line in lines[i + 1 : i + 4]:
        if match := _BARE_URL.match(line):
            return match.group(1)
    return None


def _field(meta: dict[str, Any], name: str) -> Any:
    for key in _FIELD_ALIASES[name]:
        value = meta.get(key)
        if value not in (None, "", []):
            if isinstance(value, list):
                return ", ".join(str(v) for v in value)
            return value if name == "date" else str(value).strip()
    return None


def _article(article_id: str, body: str, title: Any, date: Any, source: Any, url: Any, author: Any) -> Article:
    url = str(url).strip() if url else None
    if url and not re.match(r"^https?://", url):
        url = None  # only web links are shown as links: a `javascript:` URL in a file is not
    if not source and url:
        source = urlparse(url).netloc.removeprefix("www.") or None  # the site that published it
    return Article(
        id=article_id,
        text=body,
        title=str(title).strip() if title else None,
        date=parse_date(date),
        source=str(source).strip() if source else None,
        url=url,
        author=str(author).strip() if author else None,
    )


# --- HTML ----------------------------------------------------------------------------------------


def parse_html(html: str, article_id: str) -> Article:
    """An HTML page: trafilatura finds the main text and the page's own metadata."""
    import trafilatura  # imported here: it takes a second and only HTML needs it

    document = trafilatura.bare_extraction(html, with_metadata=True, include_comments=False, include_tables=False)
    if document is None or isinstance(document, dict) or not (document.text or "").strip():
        raise IngestError("no main text found in the HTML")
    body = clean_text(document.text or "")
    if not body:
        raise IngestError("no text after cleaning")
    return _article(article_id, body, document.title, document.date, document.sitename, document.url, document.author)


# --- JSON and JSONL news dumps -------------------------------------------------------------------


def parse_records(text: str, file_id: str, *, jsonl: bool) -> tuple[list[Article], list[str]]:
    """Records with `title, body, published_at, source, url, author`; a bad record is a note, not a failure."""
    articles: list[Article] = []
    notes: list[str] = []
    seen: dict[str, int] = {}
    for number, record in _records(text, jsonl=jsonl, notes=notes):
        if not isinstance(record, dict):
            notes.append(f"record {number} is not an object, skipped")
            continue
        body = _field(record, "body")
        cleaned = clean_text(str(body)) if body else ""
        if not cleaned:
            notes.append(f"record {number} has no body, skipped")
            continue
        article_id = f"{file_id}#{_record_key(record, cleaned)}"
        if article_id in seen:
            notes.append(f"record {number} has the same id as record {seen[article_id]}, skipped")
            continue
        seen[article_id] = number
        articles.append(
            _article(
                article_id,
                cleaned,
                _field(record, "title"),
                _field(record, "date"),
                _field(record, "source"),
                _field(record, "url"),
                _field(record, "author"),
            )
        )
    return articles, notes


def _record_key(record: dict[str, Any], body: str) -> str:
    """A record's own identity: its id, guid or url; else a hash of its text. Never its position."""
    for name in ("id", "guid", "uuid", "url", "link"):
        value = record.get(name)
        if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value).strip():
            return re.sub(r"\s+", " ", str(value).strip())[:500]
    return hashlib.sha1(body.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def _records(text: str, *, jsonl: bool, notes: list[str]) -> Iterator[tuple[int, Any]]:
    if not jsonl:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise IngestError(f"invalid JSON ({error.msg} at line {error.lineno})") from None
        yield from enumerate(data if isinstance(data, list) else [data], start=1)
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as error:
            notes.append(f"line {number} is not valid JSON ({error.msg}), skipped")
