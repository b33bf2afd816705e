from __future__ import annotations

import dataclasses
import json

import pytest
from conftest import NEWER, OLDER, shared_file

from qa import Config, NoMatchError, answer, retrieve
from qa.evaluation import evaluate, load_questions, normalise
from qa.render import body


def test_summit_newest_report_leads(seeds: Config) -> None:
    passages = retrieve("did the summit happen?", k=5, index=seeds.index)
    assert "called off" in passages[0].text
    assert passages[0].article.id == NEWER
    assert [p.rank for p in passages] == list(range(1, len(passages) + 1))
    assert {p.article.id for p in passages} == {NEWER, OLDER}
    top = passages[0]
    assert top.citation.quote == top.article.text[top.citation.start : top.citation.end]  # exact quote


@pytest.mark.parametrize(("mode", "within"), [("hybrid", 1), ("bm25", 1), ("dense", 3)])
def test_every_mode_finds_the_answer(seeds: Config, mode: str, within: int) -> None:
    passages = retrieve("Who said a Biden-Putin summit was not in the plans?", k=3, index=seeds.index, mode=mode)
    assert any("Psaki said that a Biden-Putin summit" in p.text for p in passages[:within])


def test_fusion_weight_spans_the_two_sides(seeds: Config) -> None:
    """bm25_weight 1 ranks as BM25 does, 0 as dense does; the default blends them."""
    question = "What did the Kremlin say about plans for a leaders' summit?"

    def order(config: Config, mode: str) -> list[tuple[str, int]]:
        return [(p.article.id, p.chunk.start) for p in retrieve(question, k=4, index=seeds.index, mode=mode, config=config)]

    assert order(dataclasses.replace(seeds, bm25_weight=1.0), "hybrid") == order(seeds, "bm25")
    assert order(dataclasses.replace(seeds, bm25_weight=0.0), "hybrid") == order(seeds, "dense")


def test_hybrid_is_at_least_as_good_as_either_side(seeds: Config) -> None:
    questions = load_questions(shared_file("eval/seed_questions.jsonl"))
    mrr = {mode: evaluate(questions, mode=mode, config=seeds)["mrr@10"] for mode in ("hybrid", "dense", "bm25")}
    assert mrr["hybrid"] >= max(mrr["dense"], mrr["bm25"]) and mrr["hybrid"] > mrr["dense"]


def test_date_filter_keeps_only_dated_newer_reports(seeds: Config) -> None:
    passages = retrieve("did the summit happen?", index=seeds.index, since="2022-02-22")
    assert passages and {p.article.id for p in passages} == {NEWER}
    with pytest.raises(NoMatchError, match="No articles were published on or before 2022-02-22"):  # says so, not []
        retrieve("did the summit happen?", index=seeds.index, until="2022-02-22")
    assert {p.article.id for p in retrieve("summit", index=seeds.index, sources=["themoscowtimes.com"])} == {NEWER}


def test_seed_questions(seeds: Config) -> None:
    config = dataclasses.replace(seeds)
    for line in shared_file("eval/seed_questions.jsonl").read_text().splitlines():
        record = json.loads(line)
        result = answer(record["question"], config=config)
        if not record["relevant"]:
            assert not result.answered, record["question"]
            assert body(result).startswith("Not found in these articles")
            continue
        assert result.answered, record["question"]
        top3 = retrieve(record["question"], k=3, index=seeds.index)
        quotes = [normalise(r["quote"]) for r in record["relevant"]]
        assert any(q in normalise(p.text) for p in top3 for q in quotes), record["question"]


def test_huge_question_is_shortened_not_refused(seeds: Config) -> None:
    question = "did the summit happen? " + "x" * 100_000
    result = answer(question, config=seeds)
    assert result.notes and "100,023 characters" in result.notes[0]
    with pytest.raises(ValueError, match="empty"):
        retrieve("   ", index=seeds.index)
