"""A real multi-node Ray cluster on this machine: a head and worker nodes, each started by `ray start`
as its own processes, on loopback addresses (127.0.0.2 for the head, 127.0.0.3… for the workers;
Ray rewrites 127.0.0.1 to the machine's public address). Token authentication stays on.
Used by tests/test_ray.py and bench/ray_build.py. Stopping it stops only its own processes, so
that two test runs on one machine (two clones' CI, two developers) never stop each other's cluster.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["loopback_cluster"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.2", 0))
        return int(s.getsockname()[1])


@contextmanager
def loopback_cluster(workers: int = 1, cpus: int = 1, object_store: int = 200_000_000) -> Iterator[dict[str, str]]:
    """Yields the environment a driver needs (RAY_ADDRESS and the auth token); stops the cluster after."""
    folder = Path(tempfile.mkdtemp(prefix="qa-ray-"))
    token = folder / "token"
    token.write_text(secrets.token_hex(32))
    env = os.environ | {
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN_PATH": str(token),
        "RAY_USAGE_STATS_ENABLED": "0",
        "HF_HUB_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }
    ray = str(Path(sys.executable).with_name("ray"))
    port = _free_port()
    common = [f"--num-cpus={cpus}", f"--object-store-memory={object_store}", "--disable-usage-stats"]
    try:
        subprocess.run(
            [
                ray,
                "start",
                "--head",
                "--node-ip-address=127.0.0.2",
                f"--port={port}",
                "--include-dashboard=false",
                f"--temp-dir={folder / 'ray'}",
                *common,
            ],
            env=env,
            check=True,
            timeout=180,
            capture_output=True,
        )
        for n in range(workers):
            subprocess.run(
                [ray, "start", f"--address=127.0.0.2:{port}", f"--node-ip-address=127.0.0.{3 + n}", *common],
                env=env,
                check=True,
                timeout=180,
                capture_output=True,
            )
        yield env | {"RAY_ADDRESS": f"127.0.0.2:{port}"}
    finally:
        _stop(folder)
        shutil.rmtree(folder, ignore_errors=True)


def _stop(folder: Path) -> None:
    """Kill this cluster's processes, and only them: those whose command line names its temporary
    folder, and their descendants (Ray's agents rename themselves). `ray stop` would stop every Ray
    cluster on the machine, another test run's included."""
    parents: dict[int, int] = {}
    ours: set[int] = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            command = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            parents[int(entry)] = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if str(folder) in command:
            ours.add(int(entry))
    grown = True
    while grown:
        children = {pid for pid, parent in parents.items() if parent in ours} - ours
        grown = bool(children)
        ours |= children
    for pid in ours - {os.getpid()}:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
