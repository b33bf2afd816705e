"""Feed documents → entries: RSS 0.9x/1.0/2.0 and Atom through feedparser, news sitemaps and
sitemap indexes through lxml (no DTDs, no entities, no network, no huge trees).

Documents are stranger's bytes: they are parsed in a worker process under `parse_seconds`
(`qa/ingest/pool.py`), after the fetcher capped their size; a document that is not a feed gives
one line (`IngestError`), and a feed that is not well-formed but still readable is read with a note.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from dataclasses import dataclass
from typing import Any

from ..cleaning import clean_text
from ..ingest.fields import IngestError, safe_text
from ..ingest.pool import ParseJob
from .ids import canonical_url, entry_key

__all__ = ["Entry", "Document", "parse_document", "document_job"]

#: Child sitemaps read from one sitemap index.
MAX_CHILD_SITEMAPS = 20
_SITEMAP = re.compile(rb"<(?:\w+:)?(urlset|sitemapindex)[\s>]")


@dataclass(frozen=True)
class Entry:
    """One item of a feed or URL of a sitemap, as the document states it."""

    key: str  #: guid, else canonical link, else a hash of the text
    link: str | None
    title: str | None
    published: str | None  #: ISO date or time the document states, else None
    author: str | None
    summary: str  #: the entry's own content or summary as plain text ("" for a sitemap URL)
    outlet: str | None  #: the feed's title, or the news sitemap's publication name


@dataclass(frozen=True)
class Document:
    kind: str  #: "feed", "sitemap" or "sitemap index"
    title: str | None
    entries: tuple[Entry, ...]
    children: tuple[str, ...] = ()  #: the sitemaps a sitemap index lists
    notes: tuple[str, ...] = ()


def document_job(url: str, raw: bytes, max_entries: int) -> ParseJob:
    """A fetched document as a job for the parse pool (`max_chars` carries the entry cap)."""
    return ParseJob(url, raw, ".feed", max_entries)


def parse_document_job(job: ParseJob) -> Document | IngestError:
    """Run in a worker process by `parse_jobs`: never raises."""
    try:
        return parse_document(job.raw, job.rel, job.max_chars)
    except IngestError as error:
        return error
    except Exception as error:  # noqa: BLE001 - a parser's own bug on hostile bytes: this document only
        return IngestError(f"could not be read ({type(error).__name__}: {str(error)[:200]})")


def parse_document(raw: bytes, url: str, max_entries: int = 1000) -> Document:
    if not raw.strip():
        raise IngestError("empty document")
    if _SITEMAP.search(raw[:4096]):
        return _sitemap(raw, max_entries)
    return _feed(raw, url, max_entries)


def _feed(raw: bytes, url: str, max_entries: int) -> Document:
    import feedparser

    parsed = feedparser.parse(io.BytesIO(raw), response_headers={"content-location": url}, sanitize_html=True)
    notes = []
    if parsed.get("bozo"):
        problem = f"{type(parsed.bozo_exception).__name__}: {str(parsed.bozo_exception)[:160]}"
        if not parsed.entries:
            raise IngestError(f"not a readable feed ({problem})")
        notes.append(f"not well-formed ({problem}); read leniently")
    if not parsed.entries and not parsed.get("version"):
        raise IngestError("not an RSS or Atom feed, nor a sitemap")
    outlet = _text(parsed.feed.get("title"))
    entries = []
    for item in parsed.entries[:max_entries]:
        content = item.get("content") or []
        body = _html_text(content[0].get("value", "") if content else item.get("summary", ""))
        link = _text(item.get("link"))
        title = _text(item.get("title"))
        entries.append(
            Entry(
                entry_key(_text(item.get("id")), link, f"{title}\n{body}"),
                link,
                title,
                _when(item.get("published_parsed") or item.get("updated_parsed")),
                _text(item.get("author")),
                body,
                outlet,
            )
        )
    if len(parsed.entries) > max_entries:
        notes.append(f"{len(parsed.entries) - max_entries} entries past the first {max_entries} not read (QA_FEED_MAX_ENTRIES)")
    return Document("feed", outlet, tuple(entries), notes=tuple(notes))


def _sitemap(raw: bytes, max_entries: int) -> Document:
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_comments=True)
    try:
        root = etree.fromstring(raw, parser)
    except etree.XMLSyntaxError as error:
        raise IngestError(f"not well-formed XML ({str(error)[:160]})") from None
    if etree.QName(root).localname == "sitemapindex":
        children = [_text(s.findtext("{*}loc")) for s in root.iterfind("{*}sitemap")]
        return Document("sitemap index", None, (), tuple(c for c in children if c)[:MAX_CHILD_SITEMAPS])
    entries = []
    for node in root.iterfind("{*}url"):
        loc = _text(node.findtext("{*}loc"))
        if not loc:
            continue
        news = node.find("{*}news")
        title = _text(news.findtext("{*}title")) if news is not None else None
        published = _text(news.findtext("{*}publication_date")) if news is not None else None
        outlet = _text(news.findtext("{*}publication/{*}name")) if news is not None else None
        entries.append(Entry(canonical_url(loc), loc, title, published or _text(node.findtext("{*}lastmod")), None, "", outlet))
        if len(entries) == max_entries:
            break
    return Document("sitemap", None, tuple(entries))


def _text(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    text = re.sub(r"\s+", " ", safe_text(value)).strip()
    return text[:2000] or None


def _html_text(html: str) -> str:
    """An entry's HTML (already sanitised by feedparser) as plain paragraphs."""
    if not html or not html.strip():
        return ""
    from lxml import html as lxml_html

    try:
        tree = lxml_html.fragment_fromstring(html[:1_000_000], create_parent="div")
    except Exception:  # noqa: BLE001 - lxml refuses some fragments: take the text with the tags stripped
        return clean_text(re.sub(r"<[^>]{0,2000}>", " ", html[:1_000_000]))
    for block in tree.iter("p", "br", "div", "li", "h1", "h2", "h3", "h4"):
        block.tail = "\n\n" + (block.tail or "")
    return clean_text(tree.text_content(), blocks=True)


def _when(value: Any) -> str | None:
    """A feedparser time (a UTC struct_time) as an ISO time."""
    try:
        return dt.datetime(*value[:6], tzinfo=dt.UTC).isoformat() if value else None
    except (TypeError, ValueError):
        return None
