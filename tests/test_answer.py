from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from conftest import NEWER, OLDER, write

from qa import Config, answer, build_index
from qa.render import body
from qa.status import confirms, reverses


def test_summit_answer_leads_with_the_newest_report(seeds: Config) -> None:
    result = answer("did the summit happen?", config=seeds)
    assert result.answered and result.as_of == dt.date(2022, 2, 23)
    lead = body(result).split("\n")[0]
    assert lead.startswith("**Latest update, as of 23 Feb 2022**")
    assert "called off" in lead and lead.rstrip().endswith("[1]")
    first, second = result.passages[0], result.passages[1]
    assert (first.citation.number, first.article.id, first.citation.date) == (1, NEWER, dt.date(2022, 2, 23))
    assert "called off" in first.citation.quote
    assert second.article.id == OLDER and "in principle" in second.text
    assert "**Earlier and undated reports:**" in body(result) and "- Undated" in body(result) and "[2]" in body(result)
    assert [e.date for e in result.timeline] == [dt.date(2022, 2, 23), None] and result.timeline[0].superseding


OLD = """---
title: Riverside Jazz Festival set for June 14 at Harbor Park
date: 2024-03-01
source: Riverside Herald
---
The Riverside Jazz Festival will take place on June 14 at Harbor Park, the city announced on Friday.

Organisers said the festival at Harbor Park on June 14 will feature forty bands and a late-night parade.

Tickets for the Riverside Jazz Festival go on sale in April.
"""

NEW = """---
title: Flood damage forces festival organisers to change plans
date: 2024-05-20
source: Valley Courier
---
Organisers have postponed the Riverside Jazz Festival until September because flood water damaged Harbor Park.

The city said repairs to the park's stage and paths would take at least three months.

Ticket holders will be offered refunds or seats at the new date.
"""


@pytest.fixture(scope="module")
def festival(tmp_path_factory: pytest.TempPathFactory) -> Config:
    folder = tmp_path_factory.mktemp("festival")
    write(folder / "articles", "old.md", OLD)
    write(folder / "articles", "new.md", NEW)
    config = Config(articles=folder / "articles", index=folder / "index" / "default")
    build_index(config)
    return config


def _check_newer_leads(result, festival: Config) -> None:  # type: ignore[no-untyped-def]
    assert result.answered
    assert result.passages[0].article.id == "new.md" and result.as_of == dt.date(2024, 5, 20)
    lead = body(result).split("\n")[0]
    assert "postponed" in lead and "20 May 2024" in lead and "Latest update" in lead
    assert "1 Mar 2024" in body(result)  # the earlier report, with its date
    assert [e.date for e in result.timeline] == [dt.date(2024, 5, 20), dt.date(2024, 3, 1)]


def test_postponement_leads(festival: Config) -> None:
    _check_newer_leads(answer("Is the Riverside Jazz Festival still happening?", config=festival), festival)


def test_postponement_leads_even_when_the_older_report_is_more_similar(festival: Config) -> None:
    question = "Will the Riverside Jazz Festival take place on June 14 at Harbor Park?"
    result = answer(question, config=festival)
    similarity = {
        p.article.id: max(q.similarity for q in result.passages if q.article.id == p.article.id) for p in result.passages
    }
    assert similarity["old.md"] > similarity["new.md"]  # the premise: similarity alone would pick the old report
    _check_newer_leads(result, festival)


def test_follow_up_uses_history(festival: Config) -> None:
    history = [
        {"role": "user", "content": "Is the Riverside Jazz Festival still happening?"},
        {"role": "assistant", "content": "…"},
    ]
    result = answer("why?", history=history, config=festival)
    assert result.answered and result.passages[0].article.id == "new.md"
    blocks = [{"role": "user", "content": [{"type": "text", "text": "Is the Riverside Jazz Festival still happening?"}]}]
    assert answer("why?", history=blocks, config=festival).passages[0].article.id == "new.md"
    assert not answer("why?", config=festival).answered  # without the conversation there is nothing to go on


def test_reporting_words_are_the_questions_frame_not_its_content(seeds: Config) -> None:
    """ "What did the Kremlin say about the summit?": the passage that says it holds "Kremlin" and
    "summit", not "say" and "about" (a newcomer's question that was declined)."""
    for question in ("What did the Kremlin say about the summit?", "What did Psaki say about the summit?"):
        assert answer(question, config=seeds).answered, question


def test_declines_with_nearest_passages(seeds: Config) -> None:
    result = answer("What is the recipe for sourdough bread?", config=seeds)
    assert not result.answered and body(result).startswith("Not found in these articles")
    assert result.passages  # still viewable


def test_answer_text_escapes_article_markup(tmp_path: Path) -> None:
    write(
        tmp_path / "a",
        "x.md",
        "---\ndate: 2024-01-02\n---\nThe harbour board approved <script>alert(1)</script> a *new* [ferry](javascript:alert(1)) plan for the harbour.\n",
    )
    config = Config(articles=tmp_path / "a", index=tmp_path / "i" / "default")
    build_index(config)
    result = answer("what did the harbour board approve?", config=config)
    assert "<script>" not in body(result) and "\\<script\\>" in body(result)
    assert "javascript:" not in body(result)


def test_relative_dates_are_shown_resolved(tmp_path: Path) -> None:
    write(tmp_path / "a", "x.md", "---\ndate: 2022-02-23\n---\nThe ferry strike ended on Tuesday after a deal on pay.\n")
    config = Config(articles=tmp_path / "a", index=tmp_path / "i" / "default")
    build_index(config)
    result = answer("When did the ferry strike end?", config=config)
    assert "on Tuesday after a deal on pay.” (that is, 22 Feb 2022) [1]" in body(result)


@pytest.mark.parametrize(
    ("sentence", "reversal", "confirmation"),
    [
        ("The United States has called off high-level meetings with Putin.", True, False),
        ("Organisers postponed the festival until September.", True, False),
        ("The summit has not been called off, officials said.", False, False),
        ("The match wasn't cancelled despite the rain.", False, False),
        ("The White House confirmed that Biden had agreed to the meeting.", False, True),
        ("Officials never confirmed the date.", False, False),
        ("Tickets go on sale in April.", False, False),
        ("The team set out to reverse-engineer the protocol.", False, False),  # a word inside a compound
        ("It is unclear whether the match will be moved to another day.", False, False),  # only wondered about
        ("Organisers may postpone the race, but the council confirmed it.", False, True),
    ],
)
def test_supersession_language(sentence: str, reversal: bool, confirmation: bool) -> None:
    assert (reverses(sentence), confirms(sentence)) == (reversal, confirmation)


def test_of_two_status_words_the_verdict_is_the_one_about_what_is_asked(tmp_path: Path) -> None:
    write(
        tmp_path / "a",
        "x.md",
        "---\ndate: 2023-11-30\nsource: Market Wire\n---\nThe fallout came to a head this month, when Sam Bankman-Fried,"
        " founder of the crypto exchange FTX, was found guilty of seven fraud counts tied to the collapse of his exchange.\n",
    )
    config = Config(articles=tmp_path / "a", index=tmp_path / "i" / "default")
    build_index(config)
    result = answer("Was FTX founder Sam Bankman-Fried convicted at his fraud trial?", config=config)
    assert result.verdict == "Found guilty — 30 Nov 2023, Market Wire [1]"  # not "Collapse"


def test_the_verdict_is_the_leads_own_words_and_only_cited_passages_are_sources(seeds: Config) -> None:
    result = answer("did the summit happen?", config=seeds)
    assert result.verdict == "Called off — 23 Feb 2022, themoscowtimes.com [1]"
    assert result.cited == 2 and {p.article.id for p in result.passages[:2]} == {NEWER, OLDER}
    assert all(p.citation.number > 2 for p in result.passages[2:])
    fact = answer("Who said a Biden-Putin summit was not in the plans?", config=seeds)
    assert fact.verdict is None or fact.verdict.split(" — ")[0].lower() in fact.passages[0].article.text.lower()
    follow = answer("and why?", history=["did the summit happen?"], config=seeds)
    assert (
        follow.searched == "did the summit happen? and why?" and "Searched with: did the summit happen? and why?" in follow.notes
    )
    declined = answer("What is the recipe for sourdough bread?", config=seeds)
    assert declined.verdict is None and declined.cited == 0 and body(declined) == "Not found in these articles."


def test_a_status_question_leads_with_the_chunk_of_the_article_that_states_the_status(tmp_path: Path) -> None:
    plan = "The Harbour Lights festival will go ahead on the quay on 12 July, its organisers said, with fireworks at ten."
    filler = " ".join(f"Stall {n} on the quay will sell food and crafts from local makers during the day." for n in range(40))
    change = "On Friday the organisers cancelled the Harbour Lights festival after the council withdrew its licence."
    write(tmp_path / "a", "x.md", f"---\ndate: 2024-07-05\nsource: Quay News\n---\n{plan}\n\n{filler}\n\n{change}\n")
    config = Config(articles=tmp_path / "a", index=tmp_path / "i" / "default")
    report = build_index(config)
    assert report.chunks >= 2  # the plan and the cancellation are in different chunks
    result = answer("Is the Harbour Lights festival still going ahead on 12 July?", config=config)
    assert result.verdict == "Cancelled — 5 Jul 2024, Quay News [1]"
    assert result.lead is not None and "cancelled the Harbour Lights festival" in result.lead.quotes[0].text
