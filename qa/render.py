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
    """One chat message: the answer, its numbered sources and, when dates differ, a timeline."""
    links = {p.citation.number: quote(p.citation.url, safe=URL_SAFE) for p in result.passages if p.citation.url}
    text = re.sub(r"(?<!\\)\[(\d+)\]", lambda m: f"[[{m[1]}]]({links[int(m[1])]})" if int(m[1]) in links else m[0], result.text)
    parts = [*(f"*{markdown_escape(n)}*" for n in result.notes), text]
    if result.passages:
        heading = "**Sources**" if result.answered else "**Nearest passages**"
        parts.append(f"{heading}\n\n{sources_markdown(result)}")
    if len(result.timeline) > 1:
        rows = ["| Date | Report | |", "|---|---|---|"]
        for entry in result.timeline:
            date = entry.date.isoformat() if entry.date else "undated"
            flag = "latest update" if entry.superseding else ""
            cited = f"[{entry.number}] " if entry.number else ""
            rows.append(f"| {date} | {cited}{markdown_escape(entry.title)} | {flag} |")
        parts.append("**Timeline** (newest first)\n\n" + "\n".join(rows))
    return "\n\n".join(parts)


def to_text(result: Answer) -> str:
    """The answer for a terminal: notes, the answer, numbered sources with their quotes, the timeline."""
    lines = [f"note: {note}" for note in result.notes] + [_plain(result.text)]
    if result.passages:
        lines.append("\nSources:")
        for p in result.passages:
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
        "as_of": result.as_of.isoformat() if result.as_of else None,
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
