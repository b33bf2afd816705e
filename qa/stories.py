"""Stories: reports of the same news event, linked at build time so the newest one can lead.

A later report often uses other words than the first one ("the Kestrel mission is postponed"
against "Aurora-2 will launch on March 15"), so neither the question's words nor its meaning
find it. What ties the two is what they share with each other: the same rare names (people,
companies, places), a similar title and lead, and closeness in time. Two articles are linked
when their leads are close in meaning and they share enough rare names, with more evidence
asked for the further apart they were published; a story is what linked articles form.

Assignment is online: articles are fed oldest first, and each one joins the story it links to
best among those whose reports it links to at least half of, or starts a story of its own
(stories do not grow by chaining one weak link after another). Two reports whose first sentences
name different protagonists, each absent from the other's lead ("Homeware chain Bramble Home
opened its flagship on Carrow High Street" and "Halvorsen & Pike will open its flagship on Carrow
High Street"), are never linked, however many names of the place and the date they share. An incremental build feeds
only its new articles against the stored ones, so nothing is re-clustered. Rarity of a name
is judged against the whole corpus (inverse document frequency), floored at
`story_min_corpus` articles so that in a tiny folder every name is not "rare".

No named-entity model ships offline with a trustworthy provenance, so names are capitalised
words of the article's lead that are not sentence-initial function words, weekdays or months.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .config import Config
from .records import Article

__all__ = ["StoryMember", "names", "names_in", "subject_in", "assign_stories", "link_score", "linking_settings"]

#: Bumped whenever linking changes; an index linked otherwise is re-linked whole at the next build.
LINKING_VERSION = 4  # 4: reports of different protagonists are not linked

_LEAD_CHARS = 1500  # names of the lead: the body of a long article mentions everyone
_WORD = re.compile(r"[A-Z][A-Za-z0-9'’\-]*[A-Za-z0-9]|[A-Z]")
#: Capitalised words that are not names: sentence openers, function words, calendar words.
_NOT_NAMES = frozenset(
    """a an the this that these those it its he she they we you i his her their our my your
    in on at of for to from by with after before during as and or but if when while where
    what who why how which there here then so not no yes all some many more most one two
    monday tuesday wednesday thursday friday saturday sunday january february march april may
    june july august september october november december jan feb mar apr jun jul aug sep sept
    oct nov dec today yesterday tomorrow mr mrs ms dr sir said says according also however
    meanwhile update updated read more photo image getty reuters ap afp""".split()
)


_SENTENCE_END = re.compile(r"(^|[.!?:;|/]['\"”’)]*)\s*$")
_FIRST_SENTENCE = re.compile(r"[.!?]['\"”’)]*\s+(?=[A-Z\"“])|\n")
_FIRST_SENTENCE_CHARS = 400
#: What may join the words of one name: "Halvorsen & Pike", "Millbrook Food and Cider Fair".
_NAME_JOINERS = frozenset({" ", " & ", " and ", " of ", " de ", "-"})


def names(article: Article) -> frozenset[str]:
    """The capitalised words of the article's lead that can be names, case-folded."""
    return names_in(article.text[:_LEAD_CHARS])


def names_in(lead: str) -> frozenset[str]:
    """The capitalised words of a text that can be names, case-folded.

    A capital at the start of a sentence or line says nothing by itself ("Stay ahead…", "Read
    more"), so there it counts only when the next word is capitalised too ("Ellen Voss resigned").
    """
    words = list(_WORD.finditer(lead))
    found = set()
    for n, match in enumerate(words):
        before = lead[max(0, match.start() - 4) : match.start()]
        if _SENTENCE_END.search(before) or before.endswith("\n"):
            following = words[n + 1] if n + 1 < len(words) else None
            if following is None or lead[match.end() : following.start()] != " ":
                continue
        word = match.group(0).removesuffix("'s").removesuffix("’s").casefold()
        if len(word) >= 2 and word not in _NOT_NAMES and not word.isdigit():
            found.add(word)
    return frozenset(found)


def subject_in(lead: str) -> frozenset[str]:
    """The report's protagonist: the first name of its first sentence, all its words ("Homeware
    chain Bramble Home opened…" → bramble, home); empty when the first sentence names no one, or
    only in one word."""
    text = lead.lstrip()[:_FIRST_SENTENCE_CHARS]
    end = _FIRST_SENTENCE.search(text)
    sentence = text[: end.start() + 1] if end else text
    known = names_in(sentence)
    words = [m for m in _WORD.finditer(sentence) if m.group(0).removesuffix("'s").removesuffix("’s").casefold() in known]
    run: list[str] = []
    for n, match in enumerate(words):
        if run and sentence[words[n - 1].end() : match.start()] not in _NAME_JOINERS:
            break
        run.append(match.group(0).removesuffix("'s").removesuffix("’s").casefold())
    # One capitalised word is as often a place or an adjective ("the Tacoma data storage company",
    # "its planned Spanish route") as the one the report is about; a name of two words rarely is.
    return frozenset(run) if len(run) >= 2 else frozenset()


@dataclass(frozen=True)
class StoryMember:
    """What story linking knows of one article; stored in the index for incremental builds."""

    article_id: str
    date: dt.date | None
    source: str | None
    names: frozenset[str]
    story: str  #: id of the story: the id of the article that started it
    subject: frozenset[str] = frozenset()  #: `subject_in` its lead (empty in an index linked before version 4)


def different_subjects(a: StoryMember, b: StoryMember) -> bool:
    """Whether two reports are about different protagonists: each names one the other's lead never mentions."""
    return bool(a.subject - b.names) and bool(b.subject - a.names)


def linking_settings(config: Config) -> dict[str, float | int]:
    """What story assignments depend on; recorded in the manifest, compared at the next build."""
    return {
        "version": LINKING_VERSION,
        "names": config.story_names,
        "similarity": config.story_similarity,
        "days": config.story_days,
        "min_corpus": config.story_min_corpus,
    }


def link_score(similarity: float, shared: float, gap_days: int | None, config: Config) -> float:
    """Evidence that two articles report the same event; they are linked at 1.0 or more.

    `shared` counts the rare names both leads mention, each weighted by how surprising it is that
    two articles share it (1 for a name no other article has, about 0.2 for one in 7% of them). Names carry most of the evidence: two reports of
    one event share their people, companies and places even when their words differ, while two
    articles on the same topic ("two NFL games", "two launches") share a topic but few names.
    Similar leads add evidence, dissimilar ones take some away, and every year apart halves it.
    Undated reports are judged on names and meaning alone.
    """
    evidence = shared / config.story_names + (similarity - config.story_similarity)
    return evidence / (1.0 + (gap_days or 0) / config.story_days)


def assign_stories(
    articles: Sequence[Article],
    vectors: np.ndarray,
    config: Config,
    known: Sequence[StoryMember] = (),
    known_vectors: np.ndarray | None = None,
) -> list[StoryMember]:
    """A story for each of `articles`, given the stories already assigned (`known`).

    `vectors` are unit vectors of each article's lead (its first chunk); `known_vectors` the same
    for `known`, row for row. Returns the members for `articles` only, in their order.
    """
    members = list(known)
    fresh = [StoryMember(a.id, a.date, a.source, names(a), a.id, subject_in(a.text)) for a in articles]
    weight = _surprise(members + fresh, config)
    dimension = vectors.shape[1] if vectors.ndim == 2 else 0
    matrix = np.zeros((len(members) + len(articles), dimension), dtype=np.float32)
    if members and known_vectors is not None:
        matrix[: len(members)] = known_vectors
    mentions: dict[str, list[int]] = {}  # name → members that mention it: only they can link
    for j, m in enumerate(members):
        for name in m.names:
            mentions.setdefault(name, []).append(j)

    size: Counter[str] = Counter(m.story for m in members)
    assigned: dict[int, StoryMember] = {}
    for i in sorted(range(len(articles)), key=lambda i: (articles[i].date or dt.date.max, articles[i].id)):
        article, found = articles[i], fresh[i].names
        candidates = sorted({j for name in found for j in mentions.get(name, ())})
        links: Counter[str] = Counter()
        strength: dict[str, float] = {}
        if candidates:
            similarity = matrix[candidates] @ vectors[i]
            for j, sim in zip(candidates, similarity):
                other = members[j]
                if different_subjects(fresh[i], other):
                    continue
                shared = sum(weight.get(n, 0.0) for n in found & other.names)
                gap = abs((article.date - other.date).days) if article.date and other.date else None
                score = link_score(float(sim), shared, gap, config)
                if score >= 1.0:
                    links[other.story] += 1
                    strength[other.story] = max(strength.get(other.story, 0.0), score)
        # A story is joined only when the article links to at least half of its reports: a report on
        # one game linked to last week's report does not join a whole season of them by chaining.
        joinable = [story for story, count in links.items() if 2 * count >= size[story]]
        story = max(joinable, key=lambda s: strength[s]) if joinable else article.id
        assigned[i] = dataclasses.replace(fresh[i], story=story)
        size[story] += 1
        matrix[len(members)] = vectors[i]
        for name in found:
            mentions.setdefault(name, []).append(len(members))
        members.append(assigned[i])
    return [assigned[i] for i in range(len(articles))]


def _surprise(members: Sequence[StoryMember], config: Config) -> dict[str, float]:
    """How much sharing each name says: (its inverse document frequency / the largest possible)².

    Squared, because sharing is about two articles: a name in one article of 15 is shared by
    chance once in 225 pairs. A name that most articles of one outlet carry is the outlet's
    furniture (newsletter boxes, bylines, section names), not news: it weighs nothing.
    """
    frequency: Counter[str] = Counter()
    per_source: dict[str | None, Counter[str]] = {}
    for m in members:
        frequency.update(m.names)
        per_source.setdefault(m.source, Counter()).update(m.names)
    outlet_size = Counter(m.source for m in members)
    furniture = {
        name
        for source, counts in per_source.items()
        if source and outlet_size[source] >= 4
        for name, count in counts.items()
        if count >= outlet_size[source] / 2
    }
    total = max(len(members), config.story_min_corpus)
    rarest = math.log(1 + total)
    return {name: (math.log(1 + total / count) / rarest) ** 2 for name, count in frequency.items() if name not in furniture}
