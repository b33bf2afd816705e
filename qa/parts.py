"""Multi-part questions, read part by part, without an LLM.

Real questions often ask several things at once: "Which company, discussed in articles from
TechCrunch and The Verge, is associated with the GPT models and faced a board revolt?", "Does
the Fortune article say X, while the BBC reports Y?", "Did Engadget report X before Wired
reported Y?". No single passage holds all of their words, so judging the question whole says
"not found" even when the top passages answer every part. Each part is therefore searched and
judged on its own (`retrieval.py`, `answer.py`).

A part is a clause: the question is cut at clause connectors (";", "while", "whereas", "but",
"before", "after", a comma) and at "and" between two clauses that each say something. A piece
that carries no words of its own (only outlets and question words: "discussed in articles from
TechCrunch and The Verge") is glued back to its neighbour. A question that does not split is
one part: itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from .query import source_aliases
from .storage.keyword import analyze

__all__ = ["split_parts", "content_terms", "named_words"]

#: Where clauses meet. "before"/"after" only when a clause follows (a subject and a verb), so
#: "after the election" stays whole; "and" is tried separately, see `_split_and`.
_CONNECTORS = re.compile(
    r"\s*;\s*|,?\s+(?:while|whereas|whilst|but|although|though)\s+|,?\s+(?:before|after)\s+(?=[A-Z\w'’.&-]+(?:\s+[\w'’.&-]+){0,5}?\s+"
    r"(?:reported|published|wrote|said|says|announced|covered|released|described|mentioned|revealed|stated|suggested|"
    r"highlighted|discussed|noted|claimed|argued|detailed|posted|was|were|had|did|has)\b)|,\s+",
    re.IGNORECASE,
)
_LEADING = re.compile(r"^\s*(?:and|or|but|also|then)\s+", re.IGNORECASE)  # "…, and did X…" → "did X…"
_AND = re.compile(r",?\s+and\s+(?:also\s+)?", re.IGNORECASE)

#: Words of the question's frame, not of what it asks: they say nothing a passage must hold.
_FRAME = frozenset(
    analyze(
        """article articles report reports reported reporting publish published publication story stories coverage
        covered news outlet outlets source sources according suggest suggests suggested mention mentions mentioned
        discuss discussed discusses describe described describes detail detailed indicate indicated state stated
        claim claimed highlight highlighted which who what whose whom when where why how company person individual
        entity organization organisation firm also both either one two three later earlier first second
        piece write wrote written writes post posted title focus focuses focused consistent do does did done is are
        was were be been has have had will would can could should may might shall must
        happen happened happening take took place go goes going went ahead still latest now currently yet status
        update updates anymore say says said tell tells told about regarding concerning"""
    )
)
_MIN_TERMS = 2  #: a part needs at least this many words of its own


def content_terms(text: str, outlets: Iterable[str] = ()) -> list[str]:
    """The words of `text` that a supporting passage must hold: analysed, less the question's frame and outlet names."""
    return _own(text, _outlet_terms(outlets))


def _outlet_terms(outlets: Iterable[str]) -> set[str]:
    return {t for source in outlets for alias in source_aliases(source) for t in analyze(alias)}


def _own(text: str, outlet_terms: set[str]) -> list[str]:
    return [t for t in analyze(text) if t not in _FRAME and t not in outlet_terms and not t.isdigit()]


#: Capitalised words: what a question names (people, companies, places, products).
_CAPITALISED = re.compile(r"(?<![\w'’])[A-Z][\w'’&-]*")
#: Adjectives of place ("Tasmanian", "Swedish") are capitalised but a report may say "from Tasmania".
_DEMONYM = re.compile(r"(?:ian|ean|ese|ish)$")


def named_words(question: str, outlets: Iterable[str] = ()) -> dict[str, tuple[str, ...]]:
    """The capitalised words of `question` that name something, each with its analysed terms; not
    outlets, not the question's frame ("Which", "Did"), not adjectives of place.

    A name that no article holds at all (`Query.unknown`) means the question asks about something
    the index has never reported: it is declined, saying so, whatever its other words find.
    """
    outlet_terms = _outlet_terms(outlets)
    found: dict[str, tuple[str, ...]] = {}
    for match in _CAPITALISED.finditer(question):
        word = match[0].rstrip("'’-")
        terms = tuple(_own(word, outlet_terms))
        if terms and not _DEMONYM.search(word.lower()):
            found.setdefault(word, terms)
    return found


def split_parts(question: str, outlets: Iterable[str] = ()) -> tuple[str, ...]:
    """The question's parts, in order; a question of one part gives `(question,)`.

    `outlets` are the source names the index holds: naming an outlet is not a part of its own.
    """
    outlets = list(outlets)
    text = question.strip().rstrip("?!.").strip()

    def weight(piece: str) -> int:
        return len(set(content_terms(piece, outlets)))

    pieces = [_LEADING.sub("", p) for p in _CONNECTORS.split(text) if p and p.strip()]
    pieces = [q for p in pieces for q in _split_and(p, weight)]
    parts: list[str] = []
    pending = ""  # pieces too light to stand alone, carried into the next part
    for piece in pieces:
        joined = f"{pending} {piece}".strip()
        if weight(piece) >= _MIN_TERMS:
            parts.append(joined)
            pending = ""
        else:
            pending = joined
    if pending:
        if parts:
            parts[-1] = f"{parts[-1]} {pending}"
        else:
            parts.append(pending)
    unique = list(dict.fromkeys(p.strip() for p in parts if p.strip()))
    return tuple(unique) if len(unique) > 1 else (question.strip(),)


def _split_and(piece: str, weight: object) -> list[str]:
    """`piece` cut at "and" where both sides hold enough words of their own (two clauses, not
    "Sam Altman and Greg Brockman")."""
    sides = _AND.split(piece)
    if len(sides) == 1:
        return [piece]
    out = [sides[0]]
    for side in sides[1:]:
        if weight(out[-1]) >= _MIN_TERMS + 1 and weight(side) >= _MIN_TERMS + 1:  # type: ignore[operator]
            out.append(side)
        else:
            out[-1] = f"{out[-1]} and {side}"
    return out
