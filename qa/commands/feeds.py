"""The commands that follow feeds: `qa feeds add|list|remove` (the subscriptions), `qa fetch` (every
feed once) and `qa watch` (again and again); moved out of `qa/cli.py`."""

from __future__ import annotations

import argparse

from ..config import Config
from . import log, seconds

__all__ = ["feeds_command", "fetch_command", "watch_command"]


def feeds_command(args: argparse.Namespace, config: Config) -> int:
    from ..feeds import add_feed, list_feeds, remove_feed

    if args.feeds_command == "add":
        feed = add_feed(args.url, config, name=args.name)
        print(f"added feed {feed.name}: {feed.url} (fetch it with `qa fetch`)")
    elif args.feeds_command == "remove":
        feed, ids = remove_feed(args.feed, config)
        print(f"removed feed {feed.name}; its {len(ids)} articles stay in the index (`qa remove` takes them out)")
    else:
        feeds = list_feeds(config)
        for feed in feeds:
            last = f"last fetch {feed.last_fetch}: {feed.last_result}" if feed.last_fetch else "not fetched yet"
            print(f"{feed.name}  {feed.url}\n    {feed.articles} articles; {last}")
        if not feeds:
            print("no feeds: add one with `qa feeds add URL`")
    return 0


def fetch_command(args: argparse.Namespace, config: Config) -> int:
    from ..feeds import fetch_feeds

    print(fetch_feeds(config, log=log).summary())
    return 0


def watch_command(args: argparse.Namespace, config: Config) -> int:
    import threading

    from ..feeds import watch

    every = seconds(args.every) if args.every else None
    log(f"fetching every feed every {every or config.watch_every:g} s; Ctrl-C stops")
    watch(config, stop=threading.Event(), log=log, every=every)
    return 0
