"""Load: 50 concurrent gradio_client sessions, 4 questions each, while a rebuild runs.

    python bench/load.py [INDEX] [CLIENTS] [QUESTIONS_EACH]

INDEX defaults to bench/out/multihop/default (the 609-article corpus, built by bench/run_eval.py).
It is copied, with its articles folder, to a temporary place; `qa serve` runs on the copy in its own
process. Forty corpus articles, retitled so that none of their chunks can reuse a stored vector,
are added to the copied folder and the UI's Rebuild is pressed over HTTP just before the load
starts: the rebuild (`qa build` in a process of its own) embeds them while the questions run.

Printed: errors (must be 0), p50/p99 latency and questions/s under load, against one client
alone in the same run and the same server; and whether the rebuild overlapped the load.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from gradio_client import Client
from serving import served

ROOT = Path(__file__).resolve().parents[1]


def _copy(index: Path, into: Path) -> tuple[Path, Path]:
    import sqlite3

    folder = json.loads(
        sqlite3.connect(index / "qa.sqlite").execute("SELECT value FROM meta WHERE key = 'articles_folder'").fetchone()[0]
    )
    articles = into / "articles"
    shutil.copytree(folder, articles)
    copy = into / "index"
    shutil.copytree(index.resolve(), copy, ignore=shutil.ignore_patterns("build.lock"))
    with sqlite3.connect(copy / "qa.sqlite") as db:
        db.execute("UPDATE meta SET value = ? WHERE key = 'articles_folder'", (json.dumps(str(articles)),))
    return copy, articles


def _new_articles(articles: Path, count: int) -> None:
    """`count` corpus articles under new titles and ids: new chunk texts, so all are embedded again."""
    dump = next(articles.glob("*.jsonl"))
    records = [json.loads(line) for line in dump.read_text().splitlines()[:count]]
    with open(articles / "added-during-load.jsonl", "w") as out:
        for n, record in enumerate(records):
            record = {**record, "title": f"(Update {n}) {record.get('title', '')}", "url": f"https://example.org/update/{n}"}
            out.write(json.dumps(record) + "\n")


def main() -> None:
    index = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "bench/out/multihop/default"
    clients, each = (int(sys.argv[2]) if len(sys.argv) > 2 else 50), (int(sys.argv[3]) if len(sys.argv) > 3 else 4)
    questions = [json.loads(line)["question"] for line in (ROOT / "bench/dev_questions.jsonl").read_text().splitlines()]
    with tempfile.TemporaryDirectory() as tmp:
        copy, articles = _copy(index, Path(tmp))
        with served(copy) as url:
            alone = Client(url, verbose=False)
            alone.predict(message="warm-up question", api_name="/ask")
            single = []
            for q in questions[:20]:
                t = time.perf_counter()
                alone.predict(message=q, api_name="/ask")
                single.append(time.perf_counter() - t)

            _new_articles(articles, 40)
            rebuild: dict[str, object] = {}

            def run_rebuild() -> None:
                started = time.perf_counter()
                rebuild["result"] = Client(url + "admin/", verbose=False).predict(api_name="/rebuild")
                rebuild["window"] = (started, time.perf_counter())

            rebuilder = threading.Thread(target=run_rebuild)
            rebuilder.start()
            time.sleep(2)  # the build process is up and reading
            latencies: list[float] = []
            errors: list[str] = []
            lock = threading.Lock()
            sessions = []
            for _ in range(clients):
                sessions.append(Client(url, verbose=False))

            def session(n: int) -> None:
                for i in range(each):
                    q = questions[(n * each + i) % len(questions)]
                    t = time.perf_counter()
                    try:
                        reply = sessions[n].predict(message=q, api_name="/ask")
                        ok = isinstance(reply, str) and reply and not reply.startswith("**Something went wrong")
                    except Exception as error:  # noqa: BLE001 - counted: a refused or failed request is an error
                        reply, ok = f"{type(error).__name__}: {error}", False
                    with lock:
                        latencies.append(time.perf_counter() - t)
                        if not ok:
                            errors.append(str(reply)[:200])

            load_started = time.perf_counter()
            threads = [threading.Thread(target=session, args=(n,)) for n in range(clients)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            load_ended = time.perf_counter()
            rebuilder.join()
    lat = np.array(latencies) * 1000
    one = np.array(single) * 1000
    start, end = rebuild["window"]  # type: ignore[misc]
    overlap = max(0.0, min(end, load_ended) - max(start, load_started))
    print(
        f"{clients} clients × {each} questions: {len(errors)} errors; p50 {np.percentile(lat, 50):.0f} ms, "
        f"p99 {np.percentile(lat, 99):.0f} ms, {len(lat) / (load_ended - load_started):.2f} questions/s "
        f"over {load_ended - load_started:.0f} s"
    )
    print(
        f"one client alone (20 questions, same server, before the load): p50 {np.percentile(one, 50):.0f} ms, "
        f"p99 {np.percentile(one, 99):.0f} ms, {len(one) / one.sum() * 1000:.2f} questions/s"
    )
    print(f"rebuild: {end - start:.0f} s, overlapping the load for {overlap:.0f} s; it said: {str(rebuild['result'])[:160]!r}")
    for error in errors[:5]:
        print("ERROR", error)


if __name__ == "__main__":
    main()
