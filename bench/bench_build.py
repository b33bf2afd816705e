"""Build speed: `qa build` (cold) against plain `SentenceTransformer.encode` of the same text, same run.

Prints figures; asserts nothing. Words/s counts the words of the embedded texts (title | source |
date prefix and chunk), so both sides are measured on exactly the same input. A second, unchanged
build shows what an incremental build costs when nothing changed.

    .venv/bin/python bench/bench_build.py [--articles 200]   # 0: the whole corpus
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import qa
from qa.chunking import Chunk, embed_text
from qa.embedding import resolve_model
from qa.embedding.torch_backend import load_sentence_transformer
from qa.storage import Index
from qa.storage.metadata import article_columns, article_from_row

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpora" / "multihop_rag_articles.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--articles", type=int, default=200)
    args = parser.parse_args()
    if not CORPUS.exists():
        sys.exit(f"{CORPUS} is not here; it lives in the shared folder beside the checkout")
    lines = CORPUS.read_text(encoding="utf-8").splitlines()
    lines = lines[: args.articles] if args.articles else lines
    with tempfile.TemporaryDirectory() as scratch:
        articles = Path(scratch) / "articles"
        articles.mkdir()
        (articles / "corpus.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
        config = qa.Config.from_env().with_overrides(articles=articles, index=Path(scratch) / "index")
        started = time.perf_counter()
        report = qa.build_index(config)
        build_seconds = time.perf_counter() - started
        index = Index(config.index)
        rows = index.connection.execute(
            f"SELECT {article_columns('a')}, c.start, c.end FROM chunks c JOIN articles a ON a.key = c.article"
        )
        texts = [embed_text(article_from_row(r[:8]), Chunk("", r[8], r[9], (), 0, "")) for r in rows]
        words = sum(len(t.split()) for t in texts)
        started = time.perf_counter()
        qa.build_index(config)
        unchanged_seconds = time.perf_counter() - started
        model = load_sentence_transformer(resolve_model(config.model))
        started = time.perf_counter()
        model.encode(texts, batch_size=32, normalize_embeddings=True)
        encode_seconds = time.perf_counter() - started
    result = {
        "articles": report.articles,
        "chunks": report.chunks,
        "words": words,
        "encoder_backend": index.manifest["encoder_backend"],
        "build_seconds": round(build_seconds, 1),
        "build_words_per_s": round(words / build_seconds),
        "build_chunks_per_s": round(report.chunks / build_seconds, 1),
        "st_encode_seconds": round(encode_seconds, 1),
        "st_encode_words_per_s": round(words / encode_seconds),
        "ratio": round(encode_seconds / build_seconds, 2),
        "unchanged_rebuild_seconds": round(unchanged_seconds, 2),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
