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
`requests` counts what was sent. Opening the set and asking every shard (here or on Ray actors) is
`ShardSet` (`shard_set.py`), which `ShardedIndex` extends.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator, Sequence
from typing import Any

from ..records import Article
from .filters import Filter
from .probe import Fetch, Fetched, Probe, Probed, merge_fetched, merge_probed
from .shard_set import SILENT, ShardSet

__all__ = ["ShardedIndex"]


def _idf(documents: int, holding: int) -> float:
    """BM25's idf as tantivy computes it (Lucene's BM25 with the +1 inside the log)."""
    return math.log(1.0 + (documents - holding + 0.5) / (holding + 0.5))


class ShardedIndex(ShardSet):
    """A shard set (`shards.json` and its shard folders), read as one index."""

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
    """The answers of the shards that answered (`ShardSet._gather`)."""
    return [r for r in results if r is not SILENT]


def _reverse(iso: str) -> str:
    """A sort key that puts later ISO dates first."""
    return "".join(chr(0x7F - ord(c)) for c in iso)
