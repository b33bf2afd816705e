"""Parsing under a time limit: files are parsed in worker processes, and a file that takes longer
than the limit is skipped and its worker killed.

Bounded patterns and size caps keep every parser here fast on everything we have tried (see
`bench/fuzz.py`), but HTML goes through trafilatura and lxml, and a regex or C loop cannot be
interrupted inside a process: only a process can be killed. `pebble`'s process pool gives each
task its own deadline, counted from the moment a worker starts it, and replaces only the worker
that overran; the other workers and the queue are untouched. Workers come from a forkserver that
has imported the parsers once, so replacing one costs milliseconds.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, TimeoutError
from dataclasses import dataclass
from pathlib import Path

from pebble import ProcessPool

from ..records import Article
from .fields import IngestError

__all__ = ["ParseJob", "Parsed", "parse_job", "parse_jobs", "parse_files"]

Parsed = tuple[list[Article], list[str]] | IngestError


@dataclass(frozen=True)
class ParseJob:
    rel: str  #: the file's id
    raw: bytes
    suffix: str
    max_chars: int = 200_000
    max_elements: int = 30_000


def parse_job(job: ParseJob) -> Parsed:
    """One file's articles and notes, or the `IngestError` that skips it: never raises."""
    from . import parse_bytes

    try:
        return parse_bytes(job.raw, job.suffix, job.rel, max_chars=job.max_chars, max_elements=job.max_elements)
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


def parse_jobs(
    jobs: Iterable[ParseJob], *, seconds: float, workers: int | None = None, parse: Callable[[ParseJob], Parsed] = parse_job
) -> Iterator[tuple[ParseJob, Parsed]]:
    """Each job with its articles and notes, or the `IngestError` that skips it, in order.

    A job gets `seconds` from the moment a worker starts it; over that, its worker is killed and
    replaced and the job is skipped. `parse` must be importable by the workers (a module-level
    function); it is a parameter so that the time limit can be tested with a parser that hangs.
    """
    workers = workers or min(os.cpu_count() or 1, 4)
    source = iter(jobs)
    pending: deque[tuple[ParseJob, Future[Parsed]]] = deque()
    with ProcessPool(max_workers=workers, context=_context()) as pool:
        try:
            while True:
                while len(pending) < 2 * workers and (job := next(source, None)) is not None:
                    pending.append((job, pool.schedule(parse, args=(job,), timeout=seconds)))
                if not pending:
                    return
                job, future = pending.popleft()
                try:
                    yield job, future.result()
                except TimeoutError:
                    yield job, IngestError(f"parsing took over {seconds:g} s (QA_PARSE_SECONDS)")
                except Exception as error:  # noqa: BLE001 - the worker died (killed, out of memory): this file only
                    yield job, IngestError(f"could not be read (the parser process ended: {type(error).__name__})")
        finally:
            pool.stop()


def parse_files(
    files: Iterable[tuple[Path, str]], *, max_bytes: int, max_chars: int, seconds: float
) -> Iterator[tuple[str, Parsed]]:
    """`parse_jobs` over files on disk: each file's id with its articles and notes, or why it was skipped."""
    too_big: list[tuple[str, IngestError]] = []

    def jobs() -> Iterator[ParseJob]:
        for path, rel in files:
            try:
                size = path.stat().st_size
                if size > max_bytes:
                    too_big.append(
                        (
                            rel,
                            IngestError(f"{size / 1e6:.1f} MB is over the {max_bytes / 1e6:.0f} MB limit (QA_MAX_ARTICLE_BYTES)"),
                        )
                    )
                    continue
                yield ParseJob(rel, path.read_bytes(), path.suffix, max_chars)
            except OSError as error:
                too_big.append((rel, IngestError(f"cannot be read ({error.strerror})")))

    for job, parsed in parse_jobs(jobs(), seconds=seconds):
        yield job.rel, parsed
    yield from too_big
