"""Is a newer report on the same subject in view? The safety net under story linking.

Story linking (`qa/stories.py`) ties a later report to the first when they share enough rare
names and meaning. A later report often keeps only the organisation ("Orbitex has postponed
the mission indefinitely"), and then it is not linked: the older report leads, and its status
("Confirmed") would be stated as if it were current. Telling a reader that something is on when
it was called off is the one mistake this product exists to prevent, so the answer checks what
was retrieved: a report newer than the lead that shares the lead's main subject (two names of
its title or first lines) either leads, when it states a status of its own, or is named before
anything else as a newer report that may change the answer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .records import Article, Passage
from .storage.keyword import analyze
from .stories import _NOT_NAMES, names_in

__all__ = ["newer_on_subject"]

_CAPITALISED = re.compile(r"\b[A-Z][A-Za-z0-9'’\-]*[A-Za-z0-9]\b")
_SUBJECT_CHARS = 600  #: a report's subject is named in its title and first lines
_PASSING_CHARS = 1500  #: a newer report may name it anywhere in its first paragraphs, or in the retrieved passage
#: A newer report that names nothing of the lead's subject may still be on it ("An appeals tribunal
#: lifted the 100m national champion's suspension" after "Sprinter Dayo Femi-Ward suspended"): it
#: is named as a report that may change the answer (never made to lead) when it shares this many
#: words of the lead's title and first lines. Measured on bench/stories2: later reports of a story
#: share 5–16 with the first, reports of other events retrieved beside them 1–3.
_SHARED_WORDS = 5
#: Stems too common in news to say two reports are on one subject.
_COMMON = frozenset(
    analyze(
        "said says has have been was were would will could it its after before new also year years week weeks day days "
        "time first last next one two three monday tuesday wednesday thursday friday saturday sunday january february "
        "march april may june july august september october november december today yesterday tomorrow"
    )
)


def _capitalised(text: str) -> set[str]:
    """Capitalised words of `text` that can be names: not calendar or function words, and never
    written in lower case in the same text ("Stay" in "Stay ahead" is not a name; "Orbitex" is)."""
    lower = set(re.findall(r"\b[a-z][a-z0-9'’\-]*\b", text))
    found = set()
    for word in _CAPITALISED.findall(text):
        key = word.removesuffix("'s").removesuffix("’s")
        if len(key) >= 3 and key.casefold() not in _NOT_NAMES and key.casefold() not in lower:
            found.add(key.casefold())
    return found


def _opening(article: Article) -> str:
    """A report's title and first lines: where it names its main subject."""
    return f"{article.title or ''}\n{article.text[:_SUBJECT_CHARS]}"


def newer_on_subject(
    lead: Passage, passages: Sequence[Passage], question: str, *, by_words: bool, story: Sequence[Article] = ()
) -> list[Passage]:
    """The retrieved reports newer than the lead that name its main subject (or, `by_words`, share
    `_SHARED_WORDS` of its words), newest first (one per article).

    A name is enough for a report to lead in the lead's place when it states a status (retrieval's
    `_newer_leads`); shared words only ever make it a report that may change the answer, named
    before the verdict (`answer.compose`). Measured on bench/stories2 (dev part): leading on one
    shared name (before: two, or one the question does not hold) took the newest report to the top
    in 41 of 58 status questions instead of 34; leading on shared words too let a report of
    another company's event lead (Norrow Pay's postponed listing for another firm's).

    A report of another event that shares the question's words ("Sprinter Kofi Anansah suspended"
    for a question on Dayo Femi-Ward, "Millbrook Food and Cider Fair" for the Millbrook Steam Fair)
    is not one: it lacks a name the question asks about and the lead holds, and its title names a
    subject of its own (`_another_subject`).

    The lead's subject includes that of the other reports of its `story`: a report linked into a
    story may not name it again ("The Aviators' Guild called off next week's action", after
    "Corvane Air pilots to strike"), while a later report names it ("Corvane Air flights will run
    as normal").
    """
    if lead.article.date is None:
        return []
    subject = _capitalised(_opening(lead.article)).union(*(_capitalised(_opening(a)) for a in story))
    lead_words = set(analyze(_opening(lead.article))) - _COMMON
    asked = {word.casefold() for word in _CAPITALISED.findall(question)}
    asked_subject = asked & subject
    found: dict[str, Passage] = {}
    for passage in passages:
        article = passage.article
        if article.date is None or article.date <= lead.article.date or article.id == lead.article.id:
            continue
        seen = f"{article.title or ''}\n{article.text[:_PASSING_CHARS]}\n{passage.text}"
        mentioned = _capitalised(seen)
        shared = subject & mentioned
        # A name asked about that the report lacks in any case ("Songs" is written "songs" in a report on the fund: not lacking)
        lacking = asked_subject - set(re.findall(r"[\w'’\-]+", seen.casefold()))
        if lacking and _another_subject(article.title or "", subject | asked, mentioned):
            continue
        if article.id in found:
            continue
        # A name the question holds counts when the report writes it as a name: not only as the
        # capitalised opener of a later sentence ("Building work will start next summer").
        if (
            shared - asked
            or shared & _written_as_names(article.title or "", article.text[:_PASSING_CHARS], passage.text)
            or (shared and by_words)
        ):
            found[article.id] = passage
        elif (
            by_words
            and len(lead_words & set(analyze(f"{article.title or ''}\n{article.text[:_PASSING_CHARS]}"))) >= _SHARED_WORDS
        ):
            found[article.id] = passage
    return sorted(found.values(), key=lambda p: p.article.date, reverse=True)  # type: ignore[arg-type, return-value]


def _written_as_names(title: str, *texts: str) -> set[str]:
    """Capitalised words written as names: inside a sentence, before another capitalised word, or
    opening the title or the report's first sentence (its protagonist's place: "Orbitex has
    postponed the mission"), casefolded."""
    openers = {m.group(0).casefold() for m in (re.match(r"\s*([A-Z][\w'’\-]*)", t) for t in (title, texts[0])) if m}
    openers = {w.strip().removesuffix("'s").removesuffix("’s") for w in openers}
    return set().union(*(names_in(t) for t in (title, *texts))) | openers


def _another_subject(title: str, known: set[str], names: set[str]) -> bool:
    """Whether a title names someone or something that `known` does not hold: a name of the report's
    own (one of `names`, its names), its first word aside (a headline's first word is capitalised
    whatever it is: "Department store group pushes back…")."""
    words = [w.removesuffix("'s").removesuffix("’s").casefold() for w in _CAPITALISED.findall(title)]
    if words and title.lstrip()[: len(words[0])].casefold() == words[0]:
        words = words[1:]
    return any(w in names and w not in known for w in words)
