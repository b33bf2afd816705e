"""Which address a link may be fetched from: a public one, or the very address of its feed.

A feed is a stranger's document, and its links could point anywhere: at the admin panel on
127.0.0.1, a router at 192.168.1.1, a cloud's metadata service at 169.254.169.254. So a link is
fetched only from a host that resolves to a public (globally routable) address, or to the exact
address the feed itself was fetched from (a feed on a private network may link to its own pages).
The feed's own URL is the user's choice and may be anywhere.

The address is checked once and then connected to (`Target.ip`): the name is never resolved again
between the check and the connection, so a DNS answer that changes in between changes nothing.
Every redirect hop is checked the same way.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..errors import shown
from .errors import FetchError

__all__ = ["Target", "target", "allowed"]

IP = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class Target:
    """A URL's parts and the one address it will be fetched from."""

    url: str
    scheme: str  #: http or https
    host: str
    port: int
    ip: str
    path: str  #: path and query, as sent in the request line


def _plain(address: str) -> IP:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    return ip


def allowed(address: str, home: str | None) -> bool:
    """Whether a link may be fetched from `address`: a public one, or the feed's own (`home`)."""
    ip = _plain(address)
    return ip.is_global or (home is not None and ip == _plain(home))


def target(url: str, *, home: str | None, trusted: bool = False) -> Target:
    """The URL checked: http or https, a host, and an address it may be fetched from.

    `trusted`: the feed's own URL, fetched from wherever it resolves. Otherwise the address must
    be public or `home`; a host that resolves only to other addresses raises `FetchError`.
    """
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise FetchError(f"not a valid URL: {shown(url)}") from None
    if parts.scheme not in ("http", "https"):
        raise FetchError(f"only http and https URLs are fetched, not {shown(url)}")
    if not parts.hostname:
        raise FetchError(f"no host in the URL {shown(url)}")
    host = parts.hostname
    port = port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as error:
        raise FetchError(f"{shown(host)} cannot be resolved ({getattr(error, 'strerror', None) or error})") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    usable = addresses if trusted else [a for a in addresses if allowed(a, home)]
    if not usable:
        raise FetchError(
            f"{shown(host)} resolves to {', '.join(addresses[:3])}: not a public address nor the feed's own, not fetched"
        )
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(url, parts.scheme, host, port, str(_plain(usable[0])), path)
