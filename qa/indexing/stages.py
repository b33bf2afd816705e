"""The build's three heavy steps, behind one small interface, so that where they run is a choice.

    parse: file bytes → articles      chunk: articles → chunks      embed: texts → vectors

`LocalStages` runs them in this process (parsing in time-limited worker processes, see
`qa/ingest/pool.py`); `RayStages` (`on_ray.py`) runs the same functions on a Ray cluster. The
writer (`writer.py`) does everything else (the diff, content-hash reuse, story linking and the
atomic commit) in the one process that holds the index's lock, so a build's result does not
depend on where its steps ran.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence

import numpy as np

from ..chunking import Chunker, chunk_or_reason
from ..config import Config
from ..embedding.base import Spans
from ..engine import shared_encoder
from ..ingest.pool import Parsed, ParseJob, parse_jobs
from ..records import Article, Chunk

__all__ = ["Stages", "LocalStages", "chunker_for"]

Log = Callable[[str], None]


def chunker_for(config: Config) -> Chunker:
    """The chunker every build uses: the configured model's tokenizer and chunk length."""
    encoder = shared_encoder(config)
    return Chunker(encoder, max_tokens=min(config.chunk_tokens, encoder.max_tokens), model_id=encoder.model_id)


class Stages:
    """Where parse, chunk and embed run. Results come back in the order of the inputs."""

    name = "abstract"

    def parse(self, jobs: Iterable[ParseJob], config: Config) -> Iterator[tuple[ParseJob, Parsed]]:
        raise NotImplementedError

    def chunk(self, articles: Sequence[Article], config: Config) -> list[list[Chunk] | str]:
        """One entry per article: its chunks, or why it could not be chunked (`chunk_or_reason`)."""
        raise NotImplementedError

    def embed(
        self, texts: Sequence[str], spans: Sequence[Spans], config: Config, log: Log
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Each text's unit vector and one vector per span of it (the sentences to cite)."""
        raise NotImplementedError

    def close(self) -> None:
        """Release what the stages hold (a cluster connection)."""


class LocalStages(Stages):
    """Everything in this process; parsing in a few time-limited worker processes."""

    name = "local"

    def parse(self, jobs: Iterable[ParseJob], config: Config) -> Iterator[tuple[ParseJob, Parsed]]:
        return parse_jobs(jobs, seconds=config.parse_seconds, workers=config.parse_workers or None)

    def chunk(self, articles: Sequence[Article], config: Config) -> list[list[Chunk] | str]:
        chunker = chunker_for(config)
        return [chunk_or_reason(chunker, article) for article in articles]

    def embed(
        self, texts: Sequence[str], spans: Sequence[Spans], config: Config, log: Log
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        encoder = shared_encoder(config)
        vectors = np.zeros((len(texts), encoder.dimension), dtype=np.float32)
        span_vectors: list[np.ndarray] = []
        started, step = time.perf_counter(), max(encoder.batch_size * 8, 256)
        for first in range(0, len(texts), step):
            got, got_spans = encoder.encode_chunks(texts[first : first + step], spans[first : first + step])
            vectors[first : first + len(got)] = got
            span_vectors += got_spans
            done = first + len(got)
            rate = done / max(time.perf_counter() - started, 1e-9)
            log(f"embedded {done}/{len(texts)} chunks ({rate:.0f} chunks/s)")
        return vectors, span_vectors
