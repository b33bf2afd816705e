from __future__ import annotations

import datetime as dt

from conftest import ARTICLES

from qa import Config
from qa.chunking import Chunker, embed_text, split_sentences
from qa.engine import shared_encoder
from qa.ingest import load_articles
from qa.records import Article


def _sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in split_sentences(text)]


def test_no_split_inside_abbreviations() -> None:
    text = "The U.S. official met the U.N. envoy. Then Mr. Smith left at 5 p.m. on Friday. It rained."
    assert _sentences(text) == ["The U.S. official met the U.N. envoy.", "Then Mr. Smith left at 5 p.m. on Friday.", "It rained."]
    for article in load_articles(ARTICLES)[0]:
        for sentence in _sentences(article.text):
            assert not sentence.endswith(("U.S.", "U.N.")) or sentence == article.text, sentence


def test_chunks_fit_the_model_and_quote_exactly() -> None:
    embedder = shared_encoder(Config())
    chunker = Chunker(embedder, max_tokens=embedder.max_tokens, model_id=embedder.model_id)
    long_sentence = "word " * 900 + "end."
    articles = load_articles(ARTICLES)[0] + [
        Article("long.txt", "Short one. " + long_sentence + " After.", title="T " * 300, date=dt.date(2024, 1, 1), source="S")
    ]
    for article in articles:
        chunks = chunker.chunk(article)
        assert chunks
        covered = " ".join(article.text[c.start : c.end] for c in chunks)
        assert len(covered.split()) == len(article.text.split())  # nothing dropped
        for chunk in chunks:
            count = embedder.count_tokens([embed_text(article, chunk)])[0] + 2  # the real, untruncated count, [CLS] and [SEP]
            assert count == chunk.token_count <= embedder.max_tokens
            for sentence in chunk.sentences:
                assert chunk.start <= sentence.start < sentence.end <= chunk.end


def test_sentences_carry_resolved_dates() -> None:
    embedder = shared_encoder(Config())
    chunker = Chunker(embedder, max_tokens=256, model_id=embedder.model_id)
    article = Article("a.txt", "Biden on Tuesday imposed sanctions. Talks are planned.", date=dt.date(2022, 2, 23))
    [chunk] = chunker.chunk(article)
    assert [s.refers_to for s in chunk.sentences] == [dt.date(2022, 2, 22), None]
