"""What every encoder shares: tokenising with offsets, length-grouped batches, mean pooling.

A chunk is embedded once at build time. Its sentence vectors come from the same forward pass:
the mean of the chunk's token states inside each sentence's character span ("late chunking"),
so picking the sentence to cite needs no model at query time and costs the build nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

__all__ = ["Encoder", "ModelFiles", "Spans"]

Spans = Sequence[tuple[int, int]]  #: character spans in one text


@dataclass(frozen=True)
class ModelFiles:
    folder: Path  #: the sentence-transformers folder the weights are read from
    model_id: str  #: what the index records; another id means "rebuild"


class Encoder:
    """Tokenizer and pooling around a transformer that a backend runs (`_hidden`)."""

    model_id: str
    dimension: int
    max_tokens: int
    backend: str

    def __init__(self, model_id: str, tokenizer: Tokenizer, *, max_tokens: int, batch_size: int) -> None:
        self.model_id = model_id
        self.max_tokens = max_tokens
        self.batch_size = batch_size
        self._counter = Tokenizer.from_str(tokenizer.to_str())  # counts whole texts for chunking: never truncates
        self._counter.no_padding()
        self._counter.no_truncation()
        self._tokenizer = Tokenizer.from_str(tokenizer.to_str())
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(max_tokens)
        # Hugging Face tokenizers are not safe to share between threads mid-call (a query during a
        # rebuild failed with "Already borrowed"); one encode at a time per encoder.
        self._lock = threading.Lock()

    # --- what chunking needs ---------------------------------------------------------------------

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Tokens of each text without special tokens, however long."""
        with self._lock:
            return [len(e.ids) for e in self._counter.encode_batch(list(texts), add_special_tokens=False)]

    def token_offsets(self, text: str) -> list[tuple[int, int]]:
        with self._lock:
            return list(self._counter.encode(text, add_special_tokens=False).offsets)

    # --- encoding -------------------------------------------------------------------------------

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """float32 unit vectors, so that inner product is cosine similarity."""
        vectors, _ = self.encode_chunks(texts, None)
        return vectors

    def encode_chunks(self, texts: Sequence[str], spans: Sequence[Spans] | None) -> tuple[np.ndarray, list[np.ndarray]]:
        """Each text's vector and, when `spans` is given, one unit vector per span of it.

        Texts are batched by token length, so a batch of short texts is not padded to a long one.
        """
        count = len(texts)
        vectors = np.zeros((count, self.dimension), dtype=np.float32)
        span_vectors: list[np.ndarray] = [np.zeros((0, self.dimension), dtype=np.float32)] * count
        if not count:
            return vectors, span_vectors
        with self._lock:
            encodings = self._tokenizer.encode_batch(list(texts), add_special_tokens=True)
            order = sorted(range(count), key=lambda i: len(encodings[i].ids))
            for first in range(0, count, self.batch_size):
                batch = order[first : first + self.batch_size]
                width = max(len(encodings[i].ids) for i in batch)
                ids = np.zeros((len(batch), width), dtype=np.int64)
                mask = np.zeros((len(batch), width), dtype=np.int64)
                types = np.zeros((len(batch), width), dtype=np.int64)
                for row, i in enumerate(batch):
                    e = encodings[i]
                    ids[row, : len(e.ids)] = e.ids
                    mask[row, : len(e.ids)] = e.attention_mask
                    types[row, : len(e.ids)] = e.type_ids
                hidden = self._hidden(ids, mask, types)
                weights = mask[..., None].astype(np.float32)
                pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
                vectors[batch] = _unit(pooled)
                if spans is not None:
                    for row, i in enumerate(batch):
                        span_vectors[i] = self._pool_spans(
                            hidden[row, : len(encodings[i].ids)],
                            encodings[i].offsets,
                            encodings[i].special_tokens_mask,
                            spans[i],
                            vectors[i],
                        )
        return vectors, span_vectors

    def _pool_spans(
        self, hidden: np.ndarray, offsets: list[tuple[int, int]], special: list[int], spans: Spans, whole: np.ndarray
    ) -> np.ndarray:
        starts = np.array([s for s, _ in offsets])
        ends = np.array([e for _, e in offsets])
        real = np.array(special) == 0
        out = np.empty((len(spans), self.dimension), dtype=np.float32)
        for n, (start, end) in enumerate(spans):
            inside = real & (starts >= start) & (ends <= end) & (ends > starts)
            out[n] = _unit(hidden[inside].mean(axis=0)[None, :])[0] if inside.any() else whole  # cut off: the chunk speaks
        return out

    def _hidden(self, ids: np.ndarray, mask: np.ndarray, types: np.ndarray) -> np.ndarray:
        """Last hidden states, [batch, tokens, dimension]."""
        raise NotImplementedError


def _unit(rows: np.ndarray) -> np.ndarray:
    rows = np.asarray(rows, dtype=np.float32)
    return rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)
