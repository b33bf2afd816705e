"""`qa serve` in a process of its own, for the benches that measure it over HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def served(index: Path, *, seconds: float = 180) -> Iterator[str]:
    """The URL of `qa serve --index INDEX` on a free loopback port, once it answers; stopped afterwards
    (killed if it has not stopped 30 s after being asked to)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    url = f"http://127.0.0.1:{port}/"
    env = os.environ | {"HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
    server = subprocess.Popen(
        [sys.executable, "-m", "qa.cli", "serve", "--index", str(index), "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + seconds
        while True:
            if server.poll() is not None:
                raise SystemExit(f"qa serve exited with {server.returncode}")
            try:
                urllib.request.urlopen(url, timeout=5).close()
                break
            except OSError:
                if time.time() > deadline:
                    raise SystemExit("qa serve did not come up") from None
                time.sleep(1)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
