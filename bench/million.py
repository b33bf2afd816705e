"""One million chunks: load time, retrieve() latency without the encoder, peak memory.

    .venv/bin/python bench/million.py build   # writes bench/out/million/ (~10 GB, several minutes)
    .venv/bin/python bench/million.py query   # a fresh process: load, 200 questions, p50/p99, peak RSS

The keyword and metadata side hold real text: the corpus index's articles and chunks (with their
real sentence vectors) copied until there are a million chunks, each copy with its own ids and
dates. The vector side is synthetic: clustered random unit vectors (the questions' real vectors
would find nothing in them, so dense candidates are found but arbitrary). The query process never
loads the model: questions are encoded beforehand by the build step.
"""

from __future__ import annotations

import datetime as dt
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np
import tantivy

import qa
from qa.chunking import chunk_id
from qa.engine import engine_for
from qa.storage import FILE_NAME, FORMAT, FORMAT_VERSION, Filter, Index, vector_file
from qa.storage.keyword import KeywordIndex, analyze
from qa.storage.metadata import connect
from qa.storage.vectors import build_vectors, factory_for, write_vectors

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "bench" / "out" / "multihop" / "default"
OUT = ROOT / "bench" / "out" / "million"
TARGET = 1_000_000


def build() -> None:
    started = time.perf_counter()
    config = qa.Config.from_env()
    source = Index(SOURCE)
    folder = OUT / "index"
    if folder.exists():
        import shutil

        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    articles = source.connection.execute(
        "SELECT key, id, hash, file, title, date, source, source_fold, url, author, text, story, names FROM articles"
    ).fetchall()
    chunks = source.connection.execute(
        "SELECT c.article, c.ordinal, c.start, c.end, c.token_count, c.content_hash, c.sentences, "
        "s.vectors FROM chunks c JOIN sentence_vectors s ON s.chunk = c.id"
    ).fetchall()
    by_article: dict[int, list[tuple]] = {}
    for row in chunks:
        by_article.setdefault(row[0], []).append(row)
    copies = -(-TARGET // len(chunks))
    db = connect(folder / FILE_NAME, create=True)
    db.execute("PRAGMA synchronous = OFF")
    keywords = KeywordIndex(folder, create=True)
    terms: dict[tuple[int, int], str] = {}
    rng = np.random.default_rng(0)
    d = source.dimension
    centres = rng.standard_normal((2000, d)).astype(np.float32)
    ids: list[int] = []
    db.execute("BEGIN")
    count = 0
    for copy in range(copies):
        for a in articles:
            key, article_id, ahash, file, title, date, src, fold, url, author, text, story, names = a
            new_id = f"{article_id}~{copy}"
            new_date = (date + copy) if date else None
            cur = db.execute(
                "INSERT INTO articles (id, hash, file, title, date, source, source_fold, url, author, text, story, names) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (new_id, ahash, file, title, new_date, src, fold, url, author, text, f"{story}~{copy}", names),
            )
            for c in by_article.get(key, []):
                if count >= TARGET:
                    break
                _, ordinal, start, end, tokens, chash, sentences, svec = c
                cid = chunk_id(new_id, start, end, chash)
                vector = centres[(key * 7 + ordinal) % 2000] + 0.6 * rng.standard_normal(d).astype(np.float32)
                vector /= np.linalg.norm(vector)
                db.execute(
                    "INSERT INTO chunks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (cid, cur.lastrowid, ordinal, start, end, tokens, chash, sentences, vector.astype(np.float16).tobytes()),
                )
                db.execute("INSERT INTO sentence_vectors VALUES (?, ?)", (cid, svec))
                if (key, ordinal) not in terms:
                    prefix = " | ".join(
                        p for p in ((title or "")[:160], src or "", dt.date.fromordinal(date).isoformat() if date else "") if p
                    )
                    terms[(key, ordinal)] = " ".join(analyze(f"{prefix}\n{text[start:end]}"))
                keywords.writer.add_document(
                    tantivy.Document(text=terms[(key, ordinal)], chunk=cid, article=new_id, date=new_date or 0, source=fold)
                )
                ids.append(cid)
                count += 1
        if copy % 10 == 0:
            print(f"copy {copy + 1}/{copies}: {count:,} chunks, {time.perf_counter() - started:.0f} s", flush=True)
    keywords.commit()
    print(f"metadata and keywords written: {time.perf_counter() - started:.0f} s", flush=True)
    rows = db.execute("SELECT id, vector FROM chunks").fetchall()
    vid = np.array([r[0] for r in rows], dtype=np.int64)
    vectors = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float16).reshape(-1, d).astype(np.float32)
    factory = factory_for(len(vid), d, config.exact_below)
    t = time.perf_counter()
    index = build_vectors(factory, vid, vectors)
    print(f"{factory}: trained and filled in {time.perf_counter() - t:.0f} s", flush=True)
    (folder / "vectors").mkdir()
    write_vectors(index, folder / vector_file(1))
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "generation": 1,
        "model": source.model_id,
        "encoder_backend": "synthetic",
        "dimension": d,
        "max_tokens": source.manifest["max_tokens"],
        "articles": db.execute("SELECT count(*) FROM articles").fetchone()[0],
        "chunks": len(vid),
        "vectors": vector_file(1),
        "factory": factory,
        "stories": source.manifest["stories"],
        "articles_folder": "",
        "built_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "trained_on": len(vid),
    }
    db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", [(k, json.dumps(v)) for k, v in meta.items()])
    db.execute("COMMIT")
    # The questions, made into queries once with the real encoder, for the query process.
    engine = engine_for(SOURCE, config)
    questions = [json.loads(line)["question"] for line in (ROOT / "bench" / "dev_questions.jsonl").read_text().splitlines()][:200]
    queries = [engine.make_query(q, engine.index())[0] for q in questions]
    np.save(OUT / "vectors.npy", np.array([q.vector for q in queries]))
    (OUT / "queries.json").write_text(json.dumps([{"text": q.text, "status": q.status} for q in queries]))
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    print(
        f"built {len(vid):,} chunks in {time.perf_counter() - started:.0f} s; {size / 1e9:.2f} GB on disk "
        f"({size / len(vid):.0f} bytes per chunk)"
    )


def query() -> None:
    from qa.query import Query, keyword_terms, parse_constraints
    from qa.retrieval import search

    config = qa.Config.from_env()
    started = time.perf_counter()
    index = Index(OUT / "index", nprobe=config.ivf_nprobe)
    loaded = time.perf_counter() - started
    vectors = np.load(OUT / "vectors.npy")
    items = json.loads((OUT / "queries.json").read_text())
    sources = index.sources()

    def run(where: Filter, pairs: list) -> np.ndarray:  # type: ignore[type-arg]
        times = []
        for item, vector in pairs:
            t = time.perf_counter()
            q = Query(item["text"], vector, parse_constraints(item["text"], sources), item["status"], keyword_terms(item["text"]))
            search(index, q, 5, mode="hybrid", where=where, config=config)
            times.append(time.perf_counter() - t)
        return np.array(times) * 1000

    pairs = list(zip(items, vectors))
    cold = run(Filter(), pairs)  # the first pass reads the metadata from disk: the page cache is cold
    warm = run(Filter(), pairs)
    broad = run(Filter(("the verge", "techcrunch")), pairs[:50])
    narrow = run(Filter(("the verge",), dt.date(2023, 11, 1), dt.date(2023, 11, 30)), pairs[:50])
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    size = sum(p.stat().st_size for p in (OUT / "index").rglob("*") if p.is_file())
    print(
        f"{index.manifest['chunks']:,} chunks, vectors {index.factory}, {size / 1e9:.1f} GB ({size / index.manifest['chunks']:,.0f} "
        f"bytes per chunk): load {loaded:.2f} s; retrieve() without the encoder over {len(pairs)} questions: first pass "
        f"p50 {np.percentile(cold, 50):.1f} ms, p99 {np.percentile(cold, 99):.1f} ms; second pass p50 {np.percentile(warm, 50):.1f} ms, "
        f"p99 {np.percentile(warm, 99):.1f} ms; sources= two large outlets p50 {np.percentile(broad, 50):.1f} ms; one outlet and "
        f"one month p50 {np.percentile(narrow, 50):.1f} ms; peak RSS {peak:.0f} MB"
    )


if __name__ == "__main__":
    {"build": build, "query": query}[sys.argv[1] if len(sys.argv) > 1 else "query"]()
