"""Verification, sentence by sentence: a generated sentence is kept only when what it cites says it.

Each sentence must end with the numbers of passages it was given, and must not be a question (an
echoed question is not an answer). Then, against the excerpts of
those passages (what the model saw) and their dates and outlets:
- every number it writes is in them (or is the day or year of a date they carry);
- every date it writes ("23 February", "Feb 23, 2022") is a date they state, are published on, or
  speak of ("on Tuesday" resolved by `qa/dates.py`); a month or weekday it names is in them too;
- every name (a capitalised word that is not a common word) is in them;
- at least `verify_words` of its content words (stemmed, stopwords out; the question's own words
  and words about the reports neither help nor hurt: restating the question is not a claim) are in
  one of their sentences (with its article's title): words gathered from several sentences can
  splice a claim that none of them makes ("Macron's office said that Putin signed treaties");
- its embedding is within `verify_cosine` of one of their sentences: lexical support alone passes
  a sentence that reorders true words into a false claim less often than either measure alone.
A sentence that fails one test is dropped with the first reason found. For a status question the
kept sentences must also agree with the newest report's verdict (`agrees`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from ..dates import MONTHS
from ..embedding import Encoder
from ..records import Citation, Claim
from ..status import confirms, reverses
from ..storage.keyword import analyze
from .brief import Brief, Given

__all__ = ["split_claims", "verify", "agrees", "CITES"]

#: A citation group: "[1]", "[1, 2]", "[1][2]" (each bracket one group).
CITES = re.compile(r"\[\s*(\d{1,3}(?:\s*[,;]\s*\d{1,3})*)\s*\]")
#: A sentence ends after . ! ? (and closing quotes) before a capital, a digit or a citation, after a
#: citation before a capital, or at a line break.
_SENTENCE_END = re.compile(r"(?<=[.!?])([\"”’')]*)\s+(?=[\"“‘(\[]?[A-Z0-9\[])|(?<=\])()\s+(?=[\"“‘(]?[A-Z])|()\n+")
#: Not a sentence end: an abbreviation, or a bare "Yes." or "No." opening the answer (read with
#: the sentence after it, so that the verdict check sees it).
_ABBREVIATIONS = re.compile(
    r"^(?:Yes|No)\.$|\b(?:U\.S|U\.K|U\.N|Mr|Mrs|Ms|Dr|St|Jr|Sr|Inc|Ltd|Co|vs|No|Gov|Sen|Rep|Gen|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\.$"
)
_NUMBER = re.compile(r"(?<![\w.])\d[\d,]*(?:\.\d+)?(?![\w])")
_MONTH = "(" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
_DAY_MONTH = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}\b", re.IGNORECASE)
_MONTH_DAY = re.compile(rf"\b{_MONTH}\s+(\d{{1,2}})(?:st|nd|rd|th)?\b", re.IGNORECASE)
_FULL_MONTH = re.compile(
    r"\b(january|february|march|april|june|july|august|september|october|november|december)\b", re.IGNORECASE
)
_WEEKDAY = re.compile(r"\b(monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b", re.IGNORECASE)
_NAME = re.compile(r"\b[A-Z][\w'’\-]*[\w]\b")
#: Capitalised words that are not names: sentence openers and the answer's own words.
_COMMON = frozenset(
    """a an the this that these those it its he she they we his her their there here yes no not but and or so
    however also according as at in on by for from of to with after before while when since until then earlier
    later now today yesterday both each all some many most one two three first last new newest latest update
    report reports reported passage""".split()
)
#: Words about the reports, not claims about the news: they need no support (their stems).
_FRAME = frozenset(
    analyze(
        "report reports reported latest newest update passage passages says said according article outlet stated dated undated"
    )
)
_CALENDAR = frozenset(analyze(" ".join([*MONTHS, "monday tuesday wednesday thursday friday saturday sunday"])))
#: The caution `qa/answer.py` opens a verdict with when a report newer than the lead is in view,
#: and that report's number.
_NEWER = re.compile(r"^A newer report may change this: [^\[]*\[(\d+)\]")
#: A plain "No" or "Yes" that opens an answer.
_NO = re.compile(r"^\W*no\b", re.IGNORECASE)
_YES = re.compile(r"^\W*yes\b", re.IGNORECASE)


def split_claims(text: str) -> list[tuple[str, tuple[int, ...]]]:
    """The generated text's sentences, each with the passage numbers it cites (in order, once each).

    A citation written after the full stop ("… off. [1]") belongs to the sentence before it."""
    pieces: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        end = next((match.end(g) for g in (1, 2, 3) if match.start(g) >= 0), match.start())
        piece = text[start:end].strip()
        if piece and _ABBREVIATIONS.search(piece):
            continue  # "the U.S. called …": not a sentence end
        if piece:
            pieces.append(piece)
        start = match.end()
    if text[start:].strip():
        pieces.append(text[start:].strip())
    claims: list[tuple[str, tuple[int, ...]]] = []
    for piece in pieces:
        if claims and not CITES.sub("", piece).strip(" .;,"):  # only citations: they close the sentence before
            joined = f"{claims[-1][0]} {piece}"
            claims[-1] = (joined, _numbers(joined))
            continue
        claims.append((piece, _numbers(piece)))
    return [(t, tuple(dict.fromkeys(c))) for t, c in claims]


def _numbers(piece: str) -> tuple[int, ...]:
    """The passages a sentence cites: citations after some of its words ("[1] (23 Feb 2022, …) The
    United States …" echoes a passage's heading; it cites nothing)."""
    return tuple(
        int(n)
        for match in CITES.finditer(piece)
        if re.search(r"\w", CITES.sub("", piece[: match.start()]))
        for n in re.split(r"\s*[,;]\s*", match[1])
    )


def _plain(sentence: str) -> str:
    """The sentence without its citations."""
    return re.sub(r"\s+", " ", CITES.sub(" ", sentence)).strip()


def _allowed_dates(given: Sequence[Given]) -> set[tuple[int, int]]:
    """(month, day) pairs the passages carry: publication dates, dates they speak of, dates they write."""
    pairs: set[tuple[int, int]] = set()
    for g in given:
        dates = [g.date] + [s.refers_to for s in g.passage.chunk.sentences if any(s.start == a for a, _ in g.sentences)]
        pairs |= {(d.month, d.day) for d in dates if d}
        pairs |= _written_dates(g.excerpt)
    return pairs


def _written_dates(text: str) -> set[tuple[int, int]]:
    found = {(MONTHS[m[2].lower()], int(m[1])) for m in _DAY_MONTH.finditer(text)}
    return found | {(MONTHS[m[1].lower()], int(m[2])) for m in _MONTH_DAY.finditer(text)}


def _reason(sentence: str, cites: tuple[int, ...], brief: Brief, asked: set[str], min_words: float) -> str | None:
    """Why the sentence is not supported by what it cites, or `None` (the lexical tests)."""
    if not cites:
        return "cites no passage"
    unknown = [n for n in cites if brief.given(n) is None]
    if unknown:
        return f"cites [{unknown[0]}], a passage it was not given"
    given = [g for n in cites if (g := brief.given(n))]
    numbers = ", ".join(f"[{g.number}]" for g in given)
    plain = _plain(sentence)
    if plain.rstrip("\"”’') ").endswith("?"):
        # A small model asked one passage often writes the question back; the question's own words
        # need no support (below), so without this an echoed question would pass as an answer.
        return "it asks a question instead of answering it"
    context = " ".join(f"{g.excerpt} {g.title} {g.outlet}" for g in given)
    dated = [d for g in given for d in (g.date,) if d]
    allowed_numbers = {n.replace(",", "") for n in _NUMBER.findall(context)}
    allowed_numbers |= {str(v) for d in dated for v in (d.day, d.year)}
    allowed_numbers |= {str(d.year) for g in given for s in g.passage.chunk.sentences if (d := s.refers_to)}
    for day_month in (*_DAY_MONTH.finditer(plain), *_MONTH_DAY.finditer(plain)):
        groups = day_month.groups()
        month, day = (groups[1], groups[0]) if groups[0].isdigit() else (groups[0], groups[1])
        if (MONTHS[month.lower()], int(day)) not in _allowed_dates(given):
            return f"the date “{day_month[0]}” is not a date of {numbers}"
    # A date's day was checked as a date ("22 February" for a report's "on Tuesday"), not as a number.
    undated = _MONTH_DAY.sub(" ", _DAY_MONTH.sub(" ", plain))
    for number in _NUMBER.findall(undated):
        if number.replace(",", "") not in allowed_numbers:
            return f"the number {number} is not in {numbers}"
    lowered = context.casefold()
    month_names = {m.lower() for m in _FULL_MONTH.findall(context)} | {f"{d:%B}".lower() for d in dated}
    for month in _FULL_MONTH.findall(plain):
        if month.lower() not in month_names:
            return f"the month {month} is not in {numbers}"
    for day in _WEEKDAY.findall(plain):
        if day.lower() not in lowered:
            return f"“{day}” is not in {numbers}"
    for name in _NAME.findall(plain):
        key = name.removesuffix("'s").removesuffix("’s")
        if key.casefold() not in _COMMON and key.casefold() not in lowered and key.casefold() not in MONTHS:
            return f"the name “{key}” is not in {numbers}"
    # Dates and numbers were checked above; the question's own words and words about the reports
    # ("the latest report says") are not claims.
    words = [w for w in analyze(plain) if not w.isdigit() and w not in asked and w not in _FRAME and w not in _CALENDAR]
    if words:
        # Against one sentence at a time (with its article's title): words gathered from several
        # sentences can splice a claim that none of them makes.
        units = [set(analyze(f"{g.title} {g.outlet} {g.passage.article.text[s:e]}")) for g in given for s, e in g.sentences]
        best = max(units, key=lambda unit: sum(w in unit for w in words))
        share = sum(w in best for w in words) / len(words)
        if share < min_words:
            missing = ", ".join(dict.fromkeys(w for w in words if w not in best))
            return f"{1 - share:.0%} of its words are in no one sentence of {numbers} ({missing})"
    return None


def verify(text: str, brief: Brief, encoder: Encoder, *, min_words: float, min_cosine: float) -> list[Claim]:
    """Every sentence of `text` as a `Claim`: kept (`reason` None) or dropped with the reason."""
    asked = set(analyze(brief.question))
    claims: list[Claim] = []
    checks: list[tuple[int, str, list[tuple[Given, int, int]]]] = []
    for sentence, cites in split_claims(text):
        reason = _reason(sentence, cites, brief, asked, min_words)
        claims.append(Claim(sentence, cites, reason))
        if reason is None:
            spans = [(g, s, e) for n in cites if (g := brief.given(n)) for s, e in g.sentences]
            checks.append((len(claims) - 1, _plain(sentence), spans))
    if not checks:
        return claims
    # One batch: the kept sentences and every sentence of the passages they cite.
    sources = list(dict.fromkeys((g.number, s, e) for _, _, spans in checks for g, s, e in spans))
    by_key = {(g.number, s, e): g for _, _, spans in checks for g, s, e in spans}
    texts = [plain for _, plain, _ in checks] + [by_key[key].passage.article.text[key[1] : key[2]] for key in sources]
    vectors = encoder.encode(texts)
    written, passages = vectors[: len(checks)], vectors[len(checks) :]
    index = {key: i for i, key in enumerate(sources)}
    for (at, plain, spans), vector in zip(checks, written):
        rows = [index[(g.number, s, e)] for g, s, e in spans]
        cosines = passages[rows] @ vector
        if float(cosines.max()) < min_cosine:
            g = spans[int(np.argmax(cosines))][0]
            claims[at] = replace(
                claims[at], reason=f"no sentence of [{g.number}] is close in meaning ({float(cosines.max()):.2f})"
            )
            continue
        # The sentence it rests on: closest in meaning plus the share of its words there (MiniLM alone
        # ranks "the Kremlin called talk of a summit premature" above "the U.S. called off the meetings").
        words = set(analyze(plain))
        shares = [len(words & set(analyze(g.passage.article.text[s:e]))) / max(len(words), 1) for g, s, e in spans]
        g, s, e = spans[int(np.argmax(cosines + np.array(shares)))]
        support: Citation = replace(g.passage.citation, quote=g.passage.article.text[s:e], start=s, end=e)
        claims[at] = replace(claims[at], support=support)
    return claims


def agrees(claims: Sequence[Claim], verdict: str | None, status: bool) -> str | None:
    """`None` when the kept sentences agree with the newest report's verdict, else why not.

    The worst mistake is stating that something is on when the newest report says it is off, so
    when the verdict is a reversal ("Called off — 23 Feb 2022 …") the answer must say so (a
    reversal of its own, or a plain "No"), and must not open with "Yes"; when it is a confirmation,
    the answer must not state a reversal. When a report newer than the lead is in view (the verdict
    opens with "A newer report may change this: … [n]"), a kept sentence must rest on that report:
    an answer from the older ones alone ("he is still the chief executive") is the outdated claim."""
    if not status or not verdict:
        return None
    said = [c.text for c in claims if c.reason is None]
    if (newer := _NEWER.match(verdict)) and not any(int(newer[1]) in c.cites for c in claims if c.reason is None):
        return f"it rests only on reports older than the newest one ([{newer[1]}])"
    words = verdict.split(" — ")[0]
    off = any(reverses(_plain(s)) for s in said) or any(_NO.search(s) for s in said[:1])
    on = any(_YES.search(s) for s in said[:1]) or any(confirms(_plain(s)) and not reverses(_plain(s)) for s in said)
    if reverses(words):
        if not off:
            return f"it does not say what the newest report says ({words.lower()})"
        if any(_YES.search(s) for s in said[:1]):
            return f"it answers yes where the newest report says {words.lower()}"
    elif confirms(words) and off and not on:
        return f"it states a reversal where the newest report says {words.lower()}"
    return None
