"""What story linking reads of the stored articles, by name, never all of them (`qa/stories.py`).

`story_names` holds one row per (name, outlet, article) of every stored article's lead names (the
`names` column of `articles`, as rows), keyed by name: the articles that share a name with a new
report are one index range, and how many articles (of each outlet) carry a name is a count over
that range. Builds keep it in step with `articles` (insert, delete, relink, in the generation's
transaction); an index written before the table existed, or by an older qa since, is refilled
from the `names` column in one SQL statement when a build opens it (`refill_story_names`).

`StoryIndex` is the stored side of one build's linking: the articles that stay, less those the
build replaces or removes (`leaving`), whose contributions it subtracts from every count.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import TypeVar

import numpy as np

from ..stories import StoryMember
from .lru import LRU
from .metadata import transaction

__all__ = ["StoryIndex", "refill_story_names", "story_name_rows", "names_json", "read_names"]

_T = TypeVar("_T")
_BATCH = 900  # SQLite's host parameters per statement, with room to spare
#: Stored members kept between the articles of one build (a vector and names each, ~2 KB): a large
#: batch re-reads a member it forgot rather than hold every report it ever compared with.
_CACHED = 20_000


def names_json(member: StoryMember) -> str:
    """The `names` column: the names a report was linked by, and its protagonist (`stories.subject_in`)."""
    return json.dumps({"names": sorted(member.names), "subject": sorted(member.subject)})


def read_names(stored: str) -> tuple[frozenset[str], frozenset[str]]:
    """Names and protagonist from the `names` column; an index linked before version 4 stored a list of names."""
    value = json.loads(stored)
    if isinstance(value, list):
        return frozenset(value), frozenset()
    return frozenset(value["names"]), frozenset(value["subject"])


def story_name_rows(key: int, member: StoryMember) -> list[tuple[str, str, int]]:
    """The `story_names` rows of one article (its key in `articles`)."""
    return [(name, member.source or "", key) for name in sorted(member.names)]


def refill_story_names(connection: sqlite3.Connection, meta: dict[str, object]) -> bool:
    """Rebuild `story_names` from the `names` column unless the manifest says the current generation
    wrote it (`story_names` = `generation`); returns whether it did. One transaction, no Python loop."""
    if not meta or meta.get("story_names") == meta.get("generation"):
        return False
    with transaction(connection, write=True) as db:
        db.execute("DELETE FROM story_names")
        db.execute(
            "INSERT OR IGNORE INTO story_names (name, outlet, article) "
            "SELECT j.value, coalesce(a.source, ''), a.key FROM articles a, json_each(CASE json_type(a.names) "
            "WHEN 'array' THEN a.names ELSE json_extract(a.names, '$.names') END) j"
        )
        db.execute("INSERT OR REPLACE INTO meta VALUES ('story_names', ?)", (json.dumps(meta.get("generation")),))
    return True


class StoryIndex:
    """The stored articles that stay, as story linking needs them: by name, with counts.

    `read` counts the members loaded from SQLite so far (`members`; at most `_CACHED` are kept).
    """

    def __init__(self, connection: sqlite3.Connection, leaving: Iterable[str], dimension: int) -> None:
        self.connection, self.dimension = connection, dimension
        self.read = 0
        self._cache: LRU[int, tuple[StoryMember, np.ndarray]] = LRU(_CACHED)
        self._gone: set[int] = set()
        self._gone_names: Counter[tuple[str, str]] = Counter()
        self._gone_outlets: Counter[str] = Counter()
        self._gone_stories: Counter[str] = Counter()
        for part in _parts(sorted(set(leaving))):
            for key, source, story, stored in connection.execute(
                f"SELECT key, coalesce(source, ''), story, names FROM articles WHERE id IN ({','.join('?' * len(part))})", part
            ):
                self._gone.add(key)
                self._gone_outlets[source] += 1
                self._gone_stories[story] += 1
                self._gone_names.update((name, source) for name in read_names(stored)[0])

    def articles(self) -> int:
        """How many stored articles stay."""
        return int(self.connection.execute("SELECT count(*) FROM articles").fetchone()[0]) - len(self._gone)

    def name_counts(self, names: Iterable[str]) -> dict[str, Counter[str]]:
        """For each name, how many staying articles of each outlet ("" for none) carry it."""
        counts: dict[str, Counter[str]] = {}
        for part in _parts(sorted(set(names))):
            for name, outlet, count in self.connection.execute(
                "SELECT name, outlet, count(*) FROM story_names "
                f"WHERE name IN ({','.join('?' * len(part))}) GROUP BY name, outlet",
                part,
            ):
                left = count - self._gone_names[(name, outlet)]
                if left:
                    counts.setdefault(name, Counter())[outlet] = left
        return counts

    def outlet_sizes(self, outlets: Iterable[str]) -> dict[str, int]:
        """How many staying articles each outlet has (by the `articles_outlet` index)."""
        return self._sizes("source", outlets, self._gone_outlets)

    def story_sizes(self, stories: Iterable[str]) -> dict[str, int]:
        """How many staying articles each story has (by the `articles_story` index)."""
        return self._sizes("story", stories, self._gone_stories)

    def _sizes(self, column: str, values: Iterable[str], gone: Counter[str]) -> dict[str, int]:
        """Staying articles per value of an indexed column of `articles` (`source` or `story`)."""
        sizes: dict[str, int] = {}
        for part in _parts(sorted(set(values))):
            for value, count in self.connection.execute(
                f"SELECT {column}, count(*) FROM articles WHERE {column} IN ({','.join('?' * len(part))}) GROUP BY {column}",
                part,
            ):
                sizes[value] = count - gone[value]
        return sizes

    def naming(self, names: Iterable[str]) -> list[int]:
        """The staying articles (keys, ascending) that carry any of these names."""
        keys: set[int] = set()
        for part in _parts(sorted(set(names))):
            keys.update(
                r[0]
                for r in self.connection.execute(
                    f"SELECT article FROM story_names WHERE name IN ({','.join('?' * len(part))})", part
                )
            )
        return sorted(keys - self._gone)

    def members(self, keys: Sequence[int]) -> dict[int, tuple[StoryMember, np.ndarray]]:
        """These articles' story members and lead vectors (float32 from the stored float16); no text."""
        found = {k: self._cache[k] for k in keys if k in self._cache}
        missing = [k for k in keys if k not in found]
        for part in _parts(missing):
            for key, article_id, date, source, story, stored, vector in self.connection.execute(
                "SELECT a.key, a.id, a.date, a.source, a.story, a.names, c.vector FROM articles a LEFT JOIN chunks c "
                f"ON c.article = a.key AND c.ordinal = 0 WHERE a.key IN ({','.join('?' * len(part))})",
                part,
            ):
                names, subject = read_names(stored)
                day = dt.date.fromordinal(date) if date else None
                lead = (
                    np.frombuffer(vector, dtype=np.float16).astype(np.float32) if vector else np.zeros(self.dimension, np.float32)
                )
                found[key] = self._cache[key] = (StoryMember(article_id, day, source, names, story, subject), lead)
        self.read += len(missing)
        return found


def _parts(values: list[_T]) -> list[list[_T]]:
    return [values[first : first + _BATCH] for first in range(0, len(values), _BATCH)]
