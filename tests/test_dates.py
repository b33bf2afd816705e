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
