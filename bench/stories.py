"""Does the newest report of a story lead? Our own dated stories, scored with the public API.

`bench/stories/` holds 13 stories of 2–3 dated reports each (plus later distractor reports on
another festival, launch, transfer and summit); `bench/story_questions.jsonl` asks how each story
stands now. In 9 of the 13 stories the newest report shares no key word with the first question.
For every status question this prints whether the answer leads with the story's newest report,
and for the fact questions whether the gold report is still ranked first. With `--corpus` the
stories are indexed together with the 609 MultiHop-RAG articles (more distractors).

    .venv/bin/python bench/stories.py [--corpus]
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import qa
from qa.evaluation import normalise

ROOT = Path(__file__).resolve().parents[1]
#: The first set (issue 6) and the second (issue 19: 24 stories in new domains whose later reports
#: drop the question's key words, and later distractor reports of other events).
STORIES = [ROOT / "bench" / "stories", ROOT / "bench" / "stories2"]
QUESTIONS = [ROOT / "bench" / "story_questions.jsonl", ROOT / "bench" / "story_questions2.jsonl"]
CORPUS = ROOT.parent / "shared" / "corpora" / "multihop_rag_articles.jsonl"
OUT = ROOT / "bench" / "out"


def build(with_corpus: bool) -> qa.Config:
    name = "stories_corpus" if with_corpus else "stories"
    articles = OUT / f"{name}_articles"
    if articles.exists():
        shutil.rmtree(articles)
    for folder in STORIES:
        if folder.exists():
            shutil.copytree(folder, articles, dirs_exist_ok=True)
    if with_corpus:
        shutil.copy(CORPUS, articles / CORPUS.name)
    config = qa.Config(articles=articles, index=OUT / name / "default")
    print(qa.build_index(config).summary())
    return config


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", action="store_true", help="index the stories with the shared corpus")
    parser.add_argument("--part", choices=["all", "dev", "held"], default="all")
    args = parser.parse_args()
    config = build(args.corpus)
    rows = [json.loads(line) for path in QUESTIONS if path.exists() for line in path.read_text().splitlines() if line.strip()]
    if args.part != "all":
        rows = [r for r in rows if r["id"].startswith(args.part)]
    led, total, facts_first, facts, stale, lead_sentence, with_lead = 0, 0, 0, 0, 0, 0, 0
    for row in rows:
        result = qa.answer(row["question"], config=config)
        top = result.passages[0].article.id if result.answered and result.passages else None
        if row["kind"] == "status":
            total += 1
            ok = top == row["newest"]
            led += ok
            # A confident verdict from an older report: the newest report is not leading, and the
            # verdict does not say that a newer one may change it.
            confident_stale = not ok and bool(result.verdict) and not result.verdict.startswith("A newer report")
            stale += confident_stale
            said = ""
            if row.get("lead"):
                with_lead += 1
                quoted = " ".join(q.text for q in result.lead.quotes) if result.lead else ""
                hit = ok and normalise(row["lead"]) in normalise(quoted)
                lead_sentence += hit
                said = "; lead sentence " + ("ok" if hit else "MISSED")
            print(
                f"{'ok ' if ok else 'MISS'} {row['id']:14} lead={top} (want {row['newest']}); verdict {result.verdict!r}"
                f"{' STALE' if confident_stale else ''}{said}"
            )
        else:
            facts += 1
            quotes = [normalise(r["quote"]) for r in row["relevant"]]
            ok = bool(result.passages) and any(q in normalise(result.passages[0].text) for q in quotes)
            facts_first += ok
            print(f"{'ok ' if ok else 'MISS'} {row['id']:14} first={top}")
    print(f"\nstatus questions whose newest report leads: {led}/{total} = {led / max(total, 1):.3f}")
    print(f"confident verdicts from an older report with a newer one in view: {stale}")
    print(f"status questions led by the expected sentence: {lead_sentence}/{with_lead}")
    print(f"fact questions whose gold passage is first: {facts_first}/{facts} = {facts_first / max(facts, 1):.3f}")


if __name__ == "__main__":
    main()
