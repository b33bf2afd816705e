"""A real multi-node Ray cluster on this machine (`ray start` head + worker on loopback addresses):
`qa build --ray` on it equals the local build, and shards served by Ray actors answer as one index."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ARTICLES, shared_file
from ray_cluster import loopback_cluster
from test_shards import seed_questions

import qa
from qa import Config, build_index
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


def test_a_build_on_a_two_node_ray_cluster_equals_the_local_build(tmp_path: Path) -> None:
    corpus = shared_file("corpora/multihop_rag_articles.jsonl")
    folder = tmp_path / "articles"
    shutil.copytree(ARTICLES, folder)
    (folder / "some.jsonl").write_text("".join(corpus.read_text(encoding="utf-8").splitlines(True)[:5]), encoding="utf-8")
    local = Config(articles=folder, index=tmp_path / "local")
    build_index(local)

    with loopback_cluster(workers=1) as env:
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

    comparison = compare_indexes(tmp_path / "ray", tmp_path / "local")
    assert comparison.same(), comparison  # same articles, chunk ids and stories; vectors within cosine 0.9999
    assert comparison.chunks > 30
    for question in seed_questions():
        on_ray = [p.chunk.id for p in qa.retrieve(question, k=5, index=tmp_path / "ray", config=local)]
        here = [p.chunk.id for p in qa.retrieve(question, k=5, index=local.index, config=local)]
        assert on_ray == here, question
