"""Sharding: one built index → N shard indexes and a manifest that lists them (`qa shard`).

    <dest>/shards.json     format, partition rule, the shard folders, the source and its generation
    <dest>/terms.sqlite    the set's BM25 statistics: chunks holding each word, per shard (terms.py)
    <dest>/shard-000/ …    each a complete index of format 3 (`qa/storage/`), loadable on its own

An article goes to shard `crc32(article id) mod N`, with its chunks, sentence vectors, story and
database key, so chunk ids, article keys and story ids stay unique and global across shards, and
a story whose reports land in different shards is still one story. Each shard gets its own
FAISS index (its type chosen by the shard's size) and its own keyword index; nothing is
re-embedded. The set is written beside the destination and swapped in whole: a server on the old
set keeps answering until it sees the new manifest (`qa/storage/sharded.py` reads it).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import shutil
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..config import Config
from ..errors import BuildError
from ..records import Chunk
from .generations import housekeep, vector_file
from .keyword import KEYWORD_DIR, KeywordIndex
from .metadata import FILE_NAME, article_columns, article_from_row, connect, transaction
from .reader import Index
from .sharded import MANIFEST, SHARDS_FORMAT, SHARDS_VERSION
from .terms import write_term_statistics
from .vectors import build_vectors, factory_for, write_vectors
from .writing import add_keywords

__all__ = ["split_index", "shard_of", "ShardReport"]

Log = Callable[[str], None]


def shard_of(article_id: str, shards: int) -> int:
    """The shard an article lives in: stable across runs, machines and Python versions."""
    return zlib.crc32(article_id.encode("utf-8", "surrogatepass")) % shards


@dataclass(frozen=True)
class ShardReport:
    path: Path
    shards: tuple[tuple[int, int], ...]  #: (articles, chunks) of each shard
    generation: int

    def summary(self) -> str:
        sizes = ", ".join(f"{a} articles/{c} chunks" for a, c in self.shards)
        return f"{len(self.shards)} shards (generation {self.generation}) → {self.path}: {sizes}"


def split_index(config: Config, dest: Path | str, shards: int, *, log: Log = lambda _: None) -> ShardReport:
    """Write the index at `config.index` as `shards` shard indexes at `dest` (replacing a shard set there)."""
    if not 1 <= shards <= 1024:
        raise BuildError(f"--shards must be from 1 to 1024, not {shards}")
    source = Index(config.index)
    dest = Path(dest)
    if dest.exists() and not (dest / MANIFEST).exists():
        raise BuildError(f"{dest} exists and is not a shard set; choose another --out")
    previous = json.loads((dest / MANIFEST).read_text(encoding="utf-8")).get("generation", 0) if dest.exists() else 0
    housekeep(dest.absolute(), 0, dest)  # staging folders of a split that was killed
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    staging = dest.parent / f".{dest.name}.building-{stamp}"
    staging.mkdir(parents=True)
    try:
        written = [_write_shard(source, staging / f"shard-{n:03d}", n, shards, config, log) for n in range(shards)]
        sizes = [(articles, chunks) for articles, chunks, _ in written]
        _balance_lengths(staging, [(chunks, tokens) for _, chunks, tokens in written])
        documents = write_term_statistics(staging, [staging / f"shard-{n:03d}" for n in range(shards)])
        manifest = {
            "format": SHARDS_FORMAT,
            "format_version": SHARDS_VERSION,
            "generation": previous + 1,
            "partition": "crc32(article id, utf-8) mod shards",
            "shards": [f"shard-{n:03d}" for n in range(shards)],
            "source": str(Path(config.index).resolve()),
            "source_generation": source.generation,
            "model": source.model_id,
            "keyword_documents": documents,  # tantivy's documents per shard (ballast included), for idf
            "chunks": [chunks for _, chunks in sizes],
            "built_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if dest.exists():  # swap: the old set is renamed away first, so `dest` is never half of one
        old = dest.parent / f".{dest.name}.old-{stamp}"
        os.rename(dest, old)
        os.rename(staging, dest)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.rename(staging, dest)
    return ShardReport(dest, tuple(sizes), previous + 1)


def _write_shard(source: Index, folder: Path, number: int, shards: int, config: Config, log: Log) -> tuple[int, int, int]:
    """Articles, chunks and keyword terms written to one shard."""
    folder.mkdir(parents=True)
    database = connect(folder / FILE_NAME, create=True)
    database.create_function("shard_of", 1, lambda article_id: shard_of(article_id, shards), deterministic=True)
    database.execute("ATTACH DATABASE ? AS source", (str(source.folder / FILE_NAME),))
    with transaction(database, write=True) as db:
        db.execute("INSERT INTO articles SELECT * FROM source.articles WHERE shard_of(id) = ?", (number,))
        db.execute("INSERT INTO chunks SELECT c.* FROM source.chunks c JOIN articles a ON a.key = c.article")
        db.execute("INSERT INTO sentence_vectors SELECT s.* FROM source.sentence_vectors s JOIN chunks c ON c.id = s.chunk")
        articles = db.execute("SELECT count(*) FROM articles").fetchone()[0]
        rows = db.execute("SELECT id, vector FROM chunks ORDER BY id").fetchall()
        meta = {k: json.loads(v) for k, v in db.execute("SELECT key, value FROM source.meta")}
        meta.pop("story_names", None)  # a shard holds no `story_names` rows: a build into it refills them
        factory = factory_for(len(rows), source.dimension, config.exact_below)
        meta.update(
            {
                "articles": articles,
                "chunks": len(rows),
                "factory": factory,
                "vectors": vector_file(source.generation),
                "keywords": KEYWORD_DIR,  # a shard is written once: one keyword index, never staged
                "trained_on": len(rows),
                "shard": number,
                "shards": shards,
            }
        )
        db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", [(k, json.dumps(v)) for k, v in meta.items()])
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    vectors = (
        np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float16).reshape(len(rows), source.dimension).astype(np.float32)
    )
    (folder / "vectors").mkdir()
    write_vectors(build_vectors(factory, ids, vectors), folder / vector_file(source.generation))
    keywords = KeywordIndex(folder, create=True, heap_mb=config.keyword_heap_mb, threads=config.keyword_threads)
    tokens = 0
    for row in database.execute(
        f"SELECT {article_columns('a')}, c.id, c.start, c.end FROM chunks c JOIN articles a ON a.key = c.article"
    ):
        article = article_from_row(row[:8])
        tokens += add_keywords(keywords, article, Chunk(article.id, row[9], row[10], (), 0, "", row[8]))
    keywords.commit()
    database.execute("DETACH DATABASE source")
    database.close()
    log(f"shard {number}: {articles} articles, {len(rows)} chunks, vectors {factory}")
    return articles, len(rows), tokens


def _balance_lengths(staging: Path, shards: list[tuple[int, int]]) -> None:
    """Ballast documents in each shard's keyword index, so that its average length (terms per
    document, what BM25 normalises by) is the whole set's: with the whole set's idf (sharded.py),
    a shard then scores a chunk exactly as one index of every chunk would."""
    documents, terms = sum(c for c, _ in shards), sum(t for _, t in shards)
    average = terms / max(documents, 1)
    for number, (chunks, tokens) in enumerate(shards):
        if not chunks or average <= 1:
            continue
        # k documents: k - 1 of one term, one of `last` terms, so (tokens + k - 1 + last) / (chunks + k) = average.
        k = max(1, math.ceil((tokens - average * chunks) / (average - 1)) + 1)
        last = round(average * (chunks + k) - tokens - (k - 1))
        if last < 1:
            continue
        folder = staging / f"shard-{number:03d}"
        keywords = KeywordIndex(folder)
        keywords.add_ballast([1] * (k - 1) + [last])
        keywords.commit()
        database = connect(folder / FILE_NAME)
        with transaction(database, write=True) as db:
            db.execute("INSERT OR REPLACE INTO meta VALUES ('keyword_ballast', ?)", (json.dumps(k),))
        database.close()
