"""The web UI's HTML panels: the verdict and lead card above the chat, the cited reports as cards
beside it, the timeline, and the passages not cited. Split from `qa/render.py` (which formats the
answer as text, Markdown and JSON); every string from an article is escaped here.
"""

from __future__ import annotations

import html
import re
from urllib.parse import quote

from .dates import format_date
from .records import Answer, Passage
from .render import DECLINE, URL_SAFE, cited_and_further, fetched, sources_markdown

__all__ = ["verdict_html", "cards_html", "more_markdown"]


def verdict_html(result: Answer | None, error: str | None = None) -> str:
    """The panel above the chat: the latest answer's verdict and its lead report's card, in view on any screen."""
    if error:
        return f'<div class="qa-verdict qa-error">{html.escape(error)}</div>'
    if result is None:
        return '<div class="qa-verdict qa-empty">Ask a question: the newest report leads, every quote is cited.</div>'
    if not result.answered:
        return f'<div class="qa-verdict qa-declined">{DECLINE}</div>'
    head = html.escape(result.verdict or (f"As of {format_date(result.as_of)}" if result.as_of else "Answer"))
    cited, _ = cited_and_further(result)
    card = _card(cited[0], context=False, marks=_supports(result, cited[0])) if cited else ""
    return f'<div class="qa-verdict"><div class="qa-headline">{head}</div>{card}</div>'


def cards_html(result: Answer | None) -> str:
    """The other cited reports as cards, then the story's timeline (newest first)."""
    if result is None or not result.answered:
        return ""
    cited, _ = cited_and_further(result)
    parts = [_card(p, marks=_supports(result, p)) for p in cited[1:]]
    if len(result.timeline) > 1:
        rows = "".join(
            f"<li><time>{e.date.isoformat() if e.date else 'undated'}</time> "
            f"{f'[{e.number}] ' if e.number else ''}{html.escape(e.title)}"
            f"{' <b>latest update</b>' if e.superseding else ''}</li>"
            for e in result.timeline
        )
        parts.append(f'<div class="qa-timeline"><div class="qa-label">Timeline, newest first</div><ol>{rows}</ol></div>')
    return "".join(parts)


def more_markdown(result: Answer | None) -> str:
    """Passages retrieved but not cited."""
    if result is None:
        return ""
    _, further = cited_and_further(result)
    return sources_markdown(further) if further else "No further passages."


def _supports(result: Answer, p: Passage) -> list[tuple[int, int]]:
    """For a generated answer, the sentences of `p` that its kept sentences rest on (spans in the article)."""
    if result.composer != "generative":
        return []
    spans = {
        (c.support.start, c.support.end)
        for c in result.claims
        if c.reason is None and c.support and c.support.number == p.citation.number
    }
    return sorted(spans)


def _card(p: Passage, *, context: bool = True, marks: list[tuple[int, int]] | None = None) -> str:
    """A source card: [n], outlet and date, the title (a link when the article has a web URL), and
    the cited sentence highlighted inside its passage (alone, without `context`). `marks` (spans of
    the sentences a generated answer rests on) replace the cited sentence as the highlight."""
    c = p.citation
    title = html.escape(c.title)
    url = c.url if c.url and re.match(r"^https?://", c.url) else None
    link = (
        f'<a href="{html.escape(quote(url, safe=URL_SAFE))}" target="_blank" rel="noopener noreferrer">{title}</a>'
        if url
        else title
    )
    meta = " · ".join(
        html.escape(x) for x in (c.source or "outlet not stated", c.date.isoformat() if c.date else "undated", fetched(c)) if x
    )
    start, end = p.chunk.start, p.chunk.end
    text = p.article.text
    if marks:
        body = (
            _marked(text, marks, start, end)
            if context
            else " … ".join(f"<mark>{html.escape(text[a:b])}</mark>" for a, b in marks)
        )
    elif context and start <= c.start and c.end <= end:
        body = (
            f"{html.escape(text[start : c.start])}<mark>{html.escape(text[c.start : c.end])}</mark>"
            f"{html.escape(text[c.end : end])}"
        )
    else:
        body = f"<mark>{html.escape(c.quote)}</mark>"
    return (
        f'<div class="qa-card"><div class="qa-meta">[{c.number}] {meta}</div><div class="qa-title">{link}</div>'
        f'<p class="qa-passage">{body}</p></div>'
    )


def _marked(text: str, marks: list[tuple[int, int]], start: int, end: int) -> str:
    """`text[start:end]`, escaped, with the (sorted, non-overlapping) spans in `marks` highlighted."""
    out, cursor = [], start
    for a, b in marks:
        a, b = max(a, cursor), min(b, end)
        if a >= b:
            continue
        out += [html.escape(text[cursor:a]), f"<mark>{html.escape(text[a:b])}</mark>"]
        cursor = b
    out.append(html.escape(text[cursor:end]))
    return "".join(out)
