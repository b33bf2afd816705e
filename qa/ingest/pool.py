"""Parsing under a time limit: files are parsed in worker processes, and a file that takes longer
than the limit is skipped and its worker killed.

Bounded patterns and size caps keep every parser here fast on everything we have tried (see
`bench/fuzz.py`), but HTML goes through trafilatura and lxml, and a regex or C loop cannot be
interrupted inside a process: only a process can be killed. Workers come from a forkserver that
has imported the parsers once, so starting a pool costs milliseconds after the first.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.pool
import os
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ..records import Article
from .fields import IngestError

__all__ = ["ParseJob", "Parsed", "parse_jobs", "parse_files"]

Parsed = tuple[list[Article], list[str]] | IngestError


@dataclass(frozen=True)
class ParseJob:
    rel: str  #: the file's id
    raw: bytes
    suffix: str
    max_chars: int = 200_000


def _parse(job: ParseJob) -> Parsed:
    from . import parse_bytes

    try:
        return parse_bytes(job.raw, job.suffix, job.rel, max_chars=job.max_chars)
    except IngestError as error:
        return error
    except BaseException as error:  # noqa: BLE001 - MemoryError and the like: this file only
        return IngestError(f"could not be read ({type(error).__name__})")


def _context() -> multiprocessing.context.BaseContext:
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["qa.ingest", "trafilatura", "lxml.html"])
    return context


def parse_jobs(jobs: Iterable[ParseJob], *, seconds: float, workers: int | None = None) -> Iterator[tuple[ParseJob, Parsed]]:
    """Each job with its articles and notes, or the `IngestError` that skips it, in order.

    A job gets `seconds` from the moment its result is awaited (it may have started earlier, so a
    file is stopped after at most `workers × seconds`); on a timeout the pool is replaced and the
    jobs queued behind the slow one are sent again.
    """
    workers = workers or min(os.cpu_count() or 1, 4)
    source = iter(jobs)
    pending: deque[tuple[ParseJob, multiprocessing.pool.AsyncResult]] = deque()
    pool = _context().Pool(workers)
    try:
        while True:
            while len(pending) < 2 * workers and (job := next(source, None)) is not None:
                pending.append((job, pool.apply_async(_parse, (job,))))
            if not pending:
                return
            job, result = pending.popleft()
            try:
                yield job, result.get(timeout=seconds)
            except multiprocessing.TimeoutError:
                pool.terminate()
                pool = _context().Pool(workers)
                queued = [j for j, _ in pending]
                pending = deque((j, pool.apply_async(_parse, (j,))) for j in queued)
                yield job, IngestError(f"parsing took over {seconds:g} s (QA_PARSE_SECONDS)")
    finally:
        pool.terminate()


def parse_files(files: Iterable[tuple[Path, str]], *, max_bytes: int, max_chars: int, seconds: float) -> Iterator[tuple[str, Parsed]]:
    """`parse_jobs` over files on disk: each file's id with its articles and notes, or why it was skipped."""
    too_big: list[tuple[str, IngestError]] = []

    def jobs() -> Iterator[ParseJob]:
        for path, rel in files:
            try:
                size = path.stat().st_size
                if size > max_bytes:
                    too_big.append((rel, IngestError(f"{size / 1e6:.1f} MB is over the {max_bytes / 1e6:.0f} MB limit "
                                                     "(QA_MAX_ARTICLE_BYTES)")))
                    continue
                yield ParseJob(rel, path.read_bytes(), path.suffix, max_chars)
            except OSError as error:
                too_big.append((rel, IngestError(f"cannot be read ({error.strerror})")))

    for job, parsed in parse_jobs(jobs(), seconds=seconds):
        yield job.rel, parsed
    yield from too_big
