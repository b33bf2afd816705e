"""Plain text and Markdown: YAML front matter first, then what the text itself states near its top."""

from __future__ import annotations

import re
from typing import Any

import frontmatter
import yaml

from ..cleaning import clean_text, strip_markdown
from ..dates import is_date_line
from ..records import Article
from .fields import IngestError, date_note, field, make_article

__all__ = ["parse_markdown"]

_MAX_FRONT_MATTER = 64_000
_MAX_META_LINE = 300  # longer lines are body text; the patterns below never see them
_TITLE_HEADING = re.compile(r"#\s+(.*\S)")
_ORIGINAL_URL = re.compile(r"\s*(?:original\s+url|source\s+url|url|link)\s*:\s*<?(\S*?)>?\s*", re.IGNORECASE)
_BARE_URL = re.compile(r"\s*<?(https?://[^\s>]+)>?\s*")
_BYLINE = re.compile(r"\s*by\s+([A-Z][\w.'\-]+(?:\s+(?:and\s+)?[A-Z][\w.'\-]+){0,5})\s*")


class _NoAliasLoader(yaml.SafeLoader):
    """YAML's safe loader without aliases (an alias bomb, `a: &a [*a, *a, …]`, expands
    exponentially) and without timestamps: a date stays text for qa's own date reading, so that one
    impossible date ("2023-02-30") is a note about the date, not a front matter lost whole."""

    yaml_implicit_resolvers = {
        first: [(tag, pattern) for tag, pattern in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            raise yaml.YAMLError("aliases are not allowed in front matter")
        return super().compose_node(parent, index)


class _FrontMatter(frontmatter.YAMLHandler):
    def load(self, fm: str, **kwargs: object) -> Any:
        if len(fm) > _MAX_FRONT_MATTER:
            raise yaml.YAMLError("front matter over 64 kB")
        return yaml.load(fm, Loader=_NoAliasLoader)


def _front_matter(text: str, notes: list[str]) -> tuple[dict[str, Any], str]:
    handler = _FrontMatter()
    if not handler.detect(text):
        return {}, text
    try:
        post = frontmatter.loads(text, handler=handler)
    except Exception as error:  # noqa: BLE001 - malformed or hostile front matter (an alias bomb): the text is kept
        notes.append(f"front matter could not be read ({type(error).__name__}); its title and date are lost")
        try:
            return {}, handler.split(text)[1]
        except ValueError:
            return {}, text
    if not isinstance(post.metadata, dict):
        notes.append("front matter is not a mapping of fields; its title and date are lost")
        return {}, post.content
    return {str(k): v for k, v in post.metadata.items()}, post.content


def parse_markdown(text: str, article_id: str, notes: list[str] | None = None) -> Article:
    """A `.txt` or `.md` article: front matter first, then what the text itself states.

    What could not be read is noted in `notes` (a malformed front matter, a date out of range)."""
    notes = [] if notes is None else notes
    meta, content = _front_matter(text, notes)
    if note := date_note(field(meta, "date")):
        notes.append(note)
    lines = content.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    title, date, url, author = field(meta, "title"), field(meta, "date"), field(meta, "url"), field(meta, "author")
    kept: list[str] = []
    seen_text = 0  # non-empty lines seen so far: title, date and byline are only read near the top
    for i, line in enumerate(lines):
        stripped = line.strip()
        if not stripped:
            kept.append("")
            continue
        seen_text += 1
        if len(stripped) > _MAX_META_LINE:
            kept.append(line)
            continue
        heading = _TITLE_HEADING.fullmatch(stripped)
        if heading and seen_text == 1:  # the headline: metadata, not body (front matter's title wins)
            title = title or strip_markdown(heading.group(1).rstrip("#").strip()) or None
            continue
        if seen_text <= 6 and (found := is_date_line(stripped)) is not None:
            date = date or found
            continue
        if seen_text <= 6 and author is None and (by := _BYLINE.fullmatch(strip_markdown(stripped))):
            author = by.group(1)
            continue
        if match := _ORIGINAL_URL.fullmatch(stripped):
            url = url or match.group(1) or _next_url(lines, i)
            continue
        if url and (bare := _BARE_URL.fullmatch(stripped)) and bare.group(1) == url:
            continue  # the URL already taken from an "Original url:" line
        kept.append(line)
    body = clean_text("\n".join(kept))
    if not body:
        raise IngestError("no text after cleaning")
    return make_article(article_id, body, title, date, field(meta, "source"), url, author)


def _next_url(lines: list[str], i: int) -> str | None:
    for line in lines[i + 1 : i + 4]:
        if len(line) <= _MAX_META_LINE and (match := _BARE_URL.fullmatch(line)):
            return match.group(1)
    return None
