"""Calibrate abstention (`Config.min_score`) on measurements, not guesses.

For every question of the development set (609-article index), the seed set (two-article
index) and the story set, it computes the evidence the top `k` passages carry:

- `cosine`: the best cosine similarity of question and passage;
- `best`: the best share of the question's BM25 weight that one passage reaches.

(A third signal, the IDF-weighted share of the question's words that the passages hold together,
was measured in issue 7 and rejected: its scale depends on the index's size; bench/README.md.)

It prints the separation of answerable and unanswerable questions for each candidate signal,
the threshold that best balances answered and declined rates on the tuning part (`dev-*`), and
what that threshold gives on the held-aside part (`held-*`) and on the other sets.

    .venv/bin/python bench/calibrate.py
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

import qa
from qa.evaluation import load_questions

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
SETS = [
    ("dev set", ROOT / "bench" / "dev_questions.jsonl", OUT / "multihop" / "default"),
    ("seeds", ROOT.parent / "shared" / "eval" / "seed_questions.jsonl", OUT / "seeds" / "default"),
    ("stories", ROOT / "bench" / "story_questions.jsonl", OUT / "stories" / "default"),
]
SIGNALS = {
    "cosine + best": lambda f: f["cosine"] + f["best"],
    "cosine": lambda f: f["cosine"],
}


def features(name: str, questions: Path, index: Path) -> list[dict[str, float | str | bool]]:
    config = qa.Config(index=index)
    rows = []
    for q in load_questions(questions):
        passages = qa.retrieve(q.question, k=config.k, index=index, config=config)
        cosine = max(p.similarity for p in passages) if passages else 0.0
        best = max(p.keyword for p in passages) if passages else 0.0
        rows.append({"id": q.id, "answerable": bool(q.quotes), "cosine": cosine, "best": best})
    return rows


def balanced(rows: list[dict], signal) -> tuple[float, float, float]:  # type: ignore[no-untyped-def]
    """The threshold maximising (answered rate + declined rate) / 2, and those two rates."""
    values = sorted({signal(r) for r in rows})
    best = (0.0, 0.0, 0.0)
    for threshold in values:
        answered, declined = rates(rows, signal, threshold)
        if (answered + declined) / 2 > (best[1] + best[2]) / 2:
            best = (threshold, answered, declined)
    return best


def rates(rows: list[dict], signal, threshold: float) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    good = [signal(r) >= threshold for r in rows if r["answerable"]]
    bad = [signal(r) < threshold for r in rows if not r["answerable"]]
    return float(np.mean(good)) if good else float("nan"), float(np.mean(bad)) if bad else float("nan")


def main() -> None:
    measured = {}
    for name, questions, index in SETS:
        if not questions.exists() or not index.exists():
            print(
                f"{name}: skipped ({questions} or {index} missing; run bench/run_eval.py, bench/bench_build.py and bench/stories.py first)"
            )
            continue
        measured[name] = features(name, questions, index)
    (OUT / "calibration.json").write_text(json.dumps(measured, indent=1))
    dev = [r for r in measured.get("dev set", []) if str(r["id"]).startswith("dev")]
    for label, signal in SIGNALS.items():
        print(f"\n== {label} ==")
        if dev:
            threshold, answered, declined = balanced(dev, signal)
            print(f"tuning part: best balanced threshold {threshold:.3f}: answered {answered:.3f}, declined {declined:.3f}")
        for name, rows in measured.items():
            parts = (
                {"held": [r for r in rows if str(r["id"]).startswith("held")], "all": rows}
                if name == "dev set"
                else {"all": rows}
            )
            for part, subset in parts.items():
                answerable = sorted(signal(r) for r in subset if r["answerable"])
                unanswerable = sorted(signal(r) for r in subset if not r["answerable"])
                line = f"  {name}/{part}: answerable min {answerable[0]:.3f} median {np.median(answerable):.3f}"
                if unanswerable:
                    line += f"; unanswerable median {np.median(unanswerable):.3f} max {unanswerable[-1]:.3f}"
                if dev:
                    answered, declined = rates(subset, signal, threshold)
                    line += f"; at {threshold:.3f}: answered {answered:.3f}, declined {declined:.3f}"
                print(line)
    print(f"\nconfigured: min_score = {qa.Config().min_score} on cosine + best")


if __name__ == "__main__":
    main()
