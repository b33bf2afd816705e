"""What a generative composer is given: the same structured input the extractive answer is made of.

The lead, the story's reports in date order with their dates and outlets, the numbered passages
(each an excerpt around its cited sentence, small enough for a small model's context), the
question's grade, and the newest report's verdict. Two shapes of request are made from it:
- `passage_messages` / `passage_prompt` (the default shape, `llm_shape=passages`): one passage and
  the question, asking for one short sentence from it. The composer sends one such request per
  passage and cites the passage on each sentence itself, so the citation is structural: a small
  model that never writes "[1]" still writes a sentence that can be checked against its source.
  `passage_prompt` is the same request for `/completions` (a few-shot frame for base models
  without a chat template, such as the bundled Gemma 3 270M).
- `messages` (`llm_shape=cited`): every passage in one request, the model numbering its own
  citations; for models that follow that reliably.
The verifier (`verify.py`) checks each generated sentence against the very excerpts the model saw.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ..dates import format_date
from ..records import Answer, Passage

__all__ = ["Brief", "Given", "brief_of", "messages", "passage_messages", "passage_prompt", "MAX_PASSAGES", "EXCERPT_CHARS"]

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


#: One passage, one sentence: asked of each passage in turn (`llm_shape=passages`).
ONE_SENTENCE = "Answer the question in one short sentence, using only what this passage says."


def _heading(given: Given) -> str:
    return f"({format_date(given.date)}, {given.outlet})"


def passage_messages(brief: Brief, given: Given) -> list[dict[str, str]]:
    """The chat request for one passage: the report, the question, and the instruction last."""
    return [
        {"role": "user", "content": f"Passage {_heading(given)}: {given.excerpt}\n\nQuestion: {brief.question}\n{ONE_SENTENCE}"}
    ]


#: The frame of a `/completions` request: a base model continues a pattern rather than following an
#: instruction. The example is invented and names nothing real, so that when it leaks into an answer
#: (a small model's habit) the verifier drops it: its names and numbers are in no passage.
FRAME = (
    "Each answer is one short sentence that answers the question using only the report above it.\n\n"
    "Report (4 Mar 2021, example.org): The city council of Brindlemoor voted on Thursday to close the old "
    "bridge to all traffic, the mayor's office said.\n"
    "Question: Is the old bridge still open?\n"
    "Answer: No, the city council voted to close the old bridge to all traffic.\n\n"
)


def passage_prompt(brief: Brief, given: Given) -> str:
    """The `/completions` request for one passage: the frame, the report, the question, "Answer:"."""
    return f"{FRAME}Report {_heading(given)}: {given.excerpt}\nQuestion: {brief.question}\nAnswer:"
