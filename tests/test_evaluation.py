from __future__ import annotations

import random
from pathlib import Path

import ir_measures
import pytest
from conftest import shared_file
from ir_measures import AP, RR, Success

from qa import Config
from qa.evaluation import evaluate, load_questions, metrics_for, normalise


def test_normalise_matches_quotes_across_typography() -> None:
    assert normalise("“Hello”\n  World’s") == normalise('"hello" world\'s') == '"hello"world\'s'


def test_metrics_agree_with_ir_measures() -> None:
    rng = random.Random(7)
    for _ in range(50):
        relevant_ids = {f"d{i}" for i in rng.sample(range(30), rng.randint(1, 6))}
        ranking = [f"d{i}" for i in rng.sample(range(30), 10)]
        qrels = [ir_measures.Qrel("q", d, 1) for d in relevant_ids]
        run = [ir_measures.ScoredDoc("q", d, 10.0 - n) for n, d in enumerate(ranking)]
        expected = ir_measures.calc_aggregate([RR @ 10, AP @ 10, Success @ 1, Success @ 3, Success @ 10], qrels, run)
        ours = metrics_for([d in relevant_ids for d in ranking], len(relevant_ids), 10)
        assert ours["mrr@10"] == pytest.approx(expected[RR @ 10])
        assert ours["map@10"] == pytest.approx(expected[AP @ 10])
        assert ours["hits@1"] == expected[Success @ 1] and ours["hits@3"] == expected[Success @ 3]
        assert ours["hits@10"] == expected[Success @ 10]


def test_eval_on_seed_questions(seeds: Config) -> None:
    report = evaluate(load_questions(shared_file("eval/seed_questions.jsonl")), k=10, config=seeds)
    assert report["n"] == 17 and report["answerable"] == 15
    assert report["hits@3"] == 1.0 and report["abstention_accuracy"] == 1.0
    assert set(report["by_kind"]) == {"fact", "temporal"}


def test_a_bad_questions_file_is_one_line_naming_the_file_and_line(tmp_path: Path) -> None:
    from qa.errors import InvalidRequest
    from qa.evaluation import load_questions

    bad = tmp_path / "q.jsonl"
    bad.write_text('{"question": "did the summit happen?"}\n{"foo": 1}\n', encoding="utf-8")
    with pytest.raises(InvalidRequest, match=r"q.jsonl, line 2: not a question record \(no 'question'\)"):
        load_questions(bad)
    bad.write_text("", encoding="utf-8")
    with pytest.raises(InvalidRequest, match="holds no questions"):
        load_questions(bad)
    with pytest.raises(InvalidRequest, match="cannot read the questions file"):
        load_questions(tmp_path / "none.jsonl")
