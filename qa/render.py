"""Rendering: an `Answer` (or `Passage`s) as Markdown for the web UI, plain text for `qa ask`,
and JSON for `qa ask --json` and the HTTP API. Nothing else in the product formats an answer.

Article text is untrusted: in Markdown every quoted string is escaped (`markdown_escape`) and
every link percent-encoded, and Gradio's HTML sanitiser stays on besides.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from .answer import URL_SAFE, markdown_escape, sources_markdown
from .records import Answer, Passage

__all__ = ["to_markdown", "to_text", "to_json", "passage_json"]


def to_markdown(result: Answer) -> str:
    """One chat message: the verdict, the answer, its cited sources, the story's timeline when dates
    differ, and the passages retrieved but not cited."""
    links = {p.citation.number: quote(p.citation.url, safe=URL_SAFE) for p in result.passages if p.citation.url}
    text = re.sub(r"(?<!\\)\[(\d+)\]", lambda m: f"[[{m[1]}]]({links[int(m[1])]})" if int(m[1]) in links else m[0], result.text)
    verdict = [f"### {_linked(markdown_escape(result.verdict), links)}"] if result.verdict else []
    parts = [*verdict, *(f"*{markdown_escape(n)}*" for n in result.notes), text]
    cited, further = _split(result)
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


def _split(result: Answer) -> tuple[tuple[Passage, ...], tuple[Passage, ...]]:
    """The cited passages and the further ones; a declined answer shows none."""
    if not result.answered:
        return (), ()
    return result.passages[: result.cited], result.passages[result.cited :]


def _linked(markdown: str, links: dict[int, str]) -> str:
    return re.sub(r"\\\[(\d+)\\\]", lambda m: f"[[{m[1]}]]({links[int(m[1])]})" if int(m[1]) in links else f"[{m[1]}]", markdown)


def to_text(result: Answer) -> str:
    """The answer for a terminal: notes, the answer, numbered sources with their quotes, the timeline."""
    lines = ([result.verdict] if result.verdict else []) + [f"note: {note}" for note in result.notes] + [_plain(result.text)]
    cited, further = _split(result)
    for heading, passages in (("Sources", cited), ("More passages (not cited)", further)):
        if passages:
            lines.append(f"\n{heading}:")
        for p in passages:
            c = p.citation
            meta = ", ".join(x for x in (c.source, c.date.isoformat() if c.date else "undated") if x)
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
        "answer": _plain(result.text),
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


def _plain(markdown: str) -> str:
    """The answer's own Markdown escapes and bold markers off, for a terminal or JSON."""
    return re.sub(r"\\([\\`*_{}\[\]<>()#+|~!&-])", r"\1", markdown.replace("**", ""))
