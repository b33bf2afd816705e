"""Fetching that behaves: one request at a time per host with a delay between them, robots.txt,
conditional GET, a deadline per request, retries with back-off, a size cap read as a stream, and
redirects followed by hand so that every hop's address is checked (`address.py`).

Standard library only (`http.client`): its connection takes the address to connect to from us,
which is the whole point of the address check. Bodies are asked for uncompressed (no gzip bomb).
"""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urljoin
from urllib.robotparser import RobotFileParser

from ..config import Config
from ..errors import shown
from .address import Target, target
from .errors import FetchError

__all__ = ["Fetcher", "Response", "USER_AGENT"]

USER_AGENT = "qa-feeds/0.1 (news question answering; respects robots.txt)"
_REDIRECTS = {301, 302, 303, 307, 308}
_ROBOTS_BYTES = 500_000
_CHUNK = 65_536


@dataclass(frozen=True)
class Response:
    url: str  #: the URL after redirects
    status: int  #: 200, or 304 (not modified: `body` is empty)
    body: bytes
    ip: str  #: the address the answer came from
    etag: str | None = None
    last_modified: str | None = None
    content_type: str = ""


@dataclass
class _Host:
    lock: threading.Lock = field(default_factory=threading.Lock)
    last: float = float("-inf")  #: when its last request ended (monotonic)


class Fetcher:
    """One per fetch run (or watch loop): it remembers each host's robots.txt and last request."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._hosts: dict[str, _Host] = {}
        self._robots: dict[tuple[str, str, int], RobotFileParser | FetchError] = {}
        self._guard = threading.Lock()

    def get(
        self,
        url: str,
        *,
        home: str | None = None,
        trusted: bool = False,
        etag: str | None = None,
        last_modified: str | None = None,
        max_bytes: int | None = None,
        robots: bool = True,
    ) -> Response:
        """`url`'s body, following at most `feed_redirects` redirects, each hop checked.

        `trusted`: the URL a user subscribed to (its first hop may be any address, and that address
        becomes `home`, the one private address its redirects and links may use)."""
        cap = max_bytes or self.config.feed_max_bytes
        seen: set[str] = set()
        for hop in range(self.config.feed_redirects + 1):
            where = target(url, home=home, trusted=trusted and hop == 0)
            if home is None and trusted:
                home = where.ip
            if robots and not self._robots_allow(where, home):
                raise FetchError(f"robots.txt of {shown(where.host)} disallows {shown(url)}, not fetched")
            headers = {"If-None-Match": etag, "If-Modified-Since": last_modified} if hop == 0 else {}
            status, answer, body = self._with_retries(where, headers, cap)
            if status in _REDIRECTS:
                location = answer.get("location")
                if not location:
                    raise FetchError(f"HTTP {status} without a Location from {shown(url)}", status=status)
                seen.add(url)
                url = urljoin(url, location.strip())
                if url in seen:
                    raise FetchError(f"redirect loop at {shown(url)}, not fetched", status=status)
                continue
            if status == 304:
                return Response(url, 304, b"", where.ip, etag, last_modified)
            if status != 200:
                raise FetchError(f"HTTP {status} from {shown(url)}", status=status)
            return Response(
                url, 200, body, where.ip, answer.get("etag"), answer.get("last-modified"), answer.get("content-type") or ""
            )
        raise FetchError(f"more than {self.config.feed_redirects} redirects from {shown(url)} (QA_FEED_REDIRECTS), not fetched")

    # --- one host at a time -----------------------------------------------------------------------

    def _host(self, name: str) -> _Host:
        with self._guard:
            return self._hosts.setdefault(name.casefold(), _Host())

    def _with_retries(self, where: Target, headers: dict[str, str | None], cap: int) -> tuple[int, dict[str, str], bytes]:
        """One request, retried with back-off (`feed_backoff` × 2ⁿ seconds) while it may pass."""
        for attempt in range(self.config.feed_retries + 1):
            try:
                host = self._host(where.host)
                with host.lock:  # one request at a time per host, `feed_delay` seconds apart
                    wait = host.last + self.config.feed_delay - time.monotonic()
                    if wait > 0:
                        time.sleep(wait)
                    try:
                        status, answer, body = self._request(where, headers, cap)
                    finally:
                        host.last = time.monotonic()
                if (status >= 500 or status == 429) and attempt < self.config.feed_retries:
                    raise FetchError(f"HTTP {status}", retry=True, status=status)
                return status, answer, body
            except FetchError as error:
                if not error.retry or attempt == self.config.feed_retries:
                    raise
                time.sleep(self.config.feed_backoff * 2**attempt)
        raise AssertionError("unreachable")

    def _request(self, where: Target, headers: dict[str, str | None], cap: int) -> tuple[int, dict[str, str], bytes]:
        """One GET to the checked address, under one deadline; the body read up to `cap` bytes; the
        headers with lower-case names."""
        timeout = self.config.feed_timeout
        deadline = time.monotonic() + timeout
        kind = http.client.HTTPSConnection if where.scheme == "https" else http.client.HTTPConnection
        connection = kind(where.host, where.port, timeout=timeout)
        # Connect to the address that was checked, never to a new resolution of the name (TLS still
        # checks the certificate against the host name).
        connection._create_connection = lambda address, t, source=None: socket.create_connection(  # type: ignore[attr-defined]
            (where.ip, address[1]), t, source
        )
        sent = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity", "Connection": "close"}
        sent |= {k: v for k, v in headers.items() if v}
        response: http.client.HTTPResponse | None = None
        try:
            connection.request("GET", where.path, headers=sent)
            response = connection.getresponse()
            answer = {k.lower(): v for k, v in response.getheaders()}
            if response.status != 200:
                return response.status, answer, b""
            length = answer.get("content-length")
            if length and length.strip().isdigit() and int(length) > cap:
                raise FetchError(
                    f"{shown(where.url)} is {int(length) / 1e6:.1f} MB, over the {cap / 1e6:g} MB cap (QA_FEED_MAX_BYTES)"
                )
            parts, size = [], 0
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError()
                if connection.sock is not None:
                    connection.sock.settimeout(left)
                part = response.read(_CHUNK)
                if not part:
                    return response.status, answer, b"".join(parts)
                size += len(part)
                if size > cap:
                    raise FetchError(f"{shown(where.url)} is over the {cap / 1e6:g} MB cap (QA_FEED_MAX_BYTES), not read further")
                parts.append(part)
        except TimeoutError:
            raise FetchError(f"{shown(where.url)} took over {timeout:g} s (QA_FEED_TIMEOUT)", retry=True) from None
        except ssl.SSLError as error:
            raise FetchError(f"TLS failed for {shown(where.url)} ({error.reason or error})") from None
        except (OSError, http.client.HTTPException) as error:
            reason = getattr(error, "strerror", None) or type(error).__name__
            raise FetchError(f"{shown(where.url)} could not be fetched ({reason})", retry=True) from None
        finally:
            if response is not None:
                response.close()  # the response holds the socket: closing the connection alone leaves it open
            connection.close()

    # --- robots.txt -------------------------------------------------------------------------------

    def _robots_allow(self, where: Target, home: str | None) -> bool:
        """Whether the host's robots.txt lets us fetch `where` (fetched once per host and run).

        No robots.txt (404 and other 4xx) allows everything; 401 and 403 forbid everything. A
        robots.txt that cannot be fetched (5xx, a host that does not answer) stops the fetch with
        its reason: the host is not ready for us."""
        key = (where.scheme, where.host.casefold(), where.port)
        with self._guard:
            rules = self._robots.get(key)
        if rules is None:
            rules = RobotFileParser()
            try:
                body = self.get(
                    f"{where.scheme}://{where.host}:{where.port}/robots.txt", home=home, max_bytes=_ROBOTS_BYTES, robots=False
                ).body
                rules.parse(body.decode("utf-8", "replace").splitlines())
            except FetchError as error:
                if error.status in (401, 403):
                    rules.disallow_all = True
                elif error.status is not None and 400 <= error.status < 500:
                    rules.allow_all = True
                else:
                    rules = FetchError(f"robots.txt: {error}", status=error.status)
            with self._guard:
                self._robots[key] = rules
        if isinstance(rules, FetchError):
            raise rules
        return rules.can_fetch(USER_AGENT, where.url)
