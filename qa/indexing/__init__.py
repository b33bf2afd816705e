"""Build: articles folder → a new generation of the index, applying only what changed.

    scan the folder → diff against the index → parse, chunk and embed what is new → one commit

`scan.py` finds what changed, `writer.py` applies it (every byte through `qa/storage/writing.py`);
`stages.py` holds the heavy steps,
run here or on a Ray cluster (`on_ray.py`, `qa build --ray`). This module is the public side:
build, add, remove and status.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import shutil
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..config import Config
from ..engine import shared_encoder
from ..errors import BuildError, IndexNotFoundError
from ..records import IngestWarning
from ..storage import FILE_NAME, Index, discard_unfinished, is_legacy, read_meta
from ..storage.metadata import connect
from .report import BuildReport
from .scan import Log, Scan, Scanner, article_hash
from .shard_writers import build_shards
from .stages import LocalStages, Stages
from .writer import Writer

__all__ = [
    "build_index",
    "build_shards",
    "recorded_articles",
    "add_articles",
    "remove_articles",
    "index_status",
    "BuildReport",
    "IndexStatus",
    "article_hash",
    "Stages",
    "LocalStages",
]


def build_index(
    config: Config, *, full: bool = False, progress: bool = False, log: Log = lambda _: None, stages: Stages | None = None
) -> BuildReport:
    """Bring the index at `config.index` up to date with `config.articles` (everything, with `full`).

    `stages` says where parsing, chunking and embedding run (default: here; `RayStages` for a
    Ray cluster); the result is the same index either way.
    """
    target = Path(config.index)
    if target.exists() and is_legacy(target.resolve()):
        return _upgrade(config, progress=progress, log=log, stages=stages)
    shared_encoder(config)  # a model that cannot load fails here, before anything is written
    with _nothing_left_if_first_fails(target), Writer(target, config, log, stages) as writer:
        scan = writer.scanner.scan_folder(Path(config.articles), full=full, progress=progress)
        return writer.apply(scan, full=full, progress=progress)


@contextmanager
def _nothing_left_if_first_fails(target: Path) -> Iterator[None]:
    """A first build (or a feed's first add) that fails removes what it created, so that the folder
    is not taken for a damaged index by the next command."""
    folder_existed, index_existed = target.exists(), (target / FILE_NAME).exists()
    try:
        yield
    except BaseException:
        if not index_existed and not _committed(target):
            discard_unfinished(target, folder_existed=folder_existed)
        raise


def _committed(target: Path) -> bool:
    """Whether the index at `target` has a committed generation."""
    if not (target / FILE_NAME).exists():
        return False
    try:
        with closing(connect(target / FILE_NAME)) as connection:
            return bool(read_meta(connection).get("generation"))
    except sqlite3.DatabaseError:
        return False


def _existing(config: Config) -> Path:
    """The index `add` and `remove` change: it must exist (they never create one behind your back)."""
    target = Path(config.index)
    if not (target / FILE_NAME).exists():
        raise IndexNotFoundError(f"no index at {target}; build it first: qa build --index {target}")
    return target


def recorded_articles(config: Config) -> Config:
    """`config` with the articles folder the index at `config.index` was built from, when it records one.

    A rebuild must sync an index with its own folder: `qa serve --index DIR` started elsewhere
    would otherwise rebuild from `./articles` and drop every article that is not there.
    """
    database = Path(config.index) / FILE_NAME
    if not database.exists():
        return config
    try:
        folder = read_meta(connect(database)).get("articles_folder")
    except sqlite3.DatabaseError:
        return config
    return config.with_overrides(articles=folder) if folder else config


def add_articles(
    paths: Sequence[Path | str],
    config: Config,
    *,
    progress: bool = False,
    log: Log | None = None,
    create: bool = False,
) -> BuildReport:
    """Add (or update) the articles of `paths`, all or nothing, to the index (which must exist,
    unless `create`: a feed's first fetch starts its index).

    Files are read where they are; only those that hold a readable article are then copied into
    the articles folder, and a build that fails removes the copies again: a failed add leaves the
    folder as it was, so it can never break a later build.
    """
    target = Path(config.index) if create else _existing(config)
    with _nothing_left_if_first_fails(target), Writer(target, config, log or (lambda _: None)) as writer:
        if isinstance(paths, (str, bytes)) or not all(isinstance(p, (str, os.PathLike)) for p in paths):
            raise BuildError("paths must be a list of file paths")
        wanted = [(Path(p), *writer.scanner.destination(Path(p))) for p in paths]
        scan = writer.scanner.scan_files([(source, rel) for source, _, rel in wanted])
        if not scan.upserts and not scan.changed and all(not ids for *_, ids, _ in scan.files.values()):
            # Why each file was skipped: said here, unless the log has just said it line by line.
            why = " (see the warnings above)" if log else ": " + "; ".join(str(w) for w in scan.warnings)
            raise BuildError(
                f"none of the given files holds a readable article; the index and the articles folder are unchanged{why}"
            )
        copied: list[Path] = []
        try:
            for source, destination, rel in wanted:
                if destination != source and scan.files.get(rel, (0, 0, "", []))[3] and not destination.exists():
                    destination.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(source, destination)  # the same size and modification time as was read
                    copied.append(destination)
            return writer.apply(scan, full=False, progress=progress)
        except BaseException:
            for path in copied:
                path.unlink(missing_ok=True)
            raise


def remove_articles(article_ids: Sequence[str], config: Config, *, log: Log = lambda _: None) -> BuildReport:
    """Remove articles by id; a later build does not bring them back while their file is unchanged."""
    with Writer(_existing(config), config, log) as writer:
        known = writer.store.article_ids()
        missing = [a for a in article_ids if a not in known]
        if missing:
            raise BuildError(f"not in the index: {', '.join(missing)} (see `qa status --articles`)")
        return writer.apply(Scan(removed=set(article_ids)), full=False, progress=False)


@dataclass(frozen=True)
class IndexStatus:
    path: Path
    generation: int
    articles: int
    chunks: int
    model: str
    factory: str
    built_at: str
    articles_folder: str
    pending_added: int
    pending_changed: int
    pending_removed: int
    warnings: tuple[IngestWarning, ...]

    def summary(self) -> str:
        pending = (
            f"a build would add {self.pending_added}, change {self.pending_changed} and remove {self.pending_removed} articles"
            if self.pending_added or self.pending_changed or self.pending_removed
            else "up to date with its articles folder"
        )
        return (
            f"index {self.path} (generation {self.generation}): {self.articles} articles, {self.chunks} chunks\n"
            f"model {self.model}; vectors {self.factory}; built {self.built_at} from {self.articles_folder}\n{pending}"
        )


def index_status(config: Config) -> IndexStatus:
    """What the index holds and what a build of its articles folder would change (reads, never writes)."""
    index = Index(config.index)
    meta = index.manifest
    scanner = Scanner(index.folder, meta, index.files(), index.article_hashes(), config, LocalStages(), lambda _: None)
    folder = Path(meta.get("articles_folder") or config.articles)
    try:
        scan = scanner.scan_folder(folder, full=False)
    except FileNotFoundError:
        scan = Scan(warnings=[IngestWarning(str(folder), "articles folder not found")])
    return IndexStatus(
        Path(config.index),
        index.generation,
        int(meta["articles"]),
        int(meta["chunks"]),
        index.model_id,
        index.factory,
        str(meta["built_at"]),
        str(folder),
        len(scan.upserts) - len(scan.changed),
        len(scan.changed),
        len(scan.removed),
        tuple(scan.warnings),
    )


def _upgrade(config: Config, *, progress: bool, log: Log, stages: Stages | None) -> BuildReport:
    """An index of an earlier format is rebuilt whole beside it, then swapped in."""
    target = Path(config.index)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    staging = target.parent / f".{target.name}.building-{stamp}"
    log(f"{target} has an older index format; building a new one beside it")
    report = build_index(dataclasses.replace(config, index=staging), full=True, progress=progress, log=log, stages=stages)
    old = target.resolve()
    final = target.parent / f"{target.name}.{stamp}"
    staging.rename(final)
    link = target.parent / f".{target.name}.link-{os.getpid()}"
    link.unlink(missing_ok=True)
    link.symlink_to(final.name)
    if target.is_symlink():
        os.replace(link, target)
    else:
        target.rename(target.parent / f".{target.name}.old-{stamp}")
        os.replace(link, target)
        old = target.parent / f".{target.name}.old-{stamp}"
    shutil.rmtree(old, ignore_errors=True)
    return dataclasses.replace(report, path=target)
