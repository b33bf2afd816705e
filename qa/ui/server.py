"""The server: the reader's app at `/`, the JSON API at `/api/`, the index panel at `/admin/`.

Around all three sits one ASGI layer (`Guard`) that holds what no framework route should decide
alone: the reader's app takes no upload at all, every request body is capped (the panel's uploads
by the article size and count), and failed logins to the panel are throttled per client.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any

import gradio as gr
import uvicorn
from fastapi import FastAPI

from ..config import Config
from ..errors import QAError
from ..feeds import watch
from ..indexing import build_index
from ..storage.feeds import holds_only_feeds
from .admin import Changes, create_admin
from .api import create_api
from .reader import CSS, create_app
from .service import Service, weak_password

__all__ = ["create_server", "running", "serve", "is_loopback", "Guard"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGI = Callable[[Scope, Receive, Send], Awaitable[None]]


class _TooLarge(Exception):
    pass


class Guard:
    """Request caps and the login throttle, in front of every route."""

    def __init__(self, app: ASGI, service: Service) -> None:
        self.app, self.service = app, service
        config = service.config
        self.upload_cap = config.max_article_bytes * min(config.max_upload_files, 10) + 1_000_000
        self.cap = config.max_request_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path, method = scope["path"], scope["method"]
        client = scope["client"][0] if scope.get("client") else "unknown"
        if method == "POST" and path.endswith("/upload") and not path.startswith("/admin/"):
            await _reply(send, 403, "uploads are not accepted here")  # the reader's app has no upload
            return
        cap = self.upload_cap if path.startswith("/admin/") and path.endswith("/upload") else self.cap
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > cap):
            await _reply(send, 413, f"the request is over the {cap:,} byte limit")
            return
        login = method == "POST" and path.rstrip("/") == "/admin/login"
        if login and (wait := self.service.logins.wait(client)):
            await _reply(send, 429, f"too many failed logins; try again in {wait:.0f} s", retry=wait)
            return
        read = 0

        async def counted() -> Message:
            nonlocal read
            message = await receive()
            read += len(message.get("body", b""))
            if read > cap:
                raise _TooLarge
            return message

        status = 0

        async def watched(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except _TooLarge:
            if not status:
                await _reply(send, 413, f"the request is over the {cap:,} byte limit")
            return
        if login:
            (self.service.logins.succeeded if status < 400 else self.service.logins.failed)(client)
            if status >= 400:
                logging.getLogger("qa.ui").warning("failed admin login from %s", client)


async def _reply(send: Send, status: int, error: str, *, retry: float = 0.0) -> None:
    headers = [(b"content-type", b"application/json")]
    if retry:
        headers.append((b"retry-after", str(max(1, round(retry))).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": json.dumps({"error": error}).encode()})


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def create_server(config: Config, *, admin_password: str | None = None, changes: Changes | None = None) -> Any:
    """The three parts on one FastAPI server behind `Guard`. The panel is behind Gradio's own login
    ("admin" and `admin_password`, default `$QA_ADMIN_PASSWORD`) when a password is set; the JSON
    API's admin routes take the same password. Readers never log in."""
    password = admin_password if admin_password is not None else os.environ.get("QA_ADMIN_PASSWORD") or None
    service = Service(config, password)
    changes = changes or Changes(config)
    server = FastAPI()
    server.mount("/api", create_api(service, changes))
    gr.mount_gradio_app(
        server,
        create_admin(service, changes),
        path="/admin",
        auth=("admin", password) if password else None,
        auth_message="The index panel: log in as admin.",
        css=CSS,
        show_error=False,
        max_file_size=config.max_article_bytes,
    )
    gr.mount_gradio_app(server, create_app(service), path="", css=CSS, show_error=False, max_file_size=1)
    server.state.service = service
    return Guard(server, service)


def serve(config: Config, *, watch_every: float | None = None) -> None:
    """Build the index if there is none yet, then serve until interrupted.

    Loopback by default; another address needs a strong `QA_ADMIN_PASSWORD`, or nothing starts.
    With `watch_every`, the index's feeds are fetched every so many seconds meanwhile, each fetch a
    `qa fetch` process of its own taking its turn with the panel's changes (`Changes`).
    """
    password = os.environ.get("QA_ADMIN_PASSWORD") or ""
    if not is_loopback(config.host):
        if not password:
            raise QAError(
                f"refusing to serve on {config.host} without an admin password: anyone who can reach it could "
                "change the index. Set QA_ADMIN_PASSWORD, or serve on 127.0.0.1"
            )
        if why := weak_password(password):
            raise QAError(f"refusing to serve on {config.host}: QA_ADMIN_PASSWORD is too weak ({why})")
    if not config.index.exists() or holds_only_feeds(config.index):
        print(f"No index at {config.index}; building it from {config.articles} …", flush=True)
        print(build_index(config, log=print).summary(), flush=True)
    Service(config).engine.index()  # fail now, with the clear message, rather than at the first question
    listening = _listening(config.host, config.port)  # a port in use is said before anything claims to serve
    port = listening.getsockname()[1]
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    print(f"Serving on http://{config.host}:{port}/ (the JSON API: /api/docs; the index panel: /admin/)", flush=True)
    changes = Changes(config)
    stop = threading.Event()
    if watch_every is not None:
        threading.Thread(
            target=watch,
            args=(config,),
            kwargs={"stop": stop, "every": watch_every, "fetch": lambda: _fetch(changes), "log": _log_feeds},
            daemon=True,
        ).start()
    try:
        # Clients keep event streams open; a stop waits 5 s for them, not for ever.
        app = create_server(config, changes=changes)
        uvicorn.Server(uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=5)).run(sockets=[listening])
    finally:
        stop.set()
        listening.close()


def _listening(host: str, port: int) -> socket.socket:
    """A socket listening on host:port, or one line saying why there cannot be one."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        return socket.create_server((host, port), family=family)
    except OSError as error:
        why = os.strerror(error.errno) if error.errno else str(error)
        raise QAError(f"cannot serve on {host}:{port}: {why}; choose another --port (or QA_PORT)") from None


def _fetch(changes: Changes) -> str:
    """One `qa fetch` in its own process; its last line (the summary, or why it failed)."""
    lines = list(changes.run(["fetch"], "fetching the feeds"))
    return lines[-1].replace("\\", "") if lines else ""


def _log_feeds(line: str) -> None:
    logging.getLogger("qa.feeds").info("%s", line)


@contextmanager
def running(config: Config, *, admin_password: str | None = None) -> Iterator[str]:
    """The server on a free loopback port in a thread, for tests and benchmarks; yields its URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    app = create_server(config, admin_password=admin_password)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=5))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:  # uvicorn sets no event; its flag is polled, and a dead thread ends the wait
        if not thread.is_alive():
            raise RuntimeError("the server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.should_exit = True
        thread.join(10)
