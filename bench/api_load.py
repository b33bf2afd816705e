"""The HTTP face against the engine: `/api/answer`, the Gradio `/answer` endpoint and `Engine.answer`
in process, for 1 client and for 50 at once, in one run on one index.

    python bench/api_load.py [INDEX] [CLIENTS] [QUESTIONS_EACH]

INDEX defaults to bench/out/multihop/default (the corpus index, built by bench/run_eval.py); the
server is `qa serve` in a process of its own. Printed: p50/p99 latency and questions/s per path,
and errors (must be 0).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import numpy as np
from gradio_client import Client
from serving import served

import qa

ROOT = Path(__file__).resolve().parents[1]


def measure(ask: Callable[[int, str], object], questions: list[str], clients: int, each: int) -> tuple[np.ndarray, float, int]:
    """Latencies (ms), questions/s and errors of `clients` threads asking `each` questions at once."""
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()

    def client(n: int) -> None:
        nonlocal errors
        for i in range(each):
            started = time.perf_counter()
            try:
                ok = bool(ask(n, questions[(n * each + i) % len(questions)]))
            except Exception:  # noqa: BLE001 - counted: a refused or failed request is an error
                ok = False
            with lock:
                latencies.append((time.perf_counter() - started) * 1000)
                errors += not ok

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return np.array(latencies), len(latencies) / (time.perf_counter() - started), errors


def main() -> None:
    index = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "bench/out/multihop/default"
    clients, each = (int(sys.argv[2]) if len(sys.argv) > 2 else 50), (int(sys.argv[3]) if len(sys.argv) > 3 else 4)
    questions = [json.loads(line)["question"] for line in (ROOT / "bench/dev_questions.jsonl").read_text().splitlines()]
    config = qa.Config.from_env().with_overrides(index=index)
    engine = qa.Engine(config, index)
    engine.answer("warm-up question")
    with served(index) as url:
        sessions = [httpx.Client(base_url=url, timeout=300) for _ in range(clients)]
        gradio = [Client(url, verbose=False) for _ in range(clients)]
        paths: dict[str, Callable[[int, str], object]] = {
            "Engine.answer in process": lambda n, q: engine.answer(q).question,
            "/api/answer (JSON API)": lambda n, q: sessions[n].post("/api/answer", json={"question": q}).status_code == 200,
            "Gradio /answer (gradio_client)": lambda n, q: "question" in gradio[n].predict(q, api_name="/answer"),
        }
        for ask in paths.values():
            ask(0, "warm-up question")
        rows = []
        for name, ask in paths.items():
            for count, per in ((1, 40), (clients, each)):
                latencies, rate, errors = measure(ask, questions, count, per)
                rows.append((name, count, np.percentile(latencies, 50), np.percentile(latencies, 99), rate, errors))
        for session in sessions:
            session.close()
    print(f"{'path':34} {'clients':>7} {'p50 ms':>8} {'p99 ms':>8} {'q/s':>7} {'errors':>6}")
    for name, count, p50, p99, rate, errors in rows:
        print(f"{name:34} {count:>7} {p50:>8.0f} {p99:>8.0f} {rate:>7.1f} {errors:>6}")


if __name__ == "__main__":
    main()
