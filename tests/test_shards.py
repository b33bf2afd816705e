"""Sharded serving in this process: a shard set answers as the index it was split from."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import NEWER, OLDER, SHARED

import qa
from qa import Config, build_index, build_shards
from qa.errors import BuildError, IndexMismatchError
from qa.storage import Index, ShardedIndex
from qa.storage.compare import compare_indexes
from qa.storage.keyword import analyze
from qa.storage.split import shard_of, split_index, staged_set

QA = str(Path(sys.executable).with_name("qa"))


def seed_questions() -> list[str]:
    path = SHARED / "eval" / "seed_questions.jsonl"
    questions = [json.loads(line)["question"] for line in path.read_text().splitlines() if line.strip()] if path.exists() else []
    return questions + ["Did the summit happen?", "What did the White House say about the summit?", "Who met in Geneva?"]


def test_a_shard_set_answers_as_the_index_it_was_split_from(seeds: Config, tmp_path: Path) -> None:
    assert shard_of(NEWER, 3) != shard_of(OLDER, 3)  # the two reports of the story live in different shards
    report = split_index(seeds, tmp_path / "shards", 3)
    assert sum(articles for articles, _ in report.shards) == 2
    folders = [tmp_path / "shards" / f"shard-{n:03d}" for n in range(3)]
    assert compare_indexes(folders, seeds.index).same()  # nothing lost, nothing re-embedded
    for folder in folders:
        Index(folder)  # each shard is an index of its own, an empty one included

    sharded = ShardedIndex(tmp_path / "shards")
    assert sharded.manifest["chunks"] == Index(seeds.index).manifest["chunks"]
    for question in seed_questions():
        single = [p.chunk.id for p in qa.retrieve(question, k=5, index=seeds.index, config=seeds)]
        shards = [p.chunk.id for p in qa.retrieve(question, k=5, index=tmp_path / "shards", config=seeds)]
        assert shards == single, question

    answer = qa.answer("Did the summit happen?", index=tmp_path / "shards", config=seeds)
    assert answer.lead is not None and answer.passages[0].article.id == NEWER  # the newer report leads across shards
    assert {p.article.id for p in answer.passages[: answer.cited]} == {NEWER, OLDER}


def test_the_set_holds_its_bm25_statistics_and_a_question_asks_each_shard_twice(seeds: Config, tmp_path: Path) -> None:
    split_index(seeds, tmp_path / "shards", 2)
    engine = qa.Engine(seeds, tmp_path / "shards")
    sharded = engine.index()
    assert isinstance(sharded, ShardedIndex)
    # The stored counts are the shards' own: what tantivy says of every word of the seed articles.
    words = sorted({t for text in sharded.chunk_texts() for t in analyze(text)})
    assert len(words) > 100
    documents, chunks, holding = sharded.term_statistics(words)
    asked = [Index(tmp_path / "shards" / f"shard-{n:03d}").term_statistics(words) for n in range(2)]
    assert (documents, chunks) == (sum(a[0] for a in asked), sum(a[1] for a in asked))
    assert holding == [sum(a[2][n] for a in asked) for n in range(len(words))] and min(holding) >= 1
    engine.answer("Who met in Geneva?")  # the first question also reads the set's outlets, once
    for question in seed_questions():
        before = sharded.requests
        engine.answer(question)
        assert sharded.requests - before <= 2 * 2, question  # a probe and a fetch per shard


def test_a_shard_set_is_read_only_and_says_how_to_change_it(seeds: Config, tmp_path: Path) -> None:
    split_index(seeds, tmp_path / "shards", 2)
    with pytest.raises(BuildError, match="shard set"):
        build_index(seeds.with_overrides(index=tmp_path / "shards"))
    with pytest.raises(IndexMismatchError, match="shard set"):
        Index(tmp_path / "shards")
    (tmp_path / "plain").mkdir()
    with pytest.raises(BuildError, match="not a shard set"):
        split_index(seeds, tmp_path / "plain", 2)  # never writes over a folder that is not a shard set

    again = subprocess.run(
        [QA, "shard", "--index", str(seeds.index), "--shards", "2", "--out", str(tmp_path / "shards")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert again.returncode == 0, again.stderr
    assert json.loads((tmp_path / "shards" / "shards.json").read_text())["generation"] == 2  # replaced whole
    ask = subprocess.run(
        [QA, "ask", "Did the summit happen?", "--index", str(tmp_path / "shards")], capture_output=True, text=True, timeout=300
    )
    assert ask.returncode == 0, ask.stderr
    assert "Called off" in ask.stdout or "called off" in ask.stdout


def test_a_set_built_by_shard_writers_equals_build_then_shard(seeds: Config, tmp_path: Path) -> None:
    """`build_shards` with its writers in this process (the Ray path, with actors, is in test_ray.py)."""
    split_index(seeds, tmp_path / "split", 3)
    report = build_shards(seeds, tmp_path / "built", 3)
    assert [articles for articles, _ in report.shards] == [
        articles for articles, _ in split_index(seeds, tmp_path / "again", 3).shards
    ]
    for n in range(3):
        shard = f"shard-{n:03d}"
        comparison = compare_indexes(tmp_path / "built" / shard, tmp_path / "split" / shard, exact_ids=True)
        assert comparison.same(), (shard, comparison)

    # The same BM25 statistics of the set as build-then-shard (whose counts the test above checks against tantivy).
    def statistics(folder: Path) -> tuple[dict[str, bytes], list[int], list[int]]:
        manifest = json.loads((folder / "shards.json").read_text())
        with sqlite3.connect(folder / "terms.sqlite") as terms:
            return dict(terms.execute("SELECT term, counts FROM holding")), manifest["keyword_documents"], manifest["chunks"]

    assert statistics(tmp_path / "built") == statistics(tmp_path / "split")
    for question in seed_questions():
        built = [p.chunk.id for p in qa.retrieve(question, k=5, index=tmp_path / "built", config=seeds)]
        split = [p.chunk.id for p in qa.retrieve(question, k=5, index=tmp_path / "split", config=seeds)]
        assert built == split, question


def test_a_failed_shard_set_write_leaves_the_previous_set(seeds: Config, tmp_path: Path) -> None:
    split_index(seeds, tmp_path / "shards", 2)
    before = (tmp_path / "shards" / "shards.json").read_text()
    with pytest.raises(RuntimeError, match="disk gone"), staged_set(tmp_path / "shards", 2) as (staging, generation):
        assert generation == 2 and staging.is_dir()
        raise RuntimeError("disk gone")
    assert (tmp_path / "shards" / "shards.json").read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shards"]  # the staging folder is gone
    (tmp_path / "empty").mkdir()
    with pytest.raises(BuildError, match="no readable articles"):
        build_shards(seeds.with_overrides(articles=tmp_path / "empty"), tmp_path / "shards", 2)
    assert (tmp_path / "shards" / "shards.json").read_text() == before
