"""Answer: ranked passages → an extractive, dated, cited answer. No LLM: every word quoted is the article's.

In news the newest report decides. The answer therefore leads with the newest
dated evidence ("As of 23 Feb 2022, …"), flags it as the latest update when it
reverses earlier reports (called off, postponed, denied…), and gives older and
undated reports after it as context, each with its date. Undated reports never
lead as if they were new unless nothing dated bears on the question.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Sequence
from urllib.parse import quote

import numpy as np

from .config import Config
from .dates import format_date
from .query import Query
from .records import Answer, Citation, Passage, TimelineEntry
from .retrieval import on_topic, renumber
from .storage import Index

__all__ = ["compose", "is_answered", "URL_SAFE", "DECLINE", "REVERSAL", "CONFIRMATION", "reverses", "confirms", "markdown_escape", "sources_markdown"]

DECLINE = "Not found in these articles."

#: Language that signals a report reverses an earlier one: what was planned is off.
REVERSAL = re.compile(
    r"\b(call(?:s|ed|ing)? off|cancel(?:s|ed|led|ling|lation)?|postpon(?:e|es|ed|ing|ement)|delay(?:s|ed)?|"
    r"den(?:y|ies|ied)|withdr(?:ew|awn|aws|awal)|scrap(?:s|ped)|suspend(?:s|ed)|revers(?:e|es|ed)|"
    r"halt(?:s|ed)|abandon(?:s|ed)|no longer|ruled out|not in the plans|put on hold|"
    r"back(?:s|ed)? out|pull(?:s|ed)? out|walk(?:s|ed)? back)\b",
    re.IGNORECASE,
)
#: Language that settles an open question the other way: it is on.
CONFIRMATION = re.compile(r"\b(confirm(?:s|ed)?|agree(?:s|d)?|approv(?:e|es|ed)|resched\w*|went ahead|took place)\b", re.I)


_NEGATED = re.compile(r"\b(not|never|no|n't)\s+(\w+\s+)?$|n't\s+(\w+\s+)?$", re.IGNORECASE)


def reverses(sentence: str) -> bool:
    """Whether a sentence reports a reversal; "has not been called off" does not."""
    return any(not _NEGATED.search(sentence[max(0, m.start() - 20) : m.start()]) for m in REVERSAL.finditer(sentence))


def confirms(sentence: str) -> bool:
    return any(not _NEGATED.search(sentence[max(0, m.start() - 20) : m.start()]) for m in CONFIRMATION.finditer(sentence))


def _changes_status(sentence: str) -> bool:
    return reverses(sentence) or confirms(sentence)


def compose(question: str, query: Query, passages: list[Passage], idx: Index, config: Config,
            notes: Sequence[str] = ()) -> Answer:
    """The answer to `question` from its retrieved passages; declines when they are not evidence.

    Retrieval decides the lead: for a status question the newest report of the best passage's
    story, otherwise the best passage. The lead's other reports of the same story follow, newest
    first, then other relevant reports; the timeline shows the whole story.
    """
    if not is_answered(passages, config):
        # The passages stay on the `Answer` (the JSON shows them, marked unanswered); the UI and
        # `qa ask` don't list them: five unrelated passages under "not found" read as an answer.
        return Answer(question, DECLINE, False, tuple(passages), notes=tuple(notes), searched=query.text)

    first = passages[0]
    reports = idx.story_of(first.article.id) or [first.article]
    story = {a.id for a in reports}
    relevant = on_topic(np.array([p.similarity for p in passages]), config.on_topic)
    by_article: dict[str, Passage] = {}
    for passage, keep in zip(passages[1:], relevant[1:]):
        if passage.article.id == first.article.id or not (keep or passage.article.id in story):
            continue
        # Within an article the passage closest in meaning speaks for it (its chunks share one
        # title and source, so word counts between them are mostly noise).
        held = by_article.get(passage.article.id)
        if held is None or passage.similarity > held.similarity:
            by_article[passage.article.id] = passage
    newest_first = sorted(by_article.values(), key=lambda p: (p.article.id not in story, -(p.article.date or dt.date.min).toordinal()))
    lead, lead_spans = _lead_sentence(query, first, config)
    cited = renumber([lead] + newest_first)
    cited_chunks = {p.chunk for p in cited}
    all_passages = renumber(cited + [p for p in passages if p.chunk not in cited_chunks])

    lines = [_lead_line(cited[0], lead_spans, has_context=len(story) > 1)]
    if len(cited) > 1:
        earlier = all(p.article.date is None or (lead.article.date and p.article.date <= lead.article.date) for p in cited[1:])
        lines += ["", "**Earlier and undated reports:**" if lead.article.date and earlier else "**Other reports:**"]
        lines += [f"- {_dated_label(p)}: {_quote(p)} [{p.citation.number}]" for p in cited[1:]]
    number = {p.article.id: p.citation.number for p in cited}  # one cited passage per article
    superseding = len(story) > 1 and bool(lead.article.date) and any(_changes_status(lead.article.text[s:e]) for s, e in lead_spans)
    timeline = tuple(
        TimelineEntry(a.date, number.get(a.id), a.label, a.source, superseding and a.id == lead.article.id)
        for a in sorted(reports, key=lambda a: (a.date is not None, a.date or dt.date.min), reverse=True)
    )
    return Answer(question, "\n".join(lines), True, tuple(all_passages), lead.article.date, timeline, tuple(notes),
                  _verdict(cited[0], lead_spans), len(cited), query.text)


def _verdict(lead: Passage, spans: list[tuple[int, int]]) -> str | None:
    """The status words of the lead's quoted sentences ("called off"), its date, outlet and number.

    Only words the report itself uses: a reversal first, else a confirmation; none, no verdict.
    """
    text = lead.article.text
    for pattern in (REVERSAL, CONFIRMATION):
        for start, end in spans:
            sentence = text[start:end]
            for match in pattern.finditer(sentence):
                if not _NEGATED.search(sentence[max(0, match.start() - 20) : match.start()]):
                    when = format_date(lead.article.date) if lead.article.date else "undated"
                    outlet = lead.article.source or lead.article.title or "outlet not stated"
                    return f"{match[0][0].upper()}{match[0][1:]} — {when}, {outlet} [{lead.citation.number}]"
    return None


def is_answered(passages: Sequence[Passage], config: Config) -> bool:
    """Whether the passages carry enough evidence to answer; below `min_score` we decline.

    The signal is the best cosine similarity plus the best BM25 coverage among the passages
    (`bench/calibrate.py` measures it, and the alternatives tried, on answerable and unanswerable
    questions).
    """
    if not passages:
        return False
    return max(p.similarity for p in passages) + max(p.keyword for p in passages) >= config.min_score


def _lead_sentence(query: Query, passage: Passage, config: Config) -> tuple[Passage, list[tuple[int, int]]]:
    """The lead passage, citing the sentence that changes the story, and the sentences to quote.

    For a status question ("did the summit happen?") the report's status-change sentences are
    the answer, however few of the question's words they share: up to two, in article order.
    Otherwise the best sentence leads, or a status-change one that scores nearly as well.
    """
    text = passage.article.text
    spans = [(s.start, s.end) for s in passage.chunk.sentences]
    scores = list(passage.sentence_scores) or [0.0] * len(spans)
    best = max(scores)
    # A reversal outranks a confirmation: "called off" is newer news than "agreed in principle".
    changes = [j for j, (s, e) in enumerate(spans) if reverses(text[s:e])] or [
        j for j, (s, e) in enumerate(spans) if confirms(text[s:e])
    ]
    if query.status and changes:
        chosen = sorted(sorted(changes, key=lambda j: -scores[j])[:2])
    else:
        near = [j for j in changes if scores[j] >= best - config.sentence_margin]
        chosen = [max(near, key=lambda j: scores[j]) if near else scores.index(best)]
    start, end = spans[chosen[0]]
    citation: Citation = dataclasses.replace(passage.citation, quote=text[start:end], start=start, end=end)
    return dataclasses.replace(passage, citation=citation), [spans[j] for j in chosen]


def _lead_line(passage: Passage, spans: list[tuple[int, int]], *, has_context: bool) -> str:
    number = passage.citation.number
    quote = " ".join(f"{_quoted(passage, s, e)} [{number}]" for s, e in spans)
    date = passage.article.date
    if date is None:
        return f"Undated report ({_source(passage)}): {quote}"
    if has_context and any(_changes_status(passage.article.text[s:e]) for s, e in spans):
        return f"**Latest update, as of {format_date(date)}** ({_source(passage)}): {quote}"
    return f"**As of {format_date(date)}** ({_source(passage)}): {quote}"


def _dated_label(passage: Passage) -> str:
    date = passage.article.date
    return f"{format_date(date)}, {_source(passage)}" if date else f"Undated, {_source(passage)}"


def _source(passage: Passage) -> str:
    return markdown_escape(passage.article.source or passage.article.title or "outlet not stated")


def _quote(passage: Passage) -> str:
    return _quoted(passage, passage.citation.start, passage.citation.end)


def _quoted(passage: Passage, start: int, end: int) -> str:
    """A sentence in quotes, with the day it speaks of when that is not the publication day."""
    note = ""
    for sentence in passage.chunk.sentences:
        if sentence.start == start and sentence.refers_to and sentence.refers_to != passage.article.date:
            note = f" (that is, {format_date(sentence.refers_to)})"
    return f"“{markdown_escape(passage.article.text[start:end])}”{note}"


URL_SAFE = ":/?#@!$&'*+,;=%~-._"  # everything else, brackets and spaces included, is percent-encoded
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+|~!&])")


def markdown_escape(text: str) -> str:
    """Article text is untrusted: shown literally, never as links, HTML or formatting."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", re.sub(r"\s+", " ", text)).strip()


def sources_markdown(passages: Sequence[Passage]) -> str:
    """A numbered source list: title, source, date, link and the quoted sentence."""
    lines = []
    for p in passages:
        c = p.citation
        title = markdown_escape(c.title)
        head = f"[{title}]({quote(c.url, safe=URL_SAFE)})" if c.url else title
        meta = ", ".join(x for x in (markdown_escape(c.source) if c.source else "", c.date.isoformat() if c.date else "undated") if x)
        lines.append(f"{c.number}. {head} ({meta}): “{markdown_escape(c.quote)}”")
    return "\n".join(lines)
