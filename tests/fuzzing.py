"""The properties fuzzed in tests/test_fuzz.py and bench/fuzz.py: whatever the input, ingest either
makes articles whose every span is valid and storable, or says why not in one line; the question
path answers or raises a `ValueError`/`QAError` with a message, never anything else."""

from __future__ import annotations

import os
from pathlib import Path

from qa import Config, QAError
from qa.chunking import Chunker, split_sentences
from qa.engine import Engine, prepare_question
from qa.ingest import IngestError, article_files, parse_bytes


def check_file(raw: bytes, suffix: str, chunker: Chunker) -> int:
    """Parse and chunk one file; returns the number of chunks made."""
    try:
        articles, notes = parse_bytes(raw, suffix, f"fuzz{suffix}")
    except IngestError as error:
        assert str(error) and "\n" not in str(error)
        return 0
    made = 0
    for article in articles:
        for value in (article.id, article.text, article.title, article.source, article.url, article.author):
            if value is not None:
                value.encode("utf-8")  # storable: no lone surrogates
        assert article.text.strip()
        for start, end in split_sentences(article.text):
            assert 0 <= start < end <= len(article.text)
        for chunk in chunker.chunk(article):
            assert 0 <= chunk.start < chunk.end <= len(article.text) and chunk.token_count <= chunker.max_tokens
            made += 1
    assert all(isinstance(n, str) and "\n" not in n for n in notes)
    return made


def check_name(folder: Path, name: bytes) -> None:
    """A file of any name in the folder is listed with a storable id or skipped with a reason."""
    path = Path(os.fsdecode(os.path.join(os.fsencode(folder), name + b".txt")))
    path.write_bytes(b"The council met on Tuesday and approved the harbour budget.")
    try:
        files, warnings = article_files(folder)
        for _, rel in files:
            rel.encode("utf-8")
    finally:
        path.unlink()


def check_question(engine: Engine, question: object) -> None:
    try:
        prepare_question(question, engine.config)
    except ValueError as error:
        assert str(error)
        return
    try:
        engine.retrieve(question, 3)  # type: ignore[arg-type]
    except (ValueError, QAError) as error:
        assert str(error) and "\n" not in str(error)


def chunker_for(config: Config) -> Chunker:
    from qa.engine import shared_encoder

    encoder = shared_encoder(config)
    return Chunker(encoder, max_tokens=min(config.chunk_tokens, encoder.max_tokens), model_id=encoder.model_id)
