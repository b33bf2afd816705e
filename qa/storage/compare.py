"""Whether two indexes hold the same build: a Ray build against a local one, a shard set against its source.

Same articles (ids and content hashes), the same chunk ids, chunk and sentence vectors that agree
to `min_cosine`, and the same grouping of articles into stories. Vectors are compared by cosine,
not bytes: the same encoder gives slightly different floats in different batch compositions.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .metadata import FILE_NAME, connect

__all__ = ["Comparison", "compare_indexes"]


@dataclass(frozen=True)
class Comparison:
    articles: int
    chunks: int
    min_cosine: float  #: lowest cosine between the two vectors of one chunk (chunk and sentence vectors)
    differences: tuple[str, ...]  #: what differs, in words; empty when the builds are the same

    def same(self, min_cosine: float = 0.9999) -> bool:
        return not self.differences and self.min_cosine >= min_cosine


_Rows = tuple[dict[str, str], dict[int, tuple[str, bytes, bytes | None]], dict[str, str], dict[str, int]]


def _rows(folders: Iterable[Path]) -> _Rows:
    """Article hashes, chunk (article, vector, sentence vectors), article stories and article keys
    of one index or several shards."""
    articles: dict[str, str] = {}
    chunks: dict[int, tuple[str, bytes, bytes | None]] = {}
    stories: dict[str, str] = {}
    keys: dict[str, int] = {}
    for folder in folders:
        connection = connect(Path(folder) / FILE_NAME)
        try:
            for key, article_id, content_hash, story in connection.execute("SELECT key, id, hash, story FROM articles"):
                articles[article_id] = content_hash
                stories[article_id] = story
                keys[article_id] = key
            for chunk_id, article_id, vector, sentences in connection.execute(
                "SELECT c.id, a.id, c.vector, s.vectors FROM chunks c JOIN articles a ON a.key = c.article "
                "LEFT JOIN sentence_vectors s ON s.chunk = c.id"
            ):
                chunks[chunk_id] = (article_id, vector, sentences)
        finally:
            connection.close()
    return articles, chunks, stories, keys


def _cosines(a: bytes | None, b: bytes | None, dimension: int) -> np.ndarray:
    if not a or not b:
        return np.ones(1, dtype=np.float32) if a == b else np.zeros(1, dtype=np.float32)
    x = np.frombuffer(a, dtype=np.float16).astype(np.float32).reshape(-1, dimension)
    y = np.frombuffer(b, dtype=np.float16).astype(np.float32).reshape(-1, dimension)
    if x.shape != y.shape:
        return np.zeros(1, dtype=np.float32)
    norms = np.maximum(np.linalg.norm(x, axis=1) * np.linalg.norm(y, axis=1), 1e-12)
    return (x * y).sum(axis=1) / norms


def _groups(stories: dict[str, str]) -> set[frozenset[str]]:
    members: dict[str, set[str]] = {}
    for article_id, story in stories.items():
        members.setdefault(story, set()).add(article_id)
    return {frozenset(m) for m in members.values()}


def compare_indexes(
    a: Path | str | Iterable[Path | str], b: Path | str | Iterable[Path | str], *, exact_ids: bool = False
) -> Comparison:
    """Compare two builds; either side may be a list of shard folders, read as one index.

    With `exact_ids`, the two must also agree on every article's database key and story id (not
    only on how articles are grouped into stories): what two ways of writing one shard set share."""
    left = _rows([Path(a)] if isinstance(a, (str, Path)) else [Path(p) for p in a])
    right = _rows([Path(b)] if isinstance(b, (str, Path)) else [Path(p) for p in b])
    differences: list[str] = []
    if left[0] != right[0]:
        only = sorted(set(left[0]) ^ set(right[0]))
        changed = sorted(k for k in set(left[0]) & set(right[0]) if left[0][k] != right[0][k])
        differences.append(
            f"articles differ: {len(only)} in one only {only[:3]}, {len(changed)} with other content {changed[:3]}"
        )
    if set(left[1]) != set(right[1]):
        differences.append(
            f"chunk ids differ: {len(set(left[1]) - set(right[1]))} only in the first, "
            f"{len(set(right[1]) - set(left[1]))} only in the second"
        )
    if _groups(left[2]) != _groups(right[2]):
        differences.append(f"stories differ: {len(_groups(left[2]))} against {len(_groups(right[2]))} groups")
    if exact_ids and left[2] != right[2]:
        differences.append(f"story ids differ for {sum(left[2].get(k) != v for k, v in right[2].items())} articles")
    if exact_ids and left[3] != right[3]:
        differences.append(f"article keys differ for {sum(left[3].get(k) != v for k, v in right[3].items())} articles")
    if exact_ids and any(left[1][c][0] != right[1][c][0] for c in set(left[1]) & set(right[1])):
        differences.append("chunks belong to other articles")
    lowest = 1.0
    common = set(left[1]) & set(right[1])
    dimension = len(next(iter(left[1].values()))[1]) // 2 if left[1] else 0
    for chunk_id in common:
        _, vector_a, sentences_a = left[1][chunk_id]
        _, vector_b, sentences_b = right[1][chunk_id]
        lowest = min(
            lowest,
            float(_cosines(vector_a, vector_b, dimension).min()),
            float(_cosines(sentences_a, sentences_b, dimension).min()),
        )
    return Comparison(len(left[0]), len(left[1]), lowest, tuple(differences))
