"""Feeds against real HTTP servers on loopback: RSS 2.0, Atom, news sitemaps, their pages, and the
hostile cases (malformed XML, a redirect loop, a 20 MB page, a server that never answers, a link to
another private address). Every wait is on an event or a socket timeout, never a sleep."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from qa import Config, add_feed, answer, build_index, fetch_feeds, list_feeds, remove_feed
from qa.feeds.address import allowed
from qa.feeds.ids import canonical_url
from qa.render import to_markdown, to_text
from qa.storage import Index
from qa.storage.feeds import FeedStore

Route = Callable[[BaseHTTPRequestHandler], None]


@dataclass
class Site:
    """A real HTTP server on a loopback address; `routes` maps a path to what it answers."""

    host: str
    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)  #: set at teardown: the slow page ends
    big_written: list[int] = field(default_factory=list)
    big_done: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                site.requests.append(self.path)
                route = site.routes.get(self.path.split("?", 1)[0])
                if route is None:
                    self.send_error(404)
                else:
                    route(self)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer((self.host, 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def ok(body: str | bytes, kind: str = "text/html; charset=utf-8", etag: str | None = None) -> Route:
    data = body.encode() if isinstance(body, str) else body

    def route(h: BaseHTTPRequestHandler) -> None:
        if etag and h.headers.get("If-None-Match") == etag:
            h.send_response(304)
            h.end_headers()
            return
        h.send_response(200)
        h.send_header("Content-Type", kind)
        h.send_header("Content-Length", str(len(data)))
        if etag:
            h.send_header("ETag", etag)
        h.end_headers()
        h.wfile.write(data)

    return route


def redirect(to: str) -> Route:
    def route(h: BaseHTTPRequestHandler) -> None:
        h.send_response(302)
        h.send_header("Location", to)
        h.end_headers()

    return route


def page(title: str, date: str, paragraphs: list[str]) -> str:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f"<html><head><title>{title}</title><meta property='article:published_time' content='{date}'></head>"
        f"<body><article><h1>{title}</h1>{body}</article></body></html>"
    )


def rss(items: list[tuple[str, str, str, str]]) -> str:
    """RSS 2.0: (guid, title, link, description) per item."""
    rows = "".join(
        f"<item><guid isPermaLink='false'>{g}</guid><title>{t}</title><link>{link}</link>"
        f"<pubDate>Thu, 03 Dec 2026 09:00:00 GMT</pubDate><description>{d}</description></item>"
        for g, t, link, d in items
    )
    return f"<?xml version='1.0'?><rss version='2.0'><channel><title>Harbour Gazette</title><link>http://x/</link>{rows}</channel></rss>"


HARBOUR = [
    "The city council voted on Wednesday to close the old harbour bridge to all traffic from Monday.",
    "Engineers found deep cracks in two of the bridge's steel girders during an inspection last week.",
    "A ferry service between the north and south quays will run every twenty minutes while the bridge is shut.",
]
HARBOUR_UPDATE = [
    "The city council reversed its decision and the old harbour bridge will reopen to cyclists on Friday.",
    "Engineers said temporary steel braces made the girders safe for light traffic until repairs begin.",
    "The ferry service between the quays will stop running at the weekend.",
]
LIBRARY = [
    "The national library in Larkspur opened a new reading room devoted to maritime maps on Tuesday.",
    "More than four hundred charts, some drawn in the seventeenth century, went on public display.",
]
ORCHARD = [
    "Apple growers in the Vell valley reported the largest harvest in a decade after a mild spring.",
    "Cooperatives said prices for cider apples fell by a third because of the glut.",
]


@pytest.fixture
def sites() -> Iterator[tuple[Site, Site]]:
    home, other = Site("127.0.0.1"), Site("127.0.0.2")
    home.start()
    other.start()
    try:
        yield home, other
    finally:
        home.stop()
        other.stop()


def _config(tmp_path: Path, feed_timeout: float = 30.0) -> Config:
    """Loopback feeds; `feed_timeout` generous (a slow machine's fetch must not race it) unless a
    test needs a page that never answers to time out."""
    return Config(
        articles=tmp_path / "articles",
        index=tmp_path / "index" / "default",
        feed_delay=0,
        feed_retries=0,
        feed_timeout=feed_timeout,
        feed_max_bytes=2_000_000,
    )


def test_canonical_urls_and_addresses() -> None:
    assert canonical_url("HTTPS://News.Example.com:443/a?utm_source=x&id=7&fbclid=1#top") == "https://news.example.com/a?id=7"
    assert allowed("93.184.216.34", None) and not allowed("127.0.0.2", None) and not allowed("169.254.169.254", None)
    assert allowed("127.0.0.1", "127.0.0.1") and not allowed("127.0.0.2", "127.0.0.1") and not allowed("::ffff:10.0.0.1", None)


def test_feeds_fetch_answer_update_and_rebuild(sites: tuple[Site, Site], tmp_path: Path) -> None:
    home, _ = sites
    config = _config(tmp_path)
    (tmp_path / "articles").mkdir()
    first = rss([("harbour-1", "Harbour bridge to close", f"{home.base}/bridge.html?utm_source=rss", "Council closes bridge.")])
    home.routes["/rss.xml"] = ok(first, "application/rss+xml")
    home.routes["/section.xml"] = ok(first, "application/rss+xml")  # the outlet's other feed lists the same story
    home.routes["/bridge.html"] = ok(page("Harbour bridge to close", "2026-12-03", HARBOUR))
    home.routes["/atom.xml"] = ok(
        "<?xml version='1.0' encoding='utf-8'?><feed xmlns='http://www.w3.org/2005/Atom'><title>Larkspur Post</title>"
        "<id>urn:lp</id><updated>2026-12-03T08:00:00Z</updated><entry><id>urn:lp:1</id><title>Map room opens</title>"
        f"<link href='{home.base}/gone.html'/><updated>2026-12-02T08:00:00Z</updated>"
        f"<content type='html'>&lt;p&gt;{' '.join(LIBRARY)}&lt;/p&gt;</content></entry></feed>",
        "application/atom+xml",
        etag='"atom-1"',
    )
    home.routes["/sitemap.xml"] = ok(
        f"<?xml version='1.0'?><sitemapindex xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'><sitemap><loc>{home.base}/news.xml</loc></sitemap></sitemapindex>",
        "application/xml",
    )
    home.routes["/news.xml"] = ok(
        "<?xml version='1.0'?><urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9' "
        "xmlns:news='http://www.google.com/schemas/sitemap-news/0.9'><url>"
        f"<loc>{home.base}/orchard.html</loc><news:news><news:publication><news:name>Vell Courier</news:name>"
        "<news:language>en</news:language></news:publication><news:publication_date>2026-12-01</news:publication_date>"
        "<news:title>Record apple harvest</news:title></news:news></url></urlset>",
        "application/xml",
    )
    home.routes["/orchard.html"] = ok(page("Record apple harvest", "2026-12-01", ORCHARD))
    add_feed(f"{home.base}/rss.xml", config, name="harbour")
    add_feed(f"{home.base}/atom.xml", config, name="larkspur")
    add_feed(f"{home.base}/sitemap.xml", config)
    add_feed(f"{home.base}/section.xml", config, name="section")
    with pytest.raises(Exception, match="already subscribed"):
        add_feed(f"{home.base}/rss.xml", config, name="again")

    report = fetch_feeds(config)
    assert report.build is not None and report.build.added == 3, report.summary()
    lines = {f.name: f for f in list_feeds(config)}
    assert lines["harbour"].articles == 1 and lines["harbour"].last_result.startswith("ok: 1 entries, 1 new")
    assert "from the entry's own text" in lines["larkspur"].last_result  # its page is a 404
    assert lines["section"].articles == 0 and lines["section"].last_result.startswith("ok: 1 entries, 0 new")
    saved = sorted(p.relative_to(tmp_path / "articles").as_posix() for p in (tmp_path / "articles").rglob("*.md"))
    assert len(saved) == 3 and all(p.startswith("feeds/") for p in saved)
    harbour_file = next((tmp_path / "articles" / "feeds" / "harbour").glob("*.md"))
    text = harbour_file.read_text()
    assert f"url: {home.base}/bridge.html?utm_source=rss" in text and "fetched: " in text and "source: Harbour Gazette" in text
    assert (harbour_file.parent / ".raw" / f"{harbour_file.stem}.html").read_bytes().startswith(b"<html>")

    result = answer("Why is the old harbour bridge closing?", index=config.index, config=config)
    lead = result.passages[0].citation
    assert result.answered and lead.article_id == f"feeds/harbour/{harbour_file.stem}.md"
    assert lead.date and lead.date.isoformat() == "2026-12-03" and lead.fetched and lead.source == "Harbour Gazette"
    assert "fetched 20" in to_text(result) and "fetched 20" in to_markdown(result)

    # The feed changes: the same guid with new content replaces the old version; the Atom feed answers 304.
    with FeedStore(config.index) as store:
        before = store.item(lead.article_id)
    home.routes["/rss.xml"] = ok(
        rss([("harbour-1", "Harbour bridge to reopen", f"{home.base}/bridge2.html", "Council reverses.")]), "application/rss+xml"
    )
    home.routes["/bridge2.html"] = ok(page("Harbour bridge to reopen", "2026-12-03", HARBOUR_UPDATE))
    second = fetch_feeds(config)
    assert second.build is not None and (second.build.added, second.build.changed) == (0, 1), second.summary()
    assert any(line == "larkspur: not modified (304)" for line in second.lines)
    with FeedStore(config.index) as store:
        after = store.item(lead.article_id)
    assert after and before and after.first_seen == before.first_seen and after.updated >= before.updated
    index = Index(config.index)
    assert sorted(index.article_ids()) == saved
    updated = answer("When will the harbour bridge reopen to cyclists?", index=config.index, config=config)
    assert updated.passages[0].citation.article_id == lead.article_id and "reopen" in updated.passages[0].citation.title

    # A rebuild from the articles folder needs no network: the servers are gone, the same articles come back.
    home.stop()
    rebuilt = Config(articles=config.articles, index=tmp_path / "rebuilt")
    build_index(rebuilt)
    assert sorted(Index(rebuilt.index).article_ids()) == saved

    feed, ids = remove_feed("harbour", config)
    assert feed.name == "harbour" and ids == [lead.article_id] and "harbour" not in {f.name for f in list_feeds(config)}


def test_hostile_feeds_are_refused_in_a_line(sites: tuple[Site, Site], tmp_path: Path) -> None:
    home, other = sites
    config = _config(tmp_path, feed_timeout=10.0)  # the slow page never answers: its fetch must time out
    (tmp_path / "articles").mkdir()

    def huge(h: BaseHTTPRequestHandler) -> None:  # 20 MB, streamed without a length: the cap must stop reading
        h.send_response(200)
        h.send_header("Content-Type", "text/html")
        h.end_headers()
        written = 0
        try:
            while written < 20_000_000:
                h.wfile.write(b"<p>" + b"x" * 65_530 + b"</p>")
                written += 65_537
        except OSError:
            pass
        home.big_written.append(written)
        home.big_done.set()

    def slow(h: BaseHTTPRequestHandler) -> None:  # answers nothing until the test ends
        home.release.wait(60)

    other.routes["/private.html"] = ok(page("Secret", "2026-12-03", LIBRARY))
    home.routes["/mixed.xml"] = ok(
        rss(
            [
                ("big", "Big page", f"{home.base}/big.html", "The big page story about lighthouse keepers on the coast."),
                ("slow", "Slow page", f"{home.base}/slow.html", "The slow page story about ferry timetables in winter."),
                ("private", "Private link", f"{other.base}/private.html", "A story whose page is on another private address."),
                ("ftp", "Odd link", "ftp://127.0.0.1/x", "A story whose link is not on the web at all, about trams."),
            ]
        ),
        "application/rss+xml",
    )
    home.routes["/big.html"] = huge
    home.routes["/slow.html"] = slow
    home.routes["/broken.xml"] = ok("<?xml version='1.0'?><rss><channel><title>Broken</ti", "application/rss+xml")
    home.routes["/loop1.xml"] = redirect("/loop2.xml")
    home.routes["/loop2.xml"] = redirect("/loop1.xml")
    for name, path in [("mixed", "/mixed.xml"), ("broken", "/broken.xml"), ("loop", "/loop1.xml")]:
        add_feed(f"{home.base}{path}", config, name=name)
    add_feed("http://127.0.0.1:1/feed.xml", config, name="down")  # nothing listens there

    report = fetch_feeds(config)
    results = {f.name: f.last_result or "" for f in list_feeds(config)}
    assert results["broken"].startswith("failed: not a readable feed"), results
    assert results["loop"].startswith("failed: redirect loop"), results
    assert results["down"].startswith("failed: ") and "could not be fetched" in results["down"], results
    assert results["mixed"].startswith("ok: 4 entries, 4 new") and "4 from the entry's own text" in results["mixed"]
    assert report.build is not None and report.build.added == 4
    with FeedStore(config.index) as store:
        origins = {i.key: i.origin for i in (store.item(a) for a in Index(config.index).article_ids()) if i}
    assert "cap" in origins["big"] and "took over" in origins["slow"]
    assert "not a public address" in origins["private"] and "only http and https" in origins["ftp"]
    assert other.requests == []  # the private address was never asked, not even for robots.txt
    assert home.big_done.wait(30) and home.big_written[0] < 20_000_000  # the fetcher stopped reading, not the server
    assert all(len(line.splitlines()) == 1 for line in results.values())


def test_cli_feeds_bad_url_is_one_line(tmp_path: Path) -> None:
    env = {"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"}
    args = ["--index", str(tmp_path / "index"), "--model", "x"]
    bad = subprocess.run(
        [sys.executable, "-m", "qa.cli", "feeds", "add", "ftp://example.com/feed", *args], capture_output=True, text=True, env=env
    )
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "only http and https" in bad.stderr
    listed = subprocess.run([sys.executable, "-m", "qa.cli", "feeds", "list", *args], capture_output=True, text=True, env=env)
    assert listed.returncode == 0 and listed.stdout.startswith("no feeds")


def test_a_fetch_that_dies_leaves_folder_and_index_as_they_were(sites: tuple[Site, Site], tmp_path: Path) -> None:
    home, _ = sites
    config = _config(tmp_path).with_overrides(model=str(tmp_path / "no-such-model"))  # the add fails when it embeds
    (tmp_path / "articles").mkdir()
    home.routes["/rss.xml"] = ok(rss([("o-1", "Orchard", f"{home.base}/o.html", "Apples.")]), "application/rss+xml")
    home.routes["/o.html"] = ok(page("Record apple harvest", "2026-12-01", ORCHARD))
    add_feed(f"{home.base}/rss.xml", config, name="orchard")
    with pytest.raises(Exception):  # noqa: B017 - whatever stops the add, it must leave nothing behind
        fetch_feeds(config)
    assert [p for p in (tmp_path / "articles").rglob("*") if p.is_file()] == []
    assert [(f.last_fetch, f.articles) for f in list_feeds(config)] == [(None, 0)]
    assert "/o.html" in home.requests  # it did get as far as the page
