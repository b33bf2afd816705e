"""Cleaning: the text of an article without markup, credits and layout noise.

Markdown links become their text; image lines, photo credits, bare bullets and "Related article"
lines go. In plain text and Markdown, hard-wrapped lines and sentences broken across a blank line
are rejoined, but headings and list items stay blocks of their own; HTML text arrives one block
per line (trafilatura) and every block stays a paragraph. Paragraphs end up separated by one
blank line, which chunking treats as a boundary.

Every pattern here is bounded (`{0,N}` rather than `*`): article text comes from scrapers and
strangers, and an unbounded pattern over 40 KB of `[` took 29 s.
"""

from __future__ import annotations

import re

from markdown_it import MarkdownIt
from markdown_it.token import Token

__all__ = ["clean_text", "strip_markdown", "is_credit"]


_IMAGE = re.compile(r"!\[[^\]\n]{0,500}\]\([^)\n]{0,2000}\)")
#: Characters that can start inline Markdown (links, emphasis, code, escapes, entities, autolinks).
_INLINE_MARKUP = re.compile(r"[\[\]*_`\\&<]")
#: CommonMark without raw HTML (it stays text, as the rest of a text article): a parser's
#: configuration, built once like a compiled pattern; it keeps no state between calls.
_CENSORED = re.compile(r"(?<=\w)\*(?=\w)")
_MARKDOWN = MarkdownIt("commonmark", {"html": False})
# Every link is a link, whatever its URL: only its text is kept, so a `javascript:` URL (which
# markdown-it would otherwise leave in the text, unlinked) is dropped like any other.
_MARKDOWN.validateLink = lambda url: True
_HEADING = re.compile(r"^#{1,6}\s+")
_BULLET = re.compile(r"^\s{0,8}(?:[-*+•]|\d{1,3}[.)])\s+")
_RELATED = re.compile(
    r"^\W{0,10}(related( articles?| stories| coverage)?|read more|see also|also read|recommended)\s{0,5}:", re.I
)
#: A photo credit: "Photo: …", "Image by …", "Credit …", or "<caption> / <agency>" ("The White House / flickr").
_CREDIT = re.compile(
    r"(?i)^(?:photo(?:graph)?s?|images?|pictures?|illustrations?|credits?)\s{0,3}(?::|by\b|credits?\b|courtesy\b)"
    r"|\b(?:getty images|shutterstock|ap photo|afp via|via getty|wikimedia commons|unsplash)\b|\bcredits?\s{0,3}:\s"
    r"|\s/\s{0,3}(?:flickr|getty|ap|afp|reuters|epa|file|handout|wikimedia|unsplash|shutterstock)\b[\w .]{0,30}$"
)
_ONLY_PUNCTUATION = re.compile(r"^[\W_]{1,20}$")  # a bare "-", "•" or "* * *" left by a list or a divider
_TERMINAL = (".", "!", "?", "…", '"', "”", "’", "'", ")", "]", ":", ";")


def clean_text(text: str, *, blocks: bool = False) -> str:
    """Markdown and layout noise out, paragraphs rejoined, `\\n\\n` between paragraphs.

    With `blocks` (text extracted from HTML), every line is a paragraph of its own: the page's
    markup already said where its blocks end, and rejoining glued headlines to their stories.
    """
    paragraphs: list[tuple[str, bool]] = []  # (text, a block of its own: never rejoined)
    current: list[str] = []
    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        cleaned = _clean_line(raw)
        if cleaned is None:
            continue
        line, own_block = cleaned
        if not line or blocks or own_block:
            if current:
                paragraphs.append((" ".join(current), False))
                current = []
            if line:
                paragraphs.append((line, True))
            continue
        if current and current[-1].endswith(_TERMINAL) and not line[0].islower():
            paragraphs.append((" ".join(current), False))  # a line per paragraph, not a hard wrap
            current = []
        current.append(line)
    if current:
        paragraphs.append((" ".join(current), False))
    joined: list[tuple[str, bool]] = []
    for paragraph, own_block in paragraphs:  # a sentence broken across a blank line: "changes\n\ncourse."
        if joined and not own_block and not joined[-1][1] and not joined[-1][0].endswith(_TERMINAL) and paragraph[0].islower():
            joined[-1] = (joined[-1][0] + " " + paragraph, False)
        else:
            joined.append((paragraph, own_block))
    return "\n\n".join(p for p, _ in joined).strip()


def _clean_line(line: str) -> tuple[str, bool] | None:
    """The line's text ("" for a paragraph break) and whether it is a block of its own
    (a heading or a list item); `None` for a line that is noise."""
    stripped = line.strip()
    if not stripped:
        return "", False
    if _IMAGE.fullmatch(stripped) or _RELATED.match(stripped):
        return None
    own_block = bool(_HEADING.match(stripped) or _BULLET.match(stripped))
    text = strip_markdown(stripped)
    if not text or _ONLY_PUNCTUATION.match(text) or is_credit(text):
        return None
    return re.sub(r"\s+", " ", text), own_block


def is_credit(line: str) -> bool:
    """A photo credit such as "Photo: Reuters" or "The White House / flickr", not a short line of text."""
    return len(line) <= 100 and not line.endswith((".", "!", "?")) and bool(_CREDIT.search(line))


def strip_markdown(line: str) -> str:
    """One line's text without its Markdown: the line's block marker (heading, quote, bullet) by
    pattern, then its inline markup by markdown-it-py, CommonMark's reference parser in Python.

    The parser gets right what patterns cannot: a link whose URL has parentheses
    (`[x](…/Foo_(bar))`), single-star emphasis, backslash escapes, entities, code spans. It is
    linear in the line, and a line is at most a paragraph."""
    line = _HEADING.sub("", line.strip())  # sub-headings keep their words
    line = re.sub(r"^>\s?", "", line)  # block quotes
    line = re.sub(r"^[-*+•]\s+", "", line)  # list bullets (numbers stay: "1. Open the door")
    if not _INLINE_MARKUP.search(line):
        return line.strip()  # most lines of most articles: nothing for the parser to do
    line = _CENSORED.sub(r"\\*", line)  # "f*ing", "sh*t": news censoring, not emphasis
    return "".join(_inline_text(token) for token in _MARKDOWN.parseInline(line)[0].children or ()).strip()


def _inline_text(token: Token) -> str:
    if token.type in ("text", "code_inline"):
        return token.content
    if token.type == "softbreak":
        return " "
    if token.type == "hardbreak":
        return "\n"
    return ""  # images (their alt text is a caption) and the markers of links and emphasis
