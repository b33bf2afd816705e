"""Cleaning: the text of an article without markup, credits and layout noise.

Markdown links become their text; image lines, photo credits and "Related article"
lines go; hard-wrapped lines and sentences broken across a blank line are rejoined.
Paragraphs end up separated by one blank line, which chunking treats as a boundary.
"""

from __future__ import annotations

import re

__all__ = ["clean_text", "strip_markdown"]


_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_AUTOLINK = re.compile(r"<(https?://[^>\s]+)>")
_EMPHASIS = re.compile(r"(\*\*|__)(.+?)\1")
_RELATED = re.compile(r"^\W*(related( articles?| stories| coverage)?|read more|see also|also read|recommended)\s*:", re.I)
_CREDIT = re.compile(
    r"(?i)^(photo|image|picture|credit|illustration)s?\b|\b(getty images|flickr|shutterstock|ap photo|afp|reuters/|"
    r"via getty|wikimedia|unsplash)\b|^\S.{0,60}\s/\s\S.{0,40}$"
)
_TERMINAL = ('.', '!', '?', '…', '"', '”', '’', "'", ')', ']', ':', ';')


def clean_text(text: str) -> str:
    """Markdown and layout noise out, paragraphs rejoined, `\\n\\n` between paragraphs."""
    paragraphs: list[str] = []
    current: list[str] = []
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = _clean_line(line)
        if line is None:
            continue
        if not line:
            if current:
                paragraphs.append(" ".join(current))
                current = []
            continue
        if current and current[-1].endswith(_TERMINAL) and not line[0].islower():
            paragraphs.append(" ".join(current))  # a line per paragraph, not a hard wrap
            current = []
        current.append(line)
    if current:
        paragraphs.append(" ".join(current))
    joined: list[str] = []
    for paragraph in paragraphs:  # a sentence broken across a blank line: "changes\n\ncourse."
        if joined and not joined[-1].endswith(_TERMINAL) and paragraph[0].islower():
            joined[-1] += " " + paragraph
        else:
            joined.append(paragraph)
    return "\n\n".join(joined).strip()


def _clean_line(line: str) -> str | None:
    """The line's text, "" for a paragraph break, or `None` for a line that is noise."""
    stripped = line.strip()
    if not stripped:
        return ""
    if _IMAGE.fullmatch(stripped) or _RELATED.match(stripped):
        return None
    text = strip_markdown(stripped)
    if not text:
        return None
    if len(text) <= 100 and not text.endswith((".", "!", "?")) and _CREDIT.search(text):
        return None  # a photo credit such as "The White House / flickr"
    return re.sub(r"\s+", " ", text)


def strip_markdown(text: str) -> str:
    text = _IMAGE.sub("", text)
    text = _LINK.sub(r"\1", text)
    text = _AUTOLINK.sub(r"\1", text)
    text = _EMPHASIS.sub(r"\2", text)
    text = re.sub(r"^#{1,6}\s+", "", text)  # sub-headings keep their words
    text = re.sub(r"^>\s?", "", text)  # block quotes
    text = re.sub(r"^\s*[-*+]\s+", "", text)  # list bullets
    return text.strip()


