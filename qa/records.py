"""The records that flow one way through the product: Article → Chunk → Passage → Answer.

They are plain frozen dataclasses so that every module can pass them around,
compare them in tests and serialise them without surprises.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from .errors import shown

__all__ = [
    "Article",
    "Sentence",
    "Chunk",
    "Citation",
    "Passage",
    "TimelineEntry",
    "Quote",
    "Report",
    "Answer",
    "Claim",
    "IngestWarning",
]


@dataclass(frozen=True)
class Article:
    """One cleaned news article. Metadata is `None` when the article does not state it."""

    #: Path relative to the articles folder; a record in a dump is `dump.jsonl#<its id, guid or url>`
    #: (a hash of its text when it has none), never its line number: reordering a dump changes nothing.
    id: str
    text: str  #: cleaned body; every character span in the product points into this
    title: str | None = None
    date: dt.date | None = None  #: publication date; never guessed
    source: str | None = None
    url: str | None = None
    author: str | None = None

    @property
    def label(self) -> str:
        """The title, or for an untitled article its first words: never a file name such as `000_9da1….txt`."""
        if self.title:
            return self.title
        words = self.text.split()
        return " ".join(words[:10]) + (" …" if len(words) > 10 else "") if words else self.id


@dataclass(frozen=True)
class Sentence:
    """A sentence's span in its article's text, with the date it speaks of when one is resolvable."""

    start: int
    end: int
    #: The day a relative or absolute date in the sentence refers to ("on Tuesday" → 2022-02-22),
    #: resolved against the article's publication date; `None` when there is none or it is ambiguous.
    refers_to: dt.date | None = None


@dataclass(frozen=True)
class Chunk:
    """A run of whole sentences of one article, sized to fit the embedding model."""

    article_id: str
    start: int
    end: int
    sentences: tuple[Sentence, ...]
    #: Tokens of the embedded text (prefix + chunk text), special tokens included.
    token_count: int
    #: Hash of the embedded text and the model: unchanged text is never re-embedded.
    content_hash: str
    #: Stable int64 id: the same article text always gives the same chunk ids (`chunk_id`).
    id: int = 0


@dataclass(frozen=True)
class Citation:
    """Everything needed to check a claim against its article: the exact sentence and where it is."""

    number: int
    article_id: str
    title: str
    date: dt.date | None
    source: str | None
    url: str | None
    quote: str  #: exactly `article.text[start:end]`
    start: int
    end: int
    #: When the article was fetched from its feed (ISO time, UTC), for an article a feed brought.
    fetched: str | None = None


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with its score, its article and the sentence that best supports the question."""

    rank: int
    text: str
    score: float  #: the fused relevance used for ranking
    similarity: float  #: cosine similarity of question and chunk
    keyword: float  #: share of the question's reachable BM25 score that this chunk reaches
    article: Article
    chunk: Chunk
    citation: Citation
    #: How well each sentence of the chunk answers the question (stored sentence vectors · question
    #: vector + a share of its words): the citation is the best, the answer may quote others.
    sentence_scores: tuple[float, ...] = ()
    #: How well this passage supports each part of the question (cosine + share of the part's own
    #: words reached); one value, `similarity + keyword`, for a question of one part.
    support: tuple[float, ...] = ()


@dataclass(frozen=True)
class TimelineEntry:
    """One report of the lead's story; `number` is its citation number when the answer cites it."""

    date: dt.date | None
    number: int | None
    title: str
    source: str | None
    superseding: bool = False  #: the cited sentence reverses or updates earlier reports


@dataclass(frozen=True)
class Quote:
    """A sentence quoted exactly, with the day it speaks of when that is not the publication day."""

    text: str
    refers_to: dt.date | None = None


@dataclass(frozen=True)
class Report:
    """One cited report in an answer: its citation number, date, outlet and what is quoted from it."""

    number: int
    date: dt.date | None
    outlet: str  #: the source, else "outlet not stated"
    quotes: tuple[Quote, ...]
    #: The lead only: it changes the status (called off, confirmed…) of a story with earlier reports.
    latest_update: bool = False


@dataclass(frozen=True)
class Claim:
    """One sentence a language model wrote, the passages it cites, and why it was dropped (`None`: kept).

    `support` is the sentence of a cited passage that supports it best (a span of that passage's
    article text), so that the UI can highlight it as it highlights a quoted sentence."""

    text: str
    cites: tuple[int, ...]
    reason: str | None = None
    support: Citation | None = None


@dataclass(frozen=True)
class Answer:
    """Structure, not text: `qa/render.py` turns it into Markdown, plain text, HTML or JSON."""

    question: str
    answered: bool
    passages: tuple[Passage, ...]  #: the cited ones first (`cited` of them), then further passages
    as_of: dt.date | None = None  #: date of the newest dated evidence cited
    timeline: tuple[TimelineEntry, ...] = field(default_factory=tuple)
    notes: tuple[str, ...] = field(default_factory=tuple)  #: e.g. "question shortened"
    #: The lead's status in a few words, taken from its quoted sentence: "Called off — 23 Feb 2022,
    #: themoscowtimes.com [1]". `None` when the lead states no change of status (most fact questions).
    verdict: str | None = None
    cited: int = 0  #: how many of `passages` the answer cites
    searched: str = ""  #: the text that was searched: a short follow-up carries the previous question
    lead: Report | None = None  #: the report that answers: for a status question the newest of its story
    others: tuple[Report, ...] = ()  #: the other cited reports, the lead's story first, newest first
    #: Whether every other report is older than the lead (or undated): "Earlier and undated reports".
    others_earlier: bool = False
    #: "supported" (every part of the question found support), "partly" or "not found"
    #: (`answered` is false only then).
    grade: str = "not found"
    #: The parts of a multi-part question that no passage supports.
    unsupported: tuple[str, ...] = ()
    #: Who wrote the answer: "extractive" (quotes; also when a generated answer fell back) or
    #: "generative" (the kept `claims`, each checked against the passages it cites).
    composer: str = "extractive"
    #: A generated answer's sentences, kept and dropped (a fallback keeps the dropped ones, to say why).
    claims: tuple[Claim, ...] = ()

    @property
    def generated(self) -> str:
        """The generated answer: its kept sentences, each ending with its citations ("" when none)."""
        return " ".join(c.text for c in self.claims if c.reason is None) if self.composer == "generative" else ""


@dataclass(frozen=True)
class IngestWarning:
    """A file that was skipped or read with a fallback, and why; shown to the user on one line."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"warning: {shown(self.path)}: {shown(self.reason, 300)}"
