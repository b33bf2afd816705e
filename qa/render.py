"""Rendering: an `Answer` (or `Passage`s) as Markdown for the web UI, plain text for `qa ask`,
and JSON for `qa ask --json` and the HTTP API. Nothing else in the product formats an answer but
`qa/panels.py`, the web UI's HTML panels.

Article text is untrusted: in Markdown every quoted string is escaped (`markdown_escape`) and
every link percent-encoded, and Gradio's HTML sanitiser stays on besides.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from .dates import format_date
from .records import Answer, Citation, Claim, Passage, Report

__all__ = [
    "to_markdown",
    "to_chat",
    "to_text",
    "to_json",
    "passage_json",
    "cited_and_further",
    "body",
    "fetched",
    "markdown_escape",
    "sources_markdown",
    "DECLINE",
    "GENERATED",
    "URL_SAFE",
]

DECLINE = "Not found in these articles."
#: Said above a generated answer: the reader knows who wrote it and how it was checked.
GENERATED = "Written by a language model; each sentence was checked against the passage it cites."
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
        meta = ", ".join(
            x
            for x in (markdown_escape(c.source) if c.source else "", c.date.isoformat() if c.date else "undated", fetched(c))
            if x
        )
        lines.append(f"{c.number}. {head} ({meta}): “{markdown_escape(c.quote)}”")
    return "\n".join(lines)


def fetched(citation: Citation) -> str:
    """ "fetched 2026-12-03 12:30 UTC" for an article a feed brought, else "": news minutes old shows
    both when it was published and when we read it."""
    if not citation.fetched:
        return ""
    return f"fetched {citation.fetched[:16].replace('T', ' ')} UTC"


def body(result: Answer, *, markdown: bool = True) -> str:
    """The answer itself: the lead ("Latest update, as of 23 Feb 2022 (outlet): “…” [1]"), then the
    other cited reports, each with its date and outlet; Markdown (escaped) or plain text."""
    if not result.answered or result.lead is None:
        return DECLINE
    escape = markdown_escape if markdown else (lambda text: re.sub(r"\s+", " ", text).strip())
    if result.composer == "generative":  # the model's kept sentences, each ending with its citations
        return " ".join(_escaped_claim(c.text) if markdown else escape(c.text) for c in result.claims if c.reason is None)
    bold = (lambda text: f"**{text}**") if markdown else (lambda text: text)

    def quoted(report: Report) -> str:
        return " ".join(
            f"“{escape(q.text)}”{f' (that is, {format_date(q.refers_to)})' if q.refers_to else ''} [{report.number}]"
            for q in report.quotes
        )

    lead = result.lead
    if lead.date is None:
        head = f"Undated report ({escape(lead.outlet)})"
    else:
        head = f"{bold(('Latest update, as of ' if lead.latest_update else 'As of ') + format_date(lead.date))} ({escape(lead.outlet)})"
    lines = [f"{head}: {quoted(lead)}"]
    if result.unsupported:  # a multi-part question answered in part says which part found nothing
        missing = "; ".join(f"“{escape(part)}”" for part in result.unsupported)
        # Support is measured, not proven (qa/evidence.py): a part below the bar may still be answered
        # in the passages, so the answer says it found little, not that there is nothing.
        lines.insert(0, f"{bold('Partly answered.')} Little or no support found in these articles for: {missing}\n")
    if result.others:
        lines += ["", bold("Earlier and undated reports:" if result.others_earlier else "Other reports:")]
        lines += [f"- {format_date(r.date) if r.date else 'Undated'}, {escape(r.outlet)}: {quoted(r)}" for r in result.others]
    return "\n".join(lines)


def _escaped_claim(text: str) -> str:
    """A generated sentence in Markdown: escaped like article text, its citations kept as [n] to be linked."""
    return re.sub(r"\\\[(\d+(?:, ?\d+)*)\\\]", r"[\1]", markdown_escape(CITES_ONE.sub(_one_per_bracket, text)))


def _one_per_bracket(match: re.Match[str]) -> str:
    return "".join(f"[{n}]" for n in re.findall(r"\d+", match[0]))


#: "[1, 2]" is written as "[1][2]", so that each number links to its source.
CITES_ONE = re.compile(r"\[\s*\d{1,3}(?:\s*[,;]\s*\d{1,3})+\s*\]")


def to_markdown(result: Answer) -> str:
    """One chat message: the verdict, the answer, its cited sources, the story's timeline when dates
    differ, and the passages retrieved but not cited."""
    parts = _message(result, "### {}")
    cited, further = cited_and_further(result)
    if cited:
        parts.append(f"**Sources**\n\n{sources_markdown(cited)}")
    if len(result.timeline) > 1:
        rows = ["| Date | Report | |", "|---|---|---|"]
        for entry in result.timeline:
            date = entry.date.isoformat() if entry.date else "undated"
            flag = "latest update" if entry.superseding else ""
            marker = f"[{entry.number}] " if entry.number else ""
            rows.append(f"| {date} | {marker}{markdown_escape(entry.title)} | {flag} |")
        parts.append("**Timeline** (newest first)\n\n" + "\n".join(rows))
    if further:
        parts.append(f"**More passages** (not cited)\n\n{sources_markdown(further)}")
    return "\n\n".join(parts)


def cited_and_further(result: Answer) -> tuple[tuple[Passage, ...], tuple[Passage, ...]]:
    """The cited passages and the further ones; a declined answer shows none."""
    if not result.answered:
        return (), ()
    return result.passages[: result.cited], result.passages[result.cited :]


def _message(result: Answer, verdict_markup: str) -> list[str]:
    """The verdict (in `verdict_markup`), the notes and the answer's body, each [n] linked to its source."""
    links = {p.citation.number: quote(p.citation.url, safe=URL_SAFE) for p in result.passages if p.citation.url}

    def linked(markdown: str, marker: str) -> str:  # `marker` matches [n] in the body, \[n\] in escaped text
        return re.sub(marker, lambda m: f"[[{m[1]}]]({links[int(m[1])]})" if int(m[1]) in links else f"[{m[1]}]", markdown)

    verdict = [verdict_markup.format(linked(markdown_escape(result.verdict), r"\\\[(\d+)\\\]"))] if result.verdict else []
    label = [f"*{GENERATED}*"] if result.composer == "generative" else []
    return [*verdict, *(f"*{markdown_escape(n)}*" for n in result.notes), *label, linked(body(result), r"(?<!\\)\[(\d+)\]")]


def to_text(result: Answer) -> str:
    """The answer for a terminal: notes, the answer, numbered sources with their quotes, the timeline."""
    lines = (
        ([result.verdict] if result.verdict else []) + [f"note: {note}" for note in result.notes] + [body(result, markdown=False)]
    )
    dropped = [c for c in result.claims if c.reason is not None]
    if dropped:
        lines.append("\nGenerated sentences dropped:")
        lines += [f"  “{' '.join(c.text.split())}”: {c.reason}" for c in dropped]
    cited, further = cited_and_further(result)
    for heading, passages in (("Sources", cited), ("More passages (not cited)", further)):
        if passages:
            lines.append(f"\n{heading}:")
        for p in passages:
            c = p.citation
            meta = ", ".join(x for x in (c.source, c.date.isoformat() if c.date else "undated", fetched(c)) if x)
            lines.append(f"  [{c.number}] {c.title} ({meta}){' ' + c.url if c.url else ''}\n      “{c.quote}”")
    if result.timeline:
        lines.append("\nTimeline of the story (newest first):")
        for entry in result.timeline:
            flag = "  ← latest update" if entry.superseding else ""
            cited = f"[{entry.number}]" if entry.number else "   "
            lines.append(f"  {entry.date.isoformat() if entry.date else 'undated   '}  {cited} {entry.title}{flag}")
    return "\n".join(lines)


def passage_json(p: Passage) -> dict[str, Any]:
    """One passage: its text, scores, the cited sentence with its span, and the article's metadata."""
    return {
        "rank": p.rank,
        "text": p.text,
        "score": round(p.score, 6),
        "similarity": round(p.similarity, 6),
        "quote": p.citation.quote,
        "span": [p.citation.start, p.citation.end],
        "fetched": p.citation.fetched,
        "article": {
            "id": p.article.id,
            "title": p.article.title,
            "date": p.article.date.isoformat() if p.article.date else None,
            "source": p.article.source,
            "url": p.article.url,
        },
    }


def to_json(result: Answer | Sequence[Passage]) -> dict[str, Any] | list[dict[str, Any]]:
    """An answer as a JSON object (dates ISO `YYYY-MM-DD` or null), or passages as a JSON list."""
    if not isinstance(result, Answer):
        return [passage_json(p) for p in result]
    return {
        "question": result.question,
        "answered": result.answered,
        "grade": result.grade,
        "unsupported": list(result.unsupported),
        "composer": result.composer,
        "answer": body(result, markdown=False),
        "sentences": [_claim_json(c) for c in result.claims if c.reason is None],
        "dropped": [{"sentence": c.text, "cites": list(c.cites), "reason": c.reason} for c in result.claims if c.reason],
        "verdict": result.verdict,
        "as_of": result.as_of.isoformat() if result.as_of else None,
        "searched": result.searched,
        "cited": result.cited,
        "passages": [passage_json(p) for p in result.passages],
        "timeline": [
            {"date": e.date.isoformat() if e.date else None, "number": e.number, "title": e.title, "latest_update": e.superseding}
            for e in result.timeline
        ],
        "notes": list(result.notes),
    }


def _claim_json(claim: Claim) -> dict[str, Any]:
    """A kept generated sentence: its citations and the sentence of a cited passage that supports it best."""
    support = claim.support
    return {
        "sentence": claim.text,
        "cites": list(claim.cites),
        "support": {"number": support.number, "quote": support.quote, "span": [support.start, support.end]} if support else None,
    }


# --- the web UI's panels (HTML: every string from an article is escaped here) ---------------------


def to_chat(result: Answer, *, same_evidence: bool = False) -> str:
    """The chat message: the verdict, notes and the answer's text; sources are shown as cards beside it.

    A follow-up that found the very reports of the previous answer says so instead of repeating it."""
    if same_evidence and result.answered:
        notes = "".join(f"*{markdown_escape(n)}*\n\n" for n in result.notes)
        numbers = ", ".join(f"[{p.citation.number}]" for p in result.passages[: result.cited])
        return f"{notes}The same reports answer this ({numbers}); nothing further was found. See the answer above."
    return "\n\n".join(_message(result, "**{}**"))
