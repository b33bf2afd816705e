"""Stories: reports of the same news event, linked at build time so the newest one can lead.

A later report often uses other words than the first one ("the Kestrel mission is postponed"
against "Aurora-2 will launch on March 15"), so neither the question's words nor its meaning
find it. What ties the two is what they share with each other: the same rare names (people,
companies, places), a similar title and lead, and closeness in time. Two articles are linked
when their leads are close in meaning and they share enough rare names, with more evidence
asked for the further apart they were published; a story is what linked articles form.

Assignment is online: articles are fed oldest first, and each one joins the story of the
earlier article it links to best, or starts a story of its own. An incremental build feeds
only its new articles against the stored ones, so nothing is re-clustered. Rarity of a name
is judged against the whole corpus (inverse document frequency), floored at
`story_min_corpus` articles so that in a tiny folder every name is not "rare".

No named-entity model ships offline with a trustworthy provenance, so names are capitalised
words of the article's lead that are not sentence-initial function words, weekdays or months.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from .config import Config
from .records import Article

__all__ = ["StoryMember", "names", "assign_stories", "link_score"]

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


def names(article: Article) -> frozenset[str]:
    """The capitalised words of the article's lead that can be names, case-folded."""
    lead = article.text[:_LEAD_CHARS]
    found = set()
    for match in _WORD.finditer(lead):
        word = match.group(0).removesuffix("'s").removesuffix("’s").casefold()
        if len(word) >= 2 and word not in _NOT_NAMES and not word.isdigit():
            found.add(word)
    return frozenset(found)


@dataclass(frozen=True)
class StoryMember:
    """What story linking knows of one article; stored in the index for incremental builds."""

    article_id: str
    date: dt.date | None
    names: frozenset[str]
    story: str  #: id of the story: the id of its first (oldest) article


def link_score(similarity: float, shared: float, gap_days: int | None, config: Config) -> float:
    """Evidence that two articles report the same event; they are linked at 1.0 or more.

    `shared` counts the rare names both leads mention, each weighted by its rarity (1 for a name
    no other article has, less for common ones). Names carry most of the evidence: two reports of
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
    names_of = [names(a) for a in articles]
    frequency: Counter[str] = Counter()
    for m in members:
        frequency.update(m.names)
    for found in names_of:
        frequency.update(found)
    total = max(len(members) + len(articles), config.story_min_corpus)
    rarest = math.log(1 + total)
    weight = {name: math.log(1 + total / count) / rarest for name, count in frequency.items()}

    dimension = vectors.shape[1] if vectors.ndim == 2 else 0
    matrix = np.zeros((len(members) + len(articles), dimension), dtype=np.float32)
    if members and known_vectors is not None:
        matrix[: len(members)] = known_vectors
    mentions: dict[str, list[int]] = {}  # name → members that mention it: only they can link
    for j, m in enumerate(members):
        for name in m.names:
            mentions.setdefault(name, []).append(j)

    assigned: dict[int, StoryMember] = {}
    for i in sorted(range(len(articles)), key=lambda i: (articles[i].date or dt.date.max, articles[i].id)):
        article, found = articles[i], names_of[i]
        candidates = sorted({j for name in found for j in mentions.get(name, ())})
        best, story = 0.0, article.id
        if candidates:
            similarity = matrix[candidates] @ vectors[i]
            for j, sim in zip(candidates, similarity):
                other = members[j]
                shared = sum(weight[n] for n in found & other.names)
                gap = abs((article.date - other.date).days) if article.date and other.date else None
                score = link_score(float(sim), shared, gap, config)
                if score >= 1.0 and score > best:
                    best, story = score, other.story
        assigned[i] = StoryMember(article.id, article.date, found, story)
        matrix[len(members)] = vectors[i]
        for name in found:
            mentions.setdefault(name, []).append(len(members))
        members.append(assigned[i])
    return [assigned[i] for i in range(len(articles))]
