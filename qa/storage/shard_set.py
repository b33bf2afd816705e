"""A shard set opened: its manifests, its shards, and a call sent to every shard (`ShardSet`).

Kept apart from the reading interface (`ShardedIndex`, `sharded.py`, which extends `ShardSet`) so
each stays short: this module owns the set's files (`shards.json`) and the fan-out, that one what
ranking and answers ask of it.

Shards are local folders opened in this process, or Ray actors (`ray_shards`), one process
per shard, on any node of a Ray cluster: the same calls, sent with `.remote()` and gathered
with `ray.get`, so a query's fan-out runs in parallel. Served by Ray, the asking process opens
no shard (it holds the set's manifest and each shard's, and caches BM25 statistics): each actor
opens its shard from the path on its own node. A shard that does not answer within
`shard_seconds` (or whose actor died; Ray restarts it) is left out of that call: the question is
answered from the others, and `snapshot()` collects which shards were missing so that the answer
says so.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from ..errors import CorruptIndexError, IndexMismatchError, IndexNotFoundError
from ..records import Article
from .reader import Index
from .terms import TermStatistics

__all__ = ["ShardSet", "is_sharded", "MANIFEST", "SHARDS_FORMAT", "SHARDS_VERSION", "SILENT", "ray_shards"]

MANIFEST = "shards.json"
SHARDS_FORMAT = "qa-shards"
SHARDS_VERSION = 2  # 2: the set's BM25 statistics are stored (terms.sqlite)


#: What a shard that did not answer in time gives (`ShardSet._gather`); `None` is an answer.
SILENT: Any = object()


def is_sharded(path: Path | str) -> bool:
    return (Path(path) / MANIFEST).is_file()


class _ShardServer:
    """One shard in its own process (a Ray actor): the `Index` calls, by name."""

    def __init__(self, path: str, nprobe: int) -> None:
        self.index = Index(path, nprobe=nprobe)

    def call(self, name: str, *args: Any) -> Any:
        return getattr(self.index, name)(*args)

    def manifest(self) -> dict[str, Any]:
        return self.index.manifest

    def chunk_text_list(self) -> list[str]:
        return list(self.index.chunk_texts())

    def where(self) -> tuple[int, str]:
        """This shard's process id and Ray node id (where a shard lives, for operators and tests)."""
        import os

        import ray

        return os.getpid(), ray.get_runtime_context().get_node_id()


def ray_shards(folders: Sequence[Path], nprobe: int, address: str | None = None) -> list[Any]:
    """One Ray actor per shard folder (started on whichever nodes have room), ready to answer."""
    import ray

    if not ray.is_initialized():
        ray.init(
            address=address or None,
            include_dashboard=False,
            log_to_driver=False,
            runtime_env={"env_vars": {"HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}},
        )
    # An actor that dies (its process killed, its node lost) is started again, without limit.
    server = ray.remote(num_cpus=0, scheduling_strategy="SPREAD", max_restarts=-1)(_ShardServer)
    actors = [server.remote(str(folder), nprobe) for folder in folders]
    ray.get([a.call.remote("generation_now") for a in actors])  # each has loaded its shard (or raises here)
    return actors


class ShardSet:
    """A shard set (`shards.json` and its shard folders), opened here or on Ray actors (`ShardedIndex` reads it)."""

    def __init__(
        self,
        path: Path | str,
        *,
        nprobe: int = 48,
        workers: str = "local",
        ray_address: str | None = None,
        global_idf: bool = True,
        shard_seconds: float = 10.0,
    ) -> None:
        self.path = Path(path)
        self.global_idf = global_idf  #: False only to measure what the whole set's idf is worth (bench/shards.py)
        self.folder = self.path.resolve()
        try:
            self.manifest_file = json.loads((self.folder / MANIFEST).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise IndexNotFoundError(f"no shard set at {self.path}") from None
        except (OSError, ValueError) as error:
            raise CorruptIndexError(
                f"the shard manifest {self.path / MANIFEST} is damaged ({error}); run `qa shard` again"
            ) from error
        if self.manifest_file.get("format") != SHARDS_FORMAT or self.manifest_file.get("format_version") != SHARDS_VERSION:
            raise IndexMismatchError(f"{self.path / MANIFEST} is not a shard set this qa reads; run `qa shard` again")
        #: Requests sent to shards (one per shard asked): what a question costs in round trips.
        self.requests = 0
        self.generation = int(self.manifest_file["generation"])
        folders = [self.folder / name for name in self.manifest_file["shards"]]
        self.shard_seconds = shard_seconds
        # Served by Ray, no shard is opened here: each actor opens (and validates) its own.
        self.remote: list[Any] = ray_shards(folders, nprobe, ray_address) if workers == "ray" else []
        self.local: list[Index] = [] if self.remote else [Index(f, nprobe=nprobe) for f in folders]
        if self.remote:
            import ray

            self.shard_manifests: list[dict[str, Any]] = ray.get([actor.manifest.remote() for actor in self.remote])
        else:
            self.shard_manifests = [shard.manifest for shard in self.local]
        first = self.shard_manifests[0]
        self.dimension = int(first["dimension"])
        self.manifest: dict[str, Any] = dict(first) | {
            "articles": sum(int(m["articles"]) for m in self.shard_manifests),
            "chunks": sum(int(m["chunks"]) for m in self.shard_manifests),
            "factory": " + ".join(sorted({str(m["factory"]) for m in self.shard_manifests})) + f" × {len(folders)} shards",
            "built_at": self.manifest_file["built_at"],
            "generation": self.generation,
        }
        #: The shards that did not answer during the current question (`snapshot`), per thread of work.
        self._missing: ContextVar[set[int] | None] = ContextVar(f"qa-missing-shards-{id(self)}", default=None)
        if len({str(m["model"]) for m in self.shard_manifests}) != 1:
            raise CorruptIndexError(f"the shards at {self.path} were built with different models; run `qa shard` again")
        self._documents = [int(d) for d in self.manifest_file["keyword_documents"]]
        self._chunks = [int(c) for c in self.manifest_file["chunks"]]
        self._terms = TermStatistics(self.folder, len(folders))
        #: The stories fetched during the current question (`fetch`), so that its answer's `story_of` costs nothing.
        self._reports: ContextVar[dict[str, tuple[Article, ...]] | None] = ContextVar(f"qa-reports-{id(self)}", default=None)
        self._sources: list[str] | None = None

    # --- fan-out ---------------------------------------------------------------------------------

    def _each(self, name: str, *args: Any) -> list[Any]:
        """`name(*args)` on every shard: in parallel on Ray actors, else one after another here.
        A Ray shard that did not answer in time is `SILENT` (`_gather`)."""
        if self.remote:
            return self._gather(lambda _, actor: actor.call.remote(name, *args))
        self.requests += len(self.local)
        return [getattr(shard, name)(*args) for shard in self.local]

    def _gather(self, call: Callable[[int, Any], Any]) -> list[Any]:
        """`call(shard number, actor)` sent to every shard's actor, and the answers in shard order,
        waiting at most `shard_seconds`. A shard that has not answered by then, or whose actor died
        (Ray starts it again), is `SILENT` and noted as missing; within one question (`snapshot`) a
        missing shard is not asked again, so a question waits for a silent shard once."""
        import ray

        dead = (ray.exceptions.RayActorError, getattr(ray.exceptions, "ActorUnavailableError", ray.exceptions.RayActorError))
        skipped = self._missing.get() or set()
        refs = {n: call(n, actor) for n, actor in enumerate(self.remote) if n not in skipped}
        self.requests += len(refs)
        ready, _ = ray.wait(list(refs.values()), num_returns=len(refs), timeout=self.shard_seconds)
        done = set(ready)
        out: list[Any] = [SILENT] * len(self.remote)
        for shard, ref in refs.items():
            if ref in done:
                try:
                    out[shard] = ray.get(ref)
                except dead:  # died while answering, or restarting (Ray starts it again)
                    pass
            else:
                ray.cancel(ref)
        for shard in range(len(self.remote)):
            if out[shard] is SILENT:
                self._note_missing(shard)
        return out

    def _note_missing(self, shard: int) -> None:
        missing = self._missing.get()
        if missing is not None:
            missing.add(shard)

    @property
    def model_id(self) -> str:
        return str(self.manifest["model"])

    @property
    def factory(self) -> str:
        return str(self.manifest["factory"])

    @property
    def shard_count(self) -> int:
        return len(self.shard_manifests)

    @contextmanager
    def snapshot(self) -> Iterator[set[int]]:
        """Shards are written once and never changed in place, so a query sees one set throughout.
        Yields the set of shards (numbered from 0) that did not answer during the block."""
        outer = self._missing.get()
        missing: set[int] = outer if outer is not None else set()
        token = self._missing.set(missing) if outer is None else None
        reports = self._reports.set({}) if outer is None else None
        try:
            with ExitStack() as stack:
                for shard in self.local:
                    stack.enter_context(shard.snapshot())
                yield missing
        finally:
            if token is not None:
                self._missing.reset(token)
            if reports is not None:
                self._reports.reset(reports)

    def generation_now(self) -> int:
        try:
            return int(json.loads((self.path / MANIFEST).read_text(encoding="utf-8"))["generation"])
        except (OSError, ValueError, KeyError):
            return self.generation
