from __future__ import annotations

import datetime as dt

import pytest

from qa.dates import format_date, is_date_line, parse_date, resolve_in_sentence

WEDNESDAY = dt.date(2022, 2, 23)


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("Biden on Tuesday imposed new sanctions.", dt.date(2022, 2, 22)),
        ("The meeting was on Wednesday.", WEDNESDAY),
        ("Lavrov's meeting with Blinken this Thursday was cancelled.", dt.date(2022, 2, 24)),
        ("They will meet Friday.", dt.date(2022, 2, 25)),
        ("Last Wednesday the talks failed.", dt.date(2022, 2, 16)),
        ("Officials said yesterday that it was over.", dt.date(2022, 2, 22)),
        ("On February 21 Putin recognised the regions.", dt.date(2022, 2, 21)),
        ("No date in this sentence.", None),
    ],
)
def test_relative_dates_resolve_against_publication(sentence: str, expected: dt.date | None) -> None:
    assert resolve_in_sentence(sentence, WEDNESDAY) == expected


def test_relative_dates_need_a_publication_date() -> None:
    assert resolve_in_sentence("Biden on Tuesday imposed new sanctions.", None) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2023-11-27T08:45:59+00:00", dt.date(2023, 11, 27)),
        ("February 23, 2022", dt.date(2022, 2, 23)),
        ("23 Feb 2022", dt.date(2022, 2, 23)),
        ("February 2022", None),  # no day: not a publication date
        ("yesterday", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_date(value: object, expected: dt.date | None) -> None:
    assert parse_date(value) == expected


def test_date_lines() -> None:
    assert is_date_line("February 23, 2022") == dt.date(2022, 2, 23)
    assert is_date_line("Published: Feb. 23, 2022 at 10:15 a.m. EST") == dt.date(2022, 2, 23)
    assert is_date_line("On February 23, 2022 the summit was called off.") is None
    assert format_date(dt.date(2022, 2, 23)) == "23 Feb 2022" and format_date(None) == "undated"


APRIL_2 = dt.date(2025, 4, 2)  # a Wednesday
JUNE_10 = dt.date(2025, 6, 10)  # a Tuesday
JANUARY_3 = dt.date(2024, 1, 3)  # a Wednesday

#: Dates without a year and weekdays, read by the sentence's tense (issue 19): the future forward,
#: the past backward, and with no tense the publication year.
TENSES = [
    # the future: forward from publication
    ("Apple will begin selling the headset in stores on May 1.", APRIL_2, dt.date(2025, 5, 1)),
    ("The council will vote on March 15 on the new budget.", APRIL_2, dt.date(2026, 3, 15)),
    ("The trial is scheduled to start on January 9.", APRIL_2, dt.date(2026, 1, 9)),
    ("Tickets go on sale next week, and the band is set to play on July 20.", JUNE_10, dt.date(2025, 7, 20)),
    ("The band's concert on July 20 is expected to sell out.", JUNE_10, dt.date(2025, 7, 20)),
    ("The new line is due to open on June 1.", JUNE_10, dt.date(2026, 6, 1)),
    ("Shareholders are to meet on May 30 to approve the deal.", APRIL_2, dt.date(2025, 5, 30)),
    ("The company plans to ship the phone on Dec. 12.", APRIL_2, dt.date(2025, 12, 12)),
    ("The final has been postponed until May 3 because of the storm.", APRIL_2, dt.date(2025, 5, 3)),
    ("Officials moved the hearing to March 28.", APRIL_2, dt.date(2026, 3, 28)),
    ("She'll fly to Geneva on 14 April.", APRIL_2, dt.date(2025, 4, 14)),
    ("The Lions will play on Saturday at home.", APRIL_2, dt.date(2025, 4, 5)),
    ("The ministers are due to meet Friday.", APRIL_2, dt.date(2025, 4, 4)),
    ("The vote is set for Monday.", APRIL_2, dt.date(2025, 4, 7)),
    ("Voters go to the polls next Tuesday.", APRIL_2, dt.date(2025, 4, 8)),
    ("The summit is going to take place on Thursday.", JANUARY_3, dt.date(2024, 1, 4)),
    # the past: backward from publication
    ("The festival was held on November 15 in the park.", APRIL_2, dt.date(2024, 11, 15)),
    ("Sales fell sharply on Dec 28, the retailer said.", JANUARY_3, dt.date(2023, 12, 28)),
    ("The two sides met on Tuesday.", APRIL_2, dt.date(2025, 4, 1)),
    ("On Monday the board announced job cuts.", APRIL_2, dt.date(2025, 3, 31)),
    ("He said on Monday that the concert will go ahead.", APRIL_2, dt.date(2025, 3, 31)),
    ("The strike began on March 20 and was called off a week later.", APRIL_2, dt.date(2025, 3, 20)),
    ("Police arrested the suspect on Friday.", APRIL_2, dt.date(2025, 3, 28)),
    ("Last Sunday the club sacked its coach.", APRIL_2, dt.date(2025, 3, 30)),
    ("The deal was first reported on Oct. 5.", JANUARY_3, dt.date(2023, 10, 5)),
    ("The storm hit the coast on February 2.", APRIL_2, dt.date(2025, 2, 2)),
    # no tense to go by: the publication year, never pushed a year back
    ("The band plays Harbor Park on July 20.", JUNE_10, dt.date(2025, 7, 20)),
    ("Harbor Park, July 20: doors at 7 p.m.", JUNE_10, dt.date(2025, 7, 20)),
    ("The May 1 launch date remains unchanged.", APRIL_2, dt.date(2025, 5, 1)),
    ("The March 3 filing runs to 40 pages.", APRIL_2, dt.date(2025, 3, 3)),
    # a year given, relative words, and nothing
    ("The plant will open on May 1, 2027.", APRIL_2, dt.date(2027, 5, 1)),
    ("The vote is tomorrow.", APRIL_2, dt.date(2025, 4, 3)),
    ("Nothing here speaks of a day.", APRIL_2, None),
    ("The launch is planned for February 29.", APRIL_2, None),  # no 29 February in 2025 or 2026
]


@pytest.mark.parametrize(("sentence", "published", "expected"), TENSES)
def test_dates_without_a_year_follow_the_tense(sentence: str, published: dt.date, expected: dt.date | None) -> None:
    assert resolve_in_sentence(sentence, published) == expected


def test_dates_outside_the_calendar_window_are_unknown_and_never_raise() -> None:
    assert parse_date("9999-12-31") is None and parse_date("0001-01-01") is None and parse_date(dt.date(9999, 1, 1)) is None
    assert resolve_in_sentence("The vote is tomorrow.", dt.date(9999, 12, 31)) is None
    assert resolve_in_sentence("It ended last Monday.", dt.date(1, 1, 1)) is None
