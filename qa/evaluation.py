"""Evaluation: how well retrieval finds gold evidence, and whether it declines what it cannot answer.

Gold evidence is given as quotes, not chunk ids, so any chunking can be scored:
a chunk is relevant when, after case-folding, unifying curly and straight quotes
and removing all whitespace, it contains one of the question's gold quotes.
The metrics follow trec_eval's definitions (the tests check them against
ir-measures), with every chunk of the index that holds a gold quote counted
as relevant for MAP.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .answer import NOT_FOUND, PARTLY, SUPPORTED
from .config import Config, Mode
from .engine import engine_for, load_index, retrieve
from .errors import InvalidRequest, shown

__all__ = ["EvalQuestion", "load_questions", "normalise", "evaluate", "metrics_for", "format_report"]

_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "‟": '"', "’": "'", "‘": "'", "‚": "'", "‛": "'", "`": "'"})


def normalise(text: str) -> str:
    return re.sub(r"\s+", "", text.casefold().translate(_QUOTES))


@dataclass(frozen=True)
class EvalQuestion:
    id: str
    question: str
    kind: str
    quotes: tuple[str, ...]


def load_questions(path: Path | str) -> list[EvalQuestion]:
    """The questions of a JSONL file; a line that is not a question is an `InvalidRequest` naming it."""
    questions = []
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidRequest(
            f"cannot read the questions file {shown(str(path))} ({getattr(error, 'strerror', None) or error})"
        ) from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            quotes = tuple(normalise(r["quote"]) for r in record.get("relevant", []))
            question = record["question"]
            if not isinstance(question, str) or not question.strip():
                raise TypeError("the question is not text")
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            why = (
                f"no {error}" if isinstance(error, KeyError) else type(error).__name__ if isinstance(error, ValueError) else error
            )
            raise InvalidRequest(
                f"{shown(str(path))}, line {number}: not a question record ({why}); "
                'each line is {"question": …, "relevant": [{"quote": …}]}'
            ) from None
        questions.append(EvalQuestion(str(record.get("id", number)), question, record.get("kind", "all"), quotes))
    if not questions:
        raise InvalidRequest(f"{shown(str(path))} holds no questions")
    return questions


def metrics_for(ranked_relevance: list[bool], total_relevant: int, k: int) -> dict[str, float]:
    """Hits@1/3/4/10, reciprocal rank and average precision of one ranking, cut at k."""
    top = ranked_relevance[:k]
    first = next((n for n, hit in enumerate(top, 1) if hit), None)
    precision_sum, hits = 0.0, 0
    for n, hit in enumerate(top, 1):
        if hit:
            hits += 1
            precision_sum += hits / n
    return {
        "hits@1": float(any(top[:1])),
        "hits@3": float(any(top[:3])),
        "hits@4": float(any(top[:4])),
        "hits@10": float(any(top[:10])),
        f"mrr@{k}": 1.0 / first if first else 0.0,
        f"map@{k}": precision_sum / total_relevant if total_relevant else 0.0,
    }


def evaluate(
    questions: list[EvalQuestion], *, index: Any = None, k: int = 10, mode: Mode | None = None, config: Config | None = None
) -> dict[str, Any]:
    """Scores of retrieval on `questions`, overall and for each kind, plus abstention accuracy."""
    config = config or Config.from_env()
    idx = load_index(index, config)
    chunk_texts = [normalise(text) for text in idx.chunk_texts()]
    per_kind: dict[str, list[dict[str, float]]] = defaultdict(list)
    declined_right: list[float] = []
    answered_right: list[float] = []
    lengths: list[int] = []
    engine = engine_for(idx, config)
    grades: dict[str, list[str]] = defaultdict(list)
    for q in questions:
        passages = retrieve(q.question, k, idx, mode=mode, config=config)
        # Abstention is judged by `answer()` itself, on its top `config.k` passages.
        graded = engine.answer(q.question, mode=mode).grade
        grades[q.kind].append(graded)
        answered = graded != NOT_FOUND
        lengths += [p.chunk.token_count for p in passages]
        if not q.quotes:
            declined_right.append(float(not answered))
            continue
        answered_right.append(float(answered))
        total = sum(any(quote in text for quote in q.quotes) for text in chunk_texts)
        relevance = [any(quote in normalise(p.text) for quote in q.quotes) for p in passages]
        scores = metrics_for(relevance, total, k)
        per_kind["all"].append(scores)
        per_kind[q.kind].append(scores)
    report: dict[str, Any] = _mean(per_kind.pop("all", []))
    report["n"] = len(questions)
    report["answerable"] = len(answered_right)
    report["abstention_accuracy"] = sum(declined_right) / len(declined_right) if declined_right else None
    report["answer_rate"] = sum(answered_right) / len(answered_right) if answered_right else None
    report["mean_passage_tokens"] = sum(lengths) / len(lengths) if lengths else 0.0
    report["by_kind"] = {kind: _mean(rows) | {"n": len(rows)} for kind, rows in sorted(per_kind.items())}
    report["grades"] = {
        kind: {g: found.count(g) / len(found) for g in (SUPPORTED, PARTLY, NOT_FOUND)} | {"n": len(found)}
        for kind, found in sorted(grades.items())
    }
    return report


def _mean(rows: list[dict[str, float]]) -> dict[str, float]:
    if not rows:
        return {}
    return {key: sum(r[key] for r in rows) / len(rows) for key in rows[0]}


def format_report(report: dict[str, Any]) -> str:
    keys = [k for k in report if k.startswith(("hits@", "mrr@", "map@"))]
    lines = [f"{'':14}{'n':>5}" + "".join(f"{k:>9}" for k in keys)]

    def row(name: str, values: dict[str, Any], n: int) -> str:
        return f"{name:14}{n:>5}" + "".join(f"{values.get(k, 0.0):>9.3f}" for k in keys)

    lines.append(row("all", report, report["answerable"]))
    for kind, values in report["by_kind"].items():
        lines.append(row(kind, values, values["n"]))
    abstention = report["abstention_accuracy"]
    lines.append(f"abstention accuracy (unanswerable declined): {'n/a' if abstention is None else f'{abstention:.3f}'}")
    rate = report["answer_rate"]
    lines.append(f"answer rate (answerable not declined): {'n/a' if rate is None else f'{rate:.3f}'}")
    lines.append(f"mean passage length: {report['mean_passage_tokens']:.0f} tokens")
    lines.append(f"grades by kind: {'':10}{SUPPORTED:>10}{PARTLY:>10}{NOT_FOUND:>10}")
    for kind, shares in report.get("grades", {}).items():
        lines.append(f"  {kind:24} (n={shares['n']:>3})" + "".join(f"{shares[g]:>10.3f}" for g in (SUPPORTED, PARTLY, NOT_FOUND)))
    return "\n".join(lines)
