from __future__ import annotations

import datetime as dt

from qa.query import Constraints, parse_constraints

SOURCES = ["The Verge", "TechCrunch", "Fortune", "BBC News", "themoscowtimes.com"]


def test_sources_named_in_the_question() -> None:
    found = parse_constraints("What did TechCrunch and The Verge report about the Pixel 8?", SOURCES)
    assert set(found.sources) == {"TechCrunch", "The Verge"}
    assert parse_constraints("According to the Moscow Times, was it called off?", SOURCES).sources == ("themoscowtimes.com",)


def test_sources_that_must_not_match() -> None:
    assert parse_constraints("He spent a small fortune on the verge of bankruptcy", ["Fortune"]).sources == ()
    assert parse_constraints("Did the techcrunchy startup raise money?", SOURCES).sources == ()
    assert parse_constraints("What did Wired report?", SOURCES).sources == ()  # not in the index


def test_dates_and_ranges() -> None:
    assert parse_constraints("What was published on October 5, 2023 about Meta?", []) == Constraints(
        (), dt.date(2023, 10, 5), dt.date(2023, 10, 5), published=True
    )
    # A date of the event, not of the report, is no publication filter.
    assert parse_constraints("Will the rocket launch on March 15, 2024?", []).published is False
    assert parse_constraints("news in October 2023", []) == Constraints((), dt.date(2023, 10, 1), dt.date(2023, 10, 31))
    assert parse_constraints("reports after November 1, 2023", []).since == dt.date(2023, 11, 1)
    assert parse_constraints("reports before 2023", []).until == dt.date(2022, 12, 31)
    between = parse_constraints("between October 1, 2023 and November 15, 2023", [])
    assert (between.since, between.until) == (dt.date(2023, 10, 1), dt.date(2023, 11, 15))


def test_dates_that_must_not_match() -> None:
    assert not parse_constraints("What happened after the ruling?", [])
    assert not parse_constraints("Is the iPhone 15 faster than the 14?", [])
    assert not parse_constraints("Did 2023 people attend?", [])
    assert not parse_constraints("May I ask who won?", [])
