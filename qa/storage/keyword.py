"""The keyword side: a tantivy index (Lucene-class BM25, segments, deletes) keyed by chunk id.

Text is analysed here, not by tantivy, so that the index and the question agree exactly:
lower-cased words of two or more characters, English stopwords out, Snowball-stemmed (the
analysis bm25s used before, so rankings carry over), joined by spaces for tantivy's
whitespace tokenizer. Each document also carries its article id (to delete an article's
chunks by one term), its publication date as an ordinal and its casefolded source, so filters
are part of the query and top-k stays tantivy's block-max WAND search: no score array over
every chunk, whatever the index size.

Each generation has a keyword index of its own (`keywords.gNNNNNNNN`, named by the metadata's
manifest): a build stages the next one beside the current one (`stage_keywords`), applies its
changes and commits it before the metadata commit publishes it, so a reader sees the metadata and
the keyword index of one generation, old or new, never a mix, whenever a build is killed.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import Stemmer
import tantivy
from bm25s.stopwords import STOPWORDS_EN

from .lru import LRU

__all__ = ["KeywordIndex", "analyze", "keyword_generation", "stage_keywords", "KEYWORD_DIR", "BALLAST"]

KEYWORD_DIR = "keywords"
#: The one term of ballast documents: a shard's keyword index gets a few, so that its average chunk
#: length (BM25's length normalisation) is that of the whole shard set (`qa/storage/split.py`).
#: `analyze` never yields it (it has no word characters), so no question matches it.
BALLAST = "#"
_WORD = re.compile(r"(?u)\b\w\w+\b")
_STOPWORDS = frozenset(STOPWORDS_EN)
_STEMMER = Stemmer.Stemmer("english")


def analyze(text: str) -> list[str]:
    """The terms of a text: what is indexed for a chunk and searched for a question."""
    return _STEMMER.stemWords([w for w in _WORD.findall(text.casefold()) if w not in _STOPWORDS])


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("text", stored=False, tokenizer_name="whitespace")
    builder.add_integer_field("chunk", stored=False, indexed=True, fast=True)
    builder.add_text_field("article", stored=False, tokenizer_name="raw")
    builder.add_integer_field("date", stored=False, indexed=True, fast=True)
    builder.add_text_field("source", stored=False, tokenizer_name="raw")
    return builder.build()


def keyword_generation(generation: int) -> str:
    """The folder (in the index folder) of a generation's keyword index."""
    return f"{KEYWORD_DIR}.g{generation:08d}"


def stage_keywords(folder: Path, current: str | None, name: str) -> None:
    """A new generation's keyword index at `folder / name`, starting as `current` (or empty).

    tantivy never changes a file in place (segments are immutable; a commit writes new files and
    replaces `meta.json` by a rename), so the new generation starts as hard links to the current
    one's files: cheap at any size, and what the new generation's writer changes or collects never
    touches the files the current generation (still serving) reads. A build killed at any moment
    leaves the current generation whole; the next build starts its own staging afresh.
    """
    target = folder / name
    if target.exists():
        shutil.rmtree(target)  # a build killed before its commit left it
    target.mkdir(parents=True)
    source = folder / current if current else None
    for path in source.iterdir() if source and source.is_dir() else ():
        if path.is_file() and not path.name.startswith(".tantivy-"):  # lock files belong to their writer
            os.link(path, target / path.name)


class KeywordIndex:
    def __init__(
        self, folder: Path, *, create: bool = False, name: str = KEYWORD_DIR, heap_mb: int = 64, threads: int = 1
    ) -> None:
        """`heap_mb` and `threads` size the writer (`Config.keyword_heap_mb`, `keyword_threads`)."""
        self._heap, self._threads = heap_mb * 1_000_000, threads
        path = folder / name
        if create:
            path.mkdir(parents=True, exist_ok=True)
        self._index = tantivy.Index(_schema(), path=str(path), reuse=True)
        self.schema = self._index.schema
        self._searcher = self._index.searcher()
        self._writer: tantivy.IndexWriter | None = None
        self._term_max: LRU[str, float] = LRU(100_000)  # the best score each term reaches: bounded

    # --- reading --------------------------------------------------------------------------------

    @property
    def size(self) -> int:
        return int(self._searcher.num_docs)

    def _terms(self, terms: Sequence[str], boosts: Mapping[str, float] | None = None) -> tantivy.Query:
        """Any of the terms; `boosts` scale a term's score (a shard's scores on the whole set's statistics)."""

        def one(term: str) -> tantivy.Query:
            query = tantivy.Query.term_query(self.schema, "text", term)
            boost = boosts.get(term, 1.0) if boosts else 1.0
            return query if boost == 1.0 else tantivy.Query.boost_query(query, boost)

        return tantivy.Query.boolean_query([(tantivy.Occur.Should, one(t)) for t in terms])

    def _filtered(self, query: tantivy.Query, sources: Sequence[str], since: int | None, until: int | None) -> tantivy.Query:
        clauses = [(tantivy.Occur.Must, query)]
        if sources:
            clauses.append((tantivy.Occur.Must, tantivy.Query.term_set_query(self.schema, "source", list(sources))))
        if since or until:  # undated chunks carry 0 and never match a date range
            clauses.append(
                (
                    tantivy.Occur.Must,
                    tantivy.Query.range_query(self.schema, "date", tantivy.FieldType.Integer, since or 1, until or 10**7),
                )
            )
        return tantivy.Query.boolean_query(clauses) if len(clauses) > 1 else query

    def _run(self, query: tantivy.Query, limit: int) -> tuple[np.ndarray, np.ndarray]:
        hits = self._searcher.search(query, limit, count=False).hits
        if not hits:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        ids = self._searcher.fast_field_values("chunk", [address for _, address in hits])
        return np.array(ids, dtype=np.int64), np.array([score for score, _ in hits], dtype=np.float32)

    def search(
        self,
        terms: Sequence[str],
        limit: int,
        *,
        sources: Sequence[str] = (),
        since: int | None = None,
        until: int | None = None,
        boosts: Mapping[str, float] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The `limit` best chunks by BM25 among those the filters admit: ids and scores."""
        if not terms or limit <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        return self._run(self._filtered(self._terms(terms, boosts), sources, since, until), limit)

    def scores(self, terms: Sequence[str], ids: np.ndarray, boosts: Mapping[str, float] | None = None) -> np.ndarray:
        """BM25 of the given chunks (0 where no term occurs)."""
        out = np.zeros(len(ids), dtype=np.float32)
        if not terms or not len(ids):
            return out
        only = tantivy.Query.const_score_query(tantivy.Query.term_set_query(self.schema, "chunk", [int(i) for i in ids]), 0.0)
        query = tantivy.Query.boolean_query([(tantivy.Occur.Must, only), (tantivy.Occur.Must, self._terms(terms, boosts))])
        found, scores = self._run(query, len(ids))
        where = {int(i): n for n, i in enumerate(ids)}
        for chunk, score in zip(found, scores):
            out[where[int(chunk)]] = score
        return out

    def term_max(self, term: str) -> float:
        """The best BM25 score `term` alone reaches in any chunk (cached for this generation)."""
        if term not in self._term_max:
            _, scores = self._run(tantivy.Query.term_query(self.schema, "text", term), 1)
            self._term_max[term] = float(scores[0]) if len(scores) else 0.0
        return self._term_max[term]

    def statistics(self, terms: Sequence[str]) -> tuple[int, list[int]]:
        """Documents, and documents holding each term: what BM25's idf is made of."""
        return int(self._searcher.num_docs), [int(self._searcher.doc_freq("text", t)) for t in terms]

    # --- writing --------------------------------------------------------------------------------

    @property
    def writer(self) -> tantivy.IndexWriter:
        if self._writer is None:
            self._writer = self._index.writer(heap_size=self._heap, num_threads=self._threads)
        return self._writer

    def delete_articles(self, article_ids: Iterable[str]) -> None:
        for article_id in article_ids:
            self.writer.delete_documents_by_term("article", article_id)

    def delete_all(self) -> None:
        self.writer.delete_all_documents()

    def add(self, chunk_id: int, article_id: str, text: str, date: int, source: str) -> list[str]:
        """Index one chunk; returns its terms (their number is its length, for BM25)."""
        terms = analyze(text)
        self.writer.add_document(
            tantivy.Document(text=" ".join(terms), chunk=chunk_id, article=article_id, date=date, source=source)
        )
        return terms

    def add_ballast(self, lengths: Sequence[int]) -> None:
        """Documents that no question can match, of the given lengths (see `BALLAST`)."""
        for length in lengths:
            self.writer.add_document(tantivy.Document(text=" ".join([BALLAST] * length), chunk=-1, article="", date=0, source=""))

    def commit(self) -> None:
        if self._writer is not None:
            self._writer.commit()
            self._writer.wait_merging_threads()
            self._writer = None
            self._index.reload()
            self._searcher = self._index.searcher()
