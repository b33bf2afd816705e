"""One fetch of every feed: documents → entries → pages → article files → one `qa add`.

    fetch each feed (conditional GET)  →  parse it in the time-bounded pool  →  for each new or
    changed entry fetch its page (checked address, robots.txt, caps)  →  extract it with the HTML
    ingest (else keep the entry's own text, marked so)  →  save it as a Markdown article under
    `<articles>/feeds/<feed>/` (the raw page beside it, in `.raw/`)  →  add the saved files through
    `add_articles`, the same incremental, all-or-nothing path as `qa add`.

The saved files are the articles: a rebuild (`qa build --full`) reads them back offline and makes
the same index. If the add fails, the files written by this fetch are put back as they were and
nothing is recorded, so a fetch that dies leaves the index and the articles folder as they were.
"""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..config import Config
from ..errors import BuildError, QAError, shown
from ..indexing import BuildReport, add_articles, recorded_articles
from ..indexing.scan import Log
from ..ingest.fields import IngestError
from ..ingest.pool import ParseJob, parse_jobs
from ..records import Article
from ..storage.feeds import Feed, FeedItem, FeedStore, now
from .documents import Document, Entry, document_job, parse_document_job
from .errors import FetchError
from .http import Fetcher, Response
from .ids import file_stem

__all__ = ["FetchReport", "fetch_feeds", "FEEDS_DIR"]

#: The subfolder of the articles folder where fetched articles are saved.
FEEDS_DIR = "feeds"


@dataclass
class FetchReport:
    lines: list[str] = field(default_factory=list)  #: one per feed: what its fetch did
    build: BuildReport | None = None  #: the add of the saved articles, when there were any

    def summary(self) -> str:
        return "\n".join([*self.lines, self.build.summary() if self.build else "no new or changed articles"])


@dataclass
class _Saved:
    """An entry ready to be saved: its file, text, and what the feed state will remember."""

    path: Path
    text: str
    raw_page: bytes | None
    item: FeedItem
    new: bool
    changed: bool  #: the feed changed the entry (else its page is tried again, or it is new)
    old: bytes | None = None  #: the file's bytes before this fetch (None: it is new)


def articles_folder(config: Config) -> Path:
    folder = Path(recorded_articles(config).articles)
    if folder.is_file():
        raise BuildError(f"the index reads the single file {shown(str(folder))}; feeds save their articles in a folder")
    return folder


def fetch_feeds(config: Config, *, log: Log = lambda _: None, fetcher: Fetcher | None = None) -> FetchReport:
    """Fetch every feed once and add what is new or changed; each feed's result is recorded."""
    folder = articles_folder(config)
    fetcher = fetcher or Fetcher(config)
    report = FetchReport()
    with FeedStore(config.index) as store, store.fetching():
        feeds = store.feeds()
        if not feeds:
            report.lines.append("no feeds yet: add one with `qa feeds add URL`")
            return report
        documents = _documents(feeds, fetcher, config)
        saved: dict[str, list[_Saved]] = {}
        claimed: dict[str, str] = {}
        for feed in feeds:
            got = documents[feed.name]
            if isinstance(got, QAError | IngestError):
                _record(store, feed, report, log, f"failed: {got}", None, 0)
                continue
            response, document = got
            if document is None:
                _record(store, feed, report, log, "not modified (304)", response, 0)
                continue
            saved[feed.name] = _entries(feed, response, document, store, fetcher, folder, config, log, claimed)
        written = _write(folder, [s for group in saved.values() for s in group])
        try:
            if written:
                report.build = add_articles([s.path for s in written], config, log=log, create=True)
        except BaseException:
            _restore(written)
            raise
        _keep_raw_pages(written)
        for feed in feeds:
            if feed.name in saved:
                group = saved[feed.name]
                store.save_items(s.item for s in group)
                response, document = documents[feed.name]  # type: ignore[misc]
                new, changed = sum(s.new for s in group), sum(s.changed for s in group)
                retried = len(group) - new - changed
                from_entry = sum(s.item.origin != "page" for s in group)
                result = (
                    f"ok: {len(document.entries)} entries, {new} new, {changed} updated"
                    + (f", {retried} pages tried again" if retried else "")
                    + (f", {from_entry} from the entry's own text (page not fetched)" if from_entry else "")
                )
                _record(store, feed, report, log, result, response, new)
    return report


def _record(
    store: FeedStore, feed: Feed, report: FetchReport, log: Log, result: str, response: Response | None, added: int
) -> None:
    etag = response.etag if response else feed.etag
    modified = response.last_modified if response else feed.last_modified
    store.record_fetch(feed.name, result, etag=etag, last_modified=modified, added=added)
    report.lines.append(f"{feed.name}: {result}")
    log(report.lines[-1])


def _documents(
    feeds: list[Feed], fetcher: Fetcher, config: Config
) -> dict[str, tuple[Response, Document | None] | QAError | IngestError]:
    """Each feed fetched (conditionally) and parsed; a sitemap index brings its child sitemaps."""
    out: dict[str, tuple[Response, Document | None] | QAError | IngestError] = {}
    fetched: dict[str, Response] = {}
    for feed in feeds:
        try:
            response = fetcher.get(feed.url, trusted=True, etag=feed.etag, last_modified=feed.last_modified)
        except QAError as error:
            out[feed.name] = error
            continue
        if response.status == 304:
            out[feed.name] = (response, None)
        else:
            fetched[feed.name] = response
    jobs = [document_job(name, r.body, config.feed_max_entries) for name, r in fetched.items()]
    for job, parsed in parse_jobs(jobs, seconds=config.parse_seconds, workers=1, parse=parse_document_job):  # type: ignore[arg-type]
        response = fetched[job.rel]
        if isinstance(parsed, Document) and parsed.kind == "sitemap index":
            parsed = _children(parsed, response, fetcher, config)
        out[job.rel] = (response, parsed) if isinstance(parsed, Document) else parsed  # type: ignore[assignment]
    return out


def _children(index: Document, response: Response, fetcher: Fetcher, config: Config) -> Document | IngestError:
    """The entries of the sitemaps a sitemap index lists (one level: an index of indexes is not followed)."""
    entries: list[Entry] = []
    notes = list(index.notes)
    bodies = []
    for url in index.children:
        try:
            bodies.append(fetcher.get(url, home=response.ip))
        except QAError as error:
            notes.append(str(error))
    jobs = [document_job(r.url, r.body, config.feed_max_entries) for r in bodies]
    for _, parsed in parse_jobs(jobs, seconds=config.parse_seconds, workers=1, parse=parse_document_job):  # type: ignore[arg-type]
        if isinstance(parsed, Document):
            entries += parsed.entries
        else:
            notes.append(str(parsed))
    if not entries and notes:
        return IngestError(f"sitemap index: {notes[0]}")
    return Document("sitemap", None, tuple(entries[: config.feed_max_entries]), notes=tuple(notes))


def _signature(entry: Entry) -> str:
    """What the feed says of an entry: when it changes, the entry is fetched again."""
    return hashlib.sha1(json.dumps([entry.link, entry.title, entry.published, entry.summary]).encode()).hexdigest()


def _entries(
    feed: Feed,
    response: Response,
    document: Document,
    store: FeedStore,
    fetcher: Fetcher,
    folder: Path,
    config: Config,
    log: Log,
    claimed: dict[str, str],
) -> list[_Saved]:
    """The new and changed entries of one feed, their pages fetched and extracted. `claimed`: the
    feed each entry key of this fetch belongs to (the first to list it), shared by all the feeds."""
    for note in document.notes:
        log(f"{feed.name}: {note}")
    todo: list[tuple[Entry, str, FeedItem | None]] = []
    seen: set[str] = set()
    elsewhere: list[str] = []
    for entry in document.entries:
        rel = f"{FEEDS_DIR}/{feed.name}/{file_stem(entry.key)}.md"
        before = store.item(rel)
        if rel in seen or (before is not None and before.digest == _signature(entry) and before.origin == "page"):
            continue  # listed twice, or unchanged since its page was saved (a page that failed is tried again)
        seen.add(rel)
        owner = claimed.setdefault(entry.key, store.owner(entry.key) or feed.name)
        if before is None and owner != feed.name:
            elsewhere.append(owner)  # one outlet's article listed by two of its feeds is stored once
            continue
        todo.append((entry, rel, before))

    def page(entry: Entry) -> Response | QAError:
        if not entry.link:
            return FetchError("the entry has no link")
        try:
            return fetcher.get(entry.link, home=response.ip)
        except QAError as error:
            return error

    with ThreadPoolExecutor(config.feed_workers) as pool:
        pages = list(pool.map(page, [entry for entry, _, _ in todo]))
    jobs = [
        ParseJob(rel, got.body, ".html", config.max_article_chars, config.max_html_elements)
        for (entry, rel, _), got in zip(todo, pages)
        if isinstance(got, Response)
    ]
    extracted = dict(
        (job.rel, parsed) for job, parsed in parse_jobs(jobs, seconds=config.parse_seconds, workers=config.parse_workers or None)
    )
    saved = []
    stamp = now()
    for (entry, rel, before), got in zip(todo, pages):
        parsed = extracted.get(rel)
        article = parsed[0][0] if isinstance(parsed, tuple) and parsed[0] else None
        why = str(got) if not isinstance(got, Response) else str(parsed) if article is None else ""
        if article is None and not entry.summary:
            log(f"{feed.name}: {shown(entry.link or entry.key)}: {why}; the entry has no text of its own, skipped")
            continue
        origin = "page" if article is not None else f"feed entry (page not used: {why[:200]})"
        same = before is not None and before.digest == _signature(entry) and before.origin == origin
        item = FeedItem(
            rel,
            feed.name,
            entry.key,
            entry.link,
            _signature(entry),
            before.first_seen if before else stamp,
            before.updated if before and same else stamp,  # a page tried again and failed again is not an update
            stamp,
            origin,
        )
        text = _markdown(entry, article, item, document)
        raw_page = got.body if isinstance(got, Response) else None
        saved.append(
            _Saved(folder / rel, text, raw_page, item, before is None, before is not None and before.digest != item.digest)
        )
    if elsewhere:
        log(f"{feed.name}: {len(elsewhere)} entries already saved from {', '.join(sorted(set(elsewhere)))}, not stored again")
    return saved


def _markdown(entry: Entry, article: Article | None, item: FeedItem, document: Document) -> str:
    """The saved article: YAML front matter (what the ingest reads, and the fetch's own record) and its text."""
    meta = {
        "title": (article.title if article else None) or entry.title,
        # The page's own date first (as for any HTML file), else the date the feed gives.
        "date": (article.date.isoformat() if article and article.date else None) or entry.published,
        "source": entry.outlet or (article.source if article else None),
        "url": entry.link or (article.url if article else None),
        "author": (article.author if article else None) or entry.author,
        "fetched": item.fetched,
        "first_seen": item.first_seen,
        "updated": item.updated,
        "feed": item.feed,
        "guid": entry.key,
        "text_from": item.origin,
    }
    body = article.text if article else entry.summary
    front = yaml.safe_dump({k: v for k, v in meta.items() if v}, allow_unicode=True, sort_keys=False, width=10_000)
    return f"---\n{front}---\n\n{body}\n"


def _write(folder: Path, saved: list[_Saved]) -> list[_Saved]:
    """Write the article files, remembering what each replaced (to put it back if the add fails)."""
    written = []
    for s in saved:
        old = s.path.read_bytes() if s.path.exists() else None
        data = s.text.encode("utf-8")
        s.path.parent.mkdir(parents=True, exist_ok=True)
        s.old = old
        s.path.write_bytes(data)
        written.append(s)
    return written


def _keep_raw_pages(written: list[_Saved]) -> None:
    """The fetched pages as they came, beside their articles in `.raw/` (a folder builds do not read)."""
    for s in written:
        if s.raw_page is not None:
            raw = s.path.parent / ".raw" / f"{s.path.stem}.html"
            raw.parent.mkdir(exist_ok=True)
            raw.write_bytes(s.raw_page)


def _restore(written: list[_Saved]) -> None:
    for s in written:
        if s.old is None:
            s.path.unlink(missing_ok=True)
        else:
            s.path.write_bytes(s.old)
