"""Fuzz ingest, chunking and the question path with Hypothesis: 10,000+ hostile examples.

    python bench/fuzz.py [FILES] [NAMES] [QUESTIONS]     (default 8000 1000 1500)

The properties are those of tests/fuzzing.py (the test suite runs a small profile of them). Here
every example is timed and a failure is counted instead of stopping the run, so the figures are:
examples, crashes (any exception other than the one-line refusals), and the slowest examples.
Parsing is timed in this process, without the worker time limit the build adds on top.
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
    counts = [int(x) for x in sys.argv[1:4]] + [8000, 1000, 1500][len(sys.argv[1:4]) :]
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


if __name__ == "__main__":
    main()
