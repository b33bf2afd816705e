"""A real multi-node Ray cluster on this machine (`ray start` head + worker on loopback addresses):
`qa build --ray` on it equals the local build, and shards served by Ray actors answer as one index."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import qa
from qa import Config, build_index
from qa.build.shards import split_index
from qa.storage import ShardedIndex
from qa.storage.compare import compare_indexes

from conftest import ARTICLES, shared_file
from ray_cluster import loopback_cluster
from test_shards import seed_questions

ray = pytest.importorskip("ray", reason="Ray is installed by `make install` (the ray extra)")
QA = str(Path(sys.executable).with_name("qa"))


def test_a_build_on_a_two_node_ray_cluster_equals_the_local_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    corpus = shared_file("corpora/multihop_rag_articles.jsonl")
    folder = tmp_path / "articles"
    shutil.copytree(ARTICLES, folder)
    (folder / "some.jsonl").write_text("".join(corpus.read_text(encoding="utf-8").splitlines(True)[:5]), encoding="utf-8")
    local = Config(articles=folder, index=tmp_path / "local")
    build_index(local)

    with loopback_cluster(workers=1) as env:
        built = subprocess.run([QA, "build", "--ray", env["RAY_ADDRESS"], "--articles", str(folder), "--index", str(tmp_path / "ray")],
                               env=env, capture_output=True, text=True, timeout=900)
        assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
        assert "embedded on 2 of 2 nodes" in built.stderr  # both nodes' actors embedded chunks

        # Shards served by separate processes: one Ray actor per shard, answering over the cluster.
        split_index(local, tmp_path / "shards", 2)
        for name in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN_PATH", "RAY_USAGE_STATS_ENABLED"):
            monkeypatch.setenv(name, env[name])
        try:
            remote = local.with_overrides(shard_workers="ray", ray_address=env["RAY_ADDRESS"])
            sharded = qa.load_index(tmp_path / "shards", remote)
            assert isinstance(sharded, ShardedIndex) and len(sharded.remote) == 2
            places = ray.get([actor.where.remote() for actor in sharded.remote])
            assert len({pid for pid, _ in places}) == 2 and all(pid != __import__("os").getpid() for pid, _ in places)
            for question in seed_questions():
                single = [p.chunk.id for p in qa.retrieve(question, k=5, index=local.index, config=local)]
                shards = [p.chunk.id for p in qa.retrieve(question, k=5, index=tmp_path / "shards", config=remote)]
                assert shards == single, question
        finally:
            ray.shutdown()

    comparison = compare_indexes(tmp_path / "ray", tmp_path / "local")
    assert comparison.same(), comparison  # same articles, chunk ids and stories; vectors within cosine 0.9999
    assert comparison.chunks > 30
    for question in seed_questions():
        on_ray = [p.chunk.id for p in qa.retrieve(question, k=5, index=tmp_path / "ray", config=local)]
        here = [p.chunk.id for p in qa.retrieve(question, k=5, index=local.index, config=local)]
        assert on_ray == here, question
