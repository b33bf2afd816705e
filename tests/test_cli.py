from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import ARTICLES, NEWER

QA = [sys.executable, "-m", "qa.cli"]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"HF_HUB_OFFLINE": "1"}
    return subprocess.run([*QA, *args], capture_output=True, text=True, env=env, timeout=300)


def test_build_then_ask_json_round_trips(tmp_path: Path) -> None:
    index = str(tmp_path / "index" / "default")
    built = _run("build", "--articles", str(ARTICLES), "--index", index)
    assert built.returncode == 0, built.stderr
    assert built.stdout.startswith("indexed 2 articles,") and "chunks/s" in built.stdout

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

    filtered = json.loads(_run("ask", "summit", "--index", index, "--json", "--source", "themoscowtimes.com", "--since", "2022-02-23").stdout)
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
    assert built.stdout.startswith("indexed 3 articles,") and "4 warnings" in built.stdout


def test_errors_are_one_clear_line(tmp_path: Path) -> None:
    result = _run("ask", "anything", "--index", str(tmp_path / "missing"))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("error: no index at")
