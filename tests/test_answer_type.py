"""What a question asks for, and whether a sentence holds it (`qa/answer_type.py`)."""

from __future__ import annotations

import pytest

from qa.answer_type import expected_type, holds_answer


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("When was the EU's AI law first proposed?", "date"),
        ("On what date did Epic's trial against Google begin?", "date"),
        ("What share of 11- to 17-year-olds used their phones during school hours?", "number"),
        ("In the review of 281 studies, what share of adults showed signs of addiction?", "number"),
        ("How many sexual assault cases against Uber were consolidated?", "number"),
        ("How old is Eylon Levy, according to Globes?", "number"),
        ("How strong did the geomagnetic storm get?", "number"),
        ("Which judge ruled that Donald Trump committed fraud?", "name"),
        ("After Sam Altman was pushed out, who was named interim CEO?", "name"),
        ("At which university does Jon Copley teach?", "name"),
        ("What is the New York Thai restaurant named after a Google search called?", "name"),
        ("Where is Tate McRae from?", "name"),
        ("How did Swedish media report the winners before the announcement?", None),  # manner, not a number
        ("What did California regulators do to Cruise?", None),
        ("Did Fox News publish its tips, which said the sun was approaching its peak?", None),  # yes/no, "which" is relative
        ("did the summit happen?", None),
    ],
)
def test_the_kind_of_answer_a_question_asks_for(question: str, kind: str | None) -> None:
    assert expected_type(question) == kind


@pytest.mark.parametrize(
    ("sentence", "kind", "question", "holds"),
    [
        (
            "Researchers reviewed 281 studies, finding that 14% of adults showed signs.",
            "number",
            "Of 281 studies, what share?",
            True,
        ),
        (
            "Researchers reviewed 281 studies from many countries.",
            "number",
            "Of 281 studies, what share?",
            False,
        ),  # only the asked number
        ("The file was originally proposed back in April 2021.", "date", "When was the law proposed?", True),
        ("The development means a pan-EU AI law is on the way.", "date", "When was the law proposed?", False),
        ("Judge Arthur Engoron, ruling in a civil lawsuit, found Trump liable.", "name", "Which judge ruled on Trump?", True),
        ("A judge ruled Tuesday that Donald Trump committed fraud.", "name", "Which judge ruled that Donald Trump lied?", False),
        ("Anything at all, 2021, Paris.", None, "Why?", False),
    ],
)
def test_a_sentence_holds_what_is_asked_only_beyond_what_the_question_says(
    sentence: str, kind: str | None, question: str, holds: bool
) -> None:
    assert holds_answer(sentence, kind, question) is holds  # type: ignore[arg-type]
