"""What a question asks for (a date, a number, a name), and whether a sentence holds one it doesn't say.

Choosing the sentence to quote by closeness in meaning and shared words favours the sentence that
restates the question ("Common Sense Media studied 11- to 17-year-olds") over the one that answers
it ("97% of them used their phones during school hours"): the answer is the part the question does
not hold. Factoid question answering has long matched the answer's expected type for this — "when"
wants a date, "how many" a number, "who" or "which judge" a name — so a sentence that holds
something of that type *beyond what the question says* is more likely the answer
(`retrieval._passages` adds `Config.answer_type_bonus` to its score). Pure rules, no model: a
question of no clear type ("what did regulators do?", "did X happen?") gets no bonus at all.
"""

from __future__ import annotations

import re
from typing import Literal

from .dates import MONTHS

__all__ = ["AnswerType", "expected_type", "holds_answer"]

AnswerType = Literal["date", "number", "name"]

_YES_NO = re.compile(r"^\W*(?:is|are|was|were|did|does|do|has|have|had|will|would|can|could|should)\b", re.I)
_CLAUSE = r"(?:^|[,;:]\s*|\b(?:and|but)\s+)\W*"
_DATE_Q = re.compile(
    _CLAUSE + r"(?:when\b|since when|by when|(?:on|in|by)\s+(?:what|which)\s+(?:day|date|year|month)|"
    r"what\s+(?:day|date|year|month|time)\b)",
    re.I,
)
_NUMBER_Q = re.compile(
    _CLAUSE + r"(?:(?:by|for|in|at|to)\s+)?(?:how\s+(?!(?:did|does|do|is|are|was|were|can|could|will|would|should|has|"
    r"have|had|to|come|exactly)\b)\w+\b|"
    r"(?:what|which)\s+(?:share|percentage|percent|proportion|fraction|number|amount|price|sum|figure|score|age|"
    r"revenue|rate|total|size|valuation|salary|fee|fine|cost)\b)",
    re.I,
)
_NAME_Q = re.compile(
    _CLAUSE + r"(?:(?:at|in|on|for|from|by|with|to|of|under)\s+)?(?:who\b|whom\b|whose\b|where\b|which\b|"
    r"what\s+(?:is|was|are|were)\s+(?:the\s+)?(?:[\w'’-]+\s+){0,14}?"
    r"(?:name|called|named)\b|what\s+(?:company|firm|person|team|club|player|country|city|university|journal|"
    r"newspaper|publisher|brand|app|product|organisation|organization|agency|group|band|film|show|protocol|game)\b)",
    re.I,
)

_MONTH = "(?:" + "|".join(sorted(MONTHS, key=len, reverse=True)) + ")"
_WEEKDAY = r"(?:mon|tues|wednes|thurs|fri|satur|sun)day"
_DATE = re.compile(
    rf"\b(?:{_MONTH}\.?\s+\d{{1,2}}(?:st|nd|rd|th)?\b|\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}\b|"
    rf"(?:19|20)\d\d\b|{_WEEKDAY}\b|(?:yesterday|today|tomorrow|tonight)\b|(?:early|mid|late)-?\s*{_MONTH}\b|"
    rf"(?:in|since|by|until|from)\s+{_MONTH}\b)",
    re.I,
)
_NUMBER = re.compile(
    r"(?<![\w.])[$€£]?\d[\d,.]*%?|\b(?:two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|"
    r"thirty|forty|fifty|hundred|hundreds|thousand|thousands|million|millions|billion|billions|dozen|dozens|half|"
    r"third|quarter|percent|per cent)\b",
    re.I,
)
_CAPITALISED = re.compile(r"(?<![\w'’])[A-Z][\w'’&.-]*")
#: Capitalised words that are not names of anything a question could ask for.
_NOT_NAMES = frozenset(
    """the a an and but or in on at of for to by with from as it its this that these those he she they we you
    i his her their our my mr mrs ms dr monday tuesday wednesday thursday friday saturday sunday january
    february march april may june july august september october november december""".split()
)


def expected_type(question: str) -> AnswerType | None:
    """The kind of answer the question's first wh-clause asks for; None for yes/no and open questions."""
    if _YES_NO.match(question):
        return None  # "did X, which …, happen?" asks whether, not which
    found: list[tuple[int, AnswerType]] = []
    for kind, pattern in (("date", _DATE_Q), ("number", _NUMBER_Q), ("name", _NAME_Q)):
        match = pattern.search(question)
        if match:
            found.append((match.start(), kind))  # type: ignore[arg-type]
    # The earliest clause decides; on a tie a date or a number is more specific than "which …".
    return min(found, key=lambda f: (f[0], ("date", "number", "name").index(f[1])))[1] if found else None


def holds_answer(sentence: str, kind: AnswerType | None, question: str) -> bool:
    """Whether `sentence` holds something of the `kind` asked for that `question` does not already say."""
    if kind is None:
        return False
    said = question.casefold()
    pattern = {"date": _DATE, "number": _NUMBER}.get(kind)
    if pattern is not None:
        return any(m[0].strip().casefold() not in said for m in pattern.finditer(sentence))
    words = set(re.findall(r"[\w'’&.-]+", said))
    names = [m for m in _CAPITALISED.finditer(sentence) if m.start() > 0]  # a sentence's first word is capitalised anyway
    return any(
        m[0].casefold().strip(".") not in words and m[0].casefold().strip(".") not in _NOT_NAMES and len(m[0]) > 1 for m in names
    )
