"""Serving from shards: several shard indexes answered as one (scatter, then gather).

`ShardedIndex` has the reading interface of `Index`, so ranking (`qa/retrieval.py`) and answers
do not know whether they read one index or many. Each call goes to every shard and the results
are merged: top-k lists by score, candidate rows by the requested order, counts by sum.

Two things keep the merged ranking equal to one big index's:
- Vectors and metadata are global already: chunk ids, article keys and story ids are those of
  the index the shards were split from (`qa/storage/split.py`), and cosine is the same anywhere.
- BM25 is not: its idf and its length normalisation depend on the collection. Each shard scores
  with the whole set's idf (a per-term boost of idf_all / idf_shard: the idea of Elasticsearch's
  dfs_query_then_fetch), from the set's statistics stored when it was written (`terms.py`: each
  shard's documents and each word's document frequency), so no request is spent on them. Each
  shard's keyword index also holds a few "ballast" documents that no question matches, written
  so that its average chunk length is the whole set's (`qa/storage/split.py`); the boosts count
  tantivy's documents, ballast included.

A question asks each shard twice: a `Probe` (everything ranking needs) and a `Fetch` (the
passages' texts and the story of a status question), both answered by `qa/storage/probe.py`;
`requests` counts what was sent.

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

import datetime as dt
import json
import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from ..errors import CorruptIndexError, IndexMismatchError, IndexNotFoundError
from ..records import Article
from .filters import Filter
from .probe import Fetch, Fetched, Probe, Probed, merge_fetched, merge_probed
from .reader import Index
from .terms import TermStatistics

__all__ = ["ShardedIndex", "is_sharded", "MANIFEST", "SHARDS_FORMAT", "SHARDS_VERSION", "ray_shards"]

MANIFEST = "shards.json"
SHARDS_FORMAT = "qa-shards"
SHARDS_VERSION = 2  # 2: the set's BM25 statistics are stored (terms.sqlite)


#: What a shard that did not answer in time gives (`ShardedIndex._gather`); `None` is an answer.
SILENT: Any = object()


def is_sharded(path: Path | str) -> bool:
    return (Path(path) / MANIFEST).is_file()


def _idf(documents: int, holding: int) -> float:
    """BM25's idf as tantivy computes it (Lucene's BM25 with the +1 inside the log)."""
    return math.log(1.0 + (documents - holding + 0.5) / (holding + 0.5))


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


class ShardedIndex:
    """A shard set (`shards.json` and its shard folders), read as one index."""

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

    # --- keyword statistics of the whole set -----------------------------------------------------------

    def _boosts(self, terms: Sequence[str]) -> list[dict[str, float]]:
        """Per shard, the factor that turns its idf of each term into the whole set's."""
        boosts: list[dict[str, float]] = [{} for _ in range(self.shard_count)]
        if not self.global_idf:
            return boosts
        for term, holding in self._terms.holding(terms).items():
            total = _idf(sum(self._chunks), sum(holding))
            for shard, (documents, held) in enumerate(zip(self._documents, holding)):
                if held:
                    boosts[shard][term] = total / _idf(documents, held)
        return boosts

    def term_statistics(self, terms: Sequence[str]) -> tuple[int, int, list[int]]:
        """`Index.term_statistics` of the whole set: documents, real chunks and chunks holding each term."""
        holding = self._terms.holding(terms)
        return sum(self._documents), sum(self._chunks), [sum(holding[t]) for t in terms]

    # --- what ranking and answers need ------------------------------------------------------------------

    def sources(self) -> list[str]:
        if self._sources is not None:
            return self._sources
        per_shard = self._each("sources")
        found = sorted({s for shard in _answered(per_shard) for s in shard})
        if SILENT not in per_shard:
            self._sources = found
        return found

    def date_range(self) -> tuple[dt.date | None, dt.date | None]:
        ranges = _answered(self._each("date_range"))
        lows = [low for low, _ in ranges if low]
        highs = [high for _, high in ranges if high]
        return (min(lows) if lows else None), (max(highs) if highs else None)

    def admits_any(self, where: Filter) -> bool:
        return any(_answered(self._each("admits_any", where)))

    def probe(self, probe: Probe) -> Probed:
        """Everything ranking needs, in one request per shard (`qa/storage/probe.py`)."""
        words = [t for pool in probe.pools for t in pool.terms] + [t for terms in probe.scored for t in terms]
        boosts = self._boosts(words)
        if self.remote:
            parts = self._gather(lambda n, actor: actor.call.remote("probe", probe, boosts[n]))
        else:
            self.requests += len(self.local)
            parts = [shard.probe(probe, boost) for shard, boost in zip(self.local, boosts)]
        return merge_probed(_answered(parts), probe, self.dimension)

    def fetch(self, fetch: Fetch) -> Fetched:
        """The passages' texts and the story's rows, in one request per shard."""
        boosts = self._boosts([t for terms in fetch.scored for t in terms]) if fetch.story else [{}] * self.shard_count
        if self.remote:
            parts = self._gather(lambda n, actor: actor.call.remote("fetch", fetch, boosts[n]))
        else:
            self.requests += len(self.local)
            parts = [shard.fetch(fetch, boost) for shard, boost in zip(self.local, boosts)]
        fetched = merge_fetched(_answered(parts), self.dimension)
        reports = self._reports.get()
        if fetch.reports is not None and reports is not None:
            reports[fetch.reports] = fetched.reports
        return fetched

    def story_of(self, article_id: str) -> list[Article]:
        fetched = next((r for r in (self._reports.get() or {}).values() if any(a.id == article_id for a in r)), None)
        if fetched is not None:  # brought by this question's `fetch`
            return sorted(fetched, key=lambda a: (a.date or dt.date.max, a.id))
        story = next((s for s in _answered(self._each("story_id_of", article_id)) if s is not None), None)
        if story is None:
            return []
        articles = [a for part in _answered(self._each("story_articles", story)) for a in part]
        return sorted(articles, key=lambda a: (a.date or dt.date.max, a.id))

    def article(self, article_id: str) -> Article | None:
        return next((a for a in _answered(self._each("article", article_id)) if a is not None), None)

    def article_rows(self, search: str = "", limit: int = 200) -> list[tuple[str, str, str, str]]:
        rows = [r for part in _answered(self._each("article_rows", search, limit)) for r in part]
        rows.sort(key=lambda r: (r[2] == "undated", "" if r[2] == "undated" else _reverse(r[2]), r[0]))
        return rows[:limit]

    def article_ids(self) -> list[str]:
        return sorted(i for part in _answered(self._each("article_ids")) for i in part)

    def chunk_texts(self) -> Iterator[str]:
        if self.remote:
            for part in _answered(self._gather(lambda _, actor: actor.chunk_text_list.remote())):
                yield from part
        for shard in self.local:
            yield from shard.chunk_texts()

    def stories(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for part in _answered(self._each("stories")):
            for story, members in part.items():
                out.setdefault(story, []).extend(members)
        return {story: sorted(members) for story, members in out.items()}


def _answered(results: list[Any]) -> list[Any]:
    """The answers of the shards that answered (`ShardedIndex._gather`)."""
    return [r for r in results if r is not SILENT]


def _reverse(iso: str) -> str:
    """A sort key that puts later ISO dates first."""
    return "".join(chr(0x7F - ord(c)) for c in iso)
