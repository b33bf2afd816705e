"""Multi-part questions (issue 19): split into clauses, each judged on its own."""

from __future__ import annotations

import pytest

from qa import Config, answer
from qa.parts import split_parts

OUTLETS = ["TechCrunch", "The Verge", "Fortune", "Engadget", "Wired", "themoscowtimes.com"]


@pytest.mark.parametrize(
    ("question", "parts"),
    [
        ("did the summit happen?", ["did the summit happen?"]),
        (
            "What did Sam Altman and Greg Brockman do after they left OpenAI?",
            ["What did Sam Altman and Greg Brockman do after they left OpenAI?"],
        ),
        (
            "Does the Fortune article suggest the firm cut jobs, while The Verge reports that it grew its staff?",
            ["Does the Fortune article suggest the firm cut jobs", "The Verge reports that it grew its staff"],
        ),
        (
            "Did Engadget report that the new iPhone overheats before Wired reported that Apple issued a software fix?",
            ["Did Engadget report that the new iPhone overheats", "Wired reported that Apple issued a software fix"],
        ),
        (  # a piece with no words of its own (outlets, question words) joins its neighbour
            "Which company, discussed in articles from TechCrunch and The Verge, is associated with the GPT language models"
            " and faced a boardroom revolt over its chief executive?",
            [
                "Which company discussed in articles from TechCrunch and The Verge is associated with the GPT language models",
                "faced a boardroom revolt over its chief executive",
            ],
        ),
        (
            "Did Psaki rule out a summit, and did Blinken cancel his meeting with Lavrov?",
            ["Did Psaki rule out a summit", "did Blinken cancel his meeting with Lavrov"],
        ),
    ],
)
def test_questions_split_into_their_clauses(question: str, parts: list[str]) -> None:
    assert list(split_parts(question, OUTLETS)) == parts


def test_a_multi_part_question_with_one_part_nothing_supports_is_answered_in_part_and_says_which(seeds: Config) -> None:
    result = answer(
        "Did the Moscow Times report that the United States called off the summit with Putin, while NBC News reported"
        " that Apple released a new iPhone with a titanium frame?",
        config=seeds,
        index=seeds.index,
    )
    assert result.answered and result.grade == "partly"
    assert result.unsupported == ("NBC News reported that Apple released a new iPhone with a titanium frame",)
    assert "called off" in result.passages[0].text
    assert result.notes == ("No article in the index mentions “Apple”.",)


def test_a_question_about_something_no_article_mentions_is_declined_and_says_what(seeds: Config) -> None:
    asked = "Which Kremlin official did Blinken meet{} before the summit was called off?"
    assert answer(asked.format(""), config=seeds, index=seeds.index).answered  # the same question, of what the articles hold
    result = answer(asked.format(" in Reykjavik"), config=seeds, index=seeds.index)
    assert not result.answered and result.grade == "not found"
    assert result.notes == ("No article in the index mentions “Reykjavik”.",)


def test_a_question_of_one_part_is_supported_or_not_found(seeds: Config) -> None:
    assert answer("did the summit happen?", config=seeds, index=seeds.index).grade == "supported"
    declined = answer("What is the recipe for sourdough bread?", config=seeds, index=seeds.index)
    assert declined.grade == "not found" and not declined.answered and declined.unsupported == ()
