"""HTML pages: trafilatura finds the main text; the page's own published date comes first.

trafilatura (through htmldate) may take a date from anywhere in the page, and once took a
tracking script's 2019-11-14 over the page's `<time>` of 2019-11-19. A date the page states as
its publication date — a `<meta>` published-time, `itemprop="datePublished"`, JSON-LD, or a
`<time datetime>` outside asides, navigation and footers — wins; trafilatura's is the fallback.
"""

from __future__ import annotations

import re
from typing import Any

from ..cleaning import clean_text
from ..dates import parse_date
from ..records import Article
from .fields import IngestError, make_article

__all__ = ["parse_html", "page_date"]

_PUBLISHED_META = {
    "article:published_time",
    "og:published_time",
    "og:article:published_time",
    "datepublished",
    "pubdate",
    "publishdate",
    "publish-date",
    "date",
    "dc.date.issued",
    "dc.date",
    "dcterms.created",
    "dcterms.date",
    "sailthru.date",
    "parsely-pub-date",
    "cxenseparse:recs:publishtime",
}
_LD_PUBLISHED = re.compile(r'"datePublished"\s{0,5}:\s{0,5}"([^"]{4,40})"')


def parse_html(html: str, article_id: str, max_elements: int = 30_000) -> Article:
    """An HTML page's main text and metadata; every extracted block stays a paragraph."""
    import trafilatura  # imported here: it takes a second and only HTML needs it
    from trafilatura.utils import load_html

    tree = load_html(html)
    if tree is None:
        raise IngestError("not an HTML document")
    if sum(1 for _ in tree.iter()) > max_elements:
        raise IngestError(f"over {max_elements:,} HTML elements (QA_MAX_HTML_ELEMENTS)")
    own_date, heading = page_date(tree), _first_heading(tree)  # before trafilatura prunes the tree
    document = trafilatura.bare_extraction(tree, with_metadata=True, include_comments=False, include_tables=False)
    if document is None or isinstance(document, dict) or not (document.text or "").strip():
        raise IngestError("no main text found in the HTML")
    body = clean_text(document.text or "", blocks=True)
    if not body:
        raise IngestError("no text after cleaning")
    title = document.title
    if title and document.sitename and title.strip().casefold() == document.sitename.strip().casefold():
        title = heading  # the site's name is not the article's title
    return make_article(article_id, body, title, own_date or document.date, document.sitename, document.url, document.author)


def page_date(tree: Any) -> Any:
    """The publication date the page itself states, or `None`."""
    for meta in tree.iter("meta"):
        key = (meta.get("property") or meta.get("name") or meta.get("itemprop") or "").strip().casefold()
        if key in _PUBLISHED_META and (found := parse_date(meta.get("content"))):
            return found
    for element in tree.xpath("//*[@itemprop='datePublished']"):
        if found := parse_date(element.get("datetime") or element.get("content") or element.text_content()[:80]):
            return found
    for script in tree.xpath("//script[@type='application/ld+json']"):
        if (match := _LD_PUBLISHED.search((script.text or "")[:100_000])) and (found := parse_date(match[1])):
            return found
    for time in tree.xpath("//time[@datetime][not(ancestor::aside or ancestor::nav or ancestor::footer)]"):
        if found := parse_date(time.get("datetime")):
            return found
    return None


def _first_heading(tree: Any) -> str | None:
    for heading in tree.iter("h1"):
        text = re.sub(r"\s+", " ", heading.text_content()).strip()
        if text:
            return text
    return None
