"""The steps every build shares, whether it writes one index (`writer.py`) or a shard set straight
away (`shard_writers.py`): chunking a scan's new articles, embedding their chunks, and what a
generation's manifest says of the build.

Kept apart from the writer so that both builds use them from one place and the writer stays short.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..chunking import embed_prefix, embed_text
from ..config import Config
from ..embedding import Encoder
from ..ingest import INGEST_VERSION
from ..records import Article, Chunk, IngestWarning
from ..storage import FORMAT, FORMAT_VERSION
from ..stories import linking_settings
from .scan import Log, Scan
from .stages import Stages

__all__ = ["chunk_scan", "embed_chunks", "index_manifest"]


def chunk_scan(scan: Scan, stages: Stages, config: Config, log: Log) -> list[Chunk]:
    """The new articles' chunks; an article that cannot be chunked is skipped with its reason
    (remembered with its file), and its stored version, if any, stays."""
    chunks: list[Chunk] = []
    kept: list[Article] = []
    for article, got in zip(scan.upserts, stages.chunk(scan.upserts, config)):
        if isinstance(got, str):
            rel = next((rel for rel, entry in scan.files.items() if article.id in entry[3]), article.id)
            scan.warnings.append(IngestWarning(rel, f"{article.id}: {got}, skipped"))
            log(str(scan.warnings[-1]))
            if rel in scan.files:
                scan.files[rel][4].append(f"{article.id}: {got}")
            scan.changed.discard(article.id)
            continue
        kept.append(article)
        chunks += got
    scan.upserts[:] = kept
    return chunks


def embed_chunks(
    stages: Stages, config: Config, log: Log, chunks: Sequence[Chunk], articles: Mapping[str, Article]
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Each chunk's vector and its sentences' vectors, embedded with its article's prefix."""
    texts, spans = [], []
    for chunk in chunks:
        article = articles[chunk.article_id]
        prefix = embed_prefix(article)
        shift = (len(prefix) + 1 if prefix else 0) - chunk.start  # sentence spans inside the embedded text
        texts.append(embed_text(article, chunk))
        spans.append([(s.start + shift, s.end + shift) for s in chunk.sentences])
    return stages.embed(texts, spans, config, log)


def index_manifest(
    config: Config, encoder: Encoder, articles_folder: Path, articles: int, chunks: int, factory: str
) -> dict[str, Any]:
    """What a generation's manifest says of the build (`Generation.publish` adds the generation's
    files; `trained_on` is the caller's): written by every build, a shard set's included."""
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "ingest_version": INGEST_VERSION,
        "model": encoder.model_id,
        "encoder_backend": encoder.backend,
        "dimension": encoder.dimension,
        "max_tokens": min(config.chunk_tokens, encoder.max_tokens),
        "articles": articles,
        "chunks": chunks,
        "factory": factory,
        "stories": linking_settings(config),
        "articles_folder": str(articles_folder.resolve()),
        "built_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "trained_on": chunks,
    }
