"""Stories: a newer report in other words leads; reports of other events never do.

The articles are `bench/stories/`: 13 dated stories of 2–3 reports in several domains (a jazz
festival, a dairy takeover, a fraud trial, a football transfer, a rocket launch, a summit, a
strike, a phone, a mayor, a marathon, a drug approval, a chief executive, a concert), and four
later distractors on another festival, transfer, launch and summit.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
import sqlite3
from pathlib import Path

import pytest

from qa import Config, answer, build_index, retrieve
from qa.engine import engine_for, load_index
from qa.render import body
from qa.storage import FILE_NAME
from qa.stories import names, subject_in

STORIES = Path(__file__).resolve().parents[1] / "bench" / "stories"


@pytest.fixture(scope="session")
def stories(tmp_path_factory: pytest.TempPathFactory) -> Config:
    config = Config(articles=STORIES, index=tmp_path_factory.mktemp("stories") / "default")
    build_index(config)
    return config


def test_stories_are_linked_by_event_not_by_topic(stories: Config) -> None:
    idx = load_index(stories.index, stories)
    # Files of one story share their "sNN" prefix; each distractor "dNN" stands alone.
    expected: dict[str, set[str]] = {}
    for article_id in idx.article_ids():
        expected.setdefault(article_id[:3] if article_id.startswith("s") else article_id, set()).add(article_id)
    found = {frozenset(members) for members in idx.stories().values()}
    assert found == {frozenset(group) for group in expected.values()}


@pytest.mark.parametrize(
    ("question", "newest", "older"),
    [
        # The newer report names neither the festival, nor the opening, nor the date.
        ("Will the Riverside Jazz Festival open on July 4?", "s01b-harbor-park-storm.md", ["s01a-festival-announced.md"]),
        # Nor the buyer, nor the dairy, nor "acquisition".
        (
            "Will Brightwater's acquisition of Calloway Dairy close in the second quarter?",
            "s02b-regulator-blocks.md",
            ["s02a-dairy-deal.md"],
        ),
        # Three reports; the newest names neither the company nor Raman.
        ("Is Priya Raman still the CEO of Kiteworks Cloud?", "s12c-board-ousts.md", ["s12b-job-cuts.md", "s12a-raman-named.md"]),
    ],
)
def test_newest_report_in_other_words_leads(stories: Config, question: str, newest: str, older: list[str]) -> None:
    result = answer(question, config=stories)
    assert result.answered
    lead = result.passages[0]
    assert lead.article.id == newest and result.as_of == lead.article.date
    assert body(result).startswith(("**Latest update, as of", "**As of")) and "[1]" in body(result).split("\n")[0]
    # The earlier reports follow as dated context, newest first, and are cited.
    context = [p.article.id for p in result.passages[1 : 1 + len(older)]]
    assert context == older
    for article_id in older:
        date = next(p.article.date for p in result.passages if p.article.id == article_id)
        assert date is not None and date.strftime("%-d %b %Y") in body(result)
    # The timeline is the whole story, newest first, every report cited.
    assert [e.title for e in result.timeline] == [p.article.label for p in result.passages[: 1 + len(older)]]
    assert all(e.number for e in result.timeline)
    dates = [e.date for e in result.timeline]
    assert dates == sorted(dates, reverse=True)


def test_a_later_report_of_another_event_never_leads(stories: Config) -> None:
    """The food festival (2 Aug), the Porto goalkeeper and the Veltra launch are newer and share the question's words."""
    cases = {
        "Is the Riverside Jazz Festival still going ahead?": "d01-food-festival.md",
        "Did Mateo Ruiz sign with Porto?": "d04-porto-goalkeeper.md",
        "Will the Aurora-2 launch on March 15?": "d05-veltra-launch.md",
        "Did the Norland-Estavia summit in Geneva happen?": "d06-geneva-climate-summit.md",
    }
    idx = load_index(stories.index, stories)
    for question, distractor in cases.items():
        result = answer(question, config=stories)
        assert result.passages[0].article.id != distractor, question
        assert idx.article(distractor).label not in {e.title for e in result.timeline}, question


def test_fact_questions_are_not_hijacked_by_stories(stories: Config) -> None:
    assert (
        retrieve("Which goalkeeper did Porto sign from Braga?", k=3, index=stories.index)[0].article.id
        == "d04-porto-goalkeeper.md"
    )
    assert retrieve("How many jobs did Kiteworks Cloud cut?", k=3, index=stories.index)[0].article.id == "s12b-job-cuts.md"


@pytest.mark.parametrize(
    ("question", "status"),
    [
        ("Will the Orbitex rocket launch on March 15?", True),
        ("Is the Norland-Estavia summit going ahead?", True),
        ("Did Ohtani sign with the Blue Jays?", True),
        ("Is Priya Raman still the CEO of Kiteworks Cloud?", True),
        ("How many stalls did the Riverside Food Festival have?", False),
        ("Which goalkeeper did Porto sign from Braga?", False),
        ("Who said a Biden-Putin summit was not in the plans?", False),
    ],
)
def test_status_questions_are_recognised_by_meaning(stories: Config, question: str, status: bool) -> None:
    idx = load_index(stories.index, stories)
    assert engine_for(stories.index, stories).make_query(question, idx)[0].status is status


def test_a_build_links_only_new_articles(tmp_path: Path) -> None:
    """Stories of unchanged articles are kept as they were; only new articles are linked."""
    articles = tmp_path / "articles"
    articles.mkdir()
    for name in ("s12a-raman-named.md", "s12b-job-cuts.md", "s12c-board-ousts.md", "s05b-kestrel-grounded.md"):
        shutil.copy(STORIES / name, articles / name)
    config = Config(articles=articles, index=tmp_path / "index" / "default")
    assert build_index(config).linked == 4
    first = _story_of(config)
    assert len({first[a] for a in first if a.startswith("s12")}) == 1
    # A new report of the launch joins the story of the older one; nothing else is linked again.
    shutil.copy(STORIES / "s05a-aurora-launch.md", articles / "s05a-aurora-launch.md")
    assert build_index(config).linked == 1
    second = _story_of(config)
    assert second["s05a-aurora-launch.md"] == second["s05b-kestrel-grounded.md"]
    assert {a: s for a, s in second.items() if a.startswith("s12")} == {a: s for a, s in first.items() if a.startswith("s12")}
    # Other linking rules re-link every article.
    assert build_index(dataclasses.replace(config, story_names=3.0)).linked == 5


def test_builds_fed_in_batches_link_as_one_build_reading_only_candidates(stories: Config, tmp_path: Path) -> None:
    """The story set fed oldest first in three builds gets the stories of the one build of `stories`;
    each build reads only stored reports that share a name with a new one, and not all of them."""
    one_shot = load_index(stories.index, stories)
    dated = sorted(one_shot.article_ids(), key=lambda a: (one_shot.article(a).date or dt.date.max, a))
    folder = tmp_path / "articles"
    folder.mkdir()
    config = Config(articles=folder, index=tmp_path / "index" / "default")
    read = []
    for batch in (dated[:15], dated[15:32], dated[32:]):
        stored = [names(one_shot.article(a)) for a in dated if (folder / a).exists()]
        for name in batch:
            shutil.copy(STORIES / name, folder / name)
        report = build_index(config)
        new = [names(one_shot.article(a)) for a in batch]
        sharing = sum(any(mine & theirs for theirs in new) for mine in stored)
        assert report.linked == len(batch) and report.stories_read <= sharing
        assert report.stories_read < len(stored) or not stored
        read.append(report.stories_read)
    assert read[0] == 0 and read[2] > 0  # the last report (one article) is linked from what it shares
    assert _story_of(config) == _story_of(stories)


def test_an_index_from_before_the_names_table_links_against_its_stored_reports(tmp_path: Path) -> None:
    """An index written by an older qa (no `story_names`) has the table filled from its stored names at the next build."""
    articles = tmp_path / "articles"
    articles.mkdir()
    shutil.copy(STORIES / "s12a-raman-named.md", articles / "s12a-raman-named.md")
    config = Config(articles=articles, index=tmp_path / "index" / "default")
    build_index(config)
    with sqlite3.connect(config.index / FILE_NAME) as db:
        db.execute("DROP TABLE story_names")
        db.execute("DELETE FROM meta WHERE key = 'story_names'")
    shutil.copy(STORIES / "s12b-job-cuts.md", articles / "s12b-job-cuts.md")
    report = build_index(config)
    assert report.stories_read == 1
    assert _story_of(config)["s12b-job-cuts.md"] == "s12a-raman-named.md"


def test_questions_naming_two_outlets_hear_both(stories: Config) -> None:
    passages = retrieve("What did the Orbital Times and the Dunmore Gazette report?", k=4, index=stories.index)
    assert {p.article.source for p in passages[:2]} == {"Orbital Times", "Dunmore Gazette"}


def test_a_date_bound_to_a_report_filters_and_falls_back(stories: Config) -> None:
    on_day = retrieve("What did the report published on May 28, 2024 say about the summit?", k=3, index=stories.index)
    assert {p.article.date for p in on_day} == {dt.date(2024, 5, 28)}
    nothing_that_day = retrieve(
        "What did the report published on January 1, 2020 say about the summit?", k=3, index=stories.index
    )
    assert nothing_that_day and "summit" in nothing_that_day[0].text


def _story_of(config: Config) -> dict[str, str]:
    """Each article's story id."""
    return {a: story for story, members in load_index(config.index, config).stories().items() for a in members}


# --- unlinked later reports (issue 19): the safety net of qa/freshness.py --------------------------

AURORA = """---
title: Orbitex to launch Aurora-2 weather satellite on March 15
date: 2023-03-01
source: Launch Daily
---
Orbitex will launch its Aurora-2 rocket from Wallops Island on March 15, carrying a weather satellite for the
forecasting agency, chief executive Mara Lind said on Wednesday. The company confirmed the launch date after a final
review of the rocket's engines.
"""
POSTPONED = """---
title: Mission postponed indefinitely
date: 2023-03-12
source: Space Industry Wire
---
Orbitex has postponed the mission indefinitely after an engine anomaly during a routine check, the company said on
Sunday. No new date will be set until engineers understand the cause.
"""
OTHER_LAUNCH = """---
title: Veltra Space launches Corvid-1 from New Zealand
date: 2023-03-20
source: Orbital Times
---
Veltra Space launched its Corvid-1 rocket on Monday from the Mahia Peninsula, placing three small imaging satellites
in orbit. The launch went ahead on schedule, the company said.
"""


def _built(factory: pytest.TempPathFactory, name: str, files: tuple[tuple[str, str], ...]) -> Config:
    """An index of these articles (file name, text), built once for the module."""
    folder = factory.mktemp(name)
    for file, text in files:
        (folder / file).write_text(text, encoding="utf-8")
    config = Config(articles=folder, index=folder.parent / f"{folder.name}-index")
    build_index(config)
    return config


@pytest.fixture(scope="module")
def launch(tmp_path_factory: pytest.TempPathFactory) -> Config:
    return _built(
        tmp_path_factory, "launch", (("a-aurora.md", AURORA), ("b-postponed.md", POSTPONED), ("c-veltra.md", OTHER_LAUNCH))
    )


def test_a_later_report_that_names_only_the_organisation_leads_or_is_named_first(launch: Config) -> None:
    result = answer("Will the Aurora-2 launch on March 15?", config=launch)
    assert result.answered and result.verdict
    # The later report ("the mission is postponed", no rocket, no date) leads, or the verdict opens by
    # saying that it may change the answer: never "Confirmed" from the 1 March report alone.
    lead = result.passages[0].article.id
    assert lead == "b-postponed.md" or result.verdict.startswith("A newer report may change this: 12 Mar 2023")
    assert not result.verdict.startswith("Confirmed")


def test_a_later_report_naming_only_what_the_question_names_leads_when_it_states_a_status(launch: Config) -> None:
    # Its one name of the subject ("Orbitex") is also the question's: it still leads, since it says
    # what became of the launch ("postponed"); the 1 March report follows as dated context.
    result = answer("Will Orbitex launch the Aurora-2 rocket on March 15?", config=launch)
    assert [p.article.id for p in result.passages[:2]] == ["b-postponed.md", "a-aurora.md"]
    assert result.verdict is not None and result.verdict.startswith("Postponed — 12 Mar 2023")


def test_a_later_report_of_another_event_does_not_lead_or_caution(launch: Config) -> None:
    result = answer("Did Veltra Space launch the Corvid-1 rocket?", config=launch)
    assert result.passages[0].article.id == "c-veltra.md" and "Orbitex" not in (result.verdict or "")
    older = answer("Will the Aurora-2 launch on March 15?", config=launch)
    assert all(p.article.id != "c-veltra.md" for p in older.passages[:1])


# --- later reports that name nothing of the subject, and other events in the same place -----------

SUSPENDED = """---
title: Sprinter Dayo Femi-Ward suspended, will miss national championships
date: 2022-02-15
source: Track Bulletin
---
Sprinter Dayo Femi-Ward has been provisionally suspended by the Sport Integrity Panel after a positive test for a
banned stimulant, and will miss the national championships in June. Femi-Ward, the reigning 100m national champion,
denies wrongdoing and said he would appeal.
"""
BAN_LIFTED = """---
title: Appeals tribunal lifts 100m champion's suspension
date: 2022-05-30
source: Athletics Insider
---
An appeals tribunal lifted the 100m national champion's suspension on Monday, ruling that his sample had been
mishandled at the laboratory. The decision clears him to defend his title next month. The integrity panel said it
would review its testing procedures.
"""
OTHER_SPRINTER = """---
title: Sprinter Kofi Anansah suspended, will miss national championships
date: 2022-06-08
source: Track Bulletin
---
Sprinter Kofi Anansah has been provisionally suspended by the Sport Integrity Panel for missing three tests, and will
miss the national championships later this month. The 200m runner said he would not contest the ruling.
"""


@pytest.fixture(scope="module")
def sprinters(tmp_path_factory: pytest.TempPathFactory) -> Config:
    return _built(
        tmp_path_factory,
        "sprinters",
        (("a-suspended.md", SUSPENDED), ("b-lifted.md", BAN_LIFTED), ("c-anansah.md", OTHER_SPRINTER)),
    )


def test_a_report_of_another_protagonist_is_never_linked_or_made_to_lead(sprinters: Config) -> None:
    """Same panel, same championships, same outlet, a week apart: another sprinter's suspension is another story."""
    story = _story_of(sprinters)
    assert story["c-anansah.md"] != story["a-suspended.md"]
    result = answer("Will Dayo Femi-Ward miss the national championships?", config=sprinters)
    assert result.passages[0].article.id != "c-anansah.md"


def test_a_later_report_naming_nothing_of_the_subject_is_named_before_the_verdict(sprinters: Config) -> None:
    """The tribunal's report names neither the sprinter nor the panel's full name, but shares the lead's words:
    the answer never says "Suspended" without first naming it."""
    result = answer("Will Dayo Femi-Ward miss the national championships?", config=sprinters)
    assert result.answered and result.verdict
    lead = result.passages[0].article.id
    assert lead == "b-lifted.md" or result.verdict.startswith("A newer report may change this: 30 May 2022")


def test_the_protagonist_is_the_first_name_of_the_first_sentence() -> None:
    assert subject_in("Homeware chain Bramble Home opened its flagship on Carrow High Street.") == {"bramble", "home"}
    assert subject_in("Department store group Halvorsen & Pike will open its flagship.") == {"halvorsen", "pike"}
    # One capitalised word is as often a place or an adjective as a protagonist: none is taken.
    assert subject_in("The board of the Tacoma data storage company removed its chief executive.") == set()
    assert subject_in("An appeals tribunal lifted the champion's suspension on Monday.") == set()


# --- a sentence's capitalised first word is not a name ------------------------------------------

SOCIETY = """---
title: Harbury Building Society members to vote on merger with Calder Mutual
date: 2023-02-06
source: Savings Weekly
---
Members of Harbury Building Society will vote on March 30 on a merger with Calder Mutual, the society's chief
executive Imogen Tarrant said on Monday. The combined lender would have 400,000 members.
"""
HOSPITAL = """---
title: Health board scraps plan to close maternity unit after funding deal
date: 2023-05-02
source: Clinic Times
---
The Wexley health board has scrapped its plan to close the town's maternity unit after ministers agreed to fund
new staff. Building work on a new birth centre will start next summer, the board said.
"""


@pytest.fixture(scope="module")
def society(tmp_path_factory: pytest.TempPathFactory) -> Config:
    return _built(tmp_path_factory, "society", (("a-society.md", SOCIETY), ("b-hospital.md", HOSPITAL)))


def test_a_newer_report_sharing_only_a_sentence_opener_never_leads(society: Config) -> None:
    # "Building" opens a sentence of the hospital report; it is no name of the building society.
    result = answer("Did Harbury Building Society merge with Calder Mutual?", config=society)
    assert result.passages[0].article.id == "a-society.md"
    assert "Scrapped" not in (result.verdict or "")


def test_a_newer_report_naming_what_only_an_earlier_report_of_the_story_names_is_named_before_the_verdict(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """The union's report (linked into the strike's story) never names the airline; the weekend travel
    round-up a week later names only the airline. Its date comes before "Called off" from the older report."""
    folder = Path(__file__).resolve().parents[1] / "bench" / "stories2"
    files = ("t15a-corvane-pilots-strike.md", "t15b-union-calls-off.md", "t15c-weekend-travel.md")
    config = _built(tmp_path_factory, "corvane", tuple((name, (folder / name).read_text()) for name in files))
    result = answer("Will Corvane Air pilots strike on July 23?", config=config)
    assert result.answered and result.verdict
    lead = result.passages[0].article.id
    assert lead == "t15c-weekend-travel.md" or result.verdict.startswith("A newer report may change this: 22 Jul 2021")
