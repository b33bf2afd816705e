"""Shared fixtures: real model, real FAISS, real indexes built in temporary folders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from qa import Config, build_index

ROOT = Path(__file__).resolve().parents[1]
ARTICLES = ROOT / "articles"
SHARED = ROOT.parent / "shared"
NEWER = "003_6d5d5bb868c4c0db.txt"  # Moscow Times, 2022-02-23: the summit is called off
OLDER = "000_9da13dacb9154aa5.txt"  # NBC, undated: the summit agreed "in principle"


def shared_file(relative: str) -> Path:
    path = SHARED / relative
    if not path.exists():
        pytest.skip(f"{path} is not here (the shared folder lives beside the checkout)")
    return path


@pytest.fixture(scope="session")
def seeds(tmp_path_factory: pytest.TempPathFactory) -> Config:
    """A config whose index holds the two sample articles."""
    config = Config(articles=ARTICLES, index=tmp_path_factory.mktemp("seeds") / "default")
    build_index(config)
    return config


def write(folder: Path, name: str, text: str | bytes) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path
