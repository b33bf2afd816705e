"""`qa build --ray` on a real multi-node Ray cluster on this machine, against the local build.

    .venv/bin/python bench/ray_build.py [--workers 1] [--kill-after 120] [--subset 60]

Starts a Ray head (127.0.0.2) and worker nodes (127.0.0.3…) with `ray start`, one CPU each, and:
1. `--subset K`: builds the first K corpus articles locally and on the cluster, in this run, and
   prints both wall times (2 cores: no speedup is possible, this measures Ray's overhead);
   With `--kill-after S` the subset is then rebuilt on Ray (`--full`, over the first Ray build) and
   one embedding actor is killed (SIGKILL) S seconds in: the build must complete, and the
   published index is asked a question meanwhile;
2. builds the whole corpus on the cluster with `qa build --ray --full` (`--kill-after` as above);
   It is compared with a local `qa build --full` of the corpus made in the same run (a fresh build:
   an index grown incrementally over code changes keeps chunks an older chunker cut): articles,
   chunk ids, vectors (min cosine), stories, and the top-10 rankings of the dev and seed questions.
Prints figures only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from ray_cluster import loopback_cluster  # noqa: E402

import qa  # noqa: E402
from qa.engine import Engine  # noqa: E402
from qa.retrieval import search  # noqa: E402
from qa.storage import Filter, open_index  # noqa: E402
from qa.storage.compare import compare_indexes  # noqa: E402

QA = str(Path(sys.executable).with_name("qa"))


def build(
    args: list[str], env: dict[str, str], kill_after: float | None = None, serving: Path | None = None
) -> tuple[float, str, bool]:
    """Run `qa build …`; returns wall seconds, its last line, and whether an embedding actor was killed.

    With `kill_after`, one embedding actor is SIGKILLed that many seconds in; with `serving`, the
    index there is asked a question right after the kill (the previous generation must answer).
    """
    started = time.perf_counter()
    process = subprocess.Popen([QA, "build", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    killed = threading.Event()

    def killer() -> None:
        deadline = time.monotonic() + (kill_after or 0)
        while process.poll() is None and not killed.is_set():
            if time.monotonic() >= deadline:
                found = subprocess.run(["pgrep", "-f", r"MapBatches\(_Embedder\)"], capture_output=True, text=True).stdout.split()
                if found:
                    os.kill(int(found[0]), signal.SIGKILL)
                    print(f"  killed embedding actor pid {found[0]} at {time.perf_counter() - started:.0f} s", flush=True)
                    killed.set()
                    if serving is not None:
                        index = open_index(serving)
                        passages = qa.retrieve("Did the summit happen?", k=3, index=serving)
                        print(
                            f"  meanwhile the published index (generation {index.generation}) answers: "
                            f"{len(passages)} passages, first from {passages[0].article.id if passages else None}",
                            flush=True,
                        )
            time.sleep(1)

    if kill_after is not None:
        threading.Thread(target=killer, daemon=True).start()
    lines = []
    for line in process.stdout or ():
        lines.append(line.rstrip())
        if line.startswith(("embedded", "embedding", "generation", "error")):
            print("  " + line.rstrip(), flush=True)
    process.wait()
    if process.returncode:
        print("\n".join(lines[-30:]))
        raise SystemExit(f"qa build failed ({process.returncode})")
    return time.perf_counter() - started, lines[-1], killed.is_set()


def rankings(engine: Engine, index: object, questions: list[str], config: qa.Config) -> list[list[int]]:
    out = []
    for question in questions:
        query, _ = engine.make_query(question, index)  # type: ignore[arg-type]
        out.append([p.chunk.id for p in search(index, query, 10, mode=config.mode, where=Filter(), config=config)])  # type: ignore[arg-type]
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--articles", type=Path, default=ROOT / "bench" / "out" / "corpus_articles")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--kill-after", type=float)
    parser.add_argument("--subset", type=int, default=0)
    parser.add_argument("--no-corpus", action="store_true", help="only the subset comparison")
    parser.add_argument("--keep", action="store_true", help="keep the built indexes (the folder is printed)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="qa-raybuild-"))
    try:
        with loopback_cluster(args.workers) as env:
            print(f"cluster: head 127.0.0.2 + {args.workers} worker node(s), 1 CPU each, at {env['RAY_ADDRESS']}")
            if args.subset:
                subset = work / "subset"
                subset.mkdir()
                dump = next(args.articles.glob("*.jsonl"))
                (subset / dump.name).write_text(
                    "".join(dump.read_text(encoding="utf-8").splitlines(True)[: args.subset]), encoding="utf-8"
                )
                local, line, _ = build(["--full", "--articles", str(subset), "--index", str(work / "local-subset")], env)
                print(f"subset of {args.subset} articles, local build: {local:.1f} s wall ({line})")
                remote, line, _ = build(
                    ["--ray", env["RAY_ADDRESS"], "--full", "--articles", str(subset), "--index", str(work / "ray-subset")], env
                )
                print(f"subset of {args.subset} articles, Ray build: {remote:.1f} s wall ({line})")
                print(f"  same build: {compare_indexes(work / 'local-subset', work / 'ray-subset')}")
                if args.kill_after is not None:
                    again, line, killed = build(
                        ["--ray", env["RAY_ADDRESS"], "--full", "--articles", str(subset), "--index", str(work / "ray-subset")],
                        env,
                        args.kill_after,
                        serving=work / "ray-subset",
                    )
                    print(f"subset rebuilt on Ray with an embedding actor killed ({killed}): {again:.1f} s wall ({line})")
                    print(f"  same build: {compare_indexes(work / 'local-subset', work / 'ray-subset')}")
            if args.no_corpus:
                raise SystemExit(0)
            local, line, _ = build(["--full", "--articles", str(args.articles), "--index", str(work / "local")], env)
            print(f"corpus, local build: {local:.1f} s wall; {line}")
            seconds, line, killed = build(
                ["--ray", env["RAY_ADDRESS"], "--full", "--articles", str(args.articles), "--index", str(work / "ray")],
                env,
                args.kill_after,
            )
            print(f"corpus on Ray: {seconds:.1f} s wall, embedding actor killed: {killed}; {line}")
        comparison = compare_indexes(work / "ray", work / "local")
        print(f"against the local build of the same run: {comparison}; same build: {comparison.same()}")
        config = qa.Config.from_env()
        engine = Engine(config, work / "ray")
        questions = [
            json.loads(line)["question"]
            for path in (ROOT / "bench" / "dev_questions.jsonl", ROOT.parent / "shared" / "eval" / "seed_questions.jsonl")
            if path.exists()
            for line in path.read_text().splitlines()
            if line.strip()
        ]
        ray_rankings = rankings(engine, open_index(work / "ray"), questions, config)
        local_rankings = rankings(engine, open_index(work / "local"), questions, config)
        same = sum(a == b for a, b in zip(ray_rankings, local_rankings))
        print(f"top-10 rankings equal on {same}/{len(questions)} dev and seed questions")
    finally:
        if args.keep:
            print(f"kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
