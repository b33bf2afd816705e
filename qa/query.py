"""Query constraints read from the question itself, without an LLM: sources and dates.

News questions name their outlets ("…as reported by TechCrunch and The Verge…")
and their days ("…published on October 5, 2023…"). Sources are recognised
only when the index holds them, so "fortune" in "a small fortune" is not the
magazine; dates only when they are real calendar expressions. A date bound to
a report ("the article published on October 5", "after the report of May 3")
is a publication-date filter, which retrieval drops again when nothing matches;
any other date ("will it launch on March 15?") speaks of the event, not of the
report, and only boosts. Explicit `sources=`, `since=`, `until=` arguments are
strict filters.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from .answer_type import AnswerType
from .dates import parse_date
from .storage.keyword import analyze

__all__ = [
    "Constraints",
    "Query",
    "parse_constraints",
    "source_aliases",
    "status_margin",
    "asks_yes_or_no",
    "asks_how_things_stand",
    "asks_about_now",
    "STATUS_EXAMPLES",
    "OTHER_EXAMPLES",
    "keyword_terms",
]


@dataclass(frozen=True)
class Constraints:
    sources: tuple[str, ...] = ()  #: source names as stored in the index
    since: dt.date | None = None
    until: dt.date | None = None
    #: The dates bound a report ("published on …", "the report of …"): a filter, not only a boost.
    published: bool = False

    def __bool__(self) -> bool:
        return bool(self.sources or self.since or self.until)


_MONTHS = r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|jun(?:e)?|jul(?:y)?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
_DAY = rf"(?:{_MONTHS}\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+(?:19|20)\d\d|\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTHS}\.?,?\s+(?:19|20)\d\d|\d{{4}}-\d{{2}}-\d{{2}})"
_MONTH = rf"(?:{_MONTHS}\.?,?\s+(?:19|20)\d\d)"
_YEAR = r"(?:(?:19|20)\d\d)"
_DATE_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("between", re.compile(rf"\bbetween\s+(?P<a>{_DAY}|{_MONTH})\s+and\s+(?P<b>{_DAY}|{_MONTH})", re.I)),
    ("after", re.compile(rf"\b(?:after|since|from)\s+(?P<a>{_DAY}|{_MONTH}|{_YEAR})\b", re.I)),
    ("before", re.compile(rf"\b(?:before|until|prior to|by)\s+(?P<a>{_DAY}|{_MONTH}|{_YEAR})\b", re.I)),
    ("on", re.compile(rf"(?P<a>{_DAY})", re.I)),
    ("in", re.compile(rf"(?P<a>{_MONTH})", re.I)),
    ("year", re.compile(rf"\b(?:in|during|of)\s+(?P<a>{_YEAR})\b", re.I)),
]


def _period(expression: str) -> tuple[dt.date, dt.date] | None:
    """The first and last day an expression covers: a day, a month or a year."""
    text = expression.strip().rstrip(",")
    if re.fullmatch(_YEAR, text):
        year = int(text)
        return dt.date(year, 1, 1), dt.date(year, 12, 31)
    if re.fullmatch(_MONTH, text, re.I):
        first = parse_date("1 " + re.sub(r"[.,]", " ", text))
        if first is None:
            return None
        last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
        return first, last
    day = parse_date(re.sub(r"(\d)(st|nd|rd|th)\b", r"\1", text))
    return (day, day) if day else None


def _dates(question: str) -> tuple[dt.date | None, dt.date | None, bool]:
    """The period the question's dates cover, and whether they bind the report's publication.

    A range ("between", "after", "before") wins; otherwise every day, month or year named is
    covered, so "the report of October 5 and the one of October 9" spans both.
    """
    periods: list[tuple[dt.date, dt.date]] = []
    published = False
    for kind, pattern in _DATE_PATTERNS:
        for match in pattern.finditer(question):
            first = _period(match.group("a"))
            if first is None:
                continue
            published = published or bool(_REPORT.search(question[max(0, match.start() - 60) : match.start()]))
            if kind == "between":
                second = _period(match.group("b"))
                return first[0], second[1] if second else None, published
            if kind == "after":
                return first[0], None, published
            if kind == "before":
                return None, first[0] - dt.timedelta(days=1), published
            periods.append(first)
        if periods:
            break  # the most specific kind that matched: days before months before years
    if not periods:
        return None, None, False
    return min(p[0] for p in periods), max(p[1] for p in periods), published


#: Words that bind a date to a report rather than to the event reported.
_REPORT = re.compile(r"\b(published|posted|report(?:ed|s)?|article|story|piece|coverage|wr[io]te|writes|according to)\b", re.I)


def source_aliases(source: str) -> set[str]:
    """Ways a question may name a source: "The Verge" → {"the verge", "verge"}; "themoscowtimes.com" → {"themoscowtimes"}."""
    name = source.strip()
    aliases = {name}
    if "." in name and " " not in name:  # a domain
        stem = name.split(".")[0].lower()
        aliases = {stem, stem.removeprefix("the")}
    aliases |= {a[4:] for a in aliases if a.lower().startswith("the ")}
    return {a for a in aliases if len(a) >= 3}


def parse_constraints(question: str, known_sources: Iterable[str]) -> Constraints:
    """Sources (only those in the index) and a date range named in `question`."""
    found: list[str] = []
    squashed = re.sub(r"[^a-z0-9]", "", question.lower())
    for source in sorted(set(known_sources)):
        for alias in source_aliases(source):
            if " " in alias or not alias.islower():
                # Multi-word or capitalised names: whole words; a one-word name must keep its capital.
                flags = re.I if " " in alias else 0
                if re.search(rf"(?<!\w){re.escape(alias)}(?!\w)", question, flags):
                    found.append(source)
                    break
            elif len(alias) >= 8 and alias in squashed:  # a domain stem: "The Moscow Times" ~ "themoscowtimes"
                found.append(source)
                break
    since, until, published = _dates(question)
    return Constraints(tuple(found), since, until, published)


# --- how things stand now: status questions, recognised by meaning ---------------------------------

#: Pairs of questions on one topic: the first asks how things stand now (whether a planned or
#: reported event happened, is still on, or changed), the second asks for a fact about it. A
#: question is compared with both sides by meaning (embedding similarity); because each pair shares
#: its topic, what tips the balance is what the question asks, not what it is about.
_PAIRS = (
    ("Did the summit happen?", "Who attended the summit?"),
    ("Is the merger still going ahead?", "How much is the merger worth?"),
    ("Will the launch take place as planned on Friday?", "What payload does the rocket carry?"),
    ("Did the player sign with the club?", "How many goals did the player score last season?"),
    ("Is the concert still on?", "Who is the opening act at the concert?"),
    ("Was the match called off?", "Who scored in the match?"),
    ("Has the strike been settled?", "How many workers joined the strike?"),
    ("Is she still the chief executive?", "What did the chief executive say about profits?"),
    ("Did the takeover go through?", "Which bank advised on the takeover?"),
    ("Will the trial start on Monday as scheduled?", "What charges does the defendant face at the trial?"),
    ("What is the latest on the negotiations?", "Who leads the negotiations for the union?"),
    ("Has the drug been approved yet?", "What side effects does the drug have?"),
    ("Is the festival going ahead this year?", "Which bands played at the festival?"),
    ("Did the company complete the acquisition?", "Why did the company make the acquisition?"),
    ("Will the phone ship on time?", "What camera does the phone have?"),
    ("Has the bill become law?", "What does the bill require companies to do?"),
    ("Is the ceasefire holding?", "Who brokered the ceasefire?"),
    ("Was the meeting postponed?", "What was discussed at the meeting?"),
    ("Where do things stand with the deal now?", "How much is the deal worth?"),
    ("Did the minister resign?", "What did the minister say in parliament?"),
    ("Is the stadium project still planned?", "How many seats will the stadium have?"),
    ("Will the exhibition open next week?", "Which artists are in the exhibition?"),
    ("Has the release date changed?", "What features does the new release have?"),
    ("Did they end up getting married?", "Where did they first meet?"),
    ("Did the election take place as planned?", "What did the candidate promise voters?"),
    ("Has the lawsuit been settled?", "What does the lawsuit allege?"),
    ("Is the broadcast still going ahead?", "When will the broadcast air?"),
    ("Did the event start on time?", "At what time does the event start?"),
    ("Has the hearing been moved?", "On what date was the hearing held?"),
    ("Is he still with the team?", "Why did he leave his previous team?"),
    ("Did the band's tour go ahead?", "Between which dates is the band on tour?"),
)
STATUS_EXAMPLES = tuple(status for status, _ in _PAIRS)
#: The fact side, plus questions about what named outlets reported, which read like status
#: questions ("did both … report …?") but are answered by the best evidence, whatever its date.
OTHER_EXAMPLES = tuple(other for _, other in _PAIRS) + (
    "Which company, reported by TechCrunch and The Verge, released a new phone?",
    "Does the TechCrunch article suggest the firm cut jobs, while The Verge reports that it grew?",
    "Did both Fortune and TechCrunch report that the founder was charged with fraud?",
    "Was the Engadget review published before the report by The Verge?",
    "Is the Fortune report consistent with the TechCrunch report about the lawsuit?",
)


#: Yes/no questions open with an auxiliary verb; how things stand is asked that way ("did it
#: happen?", "is it still on?"), while who/what/when/why questions ask for a fact.
_YES_NO = re.compile(r"^\W*(is|are|was|were|did|does|do|has|have|had|will|would|can|could|should|shall|may|might)\b", re.I)


def asks_yes_or_no(question: str) -> bool:
    return bool(_YES_NO.match(question))


#: Words that ask how things stand now, whatever else the question says: "what is the latest on
#: the trial?", "is she still the chief executive?", "has the deal closed yet?".
_NOW = re.compile(r"\b(latest|still|currently|as of now|right now|anymore|any more|so far|yet|these days|status)\b", re.I)


def asks_about_now(question: str) -> bool:
    return bool(_NOW.search(question))


def status_margin(vector: np.ndarray, status: np.ndarray, other: np.ndarray, nearest: int = 3) -> float:
    """How much closer the question is to status questions than to others (> 0: a status question).

    The mean similarity to the `nearest` closest examples of each kind, so that one odd example
    cannot decide alone.
    """

    def closeness(examples: np.ndarray) -> float:
        similarity = np.sort(examples @ vector)[::-1]
        return float(similarity[:nearest].mean())

    return closeness(status) - closeness(other)


@dataclass(frozen=True)
class Part:
    """One clause of a multi-part question (`qa/parts.py`), searched and judged on its own."""

    text: str
    vector: np.ndarray = field(repr=False)
    terms: tuple[str, ...]  #: searched for, as `Query.terms`
    content: tuple[str, ...]  #: what a supporting passage must hold: its terms less outlets and question words


@dataclass(frozen=True)
class Query:
    """A question as retrieval uses it, computed once: nothing downstream re-encodes or re-parses it."""

    text: str  #: normalised, shortened if it was over the limit
    vector: np.ndarray = field(repr=False)
    constraints: Constraints
    status: bool  #: asks how things stand now: the newest report of the story leads
    terms: tuple[str, ...] = ()  #: what the keyword index is asked for: analysed as chunks are
    #: The question's clauses ("… while The Verge reports …"), each searched and judged on its own;
    #: a question of one part has one: itself.
    parts: tuple[Part, ...] = ()
    #: What the question asks for ("when …?" a date, "how many …?" a number, "who …?" a name), if
    #: anything: the sentence quoted should hold one (`qa/answer_type.py`).
    wants: AnswerType | None = None
    #: Names in the question that no article holds at all ("Jarrah Pellinore"): nothing can answer it.
    unknown: tuple[str, ...] = ()

    @property
    def multipart(self) -> bool:
        return len(self.parts) > 1

    @property
    def content(self) -> frozenset[str]:
        """The question's own words (its parts', less outlets and question words): what it is about."""
        return frozenset(t for part in self.parts for t in part.content)


def keyword_terms(text: str) -> tuple[str, ...]:
    """The question's terms for BM25, analysed as chunks are (see `storage/keyword.py`), once each."""
    return tuple(dict.fromkeys(analyze(text)))


def asks_how_things_stand(query: Query) -> bool:
    """A status question, or a yes/no question about an event ("was he convicted?"); not one about
    what named outlets reported ("did TechCrunch report X before The Verge …?"), which is answered
    by the reports it names, whatever their dates."""
    return query.status or (asks_yes_or_no(query.text) and not query.multipart and not query.constraints.sources)
