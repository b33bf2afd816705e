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
from .freshness import newer_on_subject
from .query import Query, asks_how_things_stand, asks_yes_or_no
from .records import Answer, Citation, Passage, Quote, Report, TimelineEntry
from .retrieval import on_topic, renumber
from .status import CONFIRMATION, REVERSAL, asserted, changes_status, reverses, status_sentences
from .storage import AnyIndex
from .storage.keyword import analyze

__all__ = ["compose", "grade", "SUPPORTED", "PARTLY", "NOT_FOUND"]


def compose(
    question: str, query: Query, passages: list[Passage], idx: AnyIndex, config: Config, notes: Sequence[str] = ()
) -> Answer:
    """The answer to `question` from its retrieved passages; declines when they are not evidence.

    Retrieval decides the lead: for a status question the newest report of the best passage's
    story, otherwise the best passage. The lead's other reports of the same story follow, newest
    first, then other relevant reports; the timeline shows the whole story.
    """
    graded, unsupported = grade(passages, query, config)
    if query.unknown:  # the question names something no article mentions
        names = ", ".join(f"“{word}”" for word in query.unknown)
        notes = (*notes, f"No article in the index mentions {names}.")
    if graded == NOT_FOUND:
        # The passages stay on the `Answer` (the JSON shows them, marked unanswered); the UI and
        # `qa ask` don't list them: five unrelated passages under "not found" read as an answer.
        return Answer(
            question, False, tuple(passages), notes=tuple(notes), searched=query.text, grade=graded, unsupported=unsupported
        )

    passages = _status_chunk_first(passages, query, config)
    first = passages[0]
    lead, lead_spans = _lead_sentence(query, first, config)
    # A verdict line answers how things stand; a fact question ("where was it to be held?") gets none.
    verdict = _verdict(lead, lead_spans, query.content) if asks_how_things_stand(query) else None
    # A newer report on the lead's subject is cited, and named before the verdict, when the answer
    # states a status (a fact answer lists only what bears on the question).
    reports = idx.story_of(first.article.id) or [first.article]
    newer = newer_on_subject(first, passages, query.text, by_words=True, story=reports) if verdict or query.status else []
    story = {a.id for a in reports}
    relevant = on_topic(np.array([p.similarity for p in passages]), config.on_topic)
    if query.multipart:  # a part's best evidence is cited, however the question scores it whole
        for n in range(len(query.parts)):
            best = max(range(len(passages)), key=lambda i: passages[i].support[n])
            relevant[best] |= passages[best].support[n] >= config.min_part_support
    else:  # close in meaning is not enough: a cited report must support the question
        relevant &= np.array([p.support[0] >= config.min_support for p in passages])
    in_view = {p.article.id for p in newer}
    by_article: dict[str, Passage] = {}
    for passage, keep in zip(passages[1:], relevant[1:]):
        if passage.article.id == first.article.id or not (keep or passage.article.id in story or passage.article.id in in_view):
            continue
        # Within an article the passage closest in meaning speaks for it (its chunks share one
        # title and source, so word counts between them are mostly noise).
        held = by_article.get(passage.article.id)
        if held is None or passage.similarity > held.similarity:
            by_article[passage.article.id] = passage
    newest_first = sorted(
        by_article.values(), key=lambda p: (p.article.id not in story, -(p.article.date or dt.date.min).toordinal())
    )
    cited = renumber([lead] + newest_first)
    cited_chunks = {p.chunk for p in cited}
    all_passages = renumber(cited + [p for p in passages if p.chunk not in cited_chunks])

    earlier = bool(lead.article.date) and all(
        p.article.date is None or (lead.article.date and p.article.date <= lead.article.date) for p in cited[1:]
    )
    number = {p.article.id: p.citation.number for p in cited}  # one cited passage per article
    newest_known = max((a.date for a in reports if a.date), default=None)
    superseding = (
        len(story) > 1
        and bool(lead.article.date)
        and lead.article.date == newest_known  # never "latest" while a newer report of the story is listed
        and not newer
        and any(changes_status(lead.article.text[s:e]) for s, e in lead_spans)
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
        _cautioned(verdict, query, [p for p in cited if p.article.id in in_view]),
        len(cited),
        query.text,
        lead_report,
        others,
        earlier,
        graded,
        unsupported,
    )


def _status_chunk_first(passages: list[Passage], query: Query, config: Config) -> list[Passage]:
    """For a status question, the lead article's passage that states a status of what is asked
    leads, a reversal first: retrieval chose the article, but its chunk that shares most words with
    the question may say what was planned while another says it was cancelled. A status sentence
    counts when it holds a word of the question's own or scores within `status_sentence_margin` of
    the lead passage's best sentence (else it speaks of something else: "Schmeichel signed a
    three-year contract" is no answer to whether Richard Arnold is still chief executive)."""
    if not query.status or not passages:
        return passages
    bar = max(passages[0].sentence_scores, default=0.0) - config.status_sentence_margin
    found: list[tuple[bool, float, int]] = []  # (not a reversal, -score, rank) of each status sentence
    for rank, p in enumerate(passages):
        if p.article.id != passages[0].article.id:
            continue
        for j in status_sentences(p, config.status_sentence_margin):
            score = p.sentence_scores[j] if p.sentence_scores else 0.0
            sentence = p.article.text[p.chunk.sentences[j].start : p.chunk.sentences[j].end]
            if score >= bar or query.content.intersection(analyze(sentence)):
                found.append((not reverses(sentence), -score, rank))
    if not found or min(found)[2] == 0:
        return passages
    chosen = passages[min(found)[2]]
    return renumber([chosen] + [p for p in passages if p is not chosen])


def _cautioned(verdict: str | None, query: Query, newer: list[Passage]) -> str | None:
    """The verdict, opened by the newest report in view that is newer than the lead: an older
    report's status is never stated alone."""
    if not newer or not (verdict or query.status):
        return verdict
    latest = max(newer, key=lambda p: p.article.date or dt.date.min)
    caution = f"A newer report may change this: {_dated(latest)}"
    return f"{caution}. Earlier: {verdict}" if verdict else caution


def _report(passage: Passage, spans: list[tuple[int, int]], *, latest_update: bool = False) -> Report:
    """A cited passage as a report: number, date, outlet and the sentences quoted, each with the
    day it speaks of when that is not the publication day ("on Tuesday" → 22 Feb 2022)."""
    text, date = passage.article.text, passage.article.date
    refers = {s.start: s.refers_to for s in passage.chunk.sentences}
    quotes = tuple(Quote(text[s:e], refers.get(s) if refers.get(s) != date else None) for s, e in spans)
    outlet = passage.article.source or "outlet not stated"  # a title is not an outlet
    return Report(passage.citation.number, date, outlet, quotes, latest_update)


#: Of several status words, the one with most of the question's words this near speaks of what is asked.
_NEAR = 8
_WORDS = re.compile(r"[\w'’-]+")


def _verdict(lead: Passage, spans: list[tuple[int, int]], asked: frozenset[str]) -> str | None:
    """The status words of the lead's quoted sentences ("called off"), its date, outlet and number.

    Only words the report itself uses, from the first quoted sentence that has any. Of several in
    it, the one with most of the question's own words (`asked`, analysed) within `_NEAR` words of
    it speaks of what is asked: "was found guilty of seven criminal fraud counts", not "tied to the
    collapse of his exchange", answers "was the FTX founder convicted of fraud?". Then a reversal
    before a confirmation ("called off" is newer news than "agreed in principle"), then the
    earliest; none, no verdict. A later report may name nothing the question does ("the
    42-kilometre race was scrapped"), so a status word with no word of the question near still
    gives the verdict.
    """
    text = lead.article.text
    found: list[tuple[int, int, int, int, str]] = []
    for order, (start, end) in enumerate(spans):
        sentence = text[start:end]
        words = list(_WORDS.finditer(sentence))
        for kind, pattern in enumerate((REVERSAL, CONFIRMATION)):
            for match in pattern.finditer(sentence):
                if not asserted(sentence, match.start()):
                    continue
                near = len(asked.intersection(_around(words, match)))
                found.append((order, -near, kind, match.start(), match[0]))
    if not found:
        return None
    word = min(found)[4]
    return f"{word[0].upper()}{word[1:]} — {_dated(lead)}"


def _dated(passage: Passage) -> str:
    """ "23 Feb 2022, themoscowtimes.com [1]": a cited report's date, outlet (a title is not one) and number."""
    when = format_date(passage.article.date) if passage.article.date else "undated"
    outlet = f", {passage.article.source}" if passage.article.source else ""
    return f"{when}{outlet} [{passage.citation.number}]"


def _around(words: list[re.Match[str]], match: re.Match[str]) -> list[str]:
    """The analysed words within `_NEAR` words of `match`, the match's own words left out."""
    inside = [n for n, w in enumerate(words) if w.end() > match.start() and w.start() < match.end()] or [0]
    window = words[max(0, inside[0] - _NEAR) : inside[0]] + words[inside[-1] + 1 : inside[-1] + _NEAR + 1]
    return analyze(" ".join(w[0] for w in window))


#: An answer's grade: every part of the question found support, some did, or none.
SUPPORTED, PARTLY, NOT_FOUND = "supported", "partly", "not found"


def grade(passages: Sequence[Passage], query: Query, config: Config) -> tuple[str, tuple[str, ...]]:
    """How far the passages answer the question, and the parts of it that found no support.

    Each part of the question (`qa/parts.py`; a question of one part is judged whole) is supported
    when some passage's support for it (`qa/evidence.py`) reaches `min_part_support` (`min_support`
    for a question of one part), and it names nothing that no article holds (`Query.unknown`).
    A wh-question that names such a thing is not found, however well its other clauses are met:
    its clauses all describe the one thing it asks for ("which club picked Jarrah Pellinore, and
    whom was he compared to?"), and the reports are about something else. A yes/no question of
    several claims ("did A report X, while B reported Y?") keeps the claims it can check.
    """
    if not passages or (query.unknown and not asks_yes_or_no(query.text)):
        return NOT_FOUND, tuple(part.text for part in query.parts if query.multipart)
    threshold = config.min_part_support if query.multipart else config.min_support
    best = [max(p.support[n] for p in passages) for n in range(len(query.parts))]
    unsupported = tuple(
        part.text
        for part, b in zip(query.parts, best)
        if b < threshold or any(re.search(rf"(?<!\w){re.escape(name)}(?!\w)", part.text) for name in query.unknown)
    )
    if not unsupported:
        return SUPPORTED, ()
    if len(unsupported) == len(query.parts):
        return NOT_FOUND, unsupported if query.multipart else ()
    return PARTLY, unsupported


def _lead_sentence(query: Query, passage: Passage, config: Config) -> tuple[Passage, list[tuple[int, int]]]:
    """The lead passage, citing the sentence that answers the question, and the sentences to quote.

    For a status question ("did the summit happen?") the report's status-change sentences about
    what is asked are the answer: up to two, in article order, a reversal before a confirmation
    ("called off" is newer news than "agreed in principle"). Otherwise the best sentence leads, or
    a status-change one that scores nearly as well.
    """
    text = passage.article.text
    spans = [(s.start, s.end) for s in passage.chunk.sentences]
    scores = list(passage.sentence_scores) or [0.0] * len(spans)
    best = max(scores)
    changes = status_sentences(passage, config.status_sentence_margin)
    reversals = [j for j in changes if reverses(text[spans[j][0] : spans[j][1]])]
    if query.status and changes:
        chosen = sorted(sorted(reversals or changes, key=lambda j: -scores[j])[:2])
    else:
        near = [j for j in changes if scores[j] >= best - config.sentence_margin]
        chosen = [max(near, key=lambda j: scores[j]) if near else scores.index(best)]
    start, end = spans[chosen[0]]
    citation: Citation = dataclasses.replace(passage.citation, quote=text[start:end], start=start, end=end)
    return dataclasses.replace(passage, citation=citation), [spans[j] for j in chosen]
