"""Status language: the words with which a report says that what was planned is off, or on.

The answer's verdict is one of these words as the lead report uses it ("Called off — 23 Feb
2022"), never a word of ours; and a status question is answered by the sentence that says it.
A reversal ("postponed", "will not start until May") is newer news than a confirmation ("agreed
in principle"), so it is looked for first. Negated uses ("has not been called off") and ones only
wondered about ("whether it will be moved to Sunday") do not count.
"""

from __future__ import annotations

import re

from .records import Passage

__all__ = [
    "REVERSAL",
    "CONFIRMATION",
    "NEGATED",
    "HEDGED",
    "asserted",
    "reverses",
    "confirms",
    "changes_status",
    "status_sentences",
]

#: Language that signals a report reverses an earlier one: what was planned is off, late or over.
REVERSAL = re.compile(
    r"\b(call(?:s|ed|ing)? off|cancel(?:s|ed|led|ling|lation)?|postpon(?:e|es|ed|ing|ement)|delay(?:s|ed)?|"
    r"den(?:y|ies|ied)|withdr(?:ew|awn|aws|awal)|scrap(?:s|ped)|suspend(?:s|ed)|revers(?:e|es|ed)|"
    r"halt(?:s|ed)|paus(?:e|es|ed|ing)|abandon(?:s|ed)|no longer|eliminat(?:ed|ion)|knocked out|crash(?:es|ed)? out|ruled out|not in the plans|put on hold|on hold|"
    r"back(?:s|ed)? out|pull(?:s|ed)? out|walk(?:s|ed)? back|pushed back|put back|behind schedule|"
    r"(?:will|would|does|did|do) not (?:go ahead|take place|open|start|begin|happen|proceed|return|run|fly|reopen)|"
    r"(?:won't|wouldn't|didn't|doesn't) (?:go ahead|take place|open|start|begin|happen|proceed|return|run|fly|reopen)|"
    r"not (?:start|open|reopen|return|resume) until|drop(?:s|ped)|reject(?:s|ed)|refus(?:e|es|ed)|block(?:s|ed)|"
    r"shelv(?:e|es|ed)|ax(?:e|es|ed)|collaps(?:e|es|ed)|terminat(?:e|es|ed)|overturn(?:s|ed)|struck down|"
    r"clos(?:e|es|ed|ing) early|step(?:s|ped)? down|resign(?:s|ed|ation)?|quit(?:s)?|oust(?:s|ed)?|sack(?:s|ed)|"
    r"fired|part(?:s|ed)? company|moved to|switch(?:es|ed)? to|relocat(?:e|es|ed)|streaming only|"
    r"vot(?:e|es|ed) (?:down|against)|turn(?:s|ed)? down|removed|los(?:t|es|ing) (?:a|the|its|her|his) (?:confidence )?vote)\b(?!-\w)",
    re.IGNORECASE,
)
#: Language that settles an open question the other way: it is on, done or decided.
CONFIRMATION = re.compile(
    r"\b(confirm(?:s|ed)?|agree(?:s|d)?|approv(?:e|es|ed|al)|resched\w*|went ahead|took place|cleared|acquitted|"
    r"convicted|found guilty|settled|complet(?:e|es|ed|ion)|granted|reinstated|lift(?:s|ed) (?:the|its|a) ban|"
    r"debut(?:s|ed)?|first day of trading|sign(?:s|ed) (?:with|for))\b(?!-\w)",
    re.IGNORECASE,
)
NEGATED = re.compile(r"\b(not|never|no|n't)\s+(\w+\s+)?$|n't\s+(\w+\s+)?$", re.IGNORECASE)
#: A status word only wondered about, in the same clause: "whether this match will be moved to another day".
HEDGED = re.compile(r"\b(?:whether|if|could|might|may)\b[^,;:.!?]*$", re.IGNORECASE)


def asserted(sentence: str, start: int) -> bool:
    """Whether the status word at `start` of `sentence` is stated: not denied ("has not been
    called off") and not only wondered about ("it is unclear whether the tour will be moved to")."""
    return not NEGATED.search(sentence[max(0, start - 20) : start]) and not HEDGED.search(sentence[max(0, start - 50) : start])


def _said(pattern: re.Pattern[str], sentence: str) -> bool:
    return any(asserted(sentence, m.start()) for m in pattern.finditer(sentence))


def reverses(sentence: str) -> bool:
    """Whether a sentence reports a reversal; "has not been called off" does not."""
    return _said(REVERSAL, sentence)


def confirms(sentence: str) -> bool:
    return _said(CONFIRMATION, sentence)


def changes_status(sentence: str) -> bool:
    return reverses(sentence) or confirms(sentence)


def status_sentences(passage: Passage, margin: float) -> list[int]:
    """The passage's sentences that state a change of status of what is asked: a reversal or a
    confirmation that answers the question nearly as well as the passage's best sentence (within
    `margin`), so that "denied early release" does not answer "was he convicted?" and a sentence
    about unionisation does not answer "did the deal close?"."""
    text = passage.article.text
    scores = list(passage.sentence_scores) or [0.0] * len(passage.chunk.sentences)
    best = max(scores, default=0.0)
    return [
        j
        for j, sentence in enumerate(passage.chunk.sentences)
        if scores[j] >= best - margin and changes_status(text[sentence.start : sentence.end])
    ]
