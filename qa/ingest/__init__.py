"""Ingest: a folder of news files → clean `Article`s with the metadata they state.

Metadata comes from front matter or record fields first, then from the text itself (a `# Title`
heading, a date line near the top, an "Original url:" line), and otherwise stays `None`: an
invented date would make the newest-report-wins logic lie.

Ingest is total: every file, and every record of a dump, becomes an article or is skipped with a
one-line reason, and the build goes on. Files come from scrapers and uploads, so every parser is
bounded in size (`files.py`), uses bounded patterns, and runs under a time limit (`parse_files`).

    files.py     the folder walk (no symlinks out of it, no FIFOs) and the bytes → text decision
    markdown.py  .txt and .md, with YAML front matter read without aliases or custom tags
    html.py      .html, through trafilatura, the page's own date first
    dumps.py     .json and .jsonl news dumps, a record at a time
    fields.py    metadata fields → an `Article`, every string made safe to store
"""

from __future__ import annotations

from pathlib import Path

from ..records import Article, IngestWarning
from .dumps import parse_records
from .fields import IngestError
from .files import HTML_SUFFIXES, RECORD_SUFFIXES, SUPPORTED, article_files, decode
from .html import parse_html
from .markdown import parse_markdown
from .pool import parse_files

#: Bumped whenever parsing or cleaning changes what a file becomes. An index built by another
#: version re-reads every file at its next build; only articles whose text or metadata changed
#: are then re-chunked and re-embedded (content hashes), so an upgrade costs a read, not a rebuild.
INGEST_VERSION = 3  # 3: publication dates outside 1800–2200 are unknown

__all__ = [
    "INGEST_VERSION",
    "load_articles",
    "article_files",
    "parse_bytes",
    "parse_files",
    "parse_markdown",
    "parse_html",
    "parse_records",
    "IngestError",
    "SUPPORTED",
]


def load_articles(
    folder: Path, *, max_bytes: int = 10_000_000, max_chars: int = 200_000, seconds: float = 30.0
) -> tuple[list[Article], list[IngestWarning]]:
    """Every readable article under `folder` (recursively), plus a warning per file that was not."""
    files, warnings = article_files(folder)
    articles: list[Article] = []
    for rel, result in parse_files(files, max_bytes=max_bytes, max_chars=max_chars, seconds=seconds):
        if isinstance(result, IngestError):
            warnings.append(IngestWarning(rel, f"{result}, skipped"))
            continue
        found, notes = result
        articles.extend(found)
        warnings.extend(IngestWarning(rel, note) for note in notes)
    return articles, warnings


def parse_bytes(
    raw: bytes, suffix: str, rel: str, *, max_chars: int = 200_000, max_elements: int = 30_000
) -> tuple[list[Article], list[str]]:
    """The articles in one file's bytes and notes on how it was read; raises `IngestError` if none.

    Anything else a parser raises on hostile input is turned into an `IngestError` here, so one
    bad file can only ever skip itself.
    """
    try:
        text, notes = decode(raw)
        suffix = suffix.lower()
        if suffix in RECORD_SUFFIXES:
            articles, record_notes = parse_records(text, rel, jsonl=suffix == ".jsonl")
            notes += record_notes
        elif suffix in HTML_SUFFIXES:
            articles = [parse_html(text, rel, max_elements)]
        else:
            articles = [parse_markdown(text, rel, notes)]
    except IngestError:
        raise
    except RecursionError:
        raise IngestError("nested too deeply to read") from None
    except Exception as error:  # noqa: BLE001 - a parser's own bug on odd input: this file is skipped, the build goes on
        raise IngestError(f"could not be read ({type(error).__name__}: {str(error)[:200]})") from None
    if not articles:
        raise IngestError("no article text found")
    kept = [a for a in articles if len(a.text) <= max_chars]
    if len(kept) < len(articles):
        longest = max(len(a.text) for a in articles)
        reason = f"{longest:,} characters of text is over the {max_chars:,} limit (QA_MAX_ARTICLE_CHARS)"
        if not kept:
            raise IngestError(reason)
        notes.append(f"{len(articles) - len(kept)} records skipped: {reason}")
    return kept, notes
