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

What a build reads (issue 24): never every stored report. Only a report that shares a name with
a new one can link to it, so the candidates are the stored reports that carry one of its names,
found by name in `story_names` (`qa/storage/stories.py`), an indexed table of (name, outlet,
article); how rare a name is, which names are an outlet's furniture, how many articles there
are and how large a story is are SQL counts, not members held in memory. A name carried by
half the corpus would still make half the corpus a candidate, so each report is looked up only
by its telling names (`_telling`): all but its commonest, as many as together weigh less than
the least a link needs from names. That bound is exact: the links are those of one pass over
every stored report (`bench/linking.py` checks it on the corpus, one-shot, fed in builds by
date, and with stored reports replaced). Nearest lead vectors (an ANN index) would add no link
under these rules, which ask for shared names, and alone they miss links whose leads are far
apart in words; so there is none. A build's own new articles are held in memory (their names
and lead vectors: what it links); a relink of everything (new rules) reads every kept article
once, one at a time, and links them as one batch.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from .config import Config
from .records import Article

__all__ = [
    "StoryMember",
    "StoredStories",
    "Linking",
    "names",
    "names_in",
    "subject_in",
    "member_of",
    "assign_stories",
    "link",
    "link_score",
    "linking_settings",
]

#: Bumped whenever linking changes; an index linked otherwise is re-linked whole at the next build.
LINKING_VERSION = 4  # 4: reports of different protagonists are not linked

#: The most similar two lead vectors can be: unit vectors, and float16 storage moves a norm by < 0.001.
_MOST_SIMILAR = 1.01
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


class StoredStories(Protocol):
    """The stored articles that stay, as linking reads them (`qa/storage/stories.py`): by name, with counts."""

    read: int  #: stored members loaded so far

    def articles(self) -> int: ...
    def name_counts(self, names: Iterable[str]) -> dict[str, Counter[str]]: ...
    def outlet_sizes(self, outlets: Iterable[str]) -> dict[str, int]: ...
    def story_sizes(self, stories: Iterable[str]) -> dict[str, int]: ...
    def naming(self, names: Iterable[str]) -> list[int]: ...
    def members(self, keys: Sequence[int]) -> dict[int, tuple[StoryMember, np.ndarray]]: ...


@dataclass(frozen=True)
class Linking:
    """Stories for a batch of articles, and what linking them took."""

    members: list[StoryMember]  #: one per article, in their order
    read: int  #: stored members loaded as candidates
    compared: list[int]  #: per article, in their order: the reports its lead was compared with


def member_of(article: Article) -> StoryMember:
    """What linking knows of an article before it is linked: in a story of its own."""
    return StoryMember(article.id, article.date, article.source, names(article), article.id, subject_in(article.text))


def assign_stories(
    articles: Sequence[Article], vectors: np.ndarray, config: Config, stored: StoredStories | None = None
) -> Linking:
    """A story for each of `articles`, given the stored stories (`stored`: none, for a first build or a relink).

    `vectors` are unit vectors of each article's lead (its first chunk), row for row.
    """
    return link([member_of(a) for a in articles], vectors, config, stored)


def link(fresh: Sequence[StoryMember], vectors: np.ndarray, config: Config, stored: StoredStories | None = None) -> Linking:
    """`assign_stories` for members whose names are known (a relink computes them one article at a time)."""
    weight = _surprise(fresh, config, stored)
    needed = config.story_names * (1.0 + config.story_similarity - _MOST_SIMILAR)
    stored_size: dict[str, int] = {}
    grown: Counter[str] = Counter()  # members this batch added to each story
    mentions: dict[str, list[int]] = {}  # name → members of this batch linked so far (by turn)
    done: list[int] = []  # this batch's members, in the order they were linked
    assigned: dict[int, StoryMember] = {}
    compared = [0] * len(fresh)
    for i in sorted(range(len(fresh)), key=lambda i: (fresh[i].date or dt.date.max, fresh[i].article_id)):
        member = fresh[i]
        telling = _telling(member.names, weight, needed)
        keys = stored.naming(telling) if stored is not None and telling else []
        loaded = stored.members(keys) if stored is not None and keys else {}
        turns = sorted({t for name in telling for t in mentions.get(name, ())})
        # Stored members first, then this batch's in the order they were linked: the order of the
        # one pass this replaces, so that equal scores break the same way.
        others = [loaded[k][0] for k in keys] + [assigned[done[t]] for t in turns]
        compared[i] = len(others)
        links: Counter[str] = Counter()
        strength: dict[str, float] = {}
        if others:
            matrix = np.array([loaded[k][1] for k in keys] + [vectors[done[t]] for t in turns], dtype=np.float32)
            for other, sim in zip(others, matrix @ vectors[i]):
                if different_subjects(member, other):
                    continue
                shared = sum(weight.get(n, 0.0) for n in member.names & other.names)
                gap = abs((member.date - other.date).days) if member.date and other.date else None
                score = link_score(float(sim), shared, gap, config)
                if score >= 1.0:
                    links[other.story] += 1
                    strength[other.story] = max(strength.get(other.story, 0.0), score)
        if stored is not None and any(s not in stored_size for s in links):
            unknown = [s for s in links if s not in stored_size]
            stored_size.update(dict.fromkeys(unknown, 0) | stored.story_sizes(unknown))
        # A story is joined only when the article links to at least half of its reports: a report on
        # one game linked to last week's report does not join a whole season of them by chaining.
        joinable = [s for s, count in links.items() if 2 * count >= stored_size.get(s, 0) + grown[s]]
        story = max(joinable, key=lambda s: strength[s]) if joinable else member.article_id
        assigned[i] = dataclasses.replace(member, story=story)
        grown[story] += 1
        for name in member.names:
            mentions.setdefault(name, []).append(len(done))
        done.append(i)
    return Linking([assigned[i] for i in range(len(fresh))], stored.read if stored is not None else 0, compared)


def _telling(found: frozenset[str], weight: dict[str, float], needed: float) -> list[str]:
    """The names of a report that can bring it a link: all but its commonest, as many of them as
    together weigh less than the least evidence a link needs from names (`needed`: what link_score
    asks when the leads are as similar as two can be and the same day). A report that shares only
    those with this one cannot link to it, so it is never read: a name half the corpus carries does
    not make half the corpus a candidate. Exact, not a heuristic: the links are those of a pass over
    every report."""
    ranked = sorted(found, key=lambda n: (weight.get(n, 0.0), n))
    carried = 0.0
    for n, name in enumerate(ranked):
        carried += weight.get(name, 0.0)
        if carried >= needed:
            return ranked[n:]
    return []


def _surprise(fresh: Sequence[StoryMember], config: Config, stored: StoredStories | None) -> dict[str, float]:
    """How much sharing each name of `fresh` says: (its inverse document frequency / the largest possible)².

    Squared, because sharing is about two articles: a name in one article of 15 is shared by
    chance once in 225 pairs. A name that most articles of one outlet carry is the outlet's
    furniture (newsletter boxes, bylines, section names), not news: it weighs nothing. Counted over
    the stored articles that stay (SQL counts of `stored`, no member read) and this batch.
    """
    frequency: Counter[str] = Counter()
    per_source: dict[str, Counter[str]] = {}
    for m in fresh:
        frequency.update(m.names)
        per_source.setdefault(m.source or "", Counter()).update(m.names)
    outlet_size = Counter(m.source or "" for m in fresh)
    total = len(fresh)
    if stored is not None:
        for name, outlets in stored.name_counts(frequency).items():
            for outlet, count in outlets.items():
                frequency[name] += count
                per_source.setdefault(outlet, Counter())[name] += count
        outlet_size.update(stored.outlet_sizes(source for source in per_source if source))
        total += stored.articles()
    furniture = {
        name
        for source, counts in per_source.items()
        if source and outlet_size[source] >= 4
        for name, count in counts.items()
        if count >= outlet_size[source] / 2
    }
    total = max(total, config.story_min_corpus)
    rarest = math.log(1 + total)
    return {name: (math.log(1 + total / count) / rarest) ** 2 for name, count in frequency.items() if name not in furniture}
