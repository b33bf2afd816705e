"""Evidence: how well a passage supports each part of a question, without an LLM.

The answer is graded part by part (`answer.grade`): a part is supported when one passage's
support for it reaches `Config.min_support`. Support adds three signals, each measured against
the part alone (a multi-part question's parts are judged apart, so a long question is not
penalised for asking several things):

- meaning: the cosine of the part and the passage;
- weight: the share of the BM25 score that the part's own words (less outlets and question
  words, `parts.content_terms`) could reach anywhere, that this passage reaches;
- presence: the share of the part's own words, weighted by rarity (idf), that the title and two
  consecutive sentences of the passage hold together (the best such window). A claim is stated in
  a sentence or two; a 256-token passage holds enough words to cover a made-up claim by scattered
  mentions ("left the United States" in one paragraph, "video link" in another), and measured on
  the development questions the window declined twice as many unanswerable ones at the same
  answered rate (bench/README.md). A word found nowhere in the index counts against the part at
  full weight: asking about something no article mentions ("the moon hotel") is the mark of an
  unanswerable claim, which the BM25 share alone cannot see (an absent word reaches nothing).

`bench/calibrate.py` measures the threshold on the development questions.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from .query import Part
from .storage.keyword import analyze

__all__ = ["support"]


def support(
    parts: Sequence[Part],
    content_bm25: Sequence[np.ndarray],
    statistics: tuple[Mapping[str, float], int, Mapping[str, int]],
    vectors: np.ndarray,
    texts: Sequence[tuple[str, Sequence[str]]],
) -> np.ndarray:
    """Support of each passage for each part: an array of parts × passages.

    The passages are given by their unit `vectors`, their title and sentences (`texts`), and the
    BM25 of each part's own words (`content_bm25`, one array per part); `statistics` are the best
    score each word reaches, the index's chunks and the chunks holding each word."""
    out = np.zeros((len(parts), len(vectors)), dtype=np.float32)
    if not len(vectors):
        return out
    maxes, chunks, holding = statistics
    held = [_windows(title, sentences) for title, sentences in texts]
    for n, part in enumerate(parts):
        meaning = vectors @ part.vector
        content = list(part.content)
        if not content:
            out[n] = meaning
            continue
        weight = content_bm25[n] / max(sum(maxes.get(t, 0.0) for t in set(content)), 1e-6)
        rarity = [math.log(1 + (chunks - holding.get(t, 0) + 0.5) / (holding.get(t, 0) + 0.5)) for t in content]
        total = max(sum(rarity), 1e-6)
        presence = np.array(
            [max(sum(r for term, r in zip(content, rarity) if term in window) for window in windows) / total for windows in held]
        )
        out[n] = meaning + weight + presence
    return out


def _windows(title: str, sentences: Sequence[str]) -> list[set[str]]:
    """The terms of the title with each two consecutive sentences (with the one sentence, if alone)."""
    title_terms = set(analyze(title))
    terms = [set(analyze(s)) for s in sentences] or [set()]
    return [title_terms | terms[i] | (terms[i + 1] if i + 1 < len(terms) else set()) for i in range(max(len(terms) - 1, 1))]
