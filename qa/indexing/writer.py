"""The writer: the one process allowed to change an index folder, and what it does with a scan.

    scan the folder → diff against the index → chunk and embed what is new → one commit

A file whose size and modification time are unchanged is not even read; one whose bytes are
unchanged is not parsed; an article whose content hash is unchanged is not re-chunked or
re-embedded, and a chunk whose text was embedded before (a renamed file) reuses its vectors.
Removed articles are deleted from every part. The whole change is one SQLite transaction that
also names the new vector file, so readers see the old generation or the new one, and a killed
build leaves the old one (see `qa/storage/`). Parsing, chunking and embedding run wherever the
writer's `Stages` say (`stages.py`): here, or on a Ray cluster.
"""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import json
import shutil
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..chunking import embed_prefix, embed_text
from ..config import Config
from ..embedding import Encoder, shared_encoder
from ..errors import BuildError, shown
from ..ingest import INGEST_VERSION, SUPPORTED, IngestError, article_files
from ..ingest.files import file_id
from ..ingest.pool import ParseJob
from ..records import Article, Chunk, IngestWarning
from ..storage import FILE_NAME, FORMAT, FORMAT_VERSION, housekeep, is_sharded, read_meta, vector_file, writer_lock
from ..storage.keyword import KEYWORD_DIR, KeywordIndex, keyword_generation, stage_keywords
from ..storage.metadata import ARTICLE_COLUMNS, article_columns, article_from_row, connect, f16, sentences_json, transaction
from ..storage.vectors import build_vectors, factory_for, read_vectors, update_vectors, write_vectors
from ..stories import StoryMember, assign_stories, linking_settings
from .stages import LocalStages, Stages

__all__ = ["Writer", "Scan", "BuildReport", "article_hash", "add_keywords", "Log"]

Log = Callable[[str], None]


def article_hash(article: Article) -> str:
    """Identity of an article's content and metadata."""
    return hashlib.sha1(
        json.dumps(asdict(article) | {"date": str(article.date)}, sort_keys=True).encode("utf-8", "surrogatepass")
    ).hexdigest()


@dataclass(frozen=True)
class BuildReport:
    path: Path
    articles: int
    chunks: int
    added: int
    changed: int
    removed: int
    embedded: int  #: chunks embedded now; the others were kept or reused by content hash
    linked: int  #: articles linked into stories now; the rest kept their story
    seconds: float
    warnings: tuple[IngestWarning, ...]
    generation: int
    factory: str

    @property
    def chunks_per_second(self) -> float:
        return self.embedded / self.seconds if self.seconds else 0.0

    def summary(self) -> str:
        return (
            f"generation {self.generation}: {self.articles} articles, {self.chunks} chunks ({self.added} added, "
            f"{self.changed} changed, {self.removed} removed; {self.embedded} chunks embedded, {self.linked} articles "
            f"linked into stories) in {self.seconds:.1f} s, {len(self.warnings)} warnings, vectors {self.factory} → {self.path}"
        )


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


def add_keywords(keywords: KeywordIndex, article: Article, chunk: Chunk) -> int:
    """A chunk's keyword document (the text it was embedded with, its article, date and source); its length."""
    return keywords.add(
        chunk.id,
        article.id,
        embed_text(article, chunk),
        article.date.toordinal() if article.date else 0,
        (article.source or "").casefold(),
    )


def _progress(files: list[tuple[Path, str]], shown: bool) -> Iterable[tuple[Path, str]]:
    """The files, with a progress bar on the terminal for a command-line build."""
    if not shown or len(files) < 20:
        return files
    from tqdm import tqdm

    return tqdm(files, unit="file", desc="reading", leave=False, mininterval=1.0)


# --- the writer ----------------------------------------------------------------------------------


#: Where an index built from a single file keeps the files `qa add` adds to it.
ADDED = "added"


class Writer:
    """The one process allowed to change an index folder, for the length of a `with` block."""

    def __init__(self, target: Path, config: Config, log: Log, stages: Stages | None = None) -> None:
        self.target, self.config, self.log = target, config, log
        self.stages = stages or LocalStages()
        self.folder = target.resolve() if target.exists() else target.absolute()

    def __enter__(self) -> Writer:
        if is_sharded(self.folder):
            raise BuildError(
                f"{self.target} is a shard set (made by `qa shard`); build its source index and run `qa shard` again"
            )
        self._lock = writer_lock(self.folder)
        self._lock.__enter__()
        try:
            self.connection = connect(self.folder / FILE_NAME, create=True)
            self.meta = read_meta(self.connection)
        except sqlite3.DatabaseError as error:
            self._lock.__exit__(None, None, None)
            raise BuildError(f"the index at {self.target} is damaged ({error}); move it away and build again") from error
        return self

    def __exit__(self, *exc: object) -> None:
        self.connection.close()
        self._lock.__exit__(None, None, None)

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
        known_files = {
            r[0]: r[1:] for r in self.connection.execute("SELECT path, size, mtime_ns, digest, articles, warnings FROM files")
        }
        known = dict(self.connection.execute("SELECT id, hash FROM articles"))
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
                yield ParseJob(rel, raw, path.suffix, self.config.max_article_chars)

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

    def apply(self, scan: Scan, *, full: bool, progress: bool) -> BuildReport:
        started = time.perf_counter()
        encoder = shared_encoder(self.config)
        if self.meta.get("model") not in (None, encoder.model_id) and not full:
            raise BuildError(
                f"the index was built with model {self.meta['model']!r}, the configured model is "
                f"{encoder.model_id!r}; rebuild it with `qa build --full`"
            )
        total_before = int(self.connection.execute("SELECT count(*) FROM articles").fetchone()[0])
        if full or not self.meta:
            scan.removed |= {r[0] for r in self.connection.execute("SELECT id FROM articles")} - {a.id for a in scan.upserts}
        remaining = total_before - len(scan.removed) - len(scan.changed) + len(scan.upserts)
        if remaining <= 0:
            raise BuildError(f"no readable articles in {self.config.articles}; the previous index (if any) is unchanged")
        settings = linking_settings(self.config)
        relink_all = self.meta.get("stories") != settings and bool(self.meta)
        stale_ingest = bool(self.meta) and self.meta.get("ingest_version") != INGEST_VERSION
        if self.meta and not (
            full or scan.upserts or scan.removed or relink_all or stale_ingest
        ):  # nothing changed: no new generation
            articles, count = int(self.meta["articles"]), int(self.meta["chunks"])
            return BuildReport(
                self.target,
                articles,
                count,
                0,
                0,
                0,
                0,
                0,
                time.perf_counter() - started,
                tuple(scan.warnings),
                int(self.meta["generation"]),
                str(self.meta["factory"]),
            )
        chunks = self._chunk(scan)
        if total_before - len(scan.removed) - len(scan.changed) + len(scan.upserts) <= 0:
            raise BuildError(f"no readable articles in {self.config.articles}; the previous index (if any) is unchanged")
        by_id = {a.id: a for a in scan.upserts}
        vectors, sentence_vectors, embedded = self._embed(encoder, chunks, by_id, reuse=not full, progress=progress)
        members, linked = self._link(scan, chunks, vectors, relink_all)

        generation = int(self.meta.get("generation", 0)) + 1
        doing = "writing the keyword index"
        try:
            self.log("writing the keyword index")
            keyword_folder = self._update_keywords(scan, chunks, by_id, full, generation)
            self.log(f"committing generation {generation}")
            doing = "writing the metadata and the vector index"
            with transaction(self.connection, write=True) as db:
                dropped = self._delete(db, scan.removed | scan.changed | ({a.id for a in scan.upserts} if full else set()))
                self._insert(db, scan.upserts, chunks, vectors, sentence_vectors, members)
                for story_member in linked.values():
                    db.execute(
                        "UPDATE articles SET story = ?, names = ? WHERE id = ?",
                        (story_member.story, json.dumps(sorted(story_member.names)), story_member.article_id),
                    )
                for rel, (size, mtime, digest, ids, notes) in scan.files.items():
                    db.execute(
                        "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?)",
                        (rel, size, mtime, digest, json.dumps(ids), json.dumps(notes)),
                    )
                if full or not self.meta:
                    kept = set(scan.files)
                    db.executemany(
                        "DELETE FROM files WHERE path = ?",
                        [(r[0],) for r in db.execute("SELECT path FROM files") if r[0] not in kept],
                    )
                count = db.execute("SELECT count(*) FROM chunks").fetchone()[0]
                articles = db.execute("SELECT count(*) FROM articles").fetchone()[0]
                factory = self._write_vectors(db, generation, count, dropped, chunks, vectors, full, encoder.dimension)
                meta = {
                    "format": FORMAT,
                    "format_version": FORMAT_VERSION,
                    "ingest_version": INGEST_VERSION,
                    "generation": generation,
                    "model": encoder.model_id,
                    "encoder_backend": encoder.backend,
                    "dimension": encoder.dimension,
                    "max_tokens": min(self.config.chunk_tokens, encoder.max_tokens),
                    "articles": articles,
                    "chunks": count,
                    "keywords": keyword_folder,
                    "vectors": vector_file(generation),
                    "factory": factory,
                    "stories": settings,
                    "articles_folder": str(Path(self.meta.get("articles_folder") or self.config.articles).resolve()),
                    "built_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                    "trained_on": count
                    if factory != self.meta.get("factory") or full or "IVF" not in factory
                    else self.meta.get("trained_on", count),
                }
                db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", [(k, json.dumps(v)) for k, v in meta.items()])
        except (OSError, sqlite3.OperationalError) as error:
            self._discard(generation)  # the metadata transaction rolled back; nothing of this build stays
            if getattr(error, "errno", None) == errno.ENOSPC or "disk is full" in str(error):
                raise BuildError(
                    f"no space left on device while {doing}; nothing was changed, the previous index still serves"
                ) from None
            raise
        self.log(f"generation {generation} committed")
        housekeep(self.folder, generation, self.target)
        return BuildReport(
            self.target,
            articles,
            count,
            len(scan.upserts) - len(scan.changed),
            len(scan.changed),
            len(scan.removed),
            embedded,
            len(linked) + len(members),
            time.perf_counter() - started,
            tuple(scan.warnings),
            generation,
            factory,
        )

    def _discard(self, generation: int) -> None:
        """What a build that failed before its commit wrote for `generation`: its staged keyword
        index and its vector file (the temporary one is removed by `write_vectors`)."""
        shutil.rmtree(self.folder / keyword_generation(generation), ignore_errors=True)
        (self.folder / vector_file(generation)).unlink(missing_ok=True)

    def _chunk(self, scan: Scan) -> list[Chunk]:
        """The new articles' chunks; an article that cannot be chunked is skipped with its reason
        (remembered with its file), and its stored version, if any, stays."""
        chunks: list[Chunk] = []
        kept: list[Article] = []
        for article, got in zip(scan.upserts, self.stages.chunk(scan.upserts, self.config)):
            if isinstance(got, str):
                rel = next((rel for rel, entry in scan.files.items() if article.id in entry[3]), article.id)
                scan.warnings.append(IngestWarning(rel, f"{article.id}: {got}, skipped"))
                self.log(str(scan.warnings[-1]))
                if rel in scan.files:
                    scan.files[rel][4].append(f"{article.id}: {got}")
                scan.changed.discard(article.id)
                continue
            kept.append(article)
            chunks += got
        scan.upserts[:] = kept
        return chunks

    def _embed(
        self, encoder: Encoder, chunks: list[Chunk], articles: dict[str, Article], *, reuse: bool, progress: bool
    ) -> tuple[np.ndarray, list[np.ndarray], int]:
        vectors = np.zeros((len(chunks), encoder.dimension), dtype=np.float32)
        sentence_vectors: list[np.ndarray] = [np.zeros((0, encoder.dimension), np.float32)] * len(chunks)
        missing = list(range(len(chunks)))
        if reuse and chunks:
            known: dict[str, tuple[bytes, bytes | None]] = {}
            hashes = list({c.content_hash for c in chunks})
            for first in range(0, len(hashes), 900):
                part = hashes[first : first + 900]
                for content_hash, vector, sentences in self.connection.execute(
                    "SELECT c.content_hash, c.vector, s.vectors FROM chunks c LEFT JOIN sentence_vectors s ON s.chunk = c.id "
                    f"WHERE c.content_hash IN ({','.join('?' * len(part))})",
                    part,
                ):
                    known[content_hash] = (vector, sentences)
            missing = []
            for i, chunk in enumerate(chunks):
                if chunk.content_hash in known and known[chunk.content_hash][1] is not None:
                    vector, sentences = known[chunk.content_hash]
                    vectors[i] = np.frombuffer(vector, dtype=np.float16)
                    sentence_vectors[i] = (
                        np.frombuffer(sentences, dtype=np.float16).reshape(-1, encoder.dimension).astype(np.float32)
                    )
                else:
                    missing.append(i)
        texts, spans = [], []
        for i in missing:
            chunk, article = chunks[i], articles[chunks[i].article_id]
            prefix = embed_prefix(article)
            shift = (len(prefix) + 1 if prefix else 0) - chunk.start  # sentence spans inside the embedded text
            texts.append(embed_text(article, chunk))
            spans.append([(s.start + shift, s.end + shift) for s in chunk.sentences])
        quiet = not progress and len(missing) <= 256  # a small `qa add` says nothing until its summary
        got, got_spans = self.stages.embed(texts, spans, self.config, (lambda _: None) if quiet else self.log)
        if len(missing):
            vectors[missing] = got
        for i, span_vectors in zip(missing, got_spans):
            sentence_vectors[i] = span_vectors
        return vectors, sentence_vectors, len(missing)

    def _link(
        self, scan: Scan, chunks: list[Chunk], vectors: np.ndarray, relink_all: bool
    ) -> tuple[list[StoryMember], dict[str, StoryMember]]:
        """Stories for the new articles (and for every article when the linking rules changed).

        Returns the members of the new articles, and the re-linked members of kept articles.
        """
        leaving = scan.removed | scan.changed
        kept_rows = [
            r
            for r in self.connection.execute(
                f"SELECT {article_columns('a')}, a.story, a.names, c.vector FROM articles a LEFT JOIN chunks c "
                "ON c.article = a.key AND c.ordinal = 0"
            )
            if r[1] not in leaving
        ]
        dimension = vectors.shape[1]
        kept_vectors = np.array(
            [np.frombuffer(r[10], dtype=np.float16) if r[10] else np.zeros(dimension, np.float16) for r in kept_rows],
            dtype=np.float32,
        ).reshape(-1, dimension)
        leads: dict[str, int] = {}
        for i, chunk in enumerate(chunks):
            leads.setdefault(chunk.article_id, i)
        fresh_vectors = np.array(
            [vectors[leads[a.id]] if a.id in leads else np.zeros(dimension, np.float32) for a in scan.upserts], dtype=np.float32
        ).reshape(-1, dimension)
        if relink_all:
            kept_articles = [article_from_row(r[:8]) for r in kept_rows]
            everyone = assign_stories(kept_articles + scan.upserts, np.concatenate([kept_vectors, fresh_vectors]), self.config)
            return everyone[len(kept_articles) :], {m.article_id: m for m in everyone[: len(kept_articles)]}
        known = [
            StoryMember(r[1], dt.date.fromordinal(r[3]) if r[3] else None, r[4], frozenset(json.loads(r[9])), r[8])
            for r in kept_rows
        ]
        return assign_stories(scan.upserts, fresh_vectors, self.config, known, kept_vectors), {}

    def _delete(self, db: sqlite3.Connection, article_ids: set[str]) -> np.ndarray:
        """Delete articles with their chunks and sentence vectors; returns the chunk ids dropped (for FAISS)."""
        dropped: list[int] = []
        for article_id in article_ids:
            row = db.execute(f"SELECT {ARTICLE_COLUMNS} FROM articles WHERE id = ?", (article_id,)).fetchone()
            if row is None:
                continue
            for (chunk_id,) in db.execute("SELECT id FROM chunks WHERE article = ?", (row[0],)).fetchall():
                db.execute("DELETE FROM sentence_vectors WHERE chunk = ?", (chunk_id,))
                dropped.append(chunk_id)
            db.execute("DELETE FROM chunks WHERE article = ?", (row[0],))
            db.execute("DELETE FROM articles WHERE key = ?", (row[0],))
        return np.array(dropped, dtype=np.int64)

    def _insert(
        self,
        db: sqlite3.Connection,
        articles: list[Article],
        chunks: list[Chunk],
        vectors: np.ndarray,
        sentence_vectors: list[np.ndarray],
        members: list[StoryMember],
    ) -> None:
        story = {m.article_id: m for m in members}
        keys: dict[str, int] = {}
        for article in articles:
            member = story[article.id]
            cursor = db.execute(
                "INSERT INTO articles (id, hash, file, title, date, source, source_fold, url, author, text, story, names) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    article.id,
                    article_hash(article),
                    article.id.split("#", 1)[0],
                    article.title,
                    article.date.toordinal() if article.date else None,
                    article.source,
                    (article.source or "").casefold(),
                    article.url,
                    article.author,
                    article.text,
                    member.story,
                    json.dumps(sorted(member.names)),
                ),
            )
            keys[article.id] = int(cursor.lastrowid or 0)
        ordinal: dict[str, int] = {}
        for i, chunk in enumerate(chunks):
            n = ordinal[chunk.article_id] = ordinal.get(chunk.article_id, -1) + 1
            db.execute(
                "INSERT INTO chunks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    chunk.id,
                    keys[chunk.article_id],
                    n,
                    chunk.start,
                    chunk.end,
                    chunk.token_count,
                    chunk.content_hash,
                    sentences_json(chunk),
                    f16(vectors[i]),
                ),
            )
            db.execute("INSERT INTO sentence_vectors VALUES (?, ?)", (chunk.id, f16(sentence_vectors[i])))

    def _update_keywords(self, scan: Scan, chunks: list[Chunk], articles: dict[str, Article], full: bool, generation: int) -> str:
        """The new generation's keyword index, staged beside the current one and committed; the
        metadata commit that follows publishes it. Returns its folder's name for the manifest.

        It starts as the current generation's (hard links, `stage_keywords`); one that disagrees with
        the metadata in size (written by an older qa, whose keyword index was shared by generations)
        is rebuilt from the metadata instead.
        """
        name = keyword_generation(generation)
        current = str(self.meta.get("keywords") or KEYWORD_DIR) if self.meta else None
        stage_keywords(self.folder, None if full else current, name)
        keywords = KeywordIndex(self.folder, create=True, name=name)
        stored = int(self.meta.get("chunks", 0)) if self.meta else 0
        if not full and keywords.size != stored:
            keywords.delete_all()
            rows = self.connection.execute(
                f"SELECT {article_columns('a')}, c.id, c.start, c.end FROM chunks c JOIN articles a ON a.key = c.article"
            )
            for row in rows:
                article = article_from_row(row[:8])
                if article.id not in scan.removed and article.id not in scan.changed:
                    add_keywords(keywords, article, Chunk(article.id, row[9], row[10], (), 0, "", row[8]))
        elif not full:
            keywords.delete_articles(scan.removed | scan.changed | set(articles))
        for chunk in chunks:
            add_keywords(keywords, articles[chunk.article_id], chunk)
        keywords.commit()
        return name

    def _write_vectors(
        self,
        db: sqlite3.Connection,
        generation: int,
        count: int,
        dropped: np.ndarray,
        chunks: list[Chunk],
        vectors: np.ndarray,
        full: bool,
        dimension: int,
    ) -> str:
        """The vector file of the new generation: updated in place, or rebuilt from the stored vectors
        when the index type changes with the size or an IVF index has outgrown its training (4×)."""
        factory = factory_for(count, dimension, self.config.exact_below)
        trained_on = int(self.meta.get("trained_on") or 0)
        rebuild = full or not self.meta or factory != self.meta.get("factory") or ("IVF" in factory and count > 4 * trained_on)
        path = self.folder / vector_file(generation)
        path.parent.mkdir(parents=True, exist_ok=True)
        if rebuild:
            rows = db.execute("SELECT id, vector FROM chunks").fetchall()
            ids = np.array([r[0] for r in rows], dtype=np.int64)
            stored = (
                np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float16).reshape(len(rows), dimension).astype(np.float32)
            )
            index = build_vectors(factory, ids, stored)
        else:
            index = read_vectors(self.folder / self.meta["vectors"], self.config.ivf_nprobe)
            index = update_vectors(index, dropped, np.array([c.id for c in chunks], dtype=np.int64), vectors)
        write_vectors(index, path)
        return factory
