"""Encoder backends side by side on the same chunk texts, same process: chunks/s and cosine to torch.

Prints figures; asserts nothing. The texts are the embedded texts (title | source | date prefix
and chunk) of the first N chunks of a built corpus index (`run_eval.py` builds it), so the token
lengths are the build's.
The reference is plain `SentenceTransformer.encode` (batch 32, normalised), the figure issue 8
compares `qa build` with.

    .venv/bin/python bench/encoders.py [--index bench/out/multihop/default] [--chunks 256] [--variants st,onnx,...]

Variants: `st` (sentence-transformers), `torch` and `onnx` (qa's backends, fp32), `int8` (qa's
opt-in int8 export), `openvino` (the same ONNX file run by OpenVINO, when it is installed).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

import qa
from qa.chunking import Chunk, embed_text
from qa.embedding import Encoder, load_encoder, resolve_model
from qa.embedding.onnx_backend import onnx_model
from qa.embedding.torch_backend import load_sentence_transformer
from qa.storage import Index
from qa.storage.metadata import article_columns, article_from_row

ROOT = Path(__file__).resolve().parents[1]


def chunk_texts(index_folder: Path, count: int) -> list[str]:
    index = Index(index_folder)
    rows = index.connection.execute(
        f"SELECT {article_columns('a')}, c.start, c.end FROM chunks c JOIN articles a ON a.key = c.article ORDER BY c.id LIMIT ?",
        (count,),
    )
    return [embed_text(article_from_row(r[:8]), Chunk("", r[8], r[9], (), 0, "")) for r in rows]


def timed(encode: Callable[[list[str]], np.ndarray], texts: list[str], repeats: int) -> tuple[float, np.ndarray]:
    encode(texts[:32])  # warm-up: first-call allocations and thread pools
    best = float("inf")
    vectors = np.zeros(0)
    for _ in range(repeats):
        started = time.perf_counter()
        vectors = encode(texts)
        best = min(best, time.perf_counter() - started)
    return best, np.asarray(vectors, dtype=np.float32)


def openvino_encoder(config: qa.Config) -> Encoder:
    """qa's ONNX encoder with its export run by OpenVINO instead of ONNX Runtime (same tokenising and pooling)."""
    import openvino as ov

    encoder = load_encoder(replace(config, backend="onnx"))
    exported = onnx_model(resolve_model(config.model), config, max_tokens=encoder.max_tokens)
    assert exported is not None, "the ONNX export does not match torch's vectors"
    compiled = ov.Core().compile_model(str(exported), "CPU", {"PERFORMANCE_HINT": "LATENCY"})
    encoder._hidden = lambda ids, mask, types: compiled(
        {
            "input_ids": ids,
            "attention_mask": mask,  # type: ignore[method-assign]
            "token_type_ids": types,
        }
    )[0]
    return encoder


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--index", type=Path, default=ROOT / "bench" / "out" / "multihop" / "default")
    parser.add_argument("--chunks", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--variants", default="st,torch,onnx,int8")
    args = parser.parse_args()
    texts = chunk_texts(args.index, args.chunks)
    words = sum(len(t.split()) for t in texts)
    config = qa.Config.from_env()
    files = resolve_model(config.model)
    st = load_sentence_transformer(files)
    reference = st.encode(texts, batch_size=32, normalize_embeddings=True)
    # Factories: only the variants asked for are loaded (the int8 export takes a while the first time).
    variants: dict[str, Callable[[], Callable[[list[str]], np.ndarray]]] = {
        "st": lambda: lambda t: st.encode(t, batch_size=32, normalize_embeddings=True),
        "torch": lambda: load_encoder(replace(config, backend="torch")).encode,
        "onnx": lambda: load_encoder(replace(config, backend="onnx")).encode,
        "int8": lambda: load_encoder(replace(config, backend="onnx", quantize=True)).encode,
        "openvino": lambda: openvino_encoder(config).encode,
    }
    results = []
    for name in args.variants.split(","):
        seconds, vectors = timed(variants[name](), texts, args.repeats)
        cosine = float(np.sum(vectors * reference, axis=1).min())
        results.append(
            {
                "variant": name,
                "chunks": len(texts),
                "seconds": round(seconds, 2),
                "chunks_per_s": round(len(texts) / seconds, 1),
                "words_per_s": round(words / seconds),
                "min_cosine_to_st": round(cosine, 6),
            }
        )
        print(json.dumps(results[-1]), flush=True)
    base = next((r for r in results if r["variant"] == "st"), None)
    if base:
        for r in results:
            print(
                f"{r['variant']:>9}: {r['chunks_per_s']:6.1f} chunks/s  {r['chunks_per_s'] / base['chunks_per_s']:.2f}× st  "
                f"min cosine {r['min_cosine_to_st']}"
            )


if __name__ == "__main__":
    main()
