"""Ids: an entry's key (its guid, else its canonical URL), the file it is saved as, a feed's name.

The same article reached by a newsletter link and by the feed must be one article, so a URL is
made canonical before it is used as a key: lower-case scheme and host, no default port, no
fragment, and no tracking parameters (utm_*, fbclid, gclid…), the others kept in their order.
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ..errors import shown

__all__ = ["canonical_url", "entry_key", "file_stem", "feed_name", "checked_name"]

_TRACKING = re.compile(
    r"utm_\w*|fbclid|gclid|dclid|gbraid|wbraid|msclkid|yclid|mc_cid|mc_eid|igshid|_ga|_gl|ref_src|cmpid|ocid|oly_\w+_id|__twitter_impression",
    re.IGNORECASE,
)
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,59}")


def canonical_url(url: str) -> str:
    """`url` without what only tracks the reader; unchanged when it is not an http(s) URL."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return url.strip()
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return url.strip()
    scheme = parts.scheme.lower()
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port in (None, 80 if scheme == "http" else 443) else f"{host}:{port}"
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING.fullmatch(k)]
    return urlunsplit((scheme, netloc, parts.path or "/", urlencode(query), ""))


def entry_key(guid: str | None, link: str | None, fallback: str) -> str:
    """The entry's guid, else its canonical link, else a hash of its text (`fallback`)."""
    if guid and guid.strip():
        return guid.strip()[:2000]
    if link and link.strip():
        return canonical_url(link)[:2000]
    return "sha1:" + hashlib.sha1(fallback.encode("utf-8", "surrogatepass")).hexdigest()


def file_stem(key: str) -> str:
    """The file name (without suffix) of the entry with this key: the same key, the same file, so an
    updated entry replaces its earlier version."""
    return hashlib.sha1(key.encode("utf-8", "surrogatepass")).hexdigest()[:20]


def feed_name(url: str) -> str:
    """A name for a feed added without one: its host and path, e.g. `example.com-news-rss`."""
    try:
        parts = urlsplit(url)
        words = re.findall(r"[A-Za-z0-9]+", f"{(parts.hostname or '').removeprefix('www.')} {parts.path}")
    except ValueError:
        words = []
    return "-".join(words)[:60].strip("-.") or "feed"


def checked_name(name: str) -> str:
    """A feed's name as given by the user: it names a folder, so letters, digits, `.`, `_`, `-` only."""
    if not _NAME.fullmatch(name) or ".." in name:
        raise ValueError(f"feed name {shown(name)!r}: use 1–60 letters, digits, '.', '_' or '-', starting with a letter or digit")
    return name
