"""Feeds: subscribe the index to RSS/Atom feeds and news sitemaps, and fetch them on a schedule.

    address.py    which address a link may be fetched from (public, or its feed's own)
    http.py       the fetcher: politeness, robots.txt, conditional GET, caps, redirects, retries
    documents.py  feed and sitemap documents → entries
    ids.py        entry keys (guid, else canonical URL), file names, feed names
    run.py        one fetch of every feed, saved as articles and added like `qa add`

The feed list and fetch state live beside the index (`qa/storage/feeds.py`); fetched articles are
files under `<articles>/feeds/<feed>/`, so a rebuild needs no network.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from ..config import Config
from ..errors import QAError, shown
from ..indexing.scan import Log
from ..storage.feeds import FEEDS_FILE, Feed, FeedStore
from .address import target
from .errors import FetchError
from .ids import checked_name, feed_name
from .run import FEEDS_DIR, FetchReport, articles_folder, fetch_feeds

__all__ = ["add_feed", "list_feeds", "remove_feed", "fetch_feeds", "watch", "FetchReport", "FetchError", "Feed", "FEEDS_DIR"]


def add_feed(url: str, config: Config, *, name: str | None = None) -> Feed:
    """Subscribe the index to `url` (nothing is fetched until `qa fetch`); the name names its folder."""
    if not isinstance(url, str) or len(url) > 2000:
        raise FetchError("a feed URL is a string of at most 2,000 characters")
    url = url.strip()
    target(url, home=None, trusted=True)  # http(s), a host that resolves: one line now rather than at every fetch
    name = checked_name(name) if name else feed_name(url)
    articles_folder(config)  # an index of a single file has no folder to save articles in
    with FeedStore(config.index) as store:
        if (known := store.find(url)) is not None or (known := store.find(name)) is not None:
            raise QAError(f"already subscribed as {shown(known.name)}: {shown(known.url)}")
        return store.add(name, url)


def list_feeds(config: Config) -> list[Feed]:
    if not (Path(config.index) / FEEDS_FILE).is_file():
        return []  # read-only: listing never creates the feed state
    with FeedStore(config.index) as store:
        return store.feeds()


def remove_feed(name_or_url: str, config: Config) -> tuple[Feed, list[str]]:
    """Unsubscribe; the feed's articles stay in the index and its folder (`qa remove` takes them out)."""
    with FeedStore(config.index) as store:
        feed = store.find(name_or_url)
        if feed is None:
            raise QAError(f"no feed named {shown(name_or_url)} (see `qa feeds list`)")
        return feed, store.remove(feed.name)


def watch(
    config: Config,
    *,
    stop: threading.Event,
    log: Log = lambda _: None,
    every: float | None = None,
    fetch: Callable[[], str] | None = None,
) -> None:
    """Fetch every feed, then again `every` seconds after that fetch started, until `stop` is set.

    `fetch` does one fetch and says what it did (default: `fetch_feeds` here; the server runs
    `qa fetch` in a process of its own, as its index panel does every change). A fetch that fails
    is logged in a line and the loop goes on: the index keeps serving as it was."""
    every = config.watch_every if every is None else every
    fetch = fetch or (lambda: fetch_feeds(config, log=log).summary())
    while not stop.is_set():
        started = time.monotonic()
        try:
            log(fetch())
        except QAError as error:
            log(f"fetch failed: {error}; the index is as it was")
        except Exception as error:  # noqa: BLE001 - a bug of ours must not end a server's watch loop
            log(f"fetch failed: unexpected {type(error).__name__}: {str(error)[:300]}; the index is as it was")
        stop.wait(max(0.0, every - (time.monotonic() - started)))
