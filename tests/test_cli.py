from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import ARTICLES, NEWER, shared_file

QA = [sys.executable, "-m", "qa.cli"]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"HF_HUB_OFFLINE": "1"}
    return subprocess.run([*QA, *args], capture_output=True, text=True, env=env, timeout=300)


def test_build_then_ask_json_round_trips(tmp_path: Path) -> None:
    index = str(tmp_path / "index" / "default")
    built = _run("build", "--articles", str(ARTICLES), "--index", index)
    assert built.returncode == 0, built.stderr
    assert built.stdout.startswith("generation 1: 2 articles,") and "2 added" in built.stdout

    asked = _run("ask", "did the summit happen?", "--index", index, "--json")
    assert asked.returncode == 0, asked.stderr
    data = json.loads(asked.stdout)
    assert set(data) >= {"question", "answered", "answer", "passages"}
    assert data["question"] == "did the summit happen?" and data["answered"] is True
    top = data["passages"][0]
    assert set(top) >= {"rank", "text", "score", "quote", "article"}
    assert set(top["article"]) == {"id", "title", "date", "source", "url"}
    assert (top["rank"], top["article"]["id"], top["article"]["date"]) == (1, NEWER, "2022-02-23")
    assert "called off" in top["text"] and top["quote"] in top["text"]
    assert data["answer"].startswith("Latest update, as of 23 Feb 2022")
    assert all(p["article"]["date"] in (None, "2022-02-23") for p in data["passages"])

    filtered = json.loads(
        _run("ask", "summit", "--index", index, "--json", "--source", "themoscowtimes.com", "--since", "2022-02-23").stdout
    )
    assert filtered["passages"] and {p["article"]["id"] for p in filtered["passages"]} == {NEWER}

    text = _run("ask", "did the summit happen?", "--index", index)
    assert text.returncode == 0 and "Sources:" in text.stdout and "Timeline of the story (newest first):" in text.stdout

    declined = json.loads(_run("ask", "Who won the 2022 FIFA World Cup?", "--index", index, "--json").stdout)
    assert declined["answered"] is False and declined["passages"]


def test_build_warns_per_bad_file_and_indexes_the_rest(tmp_path: Path) -> None:
    articles = tmp_path / "articles"
    shutil.copytree(ARTICLES, articles)
    (articles / "empty.txt").write_bytes(b"")
    (articles / "binary.md").write_bytes(bytes(range(256)) * 4)
    (articles / "cp1252.txt").write_bytes("The caf\xe9 reopened on Monday.".encode("cp1252"))
    with open(articles / "huge.txt", "wb") as out:
        out.truncate(50_000_000)
    built = _run("build", "--articles", str(articles), "--index", str(tmp_path / "index" / "default"))
    assert built.returncode == 0, built.stderr
    warnings = [line for line in built.stderr.splitlines() if line.startswith("warning: ")]
    assert sorted(line.split(":")[1].strip() for line in warnings) == ["binary.md", "cp1252.txt", "empty.txt", "huge.txt"]
    assert built.stdout.startswith("generation 1: 3 articles,") and "4 warnings" in built.stdout


def test_errors_are_one_clear_line(tmp_path: Path) -> None:
    result = _run("ask", "anything", "--index", str(tmp_path / "missing"))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("error: no index at")


def test_add_remove_and_status_mirror_the_python_api(tmp_path: Path) -> None:
    articles = tmp_path / "articles"
    shutil.copytree(ARTICLES, articles)
    index = str(tmp_path / "index")
    assert _run("build", "--articles", str(articles), "--index", index).returncode == 0
    new = tmp_path / "in" / "ferry.md"
    new.parent.mkdir()
    new.write_text("# Ferry strike ends\n\nDate: 2024-03-01\n\nThe ferry strike on the Isle of Brannock ended on Friday.\n")
    added = _run("add", str(new), "--index", index)
    assert added.returncode == 0 and "1 added" in added.stdout, added.stderr
    (articles / "ferry.md").write_text((articles / "ferry.md").read_text() + "\nBoats resume on Monday.\n")
    status = _run("status", "--index", index, "--articles")
    assert status.returncode == 0, status.stderr
    assert "3 articles" in status.stdout and "IDMap2,Flat" in status.stdout and "change 1" in status.stdout
    assert "ferry.md" in status.stdout.splitlines()
    rebuilt = _run("build", "--index", index)  # the index remembers its articles folder
    assert rebuilt.returncode == 0 and "1 changed" in rebuilt.stdout, rebuilt.stderr
    removed = _run("remove", "ferry.md", "--index", index)
    assert removed.returncode == 0 and "1 removed" in removed.stdout
    asked = json.loads(_run("ask", "ferry strike Brannock", "--index", index, "--json").stdout)
    assert all(p["article"]["id"] != "ferry.md" for p in asked["passages"])
    assert _run("remove", "ferry.md", "--index", index).returncode == 2


def test_a_fresh_checkout_answers_its_first_question_by_building_the_sample_index(tmp_path: Path) -> None:
    shutil.copytree(ARTICLES, tmp_path / "articles")  # the checkout's layout: articles/ and no index/default yet
    env = {k: v for k, v in os.environ.items() if k not in ("QA_INDEX", "QA_ARTICLES")} | {"HF_HUB_OFFLINE": "1"}
    result = subprocess.run(
        [*QA, "ask", "did the summit happen?"], capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith("No index at index/default yet; building it from articles")
    assert result.stdout.startswith("Called off — 23 Feb 2022") and (tmp_path / "index" / "default" / "qa.sqlite").exists()
    missing = subprocess.run(
        [*QA, "ask", "x", "--index", "elsewhere"], capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path
    )
    assert missing.returncode == 2 and "no index at elsewhere" in missing.stderr  # an index named explicitly is never built


def test_qa_eval_on_a_fresh_checkout_builds_the_sample_index(tmp_path: Path) -> None:
    questions = shared_file("eval/seed_questions.jsonl")
    shutil.copytree(ARTICLES, tmp_path / "articles")
    env = {k: v for k, v in os.environ.items() if k not in ("QA_INDEX", "QA_ARTICLES")} | {"HF_HUB_OFFLINE": "1"}
    result = subprocess.run([*QA, "eval", str(questions)], capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith("No index at index/default yet; building it from articles")
    assert "abstention accuracy (unanswerable declined): 1.000" in result.stdout
