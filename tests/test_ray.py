"""A real multi-node Ray cluster on this machine (`ray start` head + worker on loopback addresses):
`qa build --ray` on it equals the local build, and shards served by Ray actors answer as one index."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ARTICLES, shared_file
from ray_cluster import loopback_cluster
from test_shards import seed_questions

import qa
from qa import Config, build_index
from qa.cli import main
from qa.storage.compare import compare_indexes
from qa.storage.split import split_index

pytest.importorskip("ray", reason="Ray is installed by `make install` (the ray extra)")
QA = str(Path(sys.executable).with_name("qa"))

#: A client process: a shard set served by Ray actors (QA_SHARD_WORKERS=ray); prints where the shards
#: live and the top-5 chunk ids of each question, as JSON.
_SHARD_CLIENT = """
import json, os, sys
import ray
import qa
questions = json.loads(sys.argv[2])
rankings = [[p.chunk.id for p in qa.retrieve(q, k=5, index=sys.argv[1])] for q in questions]
index = qa.load_index(sys.argv[1])
places = ray.get([actor.where.remote() for actor in index.remote])
print(json.dumps({"rankings": rankings, "places": places, "client": os.getpid()}))
"""


#: A client process that holds no shard, while one shard's actor is stopped (SIGSTOP), resumed, then
#: killed (SIGKILL; Ray starts it again): prints what it saw, as JSON.
_FAULT_CLIENT = """
import json, os, signal, sys, time
from pathlib import Path
import ray
import qa
question, shards = sys.argv[2], Path(sys.argv[1]).resolve()
engine = qa.Engine(qa.Config.from_env(), sys.argv[1])
index = engine.index()
def open_here():
    return [p for p in (os.path.realpath(f"/proc/self/fd/{fd}") for fd in os.listdir("/proc/self/fd")) if p.startswith(str(shards))]
def ask():
    answer = engine.answer(question)
    return {"notes": list(answer.notes), "chunks": [p.chunk.id for p in answer.passages[:5]]}
out = {"open_here": open_here(), "whole": ask()}
before = index.requests
ask()
out["requests"] = (index.requests - before) / index.shard_count
pid = ray.get(index.remote[0].where.remote())[0]
os.kill(pid, signal.SIGSTOP)
out["stopped"] = ask()
os.kill(pid, signal.SIGCONT)
out["resumed"] = ask()
os.kill(pid, signal.SIGKILL)
out["killed"] = ask()  # answers continue: partial, or whole if Ray was quick
while "restarted_pid" not in out:  # until Ray has started the actor again (bounded by the test's process timeout)
    try:
        out["restarted_pid"] = ray.get(index.remote[0].where.remote())[0] != pid
    except ray.exceptions.ActorUnavailableError:
        time.sleep(0.1)  # it refuses calls while restarting; ask again
out["after"] = ask()
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def cluster() -> Iterator[dict[str, str]]:
    """One two-node cluster for the module's tests (starting one takes a while on 2 cores)."""
    with loopback_cluster(workers=1) as env:
        yield env


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Config:
    """The seed articles and five corpus articles, built here (the reference for both Ray builds)."""
    corpus = shared_file("corpora/multihop_rag_articles.jsonl")
    folder = tmp_path_factory.mktemp("ray") / "articles"
    shutil.copytree(ARTICLES, folder)
    (folder / "some.jsonl").write_text("".join(corpus.read_text(encoding="utf-8").splitlines(True)[:5]), encoding="utf-8")
    config = Config(articles=folder, index=folder.parent / "local")
    build_index(config)
    return config


def test_a_build_on_a_two_node_ray_cluster_equals_the_local_build(cluster: dict[str, str], local: Config, tmp_path: Path) -> None:
    folder, env = Path(local.articles), cluster
    built = subprocess.run(
        [QA, "build", "--ray", env["RAY_ADDRESS"], "--articles", str(folder), "--index", str(tmp_path / "ray")],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    assert "embedded on 2 of 2 nodes" in built.stderr  # both nodes' actors embedded chunks

    # Shards served by separate processes: one Ray actor per shard on the cluster, asked by a client
    # process (Ray reads its authentication settings when it is imported, so not from this one).
    split_index(local, tmp_path / "shards", 2)
    questions = seed_questions()
    client = subprocess.run(
        [sys.executable, "-c", _SHARD_CLIENT, str(tmp_path / "shards"), json.dumps(questions)],
        env=env | {"QA_SHARD_WORKERS": "ray", "QA_RAY_ADDRESS": env["RAY_ADDRESS"]},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert client.returncode == 0, client.stderr[-3000:]
    served = json.loads(client.stdout.strip().splitlines()[-1])
    assert len({pid for pid, _ in served["places"]}) == 2 and served["client"] not in {pid for pid, _ in served["places"]}
    for question, shards in zip(questions, served["rankings"]):
        single = [p.chunk.id for p in qa.retrieve(question, k=5, index=local.index, config=local)]
        assert shards == single, question

    # Issue 24: the asking process opens no shard; a silent shard gives a partial answer that says
    # so, and a killed one is started again by Ray, after which answers are whole.
    faults = subprocess.run(
        [sys.executable, "-c", _FAULT_CLIENT, str(tmp_path / "shards"), "did the summit happen?"],
        env=env
        | {
            "QA_SHARD_WORKERS": "ray",
            "QA_RAY_ADDRESS": env["RAY_ADDRESS"],
            "QA_SHARD_SECONDS": "20",
        },  # a healthy shard answers well within it on one slow core
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert faults.returncode == 0, faults.stderr[-3000:]
    seen = json.loads(faults.stdout.strip().splitlines()[-1])
    # It holds the set's manifest and BM25 statistics, and opens nothing of a shard; a question asks each shard twice.
    assert [Path(p).name for p in seen["open_here"]] in ([], ["terms.sqlite"])
    assert seen["requests"] == 2
    here = qa.answer("did the summit happen?", config=local)
    assert seen["whole"]["chunks"] == [p.chunk.id for p in here.passages[:5]]  # as one unsharded index answers
    assert not any("did not answer" in n for n in seen["whole"]["notes"])
    assert any(n.startswith("Shard 1 of 2 did not answer in time") for n in seen["stopped"]["notes"])
    assert seen["resumed"] == seen["whole"] and seen["after"] == seen["whole"] and seen["restarted_pid"]
    assert seen["killed"]["chunks"]  # answered meanwhile, from the shard that was alive at least

    comparison = compare_indexes(tmp_path / "ray", local.index)
    assert comparison.same(), comparison  # same articles, chunk ids and stories; vectors within cosine 0.9999
    assert comparison.chunks > 30
    for question in seed_questions():
        on_ray = [p.chunk.id for p in qa.retrieve(question, k=5, index=tmp_path / "ray", config=local)]
        here = [p.chunk.id for p in qa.retrieve(question, k=5, index=local.index, config=local)]
        assert on_ray == here, question


def test_a_shard_set_built_by_one_writer_per_shard_equals_build_then_shard(
    cluster: dict[str, str], local: Config, tmp_path: Path
) -> None:
    """Issue 24: `qa build --ray --shards 2` writes each shard on the cluster (one writer actor per
    shard) and gives the set `qa build` + `qa shard --shards 2` gives: the same articles, keys, story
    ids and chunk ids in each shard, and the same rankings."""
    split_index(local, tmp_path / "split", 2)
    out = tmp_path / "built"
    split_index(local, out, 1)  # a set is there already: the build replaces it whole
    args = [QA, "build", "--ray", cluster["RAY_ADDRESS"], "--articles", str(local.articles), "--shards", "2", "--out", str(out)]
    built = subprocess.run(args, env=cluster, capture_output=True, text=True, timeout=900)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    manifest = json.loads((out / "shards.json").read_text())
    assert manifest["shards"] == ["shard-000", "shard-001"] and manifest["generation"] == 2
    assert set(manifest["written_on"]) <= {"127.0.0.2", "127.0.0.3"}  # written by actors on the cluster's nodes
    assert not list(tmp_path.glob(".built.*"))  # nothing left beside it
    for n in range(2):
        shard = f"shard-{n:03d}"
        comparison = compare_indexes(out / shard, tmp_path / "split" / shard, exact_ids=True)
        assert comparison.same(), (shard, comparison)
        assert comparison.articles > 0  # both shards hold articles: the routing is checked, not an empty set
    for question in seed_questions():
        ours = [p.chunk.id for p in qa.retrieve(question, k=5, index=out, config=local)]
        split = [p.chunk.id for p in qa.retrieve(question, k=5, index=tmp_path / "split", config=local)]
        assert ours == split, question


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--ray", "--shards", "0", "--out", "{tmp}/set"], "--shards must be a whole number from 1 to 1024"),
        (["--shards", "2", "--out", "{tmp}/set"], "--shards needs --ray"),
        (["--ray", "--shards", "2"], "--shards needs --out"),
        (["--ray", "--out", "{tmp}/set"], "--out goes with --shards"),
        (["--ray", "--shards", "2", "--out", "{tmp}/plain"], "is not a shard set; choose another --out"),
    ],
)
def test_a_shard_build_with_bad_arguments_says_why_in_one_line(
    args: list[str], says: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "keep.txt").write_text("mine")
    assert main(["build", *(a.format(tmp=tmp_path) for a in args)]) == 2  # checked before any cluster starts
    err = capsys.readouterr().err.strip()
    assert says in err and len(err.splitlines()) == 1, err
    assert (tmp_path / "plain" / "keep.txt").read_text() == "mine" and not (tmp_path / "set").exists()
