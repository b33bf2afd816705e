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

import numpy as np

from .config import Config
from .dates import format_date
from .query import Query
from .records import Answer, Citation, Passage, Quote, Report, TimelineEntry
from .retrieval import on_topic, renumber
from .storage import AnyIndex

__all__ = ["compose", "is_answered", "REVERSAL", "CONFIRMATION", "reverses", "confirms"]

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


def compose(
    question: str, query: Query, passages: list[Passage], idx: AnyIndex, config: Config, notes: Sequence[str] = ()
) -> Answer:
    """The answer to `question` from its retrieved passages; declines when they are not evidence.

    Retrieval decides the lead: for a status question the newest report of the best passage's
    story, otherwise the best passage. The lead's other reports of the same story follow, newest
    first, then other relevant reports; the timeline shows the whole story.
    """
    if not is_answered(passages, config):
        # The passages stay on the `Answer` (the JSON shows them, marked unanswered); the UI and
        # `qa ask` don't list them: five unrelated passages under "not found" read as an answer.
        return Answer(question, False, tuple(passages), notes=tuple(notes), searched=query.text)

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
    newest_first = sorted(
        by_article.values(), key=lambda p: (p.article.id not in story, -(p.article.date or dt.date.min).toordinal())
    )
    lead, lead_spans = _lead_sentence(query, first, config)
    cited = renumber([lead] + newest_first)
    cited_chunks = {p.chunk for p in cited}
    all_passages = renumber(cited + [p for p in passages if p.chunk not in cited_chunks])

    earlier = bool(lead.article.date) and all(
        p.article.date is None or (lead.article.date and p.article.date <= lead.article.date) for p in cited[1:]
    )
    number = {p.article.id: p.citation.number for p in cited}  # one cited passage per article
    superseding = (
        len(story) > 1 and bool(lead.article.date) and any(_changes_status(lead.article.text[s:e]) for s, e in lead_spans)
    )
    timeline = tuple(
        TimelineEntry(a.date, number.get(a.id), a.label, a.source, superseding and a.id == lead.article.id)
        for a in sorted(reports, key=lambda a: (a.date is not None, a.date or dt.date.min), reverse=True)
    )
    lead_report = _report(cited[0], lead_spans, latest_update=superseding)
    others = tuple(_report(p, [(p.citation.start, p.citation.end)]) for p in cited[1:])
    return Answer(
        question,
        True,
        tuple(all_passages),
        lead.article.date,
        timeline,
        tuple(notes),
        _verdict(cited[0], lead_spans),
        len(cited),
        query.text,
        lead_report,
        others,
        earlier,
    )


def _report(passage: Passage, spans: list[tuple[int, int]], *, latest_update: bool = False) -> Report:
    """A cited passage as a report: number, date, outlet and the sentences quoted, each with the
    day it speaks of when that is not the publication day ("on Tuesday" → 22 Feb 2022)."""
    text, date = passage.article.text, passage.article.date
    refers = {s.start: s.refers_to for s in passage.chunk.sentences}
    quotes = tuple(Quote(text[s:e], refers.get(s) if refers.get(s) != date else None) for s, e in spans)
    outlet = passage.article.source or passage.article.title or "outlet not stated"
    return Report(passage.citation.number, date, outlet, quotes, latest_update)


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
