"""One validated configuration (issue 18): types and ranges checked, one line naming the variable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

from qa import Config
from qa.config import ConfigError


def test_settings_from_the_environment_are_typed() -> None:
    config = Config.from_env(
        {"QA_K": " 7 ", "QA_BM25_WEIGHT": "0.5", "QA_QUANTIZE": "yes", "QA_INDEX": "/data/idx", "QA_MODE": "bm25"}
    )
    assert (config.k, config.bm25_weight, config.quantize, config.index, config.mode) == (7, 0.5, True, Path("/data/idx"), "bm25")
    assert Config.from_env(config.to_env()) == config  # what a build process is given comes back the same


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"QA_BM25_WEIGHT": "2"}, "setting bm25_weight (QA_BM25_WEIGHT) must be from 0 to 1, not '2'"),
        ({"QA_QUANTIZE": "ture"}, "setting quantize (QA_QUANTIZE) must be a valid boolean"),
        ({"QA_MODE": "fast"}, "setting mode (QA_MODE) must be 'hybrid', 'dense' or 'bm25', not 'fast'"),
        ({"QA_K": "4.5"}, "setting k (QA_K) must be a valid integer"),
        ({"QA_K": "0"}, "setting k (QA_K) must be from 1 to 100, not '0'"),
        ({"QA_CONCURRENCY": "x" * 500}, "setting concurrency (QA_CONCURRENCY) must be a valid integer"),
        (
            {"QA_KEYWORD_HEAP_MB": "20", "QA_KEYWORD_THREADS": "2"},
            "setting keyword_heap_mb (QA_KEYWORD_HEAP_MB) must be at least 15 per keyword thread (30 for 2), not 20",
        ),
        ({"QA_ANSWER": "llm"}, "setting answer (QA_ANSWER) must be 'extractive' or 'generative', not 'llm'"),
        ({"QA_LLM_URL": "localhost:8080"}, "setting llm_url (QA_LLM_URL) must be an http:// or https:// URL"),
        ({"QA_LLM_TIMEOUT": "0"}, "setting llm_timeout (QA_LLM_TIMEOUT) must be from 0.1 to 3600, not '0'"),
        ({"QA_LLM_LOCAL": "gpt"}, "setting llm_local (QA_LLM_LOCAL) must be 'smollm2' or 'gemma3', not 'gpt'"),
        ({"QA_LLM_SHAPE": "json"}, "setting llm_shape (QA_LLM_SHAPE) must be 'passages' or 'cited', not 'json'"),
        ({"QA_LLM_API": "responses"}, "setting llm_api (QA_LLM_API) must be 'chat' or 'completions', not 'responses'"),
        ({"QA_VERIFY_WORDS": "1.5"}, "setting verify_words (QA_VERIFY_WORDS) must be from 0 to 1, not '1.5'"),
    ],
)
def test_a_bad_setting_is_one_line_that_names_it(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        Config.from_env(environ)
    assert str(raised.value).startswith(message) and "\n" not in str(raised.value) and len(str(raised.value)) < 200


def test_the_python_api_and_overrides_are_checked_too() -> None:
    with pytest.raises(ConfigError, match="setting on_topic"):
        Config(on_topic=1.5)
    with pytest.raises(ConfigError, match="unknown setting 'colour'"):
        Config().with_overrides(colour="red")
    assert Config(k="3").k == 3 and Config().with_overrides(mode=None) == Config()  # type: ignore[arg-type]


def test_the_cli_says_which_variable_is_wrong() -> None:
    env = os.environ | {"HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT), "QA_BM25_WEIGHT": "2"}
    result = subprocess.run(
        [sys.executable, "-m", "qa.cli", "ask", "did the summit happen?"], capture_output=True, text=True, env=env, timeout=120
    )
    assert (
        result.returncode != 0
        and result.stderr.strip() == "error: setting bm25_weight (QA_BM25_WEIGHT) must be from 0 to 1, not '2'"
    )


def test_the_cli_names_a_bad_flag_as_the_flag() -> None:
    env = os.environ | {"HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "qa.cli", "ask", "did the summit happen?", "--k", "0"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 2 and result.stderr.strip() == "error: --k must be from 1 to 100, not 0"
