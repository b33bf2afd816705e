"""Feeds on loopback: how fast a 500-entry feed is taken in, and how soon a new entry is answered.

1. Throughput: a real HTTP server on 127.0.0.1 serves an RSS 2.0 feed of 500 entries, each linking
   to an HTML page made from a corpus article (`../shared/corpora/multihop_rag_articles.jsonl`;
   synthetic pages without it). `qa fetch` into a fresh index: articles added per minute, with the
   fetching-and-extracting part and the indexing part apart. The host delay is 0 here (loopback);
   with the default `feed_delay` of 1 s, 500 pages of one host take at least 500 s by design.
2. Freshness: `qa serve --watch --every N` runs on that index; a new entry is put in the feed, and
   the JSON API is asked about it until an answer cites it: seconds from the entry's appearance to
   that answer, for a few entries (at most N seconds of it is waiting for the next fetch).

    .venv/bin/python bench/feeds.py [--entries 500] [--every 10] [--trials 3]

Traffic goes to 127.0.0.1 only. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import qa
from qa.feeds.run import FetchReport

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpora" / "multihop_rag_articles.jsonl"


class Feed:
    """The served feed (entries can be added while it is served) and its pages."""

    def __init__(self) -> None:
        self.items: list[tuple[str, str, str, str]] = []  # guid, title, path, date
        self.pages: dict[str, bytes] = {}
        self.lock = threading.Lock()

    def add(self, guid: str, title: str, date: str, paragraphs: list[str], source: str) -> None:
        path = f"/a/{guid}.html"
        body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
        self.pages[path] = (
            f"<html><head><title>{html.escape(title)}</title><meta property='article:published_time' content='{date}'>"
            f"<meta property='og:site_name' content='{html.escape(source)}'></head>"
            f"<body><article><h1>{html.escape(title)}</h1>{body}</article></body></html>"
        ).encode()
        with self.lock:
            self.items.insert(0, (guid, title, path, date))

    def rss(self, base: str) -> bytes:
        with self.lock:
            items = list(self.items)
        rows = "".join(
            f"<item><guid isPermaLink='false'>{g}</guid><title>{html.escape(t)}</title><link>{base}{p}</link>"
            f"<pubDate>{format_datetime(_date(d))}</pubDate><description>{html.escape(t)}</description></item>"
            for g, t, p, d in items
        )
        return f"<?xml version='1.0'?><rss version='2.0'><channel><title>Bench Wire</title>{rows}</channel></rss>".encode()


def _date(iso: str):
    import datetime as dt

    return dt.datetime.fromisoformat(iso[:19]).replace(tzinfo=dt.UTC)


def serve(feed: Feed) -> tuple[ThreadingHTTPServer, str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            base = f"http://127.0.0.1:{self.server.server_address[1]}"
            data = feed.rss(base) if self.path == "/feed.xml" else feed.pages.get(self.path)
            if data is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def corpus(n: int) -> list[dict]:
    if CORPUS.exists():
        rows = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]
        return [r for r in rows if len(r.get("body") or "") > 500][:n]
    print(f"{CORPUS} not found: synthetic pages", file=sys.stderr)
    return [
        {
            "title": f"Report {i}",
            "body": f"Report number {i} about the harbour. " * 40,
            "source": "Bench",
            "published_at": "2026-12-01",
        }
        for i in range(n)
    ]


def throughput(feed: Feed, base: str, config: qa.Config, entries: int) -> None:
    for i, row in enumerate(corpus(entries)):
        paragraphs = [p for p in row["body"].split("\n") if p.strip()][:40]
        feed.add(f"c{i}", row["title"], (row.get("published_at") or "2023-01-01")[:19], paragraphs, row.get("source") or "")
    qa.add_feed(f"{base}/feed.xml", config, name="bench")
    timings: dict[str, float] = {}
    original = qa.feeds.run.add_articles

    def timed_add(*args, **kwargs):  # the real add, timed
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            timings["add"] = time.perf_counter() - started

    qa.feeds.run.add_articles = timed_add
    started = time.perf_counter()
    report: FetchReport = qa.fetch_feeds(config)
    total = time.perf_counter() - started
    qa.feeds.run.add_articles = original
    added = report.build.added if report.build else 0
    print(f"fetch of a {entries}-entry feed: {added} articles added in {total:.1f} s = {60 * added / total:.0f} articles/min")
    print(
        f"  fetching, extracting and saving: {total - timings.get('add', 0):.1f} s; "
        f"indexing (qa add of the saved files): {timings.get('add', 0):.1f} s"
    )
    print(f"  {report.lines[0]}")
    again = time.perf_counter()
    second = qa.fetch_feeds(config)
    print(f"an unchanged second fetch: {time.perf_counter() - again:.1f} s ({second.lines[0]})")


def freshness(feed: Feed, base: str, config: qa.Config, every: float, trials: int) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = os.environ | config.to_env() | {"HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
    command = [sys.executable, "-m", "qa.cli", "serve", "--watch", "--every", f"{every:g}s", "--port", str(port)]
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    api = f"http://127.0.0.1:{port}/api/answer?"
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status", timeout=5).read()
                break
            except OSError:
                time.sleep(0.5)
        seconds = []
        for trial in range(trials):
            town = ["Quillhaven", "Morrowgate", "Thistlecombe", "Brackenmoor", "Saltmere"][trial % 5]
            question = f"What did the {town} ferry operators announce?"
            feed.add(
                f"fresh{trial}",
                f"{town} ferry operators announce strike",
                time.strftime("%Y-%m-%dT%H:%M:%S"),
                [
                    f"Ferry operators in {town} announced a forty-eight hour strike over pay starting on Friday.",
                    f"The {town} harbour authority said extra buses would carry passengers along the coast road.",
                ],
                "Bench Wire",
            )
            appeared = time.monotonic()
            while True:
                answer = json.loads(
                    urllib.request.urlopen(api + urllib.parse.urlencode({"question": question}), timeout=60).read()
                )
                cited = [p for p in answer.get("passages", [])[:3] if town in (p["article"].get("title") or "")]
                if answer.get("answered") and cited:
                    seconds.append(time.monotonic() - appeared)
                    print(
                        f"entry {trial + 1}: first answer citing it after {seconds[-1]:.1f} s (fetched {cited[0].get('fetched')})"
                    )
                    break
                time.sleep(0.25)
        if seconds:
            print(
                f"from an entry's appearance to an answer citing it (qa serve --watch --every {every:g}s): "
                f"mean {sum(seconds) / len(seconds):.1f} s, max {max(seconds):.1f} s over {len(seconds)} entries"
            )
    finally:
        server.terminate()
        server.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=500)
    parser.add_argument("--every", type=float, default=10.0)
    parser.add_argument("--trials", type=int, default=3)
    args = parser.parse_args()
    feed = Feed()
    server, base = serve(feed)
    with tempfile.TemporaryDirectory(prefix="qa-bench-feeds-") as folder:
        config = qa.Config(
            articles=Path(folder) / "articles", index=Path(folder) / "index", feed_delay=0, feed_max_entries=args.entries + 100
        )
        config.articles.mkdir()
        throughput(feed, base, config, args.entries)
        freshness(feed, base, config, args.every, args.trials)
    server.shutdown()


if __name__ == "__main__":
    main()
