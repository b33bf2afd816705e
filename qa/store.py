"""Store: the on-disk index (FAISS vectors, BM25, chunks, articles, manifest) and how it is built.

An index is a folder. `index/default` is a symbolic link to the folder of the
latest build; a build writes a new folder and then swaps the link in one
atomic rename, so readers never see half an index and a failed build leaves
the previous one serving. Save and load are written side by side, one block
per component, and the manifest's format version guards both.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import bm25s
import faiss
import numpy as np
import Stemmer

from .chunking import Chunker, embed_text
from .config import Config
from .embedding import Embedder, load_embedder
from .errors import BuildError, CorruptIndexError, IndexMismatchError, IndexNotFoundError
from .ingest import load_articles
from .records import Article, Chunk, IngestWarning, Sentence
from .stories import StoryMember, assign_stories, linking_settings

__all__ = ["Index", "BuildReport", "build_index", "open_index", "bm25_tokens", "FORMAT_VERSION"]

FORMAT_VERSION = 2  #: 2: stories.jsonl
_STEMMER = Stemmer.Stemmer("english")


def bm25_tokens(texts: list[str]) -> list[list[str]]:
    """The one tokenizer for BM25, used for chunks at build time and questions at query time."""
    return bm25s.tokenize(texts, stopwords="en", stemmer=_STEMMER, return_ids=False, show_progress=False)


@dataclass
class Index:
    """A loaded index. Mutable only while it is assembled; treat it as read-only afterwards."""

    path: Path
    manifest: dict[str, Any]
    articles: dict[str, Article]
    chunks: list[Chunk]
    vectors: faiss.Index
    bm25: bm25s.BM25
    stories: dict[str, StoryMember]  #: by article id

    def __post_init__(self) -> None:
        # Per-chunk columns for filters: publication date as an ordinal (0 = undated) and source.
        self.chunk_dates = np.array(
            [d.toordinal() if (d := self.articles[c.article_id].date) else 0 for c in self.chunks], dtype=np.int64
        )
        self.chunk_sources = [(self.articles[c.article_id].source or "").casefold() for c in self.chunks]
        self.sources = sorted({a.source for a in self.articles.values() if a.source})
        # Stories: each story's articles, and each chunk's story as a small integer for array tests.
        self.story_articles: dict[str, list[str]] = {}
        for member in self.stories.values():
            self.story_articles.setdefault(member.story, []).append(member.article_id)
        codes = {story: n for n, story in enumerate(self.story_articles)}
        self.chunk_stories = np.array([codes[self.stories[c.article_id].story] for c in self.chunks], dtype=np.int64)
        self.article_chunks: dict[str, list[int]] = {}
        for i, chunk in enumerate(self.chunks):
            self.article_chunks.setdefault(chunk.article_id, []).append(i)

    def story_of(self, article_id: str) -> list[Article]:
        """The articles of the story that `article_id` belongs to, oldest first (undated last)."""
        members = self.story_articles[self.stories[article_id].story]
        return sorted((self.articles[a] for a in members), key=lambda a: (a.date or dt.date.max, a.id))

    @property
    def model_id(self) -> str:
        return str(self.manifest["model"])

    def article_of(self, chunk: Chunk) -> Article:
        return self.articles[chunk.article_id]


@dataclass(frozen=True)
class BuildReport:
    path: Path
    articles: int
    chunks: int
    embedded: int  #: chunks embedded now; the rest were reused by content hash
    linked: int  #: articles linked into stories now; the rest kept the story they had
    seconds: float
    warnings: tuple[IngestWarning, ...]

    @property
    def chunks_per_second(self) -> float:
        return self.chunks / self.seconds if self.seconds else 0.0

    def summary(self) -> str:
        return (
            f"indexed {self.articles} articles, {self.chunks} chunks ({self.embedded} embedded, "
            f"{self.chunks - self.embedded} reused; {self.linked} articles linked into stories) in {self.seconds:.1f} s, "
            f"{self.chunks_per_second:.1f} chunks/s, {len(self.warnings)} warnings → {self.path}"
        )


# --- save / load ---------------------------------------------------------------------------------


def _save(folder: Path, manifest: dict[str, Any], articles: list[Article], chunks: list[Chunk],
          vectors: np.ndarray, bm25_texts: list[str], stories: list[StoryMember]) -> None:
    folder.mkdir(parents=True)
    # Articles: metadata and cleaned text, one JSON object a line.
    with open(folder / "articles.jsonl", "w", encoding="utf-8") as out:
        for article in articles:
            record = asdict(article) | {"date": article.date.isoformat() if article.date else None}
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    # Chunks: spans into the article text, sentences with their resolved dates.
    with open(folder / "chunks.jsonl", "w", encoding="utf-8") as out:
        for chunk in chunks:
            record = asdict(chunk) | {
                "sentences": [[s.start, s.end, s.refers_to.isoformat() if s.refers_to else None] for s in chunk.sentences]
            }
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    # Vectors: exact inner product over unit vectors, i.e. cosine similarity.
    flat = faiss.IndexFlatIP(vectors.shape[1])
    flat.add(vectors)
    faiss.write_index(flat, str(folder / "vectors.faiss"))
    # BM25: bm25s's own format (it records its parameters and vocabulary).
    bm25 = bm25s.BM25()
    bm25.index(bm25_tokens(bm25_texts), show_progress=False)
    bm25.save(str(folder / "bm25"), show_progress=False)
    # Stories: each article's story and the names it was linked by, with the article's hash so that
    # the next build keeps the story of an unchanged article and links only new ones.
    hashes = {a.id: article_hash(a) for a in articles}
    with open(folder / "stories.jsonl", "w", encoding="utf-8") as out:
        for member in stories:
            record = {"article_id": member.article_id, "story": member.story, "names": sorted(member.names),
                      "hash": hashes[member.article_id]}
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    # Manifest last: a folder without one is an unfinished build.
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def _load(folder: Path) -> Index:
    manifest = _read_manifest(folder)
    try:
        # Articles.
        articles: dict[str, Article] = {}
        for line in (folder / "articles.jsonl").read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            record["date"] = dt.date.fromisoformat(record["date"]) if record["date"] else None
            articles[record["id"]] = Article(**record)
        # Chunks.
        chunks: list[Chunk] = []
        for line in (folder / "chunks.jsonl").read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            record["sentences"] = tuple(
                Sentence(s, e, dt.date.fromisoformat(d) if d else None) for s, e, d in record["sentences"]
            )
            chunks.append(Chunk(**record))
        # Vectors.
        vectors = faiss.read_index(str(folder / "vectors.faiss"))
        # BM25.
        bm25 = bm25s.BM25.load(str(folder / "bm25"), show_progress=False)
        # Stories.
        stories = {
            article_id: dataclasses.replace(member, date=articles[article_id].date, source=articles[article_id].source)
            for article_id, (_, member) in _read_stories(folder).items() if article_id in articles
        }
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as error:
        raise CorruptIndexError(f"index at {folder} is damaged ({type(error).__name__}: {error}); rebuild it with `qa build`") from error
    problems = []
    if vectors.ntotal != len(chunks) or manifest.get("chunks") != len(chunks):
        problems.append(f"{vectors.ntotal} vectors, {len(chunks)} chunks, manifest says {manifest.get('chunks')}")
    if vectors.d != manifest.get("dimension"):
        problems.append(f"vector dimension {vectors.d}, manifest says {manifest.get('dimension')}")
    if any(c.article_id not in articles for c in chunks):
        problems.append("chunks refer to missing articles")
    if stories.keys() != articles.keys():
        problems.append("stories and articles differ")
    if problems:
        raise CorruptIndexError(f"index at {folder} is inconsistent ({'; '.join(problems)}); rebuild it with `qa build`")
    return Index(folder, manifest, articles, chunks, vectors, bm25, stories)


def _read_stories(folder: Path) -> dict[str, tuple[str, StoryMember]]:
    """Each article's story record, by article id, with the article hash it was linked under.

    The members carry no date or source: those belong to the article and are filled from it.
    """
    records: dict[str, tuple[str, StoryMember]] = {}
    for line in (folder / "stories.jsonl").read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        records[r["article_id"]] = (r["hash"], StoryMember(r["article_id"], None, None, frozenset(r["names"]), r["story"]))
    return records


def article_hash(article: Article) -> str:
    """Identity of an article's content and metadata: what story linking saw."""
    return hashlib.sha1(json.dumps(asdict(article) | {"date": str(article.date)}, sort_keys=True).encode()).hexdigest()


def _read_manifest(folder: Path) -> dict[str, Any]:
    if not folder.exists():
        raise IndexNotFoundError(f"no index at {folder}; build one with `qa build --index {folder}`")
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CorruptIndexError(f"{folder} has no manifest.json: not an index, or an unfinished build; rebuild it with `qa build`") from None
    except (OSError, ValueError) as error:
        raise CorruptIndexError(f"manifest of {folder} is unreadable ({error}); rebuild it with `qa build`") from error
    if not isinstance(manifest, dict) or manifest.get("format") != "qa-index":
        raise CorruptIndexError(f"{folder}/manifest.json is not a qa index manifest; rebuild it with `qa build`")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IndexMismatchError(
            f"index at {folder} has format version {manifest.get('format_version')}, this qa reads {FORMAT_VERSION}; "
            "rebuild it with `qa build`"
        )
    return manifest


_CACHE: dict[tuple[str, str], tuple[str, Index]] = {}


def open_index(path: Path | str, *, model_id: str) -> Index:
    """The index at `path`, loaded once per build; refuses one built with another model."""
    folder = Path(path)
    real = folder.resolve()
    manifest = _read_manifest(real)
    if manifest.get("model") != model_id:
        raise IndexMismatchError(
            f"index at {folder} was built with model {manifest.get('model')!r}, but the configured model is "
            f"{model_id!r}; rebuild it with `qa build --index {folder}` (or configure the model it was built with)"
        )
    # Keyed by the path asked for, stamped with the build it points to: after a rebuild swaps the
    # link, the next call loads the new build and the old one is dropped from memory.
    stamp = f"{real}@{(real / 'manifest.json').stat().st_mtime}"
    key = (str(folder.absolute()), model_id)
    cached = _CACHE.get(key)
    if cached and cached[0] == stamp:
        return cached[1]
    index = _load(real)
    _CACHE[key] = (stamp, index)
    return index


# --- build ---------------------------------------------------------------------------------------


def build_index(config: Config, *, progress: bool = False, log: Callable[[str], None] = lambda _: None) -> BuildReport:
    """Ingest, chunk, embed and save `config.articles` as the index at `config.index`, atomically."""
    started = time.perf_counter()
    articles, warnings = load_articles(config.articles, max_bytes=config.max_article_bytes)
    for warning in warnings:
        log(str(warning))
    if not articles:
        raise BuildError(f"no readable articles in {config.articles}; the previous index (if any) is unchanged")
    embedder = load_embedder(config.model)
    chunker = Chunker(embedder.tokenizer, max_tokens=min(config.chunk_tokens, embedder.max_tokens), model_id=embedder.model_id)
    chunks = [chunk for article in articles for chunk in chunker.chunk(article)]
    by_id = {a.id: a for a in articles}
    texts = [embed_text(by_id[c.article_id], c) for c in chunks]
    previous = _Previous.read(config.index, embedder.model_id, linking_settings(config))
    vectors, embedded = _embed(embedder, chunks, texts, previous.vectors, progress)
    stories, linked = _link_stories(articles, chunks, vectors, previous, config)
    manifest = {
        "format": "qa-index",
        "format_version": FORMAT_VERSION,
        "model": embedder.model_id,
        "dimension": embedder.dimension,
        "max_tokens": chunker.max_tokens,
        "articles": len(articles),
        "chunks": len(chunks),
        "fingerprint": _fingerprint(articles),
        "stories": linking_settings(config),
        "built_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }
    target = Path(config.index)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    staging = target.parent / f".{target.name}.building-{stamp}"
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        _save(staging, manifest, articles, chunks, vectors, texts, stories)
        final = target.parent / f"{target.name}.{stamp}"
        staging.rename(final)
    except Exception as error:
        shutil.rmtree(staging, ignore_errors=True)
        raise BuildError(f"could not write the index ({error}); the previous index is unchanged") from error
    _swap_link(target, final)
    return BuildReport(target, len(articles), len(chunks), embedded, linked, time.perf_counter() - started, tuple(warnings))


@dataclass
class _Previous:
    """What the current index lets a build reuse: vectors by content hash, stories by article hash.

    Read straight from the files, whatever the format version, so that an upgrade re-embeds
    nothing; only vectors of the same model are reused.
    """

    vectors: dict[str, np.ndarray]
    stories: dict[str, tuple[str, StoryMember]]  #: article id → (article hash, member)

    @classmethod
    def read(cls, path: Path, model_id: str, stories_settings: dict[str, Any]) -> _Previous:
        try:
            folder = Path(path).resolve()
            manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
            if manifest.get("model") != model_id:
                return cls({}, {})
            hashes = [json.loads(line)["content_hash"] for line in (folder / "chunks.jsonl").read_text(encoding="utf-8").splitlines()]
            flat = faiss.read_index(str(folder / "vectors.faiss"))
            stored = flat.reconstruct_n(0, flat.ntotal)
            vectors = dict(zip(hashes, stored))
        except Exception:  # no index yet, or one we cannot read: embed everything
            return cls({}, {})
        if manifest.get("stories") != stories_settings:  # linked by other rules: link every article anew
            return cls(vectors, {})
        try:
            return cls(vectors, _read_stories(folder))
        except Exception:  # an index from before stories: link every article anew
            return cls(vectors, {})


def _link_stories(articles: list[Article], chunks: list[Chunk], vectors: np.ndarray, previous: _Previous,
                  config: Config) -> tuple[list[StoryMember], int]:
    """Stories of unchanged articles are kept; new and changed articles are linked to them.

    Returns every article's story and how many articles were linked now.
    """
    lead: dict[str, int] = {}
    for i, chunk in enumerate(chunks):
        lead.setdefault(chunk.article_id, i)  # the first chunk: title, source, date and lead
    known: list[StoryMember] = []
    fresh: list[Article] = []
    for article in articles:
        kept = previous.stories.get(article.id)
        if kept and kept[0] == article_hash(article):
            known.append(dataclasses.replace(kept[1], date=article.date, source=article.source))
        else:
            fresh.append(article)

    def leads(ids: list[str]) -> np.ndarray:  # an article without chunks links by its names alone
        rows = np.zeros((len(ids), vectors.shape[1]), dtype=np.float32)
        for n, article_id in enumerate(ids):
            if article_id in lead:
                rows[n] = vectors[lead[article_id]]
        return rows

    known_vectors, fresh_vectors = leads([m.article_id for m in known]), leads([a.id for a in fresh])
    linked = {m.article_id: m for m in known + assign_stories(fresh, fresh_vectors, config, known, known_vectors)}
    return [linked[a.id] for a in articles], len(fresh)


def _embed(embedder: Embedder, chunks: list[Chunk], texts: list[str], known: dict[str, np.ndarray],
           progress: bool) -> tuple[np.ndarray, int]:
    vectors = np.zeros((len(chunks), embedder.dimension), dtype=np.float32)
    missing = [i for i, c in enumerate(chunks) if c.content_hash not in known]
    for i, chunk in enumerate(chunks):
        if chunk.content_hash in known:
            vectors[i] = known[chunk.content_hash]
    if missing:
        vectors[missing] = embedder.encode([texts[i] for i in missing], progress=progress)
    return vectors, len(missing)


def _fingerprint(articles: list[Article]) -> str:
    digest = hashlib.sha256()
    for article in sorted(articles, key=lambda a: a.id):
        digest.update(article_hash(article).encode())
    return digest.hexdigest()[:16]


def _swap_link(target: Path, final: Path) -> None:
    """Point `target` at `final` in one atomic rename, then remove the build it replaced."""
    previous = target.resolve() if target.is_symlink() else None
    if target.exists() and not target.is_symlink():
        target.rename(target.parent / f"{target.name}.replaced-{final.name.rsplit('.', 1)[-1]}")
    link = target.parent / f".{target.name}.link-{os.getpid()}"
    link.unlink(missing_ok=True)
    link.symlink_to(final.name)
    os.replace(link, target)
    if previous and previous != final.resolve() and previous.parent == final.parent:
        shutil.rmtree(previous, ignore_errors=True)
