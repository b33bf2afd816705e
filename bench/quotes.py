"""Does the answer quote the sentence that answers? Sentence choice, apart from retrieval.

For every answerable question with gold quotes (`bench/dev_questions.jsonl`,
`bench/questions/*.jsonl`), asks `qa.answer()` and checks the sentences it quotes:

- *lead*: the lead report's quoted sentences hold a gold quote (or lie inside one);
- *given*: the same, counted only where the lead passage's chunk holds a gold quote at all,
  so retrieval's misses don't count against sentence choice;
- *any*: some cited report's quoted sentence holds a gold quote;
- how many other reports an answer cites besides the lead (fewer, at the same *any*, is less noise).

    .venv/bin/python bench/quotes.py [--part dev|held|all] [--show]
"""

from __future__ import annotations

import argparse
import json

from run_eval import NEW_SETS, QUESTIONS, corpus_index

import qa
from qa.evaluation import normalise

KINDS = {"single", "fact", "multipart", "comparison", "temporal", "status", "all"}


def holds(quoted: str, gold: list[str]) -> bool:
    text = normalise(quoted)
    return any(g in text or (len(text) > 20 and text in g) for g in gold)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--part", choices=["all", "dev", "held"], default="dev")
    parser.add_argument("--show", action="store_true", help="print the misses")
    args = parser.parse_args()
    config = qa.Config.from_env().with_overrides(articles=corpus_index().articles, index=corpus_index().index)
    engine = qa.Engine(config)
    rows = [json.loads(line) for path in [QUESTIONS, *NEW_SETS] for line in path.read_text().splitlines() if line.strip()]
    rows = [r for r in rows if r.get("relevant") and r.get("kind", "all") in KINDS]
    rows = [r for r in rows if args.part == "all" or r["id"].startswith(args.part)]
    lead = given = given_n = anywhere = answered = others = 0
    for row in rows:
        gold = [normalise(r["quote"]) for r in row["relevant"]]
        result = engine.answer(row["question"])
        if not result.answered or not result.lead:
            continue
        answered += 1
        quoted = " ".join(q.text for q in result.lead.quotes)
        hit = holds(quoted, gold)
        lead += hit
        if any(g in normalise(result.passages[0].text) for g in gold):
            given_n += 1
            given += hit
            if not hit and args.show:
                print(
                    f"MISS {row['id']:14} {row['question'][:90]}\n     quoted: {quoted[:160]}\n     gold:   {row['relevant'][0]['quote'][:160]}"
                )
        others += len(result.others)
        anywhere += any(holds(" ".join(q.text for q in r.quotes), gold) for r in (result.lead, *result.others))
    n = max(answered, 1)
    print(
        f"{len(rows)} questions, {answered} answered: lead quotes a gold sentence {lead}/{answered} = {lead / n:.3f}; "
        f"where the lead passage holds one {given}/{given_n} = {given / max(given_n, 1):.3f}; "
        f"some cited report does {anywhere}/{answered} = {anywhere / n:.3f}; other reports cited per answer {others / n:.2f}"
    )


if __name__ == "__main__":
    main()
