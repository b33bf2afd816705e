"""Citation quality: does the sentence a passage cites hold the gold evidence?

For every question of bench/dev_questions.jsonl (and the seed questions) and each of its
top-10 passages that contains a gold quote, the passage's cited sentence counts as right
when it overlaps that quote (one contains the other, after normalising case, quotes and
spaces). Also: how often the answer's lead quote holds a gold quote. Prints figures only.

    .venv/bin/python bench/citations.py [--index bench/out/multihop/default]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import qa
from qa.evaluation import normalise

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = ROOT / "bench" / "dev_questions.jsonl"
SEEDS = ROOT.parent / "shared" / "eval" / "seed_questions.jsonl"


def _quotes(record: dict) -> list[str]:
    return [normalise(r["quote"]) for r in record.get("relevant", []) if r.get("quote")]


def score(path: Path, index: Path, config: qa.Config) -> dict[str, float]:
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    records = [r for r in records if _quotes(r)]
    passages_with_gold = cited_right = leads = lead_right = 0
    started = time.perf_counter()
    for record in records:
        gold = _quotes(record)
        for passage in qa.retrieve(record["question"], k=10, index=index, config=config):
            inside = [g for g in gold if g in normalise(passage.text)]
            if not inside:
                continue
            passages_with_gold += 1
            quote = normalise(passage.citation.quote)
            cited_right += any(g in quote or quote in g for g in inside)
        result = qa.answer(record["question"], index=index, config=config)
        if result.answered:
            leads += 1
            lead = normalise(result.passages[0].citation.quote)
            lead_right += any(g in lead or lead in g for g in gold)
    return {
        "questions": len(records),
        "passages_with_gold": passages_with_gold,
        "cited_sentence_holds_gold": round(cited_right / max(passages_with_gold, 1), 3),
        "answered": leads,
        "lead_quote_holds_gold": round(lead_right / max(leads, 1), 3),
        "seconds": round(time.perf_counter() - started, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--index", default=str(ROOT / "bench" / "out" / "multihop" / "default"))
    parser.add_argument("--seeds-index", default=str(ROOT / "bench" / "out" / "seeds" / "default"))
    args = parser.parse_args()
    config = qa.Config.from_env()
    print("dev questions:", json.dumps(score(QUESTIONS, Path(args.index), config)))
    if SEEDS.exists() and Path(args.seeds_index).exists():
        print("seed questions:", json.dumps(score(SEEDS, Path(args.seeds_index), config)))


if __name__ == "__main__":
    main()
