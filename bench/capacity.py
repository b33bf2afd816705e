"""Inputs of the capacity model (bench/README.md), measured here, and the model's table derived from them.

    .venv/bin/python bench/capacity.py [--index bench/out/multihop/default] [--million bench/out/million]

Measured:
- the encoder's chunks/s on one thread and on all cores (ONNX Runtime, 256-token corpus chunks);
- bytes per chunk on disk of the corpus index (exact `IDMap2,Flat`) and, when bench/out/million
  exists, of the 1M-chunk `IVF-PQ` index; FAISS bytes per chunk in RAM for both types;
- chunks per article of the corpus;
- the cost of `qa shard` per chunk (the merge/split step of a sharded build).
Derived (printed, with the assumptions stated): machines, hours, disk and RAM for 1M, 10M and
100M articles. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import faiss
import numpy as np

import qa
from qa.embedding import load_encoder
from qa.storage import Index
from qa.storage.split import split_index

ROOT = Path(__file__).resolve().parents[1]
CORES_PER_MACHINE = 16  #: an assumed build/serving machine (a common cloud size), for the derived table
BUILD_HOURS = 24.0  #: the derived table sizes the build cluster to finish in a day
CHUNKS_PER_SHARD = 20_000_000  #: one serving shard: 1M measured at p50 41.5 ms; IVF-PQ RAM ~1.3 GB per 20M


def size_of(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def encoder_rate(config: qa.Config, texts: list[str], threads: int) -> float:
    encoder = load_encoder(config.with_overrides(threads=threads))
    encoder.encode(texts[:8])  # warm
    started = time.perf_counter()
    encoder.encode(texts)
    return len(texts) / (time.perf_counter() - started)


def faiss_ram_per_chunk(path: Path) -> float:
    index = faiss.read_index(str(path))
    return len(faiss.serialize_index(index)) / max(index.ntotal, 1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--index", type=Path, default=ROOT / "bench" / "out" / "multihop" / "default")
    parser.add_argument("--million", type=Path, default=ROOT / "bench" / "out" / "million")
    parser.add_argument("--chunks", type=int, default=96)
    args = parser.parse_args()
    config = qa.Config.from_env()
    index = Index(args.index)
    texts = list(index.chunk_texts())[: args.chunks]
    one = encoder_rate(config, texts, 1)
    every = encoder_rate(config, texts, 0)
    chunks, articles = int(index.manifest["chunks"]), int(index.manifest["articles"])
    per_article = chunks / articles
    flat_disk = size_of(args.index.resolve()) / chunks
    flat_ram = faiss_ram_per_chunk(index.folder / index.manifest["vectors"])
    work = Path(tempfile.mkdtemp(prefix="qa-capacity-"))
    try:
        started = time.perf_counter()
        split_index(config.with_overrides(index=args.index), work / "s", 4)
        split_per_chunk = (time.perf_counter() - started) / chunks
    finally:
        shutil.rmtree(work, ignore_errors=True)
    ivf_disk, ivf_ram = 9_682.0, 56.0  # bench/README.md (1M chunks) when the 1M index is not here
    if (args.million / "qa.sqlite").exists():
        million = Index(args.million)
        ivf_disk = size_of(args.million.resolve()) / int(million.manifest["chunks"])
        ivf_ram = faiss_ram_per_chunk(million.folder / million.manifest["vectors"])
    print(f"encoder (ONNX, {len(texts)} corpus chunks): {one:.2f} chunks/s on 1 thread, {every:.2f} on all cores")
    print(f"corpus: {articles} articles, {chunks} chunks, {per_article:.1f} chunks per article")
    print(
        f"bytes per chunk on disk: exact IDMap2,Flat {flat_disk:,.0f}; IVF-PQ (1M) {ivf_disk:,.0f} "
        "(metadata, text, sentence vectors, tantivy and FAISS included)"
    )
    print(f"FAISS bytes per chunk in RAM: IDMap2,Flat {flat_ram:,.0f}; IVF-PQ {ivf_ram:,.0f}")
    print(f"qa shard (split into 4): {split_per_chunk * 1e6:.0f} µs per chunk")
    print()
    print(
        f"derived, at {one:.2f} chunks/s per core, {CORES_PER_MACHINE}-core machines, a build in {BUILD_HOURS:.0f} h, "
        f"shards of {CHUNKS_PER_SHARD / 1e6:.0f}M chunks:"
    )
    print("| articles | chunks | encoder core-hours | build machines for 24 h | disk (IVF-PQ) | shards | RAM per shard (FAISS) |")
    print("|---|---|---|---|---|---|---|")
    for count in (1_000_000, 10_000_000, 100_000_000):
        total = count * per_article
        core_hours = total / one / 3600
        machines = int(np.ceil(core_hours / BUILD_HOURS / CORES_PER_MACHINE))
        shards = int(np.ceil(total / CHUNKS_PER_SHARD))
        print(
            f"| {count / 1e6:.0f}M | {total / 1e6:.1f}M | {core_hours:,.0f} | {machines} | {total * ivf_disk / 1e12:.2f} TB | "
            f"{shards} | {min(total, CHUNKS_PER_SHARD) * ivf_ram / 1e9:.1f} GB |"
        )


if __name__ == "__main__":
    main()
