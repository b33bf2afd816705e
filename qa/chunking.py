"""Chunking: an `Article` → `Chunk`s of whole sentences that fit the embedding model.

A chunk is embedded together with a short "title | source | date" prefix, so
the prefix's tokens count against the model's limit too. Nothing is ever
truncated silently: a sentence longer than the budget is cut at token
boundaries into pieces that fit. Every chunk and sentence keeps its character
span in the article, so a citation quotes the text exactly.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Protocol

import pysbd

from .dates import resolve_in_sentence
from .records import Article, Chunk, Sentence

__all__ = ["Chunker", "chunk_or_reason", "split_sentences", "embed_prefix", "embed_text", "chunk_id"]

_MAX_PREFIX_CHARS = 160  # a runaway title must not eat the chunk's budget
#: pysbd's time grows with the square of a paragraph's length (66 s for one paragraph of 108 kB), so
#: longer paragraphs are split into pieces of at most this many characters first, at a sentence end
#: where there is one (measured: bench/fuzz.py).
MAX_PARAGRAPH_CHARS = 2_000
_PIECE_END = re.compile(r"[.!?…][\"”’')\]]*\s")


class Tokenizer(Protocol):
    """What chunking needs of the model's tokenizer (an `Encoder` has both)."""

    def count_tokens(self, texts: Sequence[str]) -> list[int]: ...

    def token_offsets(self, text: str) -> list[tuple[int, int]]: ...


@lru_cache(maxsize=1)
def _segmenter() -> pysbd.Segmenter:
    # pysbd compiles ~4,000 distinct regular expressions, more than the `re` module caches (512): it
    # spent over half of chunking recompiling them (bench: 12.5 s → 5.5 s for 40 corpus articles).
    re._MAXCACHE = max(re._MAXCACHE, 8192)  # type: ignore[attr-defined]
    return pysbd.Segmenter(language="en", clean=False)


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans of `text`; paragraphs (blank lines) are always boundaries.

    pysbd knows abbreviations ("U.S.", "U.N.", "Mr."), so it does not split inside them.
    Its own char_span option drifts on repeated sentences, so spans are found here.
    """
    spans: list[tuple[int, int]] = []
    for offset, paragraph in _pieces(text):
        cursor, end = offset, offset + len(paragraph)
        for sentence in _segmenter().segment(paragraph) if paragraph.strip() else []:
            piece = sentence.strip()
            if not piece:
                continue
            start = text.find(piece, cursor, end)
            if start < 0:  # pysbd altered the text; fall back to the whole rest of the piece
                start, piece = cursor, text[cursor:end].strip()
                if not piece:
                    break
            if spans and spans[-1][0] >= offset and not any(ch.isalnum() for ch in piece):
                spans[-1] = (spans[-1][0], start + len(piece))  # a stray closing quote belongs to its sentence
            else:
                spans.append((start, start + len(piece)))
            cursor = start + len(piece)
    return spans


def _pieces(text: str) -> list[tuple[int, str]]:
    """Paragraphs with their offsets; one over `MAX_PARAGRAPH_CHARS` is cut after a sentence end
    in its last half (else at a space, else anywhere), so that no sentence splitter call is long."""
    pieces: list[tuple[int, str]] = []
    offset = 0
    for paragraph in text.split("\n\n"):
        start = 0
        while len(paragraph) - start > MAX_PARAGRAPH_CHARS:
            window = paragraph[start + MAX_PARAGRAPH_CHARS // 2 : start + MAX_PARAGRAPH_CHARS]
            ends = [m.end() for m in _PIECE_END.finditer(window)]
            cut = ends[-1] if ends else (window.rfind(" ") + 1 if " " in window else len(window))
            cut += start + MAX_PARAGRAPH_CHARS // 2
            pieces.append((offset + start, paragraph[start:cut]))
            start = cut
        pieces.append((offset + start, paragraph[start:]))
        offset += len(paragraph) + 2
    return pieces


def embed_prefix(article: Article) -> str:
    """The context embedded with each chunk: retrieval then knows the title, source and date."""
    parts = [
        (article.title or "")[:_MAX_PREFIX_CHARS],
        (article.source or "")[:80],
        article.date.isoformat() if article.date else "",
    ]
    return " | ".join(p for p in parts if p)


def embed_text(article: Article, chunk: Chunk) -> str:
    prefix = embed_prefix(article)
    body = article.text[chunk.start : chunk.end]
    return f"{prefix}\n{body}" if prefix else body


class Chunker:
    """Packs sentences greedily up to `max_tokens`, counted with the model's own tokenizer."""

    def __init__(self, tokenizer: Tokenizer, *, max_tokens: int, model_id: str) -> None:
        self.tokenizer = tokenizer
        self.max_tokens = max_tokens
        self.model_id = model_id

    def _count(self, texts: Sequence[str]) -> list[int]:
        return self.tokenizer.count_tokens(texts)

    def chunk(self, article: Article) -> list[Chunk]:
        text = article.text
        prefix = embed_prefix(article)
        # [CLS] prefix \n body [SEP]: two special tokens, the prefix, and the body.
        budget = self.max_tokens - 2 - (self._count([prefix])[0] if prefix else 0)
        if budget < 16:
            raise ValueError(f"the chunk budget of {self.max_tokens} tokens leaves no room after the prefix")
        sentences = self._fit(text, split_sentences(text), budget)
        counts = self._count([text[s:e] for s, e in sentences]) if sentences else []
        chunks: list[list[Chunk]] = []
        group: list[tuple[int, int]] = []
        used = 0
        for span, count in zip(sentences, counts):
            if group and used + count > budget:
                chunks.append(self._make(article, group, prefix, budget))
                group, used = [], 0
            group.append(span)
            used += count
        if group:
            chunks.append(self._make(article, group, prefix, budget))
        return [c for chunk in chunks for c in chunk]

    def _fit(self, text: str, spans: list[tuple[int, int]], budget: int) -> list[tuple[int, int]]:
        """Sentences over the budget are cut at token boundaries (offsets from the tokenizer)."""
        counts = self._count([text[s:e] for s, e in spans]) if spans else []
        fitted: list[tuple[int, int]] = []
        for (start, end), count in zip(spans, counts):
            if count <= budget:
                fitted.append((start, end))
                continue
            marks = self.tokenizer.token_offsets(text[start:end])
            step = budget - 8  # tokens re-split slightly differently at a cut; leave a margin
            for i in range(0, len(marks), step):
                piece = marks[i : i + step]
                fitted.append((start + piece[0][0], start + piece[-1][1]))
        return fitted

    def _make(self, article: Article, group: list[tuple[int, int]], prefix: str, budget: int) -> list[Chunk]:
        """One chunk, or two if the exact count of the joined text is over (it never is for WordPiece)."""
        start, end = group[0][0], group[-1][1]
        body = article.text[start:end]
        embedded = f"{prefix}\n{body}" if prefix else body
        total = self._count([embedded])[0] + 2
        if total > self.max_tokens and len(group) > 1:
            half = len(group) // 2
            return self._make(article, group[:half], prefix, budget) + self._make(article, group[half:], prefix, budget)
        sentences = tuple(Sentence(s, e, resolve_in_sentence(article.text[s:e], article.date)) for s, e in group)
        digest = hashlib.sha1(f"{self.model_id}\0{embedded}".encode()).hexdigest()
        return [Chunk(article.id, start, end, sentences, total, digest, chunk_id(article.id, start, end, digest))]


def chunk_id(article_id: str, start: int, end: int, content_hash: str) -> int:
    """A positive int64 from the article, the span and the embedded text: stable across builds."""
    digest = hashlib.sha1(f"{article_id}\0{start}\0{end}\0{content_hash}".encode()).digest()
    return int.from_bytes(digest[:8], "big") & 0x7FFF_FFFF_FFFF_FFFF


def chunk_or_reason(chunker: Chunker, article: Article) -> list[Chunk] | str:
    """The article's chunks, or why it cannot be chunked: one article's odd text (a date at the
    calendar's edge, a pathological paragraph) is skipped with a reason, never the end of a build."""
    try:
        return chunker.chunk(article)
    except Exception as error:  # noqa: BLE001 - this article only; the build goes on
        return f"could not be chunked ({type(error).__name__}: {str(error)[:100]})"
