"""What a build's records become when written: rows of the `articles` and `chunks` tables, and a
chunk's keyword document.

Kept apart from the write path (`writing.py`, `new_generation.py`) because every writer shares
them: a new generation, a shard written by `qa shard` or by a shard writer (`split.py`,
`qa/indexing/shard_writers.py`) and the scratch store of linked reports (`scratch_stories.py`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..chunking import embed_text
from ..records import Article, Chunk
from ..stories import StoryMember
from .keyword import KeywordIndex
from .metadata import f16, sentences_json
from .stories import names_json

__all__ = ["FileRecord", "add_keywords", "ARTICLE_FIELDS", "article_values", "chunk_values"]

#: A file as the index remembers it: size, modification time, hash, its article ids, its notes.
FileRecord = tuple[int, int, str, list[str], list[str]]


def add_keywords(keywords: KeywordIndex, article: Article, chunk: Chunk) -> list[str]:
    """A chunk's keyword document (the text it was embedded with, its article, date and source); its terms."""
    return keywords.add(
        chunk.id,
        article.id,
        embed_text(article, chunk),
        article.date.toordinal() if article.date else 0,
        (article.source or "").casefold(),
    )


#: The `articles` columns a build writes (the key is SQLite's, or given: `article_values`).
ARTICLE_FIELDS = "id, hash, file, title, date, source, source_fold, url, author, text, story, names"


def article_values(article: Article, content_hash: str, member: StoryMember) -> tuple[Any, ...]:
    """An article's row of the `articles` table (`ARTICLE_FIELDS`, without the key)."""
    return (
        article.id,
        content_hash,
        article.id.split("#", 1)[0],
        article.title,
        article.date.toordinal() if article.date else None,
        article.source,
        (article.source or "").casefold(),
        article.url,
        article.author,
        article.text,
        member.story,
        names_json(member),
    )


def chunk_values(
    chunks: Sequence[Chunk], keys: Mapping[str, int], vectors: np.ndarray, sentence_vectors: Sequence[np.ndarray]
) -> tuple[list[tuple[Any, ...]], list[tuple[int, bytes]]]:
    """Rows of the `chunks` and `sentence_vectors` tables; `keys` gives each article's key, and a
    chunk's ordinal is its place among its article's chunks (they come in order)."""
    ordinal: dict[str, int] = {}
    rows, sentences = [], []
    for i, chunk in enumerate(chunks):
        n = ordinal[chunk.article_id] = ordinal.get(chunk.article_id, -1) + 1
        rows.append(
            (
                chunk.id,
                keys[chunk.article_id],
                n,
                chunk.start,
                chunk.end,
                chunk.token_count,
                chunk.content_hash,
                sentences_json(chunk),
                f16(vectors[i]),
            )
        )
        sentences.append((chunk.id, f16(sentence_vectors[i])))
    return rows, sentences
