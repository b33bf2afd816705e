"""The keyword index's writer sized by `QA_KEYWORD_HEAP_MB` and `QA_KEYWORD_THREADS`: chunks/s.

Writes the keyword documents of every chunk of a built corpus index (`run_eval.py` builds it) into a
fresh tantivy index, for each heap and thread count, and prints chunks/s (analysis included: the
same work a build does per chunk, encoder aside). Prints figures; asserts nothing.

    .venv/bin/python bench/keyword_writer.py [--index bench/out/multihop/default] [--repeat 3]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from qa.chunking import Chunk
from qa.storage import Index
from qa.storage.keyword import KeywordIndex
from qa.storage.metadata import article_columns, article_from_row
from qa.storage.rows import add_keywords

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, default=ROOT / "bench/out/multihop/default")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    index = Index(args.index)
    rows = index.connection.execute(
        f"SELECT {article_columns('a')}, c.id, c.start, c.end FROM chunks c JOIN articles a ON a.key = c.article"
    ).fetchall()
    chunks = [(article_from_row(r[:8]), Chunk(r[0], r[9], r[10], (), 0, "", r[8])) for r in rows]
    print(f"{len(chunks)} chunks from {args.index}")
    print(f"heap MB | threads | chunks/s (best of {args.repeat})")
    for heap, threads in [(15, 1), (64, 1), (256, 1), (64, 2), (256, 2)]:
        best = 0.0
        for _ in range(args.repeat):
            with tempfile.TemporaryDirectory() as folder:
                started = time.perf_counter()
                keywords = KeywordIndex(Path(folder), create=True, heap_mb=heap, threads=threads)
                for article, chunk in chunks:
                    add_keywords(keywords, article, chunk)
                keywords.commit()
                best = max(best, len(chunks) / (time.perf_counter() - started))
        print(f"{heap:7d} | {threads:7d} | {best:8.0f}")


if __name__ == "__main__":
    main()
