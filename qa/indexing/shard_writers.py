"""A build written straight into a shard set, one writer per shard: `qa build --ray --shards N --out SET`.

    this process (the driver): scan → chunk, embed (the Ray stages) → link stories → keys → route
    one writer per shard (a Ray actor, on its node): rows → SQLite, then FAISS and tantivy, then ballast

The result is the set that `qa build` of the same folder into a new index followed by `qa shard`
gives: the same chunk ids, article keys and story ids in the same shards, so the same rankings.
To get there the driver does what a build does in the same order: the same scan and chunking,
the same windows (`windows.py`; one for most builds), the same story linking (all leads are
here: a story id is global, each shard gets its members' ids), and it numbers the articles as a
new index would (1, 2, … in the order a build inserts them). Each article then goes, with its
chunks and vectors, to the writer of `shard_of(article id, N)`, a `ShardWriter`
(`qa/storage/split.py`, as `qa shard` uses) that writes the shard in its folder on its own node.

The set is written beside `--out` and swapped in whole once every writer has finished
(`staged_set`), so a failed or killed build leaves the previous set serving. The set's BM25
statistics come from the writers (each counts its shard's words as it indexes them); they, the
manifest and the swap are written on the driver's machine, which renames the staging folder into
place: writers on several machines need `--out` on a disk they share (README, *A writer per shard*).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..config import Config
from ..engine import shared_encoder
from ..errors import BuildError
from ..records import Article, Chunk
from ..storage.rows import article_values, chunk_values
from ..storage.scratch_stories import ScratchStories
from ..storage.split import ShardReport, ShardWriter, check_set, shard_folder, shard_of, staged_set, write_set_manifest
from ..stories import StoryMember, assign_stories
from .scan import Log, Scanner, article_hash
from .stages import LocalStages, Stages
from .steps import chunk_scan, embed_chunks, index_manifest
from .windows import windows

__all__ = ["build_shards", "ShardRouter"]

#: Rows sent to a writer in one call: bounds what is in flight (about 8 KB a chunk).
_BATCH_CHUNKS = 512


class _RemoteShardWriter(ShardWriter):
    """A `ShardWriter` as a Ray actor: also says where it runs."""

    def node(self) -> str:
        import ray

        return str(ray.util.get_node_ip_address())


@dataclass
class ShardRouter:
    """Articles with their chunks and vectors in, each to its shard's writer, numbered as one index
    would number them. The writers are Ray actors (`ray` given; spread over the nodes) or objects here."""

    staging: Path
    shards: int
    config: Config
    ray: Any = None
    writers: list[Any] = field(default_factory=list)
    next_key: int = 1
    sent: list[Any] = field(default_factory=list)  #: calls in flight on the actors
    routing_seconds: float = 0.0  #: this process's share: making and sending the rows (with writers here: writing them too)

    def __post_init__(self) -> None:
        if self.ray is not None:
            actor = self.ray.remote(num_cpus=0, scheduling_strategy="SPREAD")(_RemoteShardWriter)
            self.writers = [
                actor.remote(str(self.staging / shard_folder(n)), n, self.shards, self.config) for n in range(self.shards)
            ]
        else:
            self.writers = [ShardWriter(self.staging / shard_folder(n), n, self.shards, self.config) for n in range(self.shards)]

    def _call(self, writer: Any, name: str, *args: Any) -> Any:
        if self.ray is None:
            return getattr(writer, name)(*args)
        return getattr(writer, name).remote(*args)

    def _wait(self, most: int) -> None:
        """Until at most `most` calls are in flight; raises the first writer's error."""
        if self.ray is None:
            return
        while len(self.sent) > most:
            done, self.sent = self.ray.wait(self.sent, num_returns=len(self.sent) - most)
            self.ray.get(done)

    def add(
        self,
        members: Sequence[tuple[Article, StoryMember]],
        chunks: Sequence[Chunk],
        vectors: np.ndarray,
        sentence_vectors: Sequence[np.ndarray],
    ) -> None:
        """Articles (in the order a build inserts them) with their stories, chunks and vectors."""
        started = time.perf_counter()
        keys: dict[str, int] = {}
        articles: list[list[tuple[Any, ...]]] = [[] for _ in range(self.shards)]
        for article, member in members:
            keys[article.id] = self.next_key
            articles[shard_of(article.id, self.shards)].append(
                (self.next_key, *article_values(article, article_hash(article), member))
            )
            self.next_key += 1
        by_shard: list[list[int]] = [[] for _ in range(self.shards)]
        for i, chunk in enumerate(chunks):
            by_shard[shard_of(chunk.article_id, self.shards)].append(i)
        for n, picked in enumerate(by_shard):
            for first in range(0, max(len(picked), 1), _BATCH_CHUNKS):
                part = picked[first : first + _BATCH_CHUNKS]
                rows, sentences = chunk_values(
                    [chunks[i] for i in part], keys, vectors[part], [sentence_vectors[i] for i in part]
                )
                shard_articles = articles[n] if first == 0 else []
                if shard_articles or rows:
                    call = self._call(self.writers[n], "add", shard_articles, rows, sentences)
                    self.sent += [call] if self.ray is not None else []
                    self.routing_seconds += time.perf_counter() - started
                    self._wait(2 * self.shards)  # bounded: the writers keep up, or the driver waits
                    started = time.perf_counter()
        self.routing_seconds += time.perf_counter() - started

    def finish(self, meta: dict[str, Any]) -> list[Any]:
        """Each shard's vectors, keywords and manifest, then the ballast; returns the shard sizes."""
        self._wait(0)
        sizes = self._all("finish", meta, 1)
        return self._all("balance", sum(s.chunks for s in sizes), sum(s.terms for s in sizes))

    def nodes(self) -> list[str]:
        return self._all("node") if self.ray is not None else []

    def _all(self, name: str, *args: Any) -> list[Any]:
        results = [self._call(w, name, *args) for w in self.writers]
        return self.ray.get(results) if self.ray is not None else results

    def close(self) -> None:
        if self.ray is None:
            for writer in self.writers:
                writer.close()
            return
        for writer in self.writers:
            try:
                self.ray.get(writer.close.remote())
            except Exception:  # noqa: BLE001 — a dead writer has nothing left to close
                pass
            self.ray.kill(writer)


def build_shards(
    config: Config,
    out: Path | str,
    shards: int,
    *,
    stages: Stages | None = None,
    progress: bool = False,
    log: Log = lambda _: None,
) -> ShardReport:
    """Build the articles at `config.articles` as a set of `shards` shard indexes at `out` (replacing
    a set there), with one writer per shard: Ray actors when `stages` are `RayStages`, else here.

    The same set as `build_index` into a new index followed by `split_index` (`qa shard`)."""
    check_set(out, shards)
    stages = stages or LocalStages()
    encoder = shared_encoder(config)  # a model that cannot load fails here, before anything is written
    started = time.perf_counter()
    folder = Path(config.articles)
    scanner = Scanner(Path(out).absolute(), {}, {}, {}, config, stages, log)
    scan = scanner.scan_folder(folder, full=True, progress=progress)
    chunks = chunk_scan(scan, stages, config, log)
    if not scan.upserts:
        raise BuildError(f"no readable articles in {config.articles}; the previous shard set (if any) is unchanged")
    parts = windows(scan, chunks, config.commit_chunks, stored=set(), full=False)
    with staged_set(out, shards) as (staging, generation), ScratchStories(encoder.dimension) as linked:
        router = ShardRouter(staging, shards, config, _ray_of(stages))
        try:
            for part in parts:
                by_id = {a.id: a for a in part.scan.upserts}
                vectors, sentence_vectors = embed_chunks(stages, config, log, part.chunks, by_id)
                members = _link(linked, part.scan.upserts, part.chunks, vectors, config, first_key=router.next_key)
                log(f"writing {len(part.chunks)} chunks to {shards} shard writers")
                router.add(list(zip(part.scan.upserts, members)), part.chunks, vectors, sentence_vectors)
            count = router.next_key - 1
            meta = index_manifest(config, encoder, folder, count, len(chunks), "")
            sizes = router.finish(meta)
            nodes = router.nodes()
        finally:
            router.close()
        write_set_manifest(
            staging,
            sizes,
            generation,
            model=encoder.model_id,
            source=str(folder.resolve()),
            source_generation=None,
            built_by="build_shards",
            stages=stages.name,
            windows=len(parts),
            **({"written_on": nodes} if nodes else {}),
        )
    for n, size in enumerate(sizes):
        log(size.summary(n))
    log(f"{len(chunks)} chunks in {time.perf_counter() - started:.1f} s; routing took {router.routing_seconds:.1f} s here")
    return ShardReport(Path(out), tuple((s.articles, s.chunks) for s in sizes), generation)


def _link(
    linked: ScratchStories,
    articles: list[Article],
    chunks: list[Chunk],
    vectors: np.ndarray,
    config: Config,
    *,
    first_key: int,
) -> list[StoryMember]:
    """Stories for a window's articles (numbered from `first_key`, as the router numbers them),
    linked against the windows before (`linked`) exactly as `Writer._link` links a new index's."""
    first: dict[str, int] = {}
    for i, chunk in enumerate(chunks):
        first.setdefault(chunk.article_id, i)
    leads = np.array([vectors[first[a.id]] for a in articles], dtype=np.float32).reshape(-1, linked.dimension)
    members = assign_stories(articles, leads, config, linked.index()).members
    keys = {a.id: first_key + n for n, a in enumerate(articles)}
    leading = [first[a.id] for a in articles]
    linked.add(articles, members, keys, [chunks[i] for i in leading], vectors[leading])
    return members


def _ray_of(stages: Stages) -> Any:
    """The `ray` module when the stages run on Ray (the writers then are actors on its cluster)."""
    return getattr(stages, "ray", None)
