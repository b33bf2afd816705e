"""The ONNX Runtime backend: the configured model exported once, checked against torch, cached.

The export (`torch.onnx.export`, the TorchScript exporter; not `optimum`, which conflicts with
gradio's huggingface-hub) runs on first use and is cached under `Config.cache_dir`, keyed by a
hash of the model's files, so another model or new weights export anew. At export the ONNX
vectors are compared with sentence-transformers' own on a fixed check set; the result is cached
with the model and the backend is used only when the smallest cosine reaches
`Config.onnx_min_cosine`. An int8-quantised copy is opt-in (`Config.quantize`): its vectors
differ, so its model id differs and an index built with it says so.

The transformer is exported with eager attention, not PyTorch's SDPA: only then does ONNX
Runtime's transformer optimizer recognise the graph and fuse each layer into its `Attention`,
`SkipLayerNormalization` and `BiasGelu` kernels (`bench/encoders.py`: about 12% faster on an
AVX2 CPU, same vectors). A model the optimizer does not know is kept as exported.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import warnings
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

from ..config import Config
from .base import Encoder, ModelFiles

__all__ = ["OnnxEncoder", "onnx_model", "EXPORT_VERSION"]

EXPORT_VERSION = 2  #: bump when the export itself changes: cached exports are then redone
_WEIGHTS = ("config.json", "model.safetensors", "pytorch_model.bin", "tokenizer.json")
CHECK_TEXTS = (
    "The United States has called off high-level meetings with Russian President Vladimir Putin.",
    "Summit",
    "Did the summit happen?",
    "Shares of Nvidia rose 4% on Tuesday after the chipmaker reported record data-centre revenue, "
    "beating analysts' estimates for the third quarter in a row.",
    "Le sommet n'aura pas lieu, a déclaré le porte-parole du Kremlin à Moscou.",
    "1,298 chunks; 23 chunks/s; p50 412 ms; $4.5bn; 2022-02-23; U.S.-Russia; e-mail: a@b.example",
    " ".join(["The council met again on Thursday to discuss the harbour, the budget and the storm."] * 20),
    "🙂 emoji, “curly quotes”, em—dashes and naïve café résumé accents.",
)


def _key(files: ModelFiles, quantize: bool) -> str:
    digest = hashlib.sha256(f"qa-onnx-{EXPORT_VERSION}\0{'int8' if quantize else 'fp32'}\0".encode())
    for name in _WEIGHTS:
        path = files.folder / name
        if path.exists():
            digest.update(name.encode())
            with open(path, "rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
    return digest.hexdigest()[:24]


def onnx_model(files: ModelFiles, config: Config, *, max_tokens: int) -> Path | None:
    """The cached ONNX model for `files`, exported now if needed; None when it does not match torch."""
    folder = Path(config.cache_dir).expanduser() / "onnx" / _key(files, config.quantize)
    if not (folder / "check.json").exists():
        _export(files, folder, config, max_tokens)
    check = json.loads((folder / "check.json").read_text(encoding="utf-8"))
    if config.quantize or check["min_cosine"] >= config.onnx_min_cosine:
        return folder / "model.onnx"
    return None


def _export(files: ModelFiles, folder: Path, config: Config, max_tokens: int) -> None:
    import torch

    from .torch_backend import load_sentence_transformer

    model = load_sentence_transformer(files)
    transformer = model[0].auto_model.eval()
    if hasattr(transformer, "set_attn_implementation"):
        transformer.set_attn_implementation("eager")  # a graph the optimizer can fuse (see above)

    class Hidden(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor) -> torch.Tensor:
            return self.transformer(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".export-", dir=folder.parent))
    try:
        example = torch.ones((2, 8), dtype=torch.int64)
        names = ["input_ids", "attention_mask", "token_type_ids"]
        with warnings.catch_warnings():  # the tracer's notes on shapes do not apply: axes are dynamic
            warnings.simplefilter("ignore")
            torch.onnx.export(
                Hidden(),
                (example, example, torch.zeros_like(example)),
                str(staging / "model.onnx"),
                input_names=names,
                output_names=["hidden"],
                opset_version=17,
                dynamo=False,
                dynamic_axes={n: {0: "batch", 1: "tokens"} for n in [*names, "hidden"]},
            )
        fused = _fuse(staging / "model.onnx", files)
        if config.quantize:
            import onnx
            from onnxruntime.quantization import QuantType, quantize_dynamic

            # Per-channel, 7-bit weights: AVX2 without VNNI saturates full-range u8×s8 products
            # (min cosine to torch on corpus chunks 0.896 with full-range weights, 0.987 like this).
            quantize_dynamic(
                str(staging / "model.onnx"),
                str(staging / "int8.onnx"),
                weight_type=QuantType.QInt8,
                per_channel=True,
                reduce_range=True,
                extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
            )
            os.replace(staging / "int8.onnx", staging / "model.onnx")
        reference = model.encode(list(CHECK_TEXTS), convert_to_numpy=True, normalize_embeddings=True)
        candidate = OnnxEncoder(files, staging / "model.onnx", config, max_tokens=max_tokens).encode(list(CHECK_TEXTS))
        cosines = np.sum(reference * candidate, axis=1)
        check = {
            "min_cosine": float(cosines.min()),
            "texts": len(CHECK_TEXTS),
            "torch": torch.__version__,
            "model": files.model_id,
            "quantized": config.quantize,
            "fused": fused,
        }
        (staging / "check.json").write_text(json.dumps(check, indent=2) + "\n", encoding="utf-8")
        try:
            os.rename(staging, folder)  # atomic; another process may have won the race
        except OSError:
            if not (folder / "check.json").exists():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _fuse(path: Path, files: ModelFiles) -> bool:
    """Rewrite `path` with ONNX Runtime's fused transformer kernels; False (file untouched) where it cannot."""
    try:
        settings = json.loads((files.folder / "config.json").read_text(encoding="utf-8"))
        if settings.get("model_type") not in ("bert", "roberta", "xlm-roberta"):  # what the "bert" fusions fit
            return False
        from onnxruntime.transformers.optimizer import optimize_model

        optimized = optimize_model(
            str(path),
            model_type="bert",
            num_heads=int(settings["num_attention_heads"]),
            hidden_size=int(settings["hidden_size"]),
            opt_level=0,
        )
        if not optimized.get_fused_operator_statistics().get("Attention"):
            return False
        optimized.save_model_to_file(str(path.with_suffix(".fused")))
        os.replace(path.with_suffix(".fused"), path)
        return True
    except Exception as error:  # noqa: BLE001 - the optimizer raises many types; the plain export still works
        warnings.warn(f"ONNX Runtime could not fuse {files.model_id}: {type(error).__name__}: {error}", stacklevel=2)
        return False


class OnnxEncoder(Encoder):
    backend = "onnx"

    def __init__(self, files: ModelFiles, model: Path, config: Config, *, max_tokens: int) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = config.threads or (os.cpu_count() or 1)
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        self._session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
        self._inputs = {i.name for i in self._session.get_inputs()}
        self.dimension = int(json.loads((files.folder / "config.json").read_text(encoding="utf-8"))["hidden_size"])
        model_id = f"{files.model_id} [onnx int8]" if config.quantize else files.model_id
        tokenizer = Tokenizer.from_file(str(files.folder / "tokenizer.json"))
        super().__init__(model_id, tokenizer, max_tokens=max_tokens, batch_size=config.batch_size)

    def _hidden(self, ids: np.ndarray, mask: np.ndarray, types: np.ndarray) -> np.ndarray:
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        return self._session.run(None, {k: v for k, v in feeds.items() if k in self._inputs})[0]
