"""A small profile of bench/fuzz.py (which runs 10,000+ examples): hostile files, file names and questions."""

from __future__ import annotations

import pytest
from fuzzing import check_file, check_name, check_question, chunker_for
from hypothesis import HealthCheck, given, settings
from strategies import byte_names, files, questions

from qa import Config
from qa.chunking import Chunker
from qa.engine import Engine, engine_for

PROFILE = settings(max_examples=150, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def chunker(seeds: Config) -> Chunker:
    return chunker_for(seeds)


@pytest.fixture(scope="module")
def engine(seeds: Config) -> Engine:
    return engine_for(seeds.index, seeds)


@PROFILE
@given(file=files)
def test_any_file_becomes_articles_or_a_one_line_reason(file: tuple[bytes, str], chunker: Chunker) -> None:
    check_file(*file, chunker)


@settings(PROFILE, max_examples=60)
@given(name=byte_names)
def test_any_file_name_gets_a_storable_id(name: bytes, tmp_path_factory: pytest.TempPathFactory) -> None:
    check_name(tmp_path_factory.mktemp("names"), name)


@settings(PROFILE, max_examples=60)
@given(question=questions)
def test_any_question_is_answered_or_refused_in_one_line(question: object, engine: Engine) -> None:
    check_question(engine, question)


def test_the_fuzz_profile_reaches_the_hostile_shapes() -> None:
    """The strategies do produce what they claim (a deep nest, a huge line): a fuzzer that never
    generates them would pass for nothing."""
    from hypothesis import find
    from strategies import deep_json, huge_line

    assert len(find(deep_json, lambda s: len(s) > 10_000, settings=settings(database=None, max_examples=2000))) > 10_000
    assert len(find(huge_line, lambda s: len(s) > 30_000, settings=settings(database=None, max_examples=2000))) > 30_000
