"""The encoder backends: the default ONNX export is fused and gives torch's vectors."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np

from qa.config import Config
from qa.embedding import resolve_model
from qa.embedding.onnx_backend import onnx_model
from qa.engine import shared_encoder

TEXTS = [
    "Did the summit happen?",
    "The United States has called off a planned summit between President Biden and Vladimir Putin. "
    "White House press secretary Jen Psaki said the meeting was no longer on the table.",
    "Shares rose 4% on Tuesday.",
]


def test_default_backend_is_the_fused_onnx_export_and_matches_torch() -> None:
    config = Config()
    onnx = shared_encoder(config)
    assert onnx.backend == "onnx"
    exported = onnx_model(resolve_model(config.model), config, max_tokens=onnx.max_tokens)
    assert exported is not None
    check = json.loads((exported.parent / "check.json").read_text(encoding="utf-8"))
    assert check["fused"] is True, "ONNX Runtime's optimizer no longer fuses the export's attention"
    assert check["min_cosine"] >= config.onnx_min_cosine

    reference = shared_encoder(replace(config, backend="torch"))
    assert reference.backend == "torch" and reference.model_id == onnx.model_id
    second = TEXTS[1].index("White House")
    spans = [[(0, len(TEXTS[0]))], [(0, second - 1), (second, len(TEXTS[1]))], [(0, 6), (7, len(TEXTS[2]))]]
    # One batch of different lengths: padding and the fused attention's mask are exercised.
    a_vectors, a_spans = onnx.encode_chunks(TEXTS, spans)
    b_vectors, b_spans = reference.encode_chunks(TEXTS, spans)
    assert np.sum(a_vectors * b_vectors, axis=1).min() >= 0.9999
    for a, b, text_spans in zip(a_spans, b_spans, spans):
        assert a.shape == b.shape == (len(text_spans), onnx.dimension) and np.sum(a * b, axis=1).min() >= 0.9999
    assert np.sum(a_vectors[0] * a_vectors[2]) < 0.9  # different texts stay different
