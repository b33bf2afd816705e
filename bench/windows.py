"""A build committed in windows (`QA_COMMIT_CHUNKS`, qa/indexing/windows.py): time, generations and
peak memory against the window size, on synthetic articles. Prints figures; asserts nothing.

Each build runs in a process of its own, so its peak resident memory (ru_maxrss) is its own.
The model (~0.3 GB resident) dominates at this size; the window bounds what grows with the build
(about 6 KB a chunk of vectors held until its commit), which this prints as `held`.

    .venv/bin/python bench/windows.py [--articles 120] [--windows 0,64,16]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_BUILD = """
import json, resource, sys, time, qa
config = qa.Config(articles=sys.argv[1], index=sys.argv[2], commit_chunks=int(sys.argv[3]))
started = time.perf_counter()
report = qa.build_index(config)
print(json.dumps({"seconds": time.perf_counter() - started, "generation": report.generation, "chunks": report.chunks,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=120)
    parser.add_argument("--windows", default="0,64,16")
    args = parser.parse_args()
    env = os.environ | {"HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryDirectory() as folder:
        articles = Path(folder) / "articles"
        articles.mkdir()
        for n in range(args.articles):
            body = f"The council of Quillsby town number {n} met to discuss the budget, the harbour and the storm. " * 20
            (articles / f"{n:04d}.md").write_text(f"# Report {n}\n\nDate: 2023-01-{n % 28 + 1:02d}\n\n{body}\n")
        print("window | generations | chunks | seconds | peak MB | held vectors MB (window or all)")
        for window in (int(w) for w in args.windows.split(",")):
            index = Path(folder) / f"index-{window}"
            out = subprocess.run(
                [sys.executable, "-c", _BUILD, str(articles), str(index), str(window)],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            got = json.loads(out.stdout.strip().splitlines()[-1])
            held = (window or got["chunks"]) * 6 / 1024
            print(
                f"{window:6d} | {got['generation']:11d} | {got['chunks']:6d} | {got['seconds']:7.1f} | {got['peak_mb']:7.0f} | {held:.2f}"
            )


if __name__ == "__main__":
    main()
