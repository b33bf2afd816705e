"""Scanning: what the articles folder (or the files given to `qa add`) holds now, against what the
index recorded: which files to read, which articles are new, changed or gone.

A file whose size and modification time are unchanged is not even read; one whose bytes are
unchanged is not parsed; a file skipped for its content is remembered with its reason and not
parsed again until it changes. `qa status` runs the same scan, read-only.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..config import Config
from ..errors import BuildError, shown
from ..ingest import INGEST_VERSION, SUPPORTED, IngestError, article_files
from ..ingest.files import file_id
from ..ingest.pool import ParseJob
from ..records import Article, IngestWarning
from .stages import Stages

__all__ = ["Scan", "Scanner", "article_hash", "ADDED", "Log"]

Log = Callable[[str], None]

#: Where an index built from a single file keeps the files `qa add` adds to it.
ADDED = "added"


def article_hash(article: Article) -> str:
    """Identity of an article's content and metadata."""
    return hashlib.sha1(
        json.dumps(asdict(article) | {"date": str(article.date)}, sort_keys=True).encode("utf-8", "surrogatepass")
    ).hexdigest()


@dataclass
class Scan:
    """What the folder holds now, against what the index holds."""

    upserts: list[Article] = field(default_factory=list)  #: new or changed articles
    changed: set[str] = field(default_factory=set)
    removed: set[str] = field(default_factory=set)
    files: dict[str, tuple[int, int, str, list[str], list[str]]] = field(
        default_factory=dict
    )  #: rel → size, mtime, digest, ids, warnings
    warnings: list[IngestWarning] = field(default_factory=list)


def _progress(files: list[tuple[Path, str]], shown: bool) -> Iterable[tuple[Path, str]]:
    """The files, with a progress bar on the terminal for a command-line build."""
    if not shown or len(files) < 20:
        return files
    from tqdm import tqdm

    return tqdm(files, unit="file", desc="reading", leave=False, mininterval=1.0)


# --- the scanner ---------------------------------------------------------------------------------


class Scanner:
    """Scans against what an index recorded: `files` (path → size, time, hash, ids and notes as
    JSON) and `articles` (id → content hash), as `IndexStore` or `Index` read them."""

    def __init__(
        self,
        index_folder: Path,
        meta: dict,
        files: dict[str, tuple[int, int, str, str, str]],
        articles: dict[str, str],
        config: Config,
        stages: Stages,
        log: Log,
    ) -> None:
        self.folder, self.meta, self.known_files, self.known_articles = index_folder, meta, files, articles
        self.config, self.stages, self.log = config, stages, log

    def articles_folder(self) -> Path:
        return Path(self.meta.get("articles_folder") or self.config.articles)

    def destination(self, path: Path) -> tuple[Path, str]:
        """Where `qa add` keeps a file (itself when it is already in the articles folder) and its id.

        An index built from a single file (a JSONL dump) keeps the files added to it in its own
        `added/` folder, which every build of it reads too. Checks only: nothing is copied here.
        """
        if not path.is_file():
            raise BuildError(f"{shown(str(path))} is not a file")
        if path.suffix.lower() not in SUPPORTED:
            raise BuildError(
                f"{shown(path.name)}: unsupported file type {shown(path.suffix) or '(none)'}; "
                f"articles are {', '.join(sorted(SUPPORTED))}"
            )
        source = self.articles_folder()
        folder, prefix = (self.folder / ADDED, f"{ADDED}/") if source.is_file() else (source, "")
        try:
            return path, prefix + file_id(path.resolve().relative_to(folder.resolve()).as_posix())
        except ValueError:
            pass
        destination = folder / path.name
        if destination.exists() and destination.read_bytes() != path.read_bytes():
            raise BuildError(
                f"{shown(str(destination))} already exists with other content; rename {shown(path.name)} and add it again"
            )
        return destination, prefix + file_id(path.name)

    # --- scanning ---------------------------------------------------------------------------------

    def scan_folder(self, folder: Path, *, full: bool, progress: bool = False) -> Scan:
        files, warnings = article_files(folder)
        if folder.is_file() and (self.folder / ADDED).is_dir():  # a single-file source and what `qa add` added to it
            added, more = article_files(self.folder / ADDED)
            files += [(path, f"{ADDED}/{rel}") for path, rel in added]
            warnings += [IngestWarning(f"{ADDED}/{w.path}", w.reason) for w in more]
        for warning in warnings:
            self.log(str(warning))
        reread = bool(self.meta) and self.meta.get("ingest_version") != INGEST_VERSION  # read by an older ingest
        scan = self._scan(files, full=full, every_file=True, progress=progress, reread=reread)
        scan.warnings[:0] = warnings
        return scan

    def scan_files(self, files: list[tuple[Path, str]]) -> Scan:
        """Files named by `qa add`: always read (an article removed by id comes back when its file is added again)."""
        return self._scan(files, full=False, every_file=False, reread=True)

    def _scan(
        self, files: list[tuple[Path, str]], *, full: bool, every_file: bool, progress: bool = False, reread: bool = False
    ) -> Scan:
        """Read what changed, in worker processes under a time limit; warnings are logged as they happen."""
        known_files, known = self.known_files, self.known_articles
        scan = Scan()
        present: set[str] = set()
        read: dict[str, tuple[int, int, str]] = {}  # rel → size, mtime, digest of each file sent to a parser

        def warn(rel: str, text: str) -> None:
            scan.warnings.append(IngestWarning(rel, text))
            self.log(str(scan.warnings[-1]))

        # Which file holds each article id: two files may not (a dump `d.json` holding a record with id
        # `k.txt` is `d.json#k.txt`, as is a file of that name); the later one is skipped, named.
        owner: dict[str, str] = (
            {} if every_file else {article_id: rel for rel, before in known_files.items() for article_id in json.loads(before[3])}
        )

        def keep(rel: str, size: int, mtime: int, digest: str, before: tuple) -> None:
            ids, notes = json.loads(before[3]), json.loads(before[4])
            scan.files[rel] = (size, mtime, digest, ids, notes)
            present.update(ids)
            owner.update(dict.fromkeys(ids, rel))
            for note in notes:
                warn(rel, note)

        def jobs() -> Iterator[ParseJob]:
            for path, rel in _progress(files, progress):
                try:
                    stat = path.stat()
                    before = known_files.get(rel)
                    if before and not (full or reread) and (stat.st_size, stat.st_mtime_ns) == (before[0], before[1]):
                        keep(rel, stat.st_size, stat.st_mtime_ns, before[2], before)  # untouched: not even read
                        continue
                    if stat.st_size > self.config.max_article_bytes:
                        reason = (
                            f"{stat.st_size / 1e6:.1f} MB is over the {self.config.max_article_bytes / 1e6:.0f} MB "
                            "limit (QA_MAX_ARTICLE_BYTES), skipped"
                        )
                        warn(rel, reason)
                        scan.files[rel] = (stat.st_size, stat.st_mtime_ns, "", [], [reason])  # remembered, not re-read
                        continue
                    raw = path.read_bytes()
                except OSError as error:
                    warn(rel, f"cannot be read ({error.strerror or error}), skipped")
                    continue
                digest = hashlib.sha1(raw).hexdigest()
                if before and not (full or reread) and digest == before[2]:  # touched, same bytes: not parsed again
                    keep(rel, stat.st_size, stat.st_mtime_ns, digest, before)
                    continue
                read[rel] = (stat.st_size, stat.st_mtime_ns, digest)
                yield ParseJob(rel, raw, path.suffix, self.config.max_article_chars, self.config.max_html_elements)

        for job, parsed in self.stages.parse(jobs(), self.config):
            size, mtime, digest = read.pop(job.rel)
            if isinstance(parsed, IngestError):
                # Remembered with the file's size, time and hash: not parsed again until it changes, and
                # `qa status` lists it with its reason.
                warn(job.rel, f"{parsed}, skipped")
                scan.files[job.rel] = (size, mtime, digest, [], [f"{parsed}, skipped"])
                continue
            articles, notes = parsed
            for article in articles:
                if owner.setdefault(article.id, job.rel) != job.rel:
                    notes = [
                        *notes,
                        f"{shown(article.id)} is already the id of an article of {shown(owner[article.id])}, skipped",
                    ]
            articles = [a for a in articles if owner[a.id] == job.rel]
            for note in notes:
                warn(job.rel, note)
            scan.files[job.rel] = (size, mtime, digest, [a.id for a in articles], notes)
            for article in articles:
                present.add(article.id)
                if full or known.get(article.id) != article_hash(article):
                    scan.upserts.append(article)
                    if article.id in known:
                        scan.changed.add(article.id)
        if every_file:
            scan.removed = set(known) - present
        else:  # articles that left a re-read file are removed with it
            for rel in scan.files:
                before = known_files.get(rel)
                if before:
                    scan.removed |= set(json.loads(before[3])) - present
        return scan

    # --- applying ---------------------------------------------------------------------------------
