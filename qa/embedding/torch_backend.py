"""The PyTorch backends: the reference transformer run, and sentence-transformers for any other model."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from tokenizers import Tokenizer

from ..config import Config
from .base import Encoder, ModelFiles, Spans

__all__ = ["TorchEncoder", "SentenceTransformersEncoder", "load_sentence_transformer"]


def load_sentence_transformer(files: ModelFiles):  # type: ignore[no-untyped-def]
    """The model as sentence-transformers loads it, from local files only (imports torch: seconds)."""
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # a "Loading weights" bar on every start is noise
    transformers_logging.set_verbosity_error()
    return SentenceTransformer(str(files.folder), device="cpu", local_files_only=True)


class TorchEncoder(Encoder):
    """The transformer of a mean-pooling model run by PyTorch; pooling is the base class's."""

    backend = "torch"

    def __init__(self, files: ModelFiles, config: Config, *, max_tokens: int) -> None:
        import torch

        self._torch = torch
        model = load_sentence_transformer(files)
        self._transformer = model[0].auto_model.eval()
        self.dimension = int(model.get_embedding_dimension())
        tokenizer = Tokenizer.from_file(str(files.folder / "tokenizer.json"))
        super().__init__(files.model_id, tokenizer, max_tokens=max_tokens, batch_size=config.batch_size)

    def _hidden(self, ids: np.ndarray, mask: np.ndarray, types: np.ndarray) -> np.ndarray:
        torch = self._torch
        with torch.inference_mode():
            out = self._transformer(
                input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask), token_type_ids=torch.from_numpy(types)
            )
        return out.last_hidden_state.numpy()


class SentenceTransformersEncoder(Encoder):
    """Any other sentence-transformers model (CLS pooling, extra layers…), encoded by the library itself.

    Sentence vectors cannot be pooled from a chunk's tokens here, so each sentence is embedded on
    its own at build time: slower builds, the same query path.
    """

    backend = "sentence-transformers"

    def __init__(self, files: ModelFiles, config: Config) -> None:
        self._model = load_sentence_transformer(files)
        self.dimension = int(self._model.get_embedding_dimension())
        tokenizer = self._model.tokenizer.backend_tokenizer
        super().__init__(files.model_id, tokenizer, max_tokens=int(self._model.max_seq_length), batch_size=config.batch_size)

    def encode_chunks(self, texts: Sequence[str], spans: Sequence[Spans] | None) -> tuple[np.ndarray, list[np.ndarray]]:
        with self._lock:
            vectors = self._st(list(texts))
            if spans is None:
                return vectors, [np.zeros((0, self.dimension), dtype=np.float32)] * len(texts)
            pieces = [text[s:e] for text, text_spans in zip(texts, spans) for s, e in text_spans]
            flat = self._st(pieces)
        out, at = [], 0
        for text_spans in spans:
            out.append(flat[at : at + len(text_spans)])
            at += len(text_spans)
        return vectors, out

    def _st(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self._model.encode(texts, batch_size=self.batch_size, convert_to_numpy=True, normalize_embeddings=True)
        return np.ascontiguousarray(vectors, dtype=np.float32)
