"""Windows: a large build committed in parts, so that its memory is bounded and a killed build
keeps what it committed.

A build holds every new chunk's vectors until it commits (about 6 KB a chunk with its sentence
vectors), so one commit caps a build at what one machine's memory holds. With
`Config.commit_chunks` set, the writer commits a generation each time that many chunks are
embedded: articles are cut into windows of whole articles, oldest first (story linking assigns
in date order, so the windows link as one pass would), and each window is an incremental build
of its own. Readers see whole articles only: an article's old version leaves in the window that
adds its new one. A killed build keeps the windows it committed; the next build finds their
articles stored (same content hash) and does the rest.

Files are recorded in the window that commits the last of their articles, so a file whose
articles were not all committed is read again by the next build.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ..records import Article, Chunk
from .scan import Scan

__all__ = ["Window", "windows"]


@dataclass
class Window:
    """One generation's share of a build: a scan of its own, and its articles' chunks."""

    scan: Scan
    chunks: list[Chunk]


def windows(scan: Scan, chunks: list[Chunk], size: int, *, stored: set[str], full: bool) -> list[Window]:
    """`scan` cut into windows of about `size` chunks (whole articles, oldest first); one window
    when `size` is 0 or the build is smaller. Removals go in the first window; for a `full` build
    every article already stored is replaced in the window that re-adds it."""
    if not size or len(chunks) <= size:
        return [Window(scan, chunks)]
    by_article: dict[str, list[Chunk]] = {}
    for chunk in chunks:
        by_article.setdefault(chunk.article_id, []).append(chunk)
    order = sorted(scan.upserts, key=lambda a: (a.date or dt.date.max, a.id))
    groups: list[list[Article]] = [[]]
    count = 0
    for article in order:
        if count >= size:
            groups.append([])
            count = 0
        groups[-1].append(article)
        count += len(by_article.get(article.id, ()))
    last_window: dict[str, int] = {}  # article id → the window that commits it
    for n, group in enumerate(groups):
        for article in group:
            last_window[article.id] = n
    out = []
    for n, group in enumerate(groups):
        ids = {a.id for a in group}
        files = {
            rel: entry for rel, entry in scan.files.items() if max((last_window.get(i, 0) for i in entry[3]), default=0) == n
        }
        replaced = ids & (stored if full else scan.changed)
        part = Scan(
            upserts=list(group),
            changed=replaced,
            removed=set(scan.removed) if n == 0 else set(),
            files=files,
            warnings=scan.warnings if n == len(groups) - 1 else [],
        )
        out.append(Window(part, [c for a in group for c in by_article.get(a.id, ())]))
    return out
