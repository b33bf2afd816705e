"""Fuzz ingest, chunking and the question path with Hypothesis: 10,000+ hostile examples.

    python bench/fuzz.py [FILES] [NAMES] [QUESTIONS] [BUILDS]     (default 8000 1000 1500 20)

The properties are those of tests/fuzzing.py (the test suite runs a small profile of them). Here
every example is timed and a failure is counted instead of stopping the run, so the figures are:
examples, crashes (any exception other than the one-line refusals), and the slowest examples.
Parsing is timed in this process, without the worker time limit the build adds on top.

Then whole builds (issue 20): BUILDS folders, each of five good articles mixed with the shapes that
once ended a build (a year-9999 date beside "tomorrow", an id two files claim, folders nested past
the walk's limit, a failed `qa add` before the build) and hostile files drawn from the same
strategies; printed: builds ended (must be 0) and good articles lost (must be 0).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from fuzzing import check_file, check_name, check_question, chunker_for  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from strategies import byte_names, files, questions  # noqa: E402

from qa import Config, build_index  # noqa: E402
from qa.engine import engine_for  # noqa: E402


class Record:
    def __init__(self) -> None:
        self.times: list[tuple[float, str]] = []
        self.crashes: list[str] = []

    def run(self, label: str, check: Callable[[], object]) -> None:
        started = time.perf_counter()
        try:
            check()
        except Exception:  # noqa: BLE001 - counted, not raised: the run goes on
            self.crashes.append(f"{label}: {traceback.format_exc(limit=3)}")
        self.times.append((time.perf_counter() - started, label))


def main() -> None:
    counts = [int(x) for x in sys.argv[1:5]] + [8000, 1000, 1500, 20][len(sys.argv[1:5]) :]
    record = Record()
    with tempfile.TemporaryDirectory() as tmp:
        config = Config(articles=ROOT / "articles", index=Path(tmp) / "index")
        build_index(config)
        chunker, engine = chunker_for(config), engine_for(config.index, config)
        profile = settings(deadline=None, database=None, suppress_health_check=list(HealthCheck))
        folder = Path(tmp) / "names"
        folder.mkdir()

        @settings(profile, max_examples=counts[0])
        @given(file=files)
        def fuzz_files(file: tuple[bytes, str]) -> None:
            raw, suffix = file
            record.run(f"file {suffix} {len(raw):,} B {raw[:40]!r}", lambda: check_file(raw, suffix, chunker))

        @settings(profile, max_examples=counts[1])
        @given(name=byte_names)
        def fuzz_names(name: bytes) -> None:
            record.run(f"name {name!r}", lambda: check_name(folder, name))

        @settings(profile, max_examples=counts[2])
        @given(question=questions)
        def fuzz_questions(question: object) -> None:
            record.run(f"question {str(question)[:40]!r}", lambda: check_question(engine, question))

        started = time.perf_counter()
        for run in (fuzz_files, fuzz_names, fuzz_questions):
            run()
    ended, lost, good = fuzz_builds(counts[3])
    times = sorted(record.times, reverse=True)
    over = [t for t in times if t[0] > 5.0]
    print(
        f"{len(times):,} examples in {time.perf_counter() - started:.0f} s: {len(record.crashes)} crashes, "
        f"{len(over)} over 5 s; slowest:"
    )
    for seconds, label in times[:5]:
        print(f"  {seconds * 1000:8.0f} ms  {label}")
    for crash in record.crashes[:10]:
        print("CRASH", crash)
    print(f"{counts[3]} hostile builds: {len(ended)} ended, {lost} of {good} good articles lost")
    for failure in ended[:5]:
        print("ENDED", failure)


def fuzz_builds(count: int) -> tuple[list[str], int, int]:
    """Builds of folders mixing good articles with hostile shapes: the builds that ended, and the good articles lost."""
    import json
    import random

    from qa import BuildError, add_articles
    from qa.storage import Index

    ended: list[str] = []
    lost = good = 0
    rng = random.Random(20)
    with tempfile.TemporaryDirectory() as tmp:
        for n in range(count):
            folder, index = Path(tmp) / f"b{n}" / "articles", Path(tmp) / f"b{n}" / "index"
            wanted = []
            for g in range(5):
                write(
                    folder / f"good-{g}.md",
                    f"# Report {n}-{g}\n\nThe harbour board of town {n} met on Tuesday about pier {g}. " * 3,
                )
                wanted.append(f"good-{g}.md")
            write(
                folder / "far.jsonl",
                json.dumps({"id": "far", "body": "The vote is tomorrow. " * 5, "published_at": "9999-12-31"}) + "\n",
            )
            write(
                folder / "d.json", json.dumps([{"id": "k.txt", "body": "A record whose id is a file name, long enough to keep."}])
            )
            write(folder / "d.json#k.txt", "A file whose name is a record's id, long enough to be an article.")
            deep = folder
            for _ in range(40):
                deep = deep / "x"
            write(deep / "deep.txt", "Too deep to be read, and that is fine.")
            for h in range(5):
                raw, suffix = files.example()
                write(folder / f"hostile-{h}{suffix}", raw)
            config = Config(articles=folder, index=index)
            try:
                build_index(config)
                broken = write(Path(tmp) / f"b{n}" / "upload" / f"broken-{rng.randint(0, 999)}.json", b"{ not json")
                try:
                    add_articles([broken], config)
                except BuildError:
                    pass  # refused in one line, as it should be: the next build must still work
                build_index(config, full=bool(n % 2))
                ids = set(Index(index).article_ids())
                good += len(wanted)
                lost += sum(w not in ids for w in wanted)
            except Exception as error:  # noqa: BLE001 - counted: a build that ends is what this measures
                ended.append(f"folder {n}: {type(error).__name__}: {str(error)[:200]}")
    return ended, lost, good


def write(path: Path, data: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return path


if __name__ == "__main__":
    main()
