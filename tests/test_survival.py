"""Builds that survive every file (issue 20): each input that once ended a build, or a failed
`qa add` that broke every later one, with the build that must now succeed after it."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest
from conftest import ARTICLES, NEWER, write

from qa import BuildError, Config, Index, add_articles, build_index, index_status, load_index, retrieve

HARBOUR = "The harbour authority said on Tuesday that the new pier will open in March. Ferries will use it first, officials said."


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "articles"
    shutil.copytree(ARTICLES, folder)
    return folder


def _warnings(report: object) -> str:
    return "\n".join(str(w) for w in report.warnings)  # type: ignore[attr-defined]


def test_a_far_date_next_to_a_relative_word_is_an_unknown_date_not_the_end_of_the_build(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    write(
        folder,
        "far.jsonl",
        json.dumps({"id": "far", "body": "The vote is tomorrow. " + HARBOUR, "published_at": "9999-12-31"}) + "\n",
    )
    config = Config(articles=folder, index=tmp_path / "index")
    report = build_index(config)
    assert report.articles == 3 and "'9999-12-31' is not a full calendar date" in _warnings(report)
    far = Index(config.index).article("far.jsonl#far")
    assert far is not None and far.date is None


def test_an_id_that_two_files_claim_is_indexed_once_and_the_later_one_named(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    write(folder, "d.json", json.dumps([{"id": "k.txt", "body": HARBOUR}]))
    write(
        folder,
        "d.json#k.txt",
        "A different article entirely: the library reopens on Monday after a long refit, the council said.",
    )
    config = Config(articles=folder, index=tmp_path / "index")
    report = build_index(config)
    assert report.articles == 3 and "is already the id of an article of" in _warnings(report)
    assert build_index(config).generation == report.generation  # and the next build has nothing to do


def _nest(folder: Path, levels: int) -> None:
    """`levels` folders one inside the other, a file at the bottom: made one level at a time, since
    the standard library's makedirs (and rmtree, see `_unnest`) recurse."""
    deep = os.open(folder, os.O_RDONLY)
    try:
        for _ in range(levels):
            os.mkdir("x", dir_fd=deep)
            below = os.open("x", os.O_RDONLY, dir_fd=deep)
            os.close(deep)
            deep = below
        with open(os.open("deep.txt", os.O_WRONLY | os.O_CREAT, dir_fd=deep), "w") as handle:
            handle.write(HARBOUR)
    finally:
        os.close(deep)


def _unnest(folder: Path, levels: int) -> None:
    """Remove what `_nest` made, deepest first (pytest's own clean-up would hit the recursion limit)."""
    for depth in range(levels, 0, -1):
        path = os.path.join(folder, *["x"] * depth)
        for name in os.listdir(path):
            os.unlink(os.path.join(path, name))
        os.rmdir(path)


def test_a_thousand_nested_folders_are_skipped_with_a_reason(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    _nest(folder, 1000)
    try:
        report = build_index(Config(articles=folder, index=tmp_path / "index"))
    finally:
        _unnest(folder, 1000)
    assert report.articles == 2 and "nested over 32 levels" in _warnings(report)
    assert all(len(str(w)) < 500 for w in report.warnings)  # a 2,000-character path is shown shortened


def test_a_failed_add_leaves_the_folder_as_it_was_and_the_next_build_succeeds(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    config = Config(articles=folder, index=tmp_path / "index")
    build_index(config)
    before = sorted(p.name for p in folder.iterdir())
    bad = write(tmp_path / "elsewhere", "broken.json", "{ not json at all")
    with pytest.raises(BuildError, match="none of the given files holds a readable article"):
        add_articles([bad], config)
    assert sorted(p.name for p in folder.iterdir()) == before
    assert build_index(config).articles == 2 and build_index(config, full=True).articles == 2


def test_add_works_on_an_index_built_from_one_jsonl_file_and_a_rebuild_keeps_what_was_added(tmp_path: Path) -> None:
    dump = write(tmp_path / "dumps", "news.jsonl", json.dumps({"id": 1, "title": "Pier", "body": HARBOUR}) + "\n")
    config = Config(articles=dump, index=tmp_path / "index")
    assert build_index(config).articles == 1
    new = write(
        tmp_path / "upload",
        "lighthouse.md",
        "# Lighthouse keeper retires\n\nOrla Venn retired from Skellig Rock lighthouse on Friday.\n",
    )
    assert add_articles([new], config).added == 1
    assert retrieve("lighthouse keeper Orla Venn", k=1, index=config.index, config=config)[0].article.id == "added/lighthouse.md"
    assert sorted(p.name for p in dump.parent.iterdir()) == ["news.jsonl"]  # the dump's folder is not written to
    status = index_status(config)
    assert (status.pending_added, status.pending_removed) == (0, 0)
    assert build_index(config, full=True).articles == 2  # a rebuild reads the dump and what was added to it


def test_a_malformed_front_matter_is_a_warning_naming_the_file(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    write(folder, "broken.md", "---\ntitle: [unclosed\ndate: 2024-01-02\n---\n" + HARBOUR)
    report = build_index(Config(articles=folder, index=tmp_path / "index"))
    assert report.articles == 3 and "broken.md: front matter could not be read" in _warnings(report)


def test_an_impossible_date_in_front_matter_loses_the_date_only(tmp_path: Path) -> None:
    """A newcomer's report: `date: 2023-02-30` lost the title and the source with it."""
    folder = _folder(tmp_path)
    write(folder, "feb30.md", "---\ntitle: The harbour plan\ndate: 2023-02-30\nsource: Town Crier\n---\n" + HARBOUR)
    config = Config(articles=folder, index=tmp_path / "index")
    report = build_index(config)
    assert "feb30.md: date '2023-02-30' is not a full calendar date" in _warnings(report)
    article = load_index(config.index, config).article("feb30.md")
    assert article is not None and (article.title, article.source, article.date) == ("The harbour plan", "Town Crier", None)


def test_a_skipped_file_is_remembered_and_not_parsed_again_until_it_changes(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    bad = write(folder, "broken.json", "{ not json")
    config = Config(articles=folder, index=tmp_path / "index")
    first = build_index(config)
    assert "broken.json" in _warnings(first)
    status = index_status(config)  # lists it with its reason, and has nothing to do
    assert any(w.path == "broken.json" and "skipped" in w.reason for w in status.warnings)
    assert (status.pending_added, status.pending_changed, status.pending_removed) == (0, 0, 0)
    with sqlite3.connect(config.index / "qa.sqlite") as db:
        recorded = db.execute("SELECT articles, warnings FROM files WHERE path = 'broken.json'").fetchone()
    assert json.loads(recorded[0]) == [] and "skipped" in json.loads(recorded[1])[0]
    assert build_index(config).generation == first.generation  # nothing changed: nothing parsed, no new generation
    bad.write_text(json.dumps({"body": HARBOUR}))  # fixed: read again
    assert build_index(config).articles == 3


@pytest.fixture
def small_disk(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A 64 MB tmpfs, where the machine lets this test mount one (root, in CI), else a skip that says why."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(disk)], capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({mounted.stderr.strip() or 'mount failed'}); the disk-full test needs one")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)


def test_a_full_disk_is_one_clear_line_and_changes_nothing(tmp_path: Path, small_disk: Path) -> None:
    folder = _folder(tmp_path)
    config = Config(articles=folder, index=small_disk / "index")
    build_index(config)
    before = Index(config.index).generation
    free = shutil.disk_usage(small_disk).free
    with open(small_disk / "filler", "wb") as filler:  # leave 64 kB: less than the next generation needs
        filler.write(b"\0" * (free - 64_000))
    new = [write(tmp_path / "new", f"report-{n}.md", f"# Report {n}\n\n" + HARBOUR * 40) for n in range(20)]
    with pytest.raises(BuildError) as raised:
        add_articles(new, config)
    message = str(raised.value)
    assert message.startswith("no space left on device while ") and "nothing was changed" in message and "\n" not in message
    assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in ARTICLES.iterdir())  # the folder as it was
    assert not [p for p in config.index.rglob("*") if p.name.endswith(".tmp")]
    assert sorted(p.name for p in config.index.glob("keywords.g*")) == [f"keywords.g{before:08d}"]
    assert Index(config.index).generation == before
    assert retrieve("did the summit happen?", k=1, index=config.index, config=config)[0].article.id == NEWER
    (small_disk / "filler").unlink()
    assert add_articles(new, config).added == 20  # and with room again, the same add succeeds
