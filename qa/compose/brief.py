"""What a generative composer is given: the same structured input the extractive answer is made of.

The lead, the story's reports in date order with their dates and outlets, the numbered passages
(each an excerpt around its cited sentence, small enough for a small model's context), the
question's grade, and the newest report's verdict. `messages` turns it into the chat prompt; the
verifier (`verify.py`) checks each generated sentence against the very excerpts the model saw.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ..dates import format_date
from ..records import Answer, Passage

__all__ = ["Brief", "Given", "brief_of", "messages", "MAX_PASSAGES", "EXCERPT_CHARS"]

#: Passages given to the model: the lead and the other cited reports, newest of the story first.
MAX_PASSAGES = 3
#: An excerpt is the cited sentence and its neighbours, up to about this many characters.
EXCERPT_CHARS = 500


@dataclass(frozen=True)
class Given:
    """One numbered passage as the model sees it: the excerpt, and the sentences it is made of."""

    number: int
    date: dt.date | None
    outlet: str
    title: str
    excerpt: str
    sentences: tuple[tuple[int, int], ...]  #: spans in the article's text, in order
    passage: Passage


@dataclass(frozen=True)
class Brief:
    question: str
    grade: str
    verdict: str | None
    lead: int  #: the number of the lead passage
    reports: tuple[tuple[dt.date | None, str, str, int | None], ...]  #: (date, outlet, title, number), oldest first
    passages: tuple[Given, ...]

    def given(self, number: int) -> Given | None:
        return next((g for g in self.passages if g.number == number), None)


def _excerpt(passage: Passage) -> tuple[str, tuple[tuple[int, int], ...]]:
    """The cited sentence, then its neighbours (after first, then before) while they fit."""
    text = passage.article.text
    spans = [(s.start, s.end) for s in passage.chunk.sentences] or [(passage.citation.start, passage.citation.end)]
    at = next((i for i, (s, e) in enumerate(spans) if s <= passage.citation.start < e), 0)
    low = high = at
    size = spans[at][1] - spans[at][0]
    while True:
        grown = False
        for step in (high + 1, low - 1):
            if 0 <= step < len(spans) and not low <= step <= high:
                length = spans[step][1] - spans[step][0]
                if size + length <= EXCERPT_CHARS:
                    size += length
                    low, high = min(low, step), max(high, step)
                    grown = True
        if not grown:
            break
    chosen = tuple(spans[low : high + 1])
    excerpt = " ".join(" ".join(text[s:e].split()) for s, e in chosen)
    return excerpt[: EXCERPT_CHARS * 2], chosen


def brief_of(answer: Answer) -> Brief:
    """The structured input for an answered question (the extractive answer already chose the evidence)."""
    given = []
    for p in answer.passages[: min(answer.cited, MAX_PASSAGES)]:
        excerpt, spans = _excerpt(p)
        outlet = p.article.source or "outlet not stated"
        given.append(Given(p.citation.number, p.article.date, outlet, p.article.label, excerpt, spans, p))
    reports = tuple(
        (e.date, e.source or "outlet not stated", e.title, e.number)
        for e in sorted(answer.timeline, key=lambda e: (e.date is not None, e.date or dt.date.min))
    )
    lead = answer.lead.number if answer.lead else (given[0].number if given else 1)
    return Brief(answer.question, answer.grade, answer.verdict, lead, reports, tuple(given))


SYSTEM = (
    "You answer a question about the news using only the numbered passages given. "
    "Write one to three short sentences in plain words. End every sentence with the number of the passage it "
    "comes from in square brackets, like [1]. Use only names, numbers and dates that the passage states. "
    "The newest report decides: if a newer report changes an older one, say what the newest report says."
)


def messages(brief: Brief) -> list[dict[str, str]]:
    """The chat prompt: the instructions, then the evidence, and the question last (small models
    answer what they read last; an example answer in the prompt leaked into theirs)."""
    lines = ["Passages:"]
    for g in brief.passages:
        lines.append(f"[{g.number}] ({format_date(g.date)}, {g.outlet}) {g.excerpt}")
    lines.append("")
    if len(brief.reports) > 1:
        lines.append("Reports of this story, oldest first:")
        for date, outlet, title, number in brief.reports:
            lines.append(f"- {format_date(date)}, {outlet}{f' [{number}]' if number else ''}: {title}")
        lines.append("")
    if brief.verdict:
        lines += [f"The newest report says: {brief.verdict}", ""]
    if brief.grade != "supported":
        lines += ["The passages answer this question only in part.", ""]
    lines += [
        "Answer in one to three short sentences of your own. End each sentence with the number of its passage, like [1].",
        f"Question: {brief.question}",
        "Answer:",
    ]
    # One user message: Gemma's chat format has no system turn (llama.cpp drops one), and every
    # model reads instructions there.
    return [{"role": "user", "content": SYSTEM + "\n\n" + "\n".join(lines)}]
