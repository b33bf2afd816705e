"""The build's heavy steps on a Ray cluster: `qa build --ray [ADDRESS]`.

Ray Data runs the three steps of `stages.py` over the cluster:

    files ─ map_batches(parse, tasks) ─▶ articles ─ map_batches(_Chunker, actors) ─▶ chunks
    texts ─ map_batches(_Embedder, actors) ─▶ vectors

Parsing runs as tasks, each batch of files through the same time-limited parser pool as a local
build. Chunking and embedding run in actor pools: each actor loads the tokenizer or the encoder
once, in its constructor, and keeps it for every batch it is given. Rows carry their position,
so results are put back in input order whatever node returned them.

This process (the driver) keeps the index's lock and does the rest exactly as a local build:
the diff, content-hash reuse, story linking and the one atomic commit. A Ray build of the same
articles therefore has the same chunk ids and, up to float rounding, the same vectors as a local
one (`bench/ray_build.py` compares them). Ray re-runs the batches of a worker that dies (a task
is retried, an actor restarted), so a killed worker costs time, not the build; and nothing is
published before the commit, so the previous generation serves meanwhile.

The workers import `qa`: every node needs the same environment (`make install` there, or one
image for all). Files are read by the driver and sent as bytes, so nodes need no shared disk.
"""

from __future__ import annotations

import logging
import os
import pickle
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from ..chunking import chunk_or_reason
from ..config import Config
from ..embedding.base import Spans
from ..errors import BuildError
from ..ingest.pool import Parsed, ParseJob, parse_jobs
from ..records import Article, Chunk
from .stages import Log, Stages, chunker_for

__all__ = ["RayStages"]

_WORKER_ENV = {"HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}


def _rows(items: Sequence[Any]) -> list[dict[str, Any]]:
    """Rows of (position, pickled item): Arrow holds bytes, whatever the item."""
    return [{"i": n, "blob": pickle.dumps(item)} for n, item in enumerate(items)]


def _parse_batch(batch: dict[str, np.ndarray], seconds: float) -> dict[str, Any]:
    jobs = [pickle.loads(b) for b in batch["blob"]]
    parsed = dict(parse_jobs(jobs, seconds=seconds, workers=1))
    return {"i": batch["i"], "blob": [pickle.dumps(parsed[j]) for j in jobs]}


class _Chunker:
    """A Ray actor: the configured tokenizer, loaded once; chunks a batch of articles."""

    def __init__(self, config: Config) -> None:
        self.chunker = chunker_for(config)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, Any]:
        return {"i": batch["i"], "blob": [pickle.dumps(chunk_or_reason(self.chunker, pickle.loads(b))) for b in batch["blob"]]}


class _Embedder:
    """A Ray actor: the configured encoder, loaded once; embeds a batch of texts and their sentence spans."""

    def __init__(self, config: Config) -> None:
        from ..engine import shared_encoder

        self.encoder = shared_encoder(config)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, Any]:
        import ray

        items = [pickle.loads(b) for b in batch["blob"]]
        vectors, spans = self.encoder.encode_chunks([t for t, _ in items], [s for _, s in items])
        node = ray.get_runtime_context().get_node_id()
        return {"i": batch["i"], "blob": [pickle.dumps((v, s)) for v, s in zip(vectors, spans)], "node": [node] * len(items)}


class RayStages(Stages):
    """Parse, chunk and embed with Ray Data on the cluster at `address` (none: a local Ray instance)."""

    name = "ray"

    def __init__(self, address: str | None = None, *, progress: bool = True) -> None:
        try:
            import ray
        except ImportError as error:
            raise BuildError("qa build --ray needs Ray: pip install 'ray[data]==2.60.0' (or `make install`)") from error
        self.ray = ray
        if not progress:
            logging.getLogger("ray").setLevel(logging.WARNING)
        if not ray.is_initialized():
            try:
                ray.init(
                    address=address or None,
                    include_dashboard=False,
                    logging_level=logging.WARNING,
                    log_to_driver=progress,
                    runtime_env={"env_vars": _WORKER_ENV},
                    configure_logging=True,
                )
            except (ConnectionError, RuntimeError, ValueError) as error:
                raise BuildError(f"cannot reach the Ray cluster at {address or 'a new local instance'}: {error}") from error
        import ray.data

        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = progress
        context.execution_options.preserve_order = False  # rows carry their position instead
        self.cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
        self.nodes = sum(1 for node in ray.nodes() if node.get("Alive"))
        self.embedded_on: set[str] = set()  #: ids of the nodes whose actors embedded chunks

    def _actors(self) -> Any:
        """One actor per CPU of the cluster, started together: the encoder loads once on each."""
        return self.ray.data.ActorPoolStrategy(size=self.cpus, max_tasks_in_flight_per_actor=1)

    @staticmethod
    def _one_thread(config: Config) -> Config:
        """An actor takes one CPU, so its encoder runs on one thread (no oversubscription)."""
        return config.with_overrides(threads=1)

    def _run(self, items: Sequence[Any], stage: Any, log: Log | None = None, **options: Any) -> list[Any]:
        """`items` through one Ray Data map_batches step; the unpickled results in input order."""
        if not items:
            return []
        out: list[Any] = [None] * len(items)
        done, shown = 0, 0
        dataset = self.ray.data.from_items(_rows(items)).map_batches(stage, **options)
        for batch in dataset.iter_batches(batch_size=None, batch_format="numpy"):
            for n, blob in zip(batch["i"], batch["blob"]):
                out[int(n)] = pickle.loads(blob)
            self.embedded_on.update(str(node) for node in batch.get("node", ()))
            done += len(batch["i"])
            if log and (done - shown >= max(len(items) // 20, 1) or done == len(items)):
                log(f"embedded {done}/{len(items)} chunks")
                shown = done
        return out

    def parse(self, jobs: Iterable[ParseJob], config: Config) -> Iterator[tuple[ParseJob, Parsed]]:
        source = iter(jobs)
        while window := [job for _, job in zip(range(config.ray_window), source)]:  # bounds the bytes the driver holds
            parsed = self._run(window, _parse_batch, fn_kwargs={"seconds": config.parse_seconds}, batch_size=16, num_cpus=1)
            yield from zip(window, parsed)

    def chunk(self, articles: Sequence[Article], config: Config) -> list[list[Chunk] | str]:
        per_article = self._run(
            articles,
            _Chunker,
            fn_constructor_kwargs={"config": self._one_thread(config)},
            compute=self._actors(),
            batch_size=config.ray_batch_size,
            num_cpus=1,
        )
        return per_article

    def embed(
        self, texts: Sequence[str], spans: Sequence[Spans], config: Config, log: Log
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        log(f"embedding {len(texts)} chunks on Ray ({self.nodes} nodes, {self.cpus} CPUs)")
        results = self._run(
            list(zip(texts, spans)),
            _Embedder,
            log,
            fn_constructor_kwargs={"config": self._one_thread(config)},
            compute=self._actors(),
            batch_size=config.ray_batch_size,
            num_cpus=1,
        )
        if not results:
            return np.zeros((0, 0), dtype=np.float32), []
        log(f"embedded on {len(self.embedded_on)} of {self.nodes} nodes")
        return np.stack([v for v, _ in results]).astype(np.float32), [s for _, s in results]

    def close(self) -> None:
        if self.ray.is_initialized():
            self.ray.shutdown()


def ray_address(value: str | None) -> str | None:
    """`--ray` with no address starts a local instance, unless RAY_ADDRESS names a cluster."""
    return value or os.environ.get("RAY_ADDRESS") or None
