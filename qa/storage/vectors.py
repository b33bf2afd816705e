"""The vector side: a FAISS index keyed by chunk id, whose type is chosen by size.

Below `Config.exact_below` chunks the search is exact (`IDMap2,Flat`: inner product of unit
vectors, i.e. cosine). Above it, IVF-PQ: the inverted lists cut the search to `ivf_nprobe`
lists and the product codes keep 1M chunks in ~100 MB; retrieval then re-scores its candidates
exactly with the chunk vectors stored in the metadata, so PQ's approximation only decides which
candidates are considered (bench/million.py; figures in bench/README.md).
The factory string is recorded in the index, and nothing assumes a flat index: vectors are never
read back out of FAISS.
"""

from __future__ import annotations

import errno
import math
import os
from pathlib import Path

import faiss
import numpy as np

__all__ = ["factory_for", "build_vectors", "update_vectors", "read_vectors", "write_vectors", "search_vectors"]


def factory_for(count: int, dimension: int, exact_below: int) -> str:
    """The FAISS factory string for an index of `count` vectors."""
    if count < exact_below:
        return "IDMap2,Flat"
    lists = 1 << max(8, min(16, round(math.log2(4 * math.sqrt(count)))))  # ~4·√n inverted lists, a power of two
    codes = 48 if dimension % 48 == 0 else next(m for m in (32, 24, 16, 8, 4, 2, 1) if dimension % m == 0)
    return f"IVF{lists},PQ{codes}"


def build_vectors(factory: str, ids: np.ndarray, vectors: np.ndarray) -> faiss.Index:
    """A new index of `factory` holding `vectors` under `ids`; IVF is trained on (a sample of) them."""
    dimension = vectors.shape[1]
    index = faiss.index_factory(dimension, factory, faiss.METRIC_INNER_PRODUCT)
    if not index.is_trained:
        sample = vectors
        if len(vectors) > 200_000:  # k-means needs ~40–200 points a list; more only costs time
            sample = vectors[np.random.default_rng(0).choice(len(vectors), 200_000, replace=False)]
        index.train(np.ascontiguousarray(sample, dtype=np.float32))
    if len(ids):
        index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), np.ascontiguousarray(ids, dtype=np.int64))
    return index


def update_vectors(index: faiss.Index, removed: np.ndarray, added_ids: np.ndarray, added: np.ndarray) -> faiss.Index:
    """The index with `removed` ids dropped and `added` vectors put in, in place."""
    if len(removed):
        index.remove_ids(np.ascontiguousarray(removed, dtype=np.int64))
    if len(added_ids):
        index.add_with_ids(np.ascontiguousarray(added, dtype=np.float32), np.ascontiguousarray(added_ids, dtype=np.int64))
    return index


def write_vectors(index: faiss.Index, path: Path) -> None:
    """Written to a temporary name, flushed to disk, then renamed: a file of this name is whole."""
    temporary = path.with_name(path.name + ".tmp")
    try:
        faiss.write_index(index, str(temporary))
        with open(temporary, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except RuntimeError as error:  # faiss reports a failed write (a full disk) as a RuntimeError
        temporary.unlink(missing_ok=True)
        if "No space left" in str(error):
            raise OSError(errno.ENOSPC, "No space left on device", str(path)) from None
        raise
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def read_vectors(path: Path, nprobe: int) -> faiss.Index:
    index = faiss.read_index(str(path))
    ivf = faiss.try_extract_index_ivf(index)
    if ivf is not None:
        ivf.nprobe = nprobe
    return index


def search_vectors(
    index: faiss.Index, vector: np.ndarray, limit: int, allowed: np.ndarray | None, nprobe: int
) -> tuple[np.ndarray, np.ndarray]:
    """Ids and approximate similarities of the `limit` nearest chunks; `allowed` restricts the ids."""
    if index.ntotal == 0 or limit <= 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    params = None
    if allowed is not None:
        selector = faiss.IDSelectorBatch(np.ascontiguousarray(allowed, dtype=np.int64))
        is_ivf = faiss.try_extract_index_ivf(index) is not None
        params = faiss.SearchParametersIVF(sel=selector, nprobe=nprobe) if is_ivf else faiss.SearchParameters(sel=selector)
    scores, ids = index.search(np.ascontiguousarray(vector[None, :], dtype=np.float32), min(limit, index.ntotal), params=params)
    keep = ids[0] >= 0
    return ids[0][keep], scores[0][keep]
