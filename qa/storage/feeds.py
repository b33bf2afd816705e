"""The feed list and what fetching remembers, in `<index>/feeds.sqlite` (beside the index, not in it).

Feeds are not a generation of the index: adding a feed or recording a fetch must never wait for a
build, and a build must never lose the feed list. So they have their own small SQLite file, written
one short transaction at a time (WAL: the admin panel reads while `qa watch` writes).

Tables:
- `feeds`: name, URL, when added, the validators of the last answer (ETag, Last-Modified) for a
  conditional GET, and the last fetch: when, its result in a line, and the articles it brought.
- `items`: each article a feed brought, by its file in the articles folder (which is its article
  id): the feed, its key (guid or canonical URL), when it was first seen, last updated and last
  fetched, and whether its text came from its page or from the feed entry.
"""

from __future__ import annotations

import datetime as dt
import errno
import fcntl
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..errors import QAError
from .metadata import transaction

__all__ = ["FEEDS_FILE", "Feed", "FeedItem", "FeedStore", "fetch_times", "holds_only_feeds"]

FEEDS_FILE = "feeds.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feeds (
    name TEXT PRIMARY KEY, url TEXT NOT NULL UNIQUE, added TEXT NOT NULL,
    etag TEXT, last_modified TEXT, last_fetch TEXT, last_result TEXT, articles INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS items (
    article_id TEXT PRIMARY KEY, feed TEXT NOT NULL, key TEXT NOT NULL, url TEXT, digest TEXT NOT NULL,
    first_seen TEXT NOT NULL, updated TEXT NOT NULL, fetched TEXT NOT NULL, origin TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS items_feed ON items (feed);
CREATE INDEX IF NOT EXISTS items_key ON items (key);
"""


@dataclass(frozen=True)
class Feed:
    name: str
    url: str
    added: str
    etag: str | None = None
    last_modified: str | None = None
    last_fetch: str | None = None  #: ISO time (UTC) of the last fetch
    last_result: str | None = None  #: what it did, in a line
    articles: int = 0  #: articles this feed has brought in all


@dataclass(frozen=True)
class FeedItem:
    article_id: str
    feed: str
    key: str  #: the entry's guid, else its canonical URL
    url: str | None
    digest: str  #: hash of the saved article file: an entry whose text is unchanged is not rewritten
    first_seen: str
    updated: str
    fetched: str
    origin: str  #: "page", or "feed entry" when the page could not be fetched


def now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


class FeedStore:
    """The feeds of the index at `folder`; every method is one short transaction."""

    def __init__(self, folder: Path | str) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder.resolve()
        self.connection = sqlite3.connect(
            str(folder.resolve() / FEEDS_FILE), isolation_level=None, check_same_thread=False, timeout=30
        )
        self.connection.execute("PRAGMA journal_mode = WAL")
        self.connection.executescript(_SCHEMA)

    def close(self) -> None:
        self.connection.close()

    def __enter__(self) -> FeedStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def fetching(self) -> Iterator[None]:
        """Held for a whole fetch: two fetches of one index (`qa watch` and a `qa fetch`) would write
        the same article files; the second gets a clear error at once."""
        with open(self.folder / "fetch.lock", "a+", encoding="utf-8") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as error:
                if error.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                raise QAError(f"another fetch of the feeds of {self.folder} is running; this one did nothing") from None
            yield  # closing the file releases the lock; so does a killed process

    def feeds(self) -> list[Feed]:
        return [Feed(*row) for row in self.connection.execute(f"SELECT {_FEED_COLUMNS} FROM feeds ORDER BY name")]

    def find(self, name_or_url: str) -> Feed | None:
        row = self.connection.execute(
            f"SELECT {_FEED_COLUMNS} FROM feeds WHERE name = ? OR url = ?", (name_or_url, name_or_url)
        ).fetchone()
        return Feed(*row) if row else None

    def add(self, name: str, url: str) -> Feed:
        with transaction(self.connection, write=True) as db:
            db.execute("INSERT INTO feeds (name, url, added) VALUES (?, ?, ?)", (name, url, now()))
        found = self.find(name)
        assert found is not None
        return found

    def remove(self, name: str) -> list[str]:
        """Forget a feed; the ids of the articles it brought (they stay in the index until removed)."""
        with transaction(self.connection, write=True) as db:
            ids = [r[0] for r in db.execute("SELECT article_id FROM items WHERE feed = ?", (name,))]
            db.execute("DELETE FROM items WHERE feed = ?", (name,))
            db.execute("DELETE FROM feeds WHERE name = ?", (name,))
        return ids

    def record_fetch(self, name: str, result: str, *, etag: str | None, last_modified: str | None, added: int) -> None:
        with transaction(self.connection, write=True) as db:
            db.execute(
                "UPDATE feeds SET last_fetch = ?, last_result = ?, etag = ?, last_modified = ?, articles = articles + ? "
                "WHERE name = ?",
                (now(), result[:500], etag, last_modified, added, name),
            )

    def item(self, article_id: str) -> FeedItem | None:
        row = self.connection.execute(f"SELECT {_ITEM_COLUMNS} FROM items WHERE article_id = ?", (article_id,)).fetchone()
        return FeedItem(*row) if row else None

    def owner(self, key: str) -> str | None:
        """The feed that already saved the entry with this key (guid or canonical URL), if any."""
        row = self.connection.execute("SELECT feed FROM items WHERE key = ? LIMIT 1", (key,)).fetchone()
        return row[0] if row else None

    def save_items(self, items: Iterable[FeedItem]) -> None:
        with transaction(self.connection, write=True) as db:
            db.executemany(
                f"INSERT OR REPLACE INTO items ({_ITEM_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(i.article_id, i.feed, i.key, i.url, i.digest, i.first_seen, i.updated, i.fetched, i.origin) for i in items],
            )


_FEED_COLUMNS = "name, url, added, etag, last_modified, last_fetch, last_result, articles"
_ITEM_COLUMNS = "article_id, feed, key, url, digest, first_seen, updated, fetched, origin"


def fetch_times(folder: Path | str, article_ids: Iterable[str]) -> dict[str, str]:
    """When each of these articles was last fetched from its feed (ISO, UTC); absent when it was not
    fetched (a file someone saved) or the index has no feeds. Read-only: never creates the file."""
    path = Path(folder) / FEEDS_FILE
    wanted = list(dict.fromkeys(article_ids))
    if not wanted or not path.is_file():
        return {}
    try:
        connection = sqlite3.connect(f"file:{path.resolve()}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error:
        return {}
    try:
        rows = connection.execute(
            f"SELECT article_id, fetched FROM items WHERE article_id IN ({','.join('?' * len(wanted))})", wanted
        ).fetchall()
    except sqlite3.Error:
        return {}
    finally:
        connection.close()
    return dict(rows)


def holds_only_feeds(folder: Path | str) -> bool:
    """Whether an index folder holds the feed list and nothing else yet (`qa feeds add` before any
    build): for `qa serve` and `qa ask` it has no index, so they build one as for a missing folder."""
    folder = Path(folder)
    ours = {FEEDS_FILE, f"{FEEDS_FILE}-wal", f"{FEEDS_FILE}-shm", "fetch.lock"}
    return folder.is_dir() and all(p.name in ours for p in folder.iterdir())
