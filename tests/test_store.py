"""The index on disk: format, refusal of damaged or foreign indexes, incremental builds, generations, lock, kill -9."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ARTICLES, ROOT, write

from qa import (
    BuildError,
    Config,
    CorruptIndexError,
    IndexMismatchError,
    IndexNotFoundError,
    QAError,
    add_articles,
    build_index,
    index_status,
    load_index,
    remove_articles,
    retrieve,
)
from qa.engine import engine_for
from qa.indexing import recorded_articles
from qa.storage import FILE_NAME, FORMAT_VERSION, Filter, Index, writer_lock


def _copy(seeds: Config, tmp_path: Path) -> Path:
    copy = tmp_path / "copy"
    shutil.copytree(seeds.index.resolve(), copy)
    return copy


def _articles(tmp_path: Path) -> Path:
    folder = tmp_path / "articles"
    shutil.copytree(ARTICLES, folder)
    return folder


def test_manifest_records_the_build(seeds: Config) -> None:
    index = Index(seeds.index)
    m = index.manifest
    assert m["format_version"] == FORMAT_VERSION and m["dimension"] == 384 and m["generation"] >= 1
    assert m["articles"] == 2 and m["chunks"] >= 2 and m["factory"] == "IDMap2,Flat"
    assert "all-MiniLM-L6-v2" in m["model"] and m["built_at"] and Path(m["articles_folder"]) == ARTICLES.resolve()
    assert (seeds.index / m["vectors"]).exists()


def test_index_of_another_model_is_refused(seeds: Config, tmp_path: Path) -> None:
    copy = _copy(seeds, tmp_path)
    with sqlite3.connect(copy / FILE_NAME) as db:
        db.execute("UPDATE meta SET value = ? WHERE key = 'model'", ('"sentence-transformers/all-mpnet-base-v2"',))
    with pytest.raises(IndexMismatchError, match=r"built with model 'sentence-transformers/all-mpnet-base-v2'.*rebuild"):
        retrieve("summit", index=copy)


def test_damaged_missing_and_old_indexes_are_refused(seeds: Config, tmp_path: Path) -> None:
    copy = _copy(seeds, tmp_path)
    vectors = copy / Index(copy).manifest["vectors"]
    vectors.write_bytes(b"not faiss")
    with pytest.raises(CorruptIndexError, match="rebuild"):
        retrieve("summit", index=copy)
    with pytest.raises(IndexNotFoundError, match="qa build"):
        retrieve("summit", index=tmp_path / "nowhere")
    (copy / FILE_NAME).write_bytes(b"SQLite format 3\x00" + b"\xff" * 200)
    for leftover in copy.glob(FILE_NAME + "-*"):
        leftover.unlink()
    with pytest.raises(CorruptIndexError):
        retrieve("summit", index=copy)
    old = tmp_path / "old"
    write(old, "manifest.json", '{"format": "qa-index", "format_version": 2}')
    with pytest.raises(IndexMismatchError, match="older format.*qa build"):
        retrieve("summit", index=old)


def test_builds_apply_only_what_changed_and_a_failed_build_keeps_the_old_index(tmp_path: Path) -> None:
    articles = _articles(tmp_path)
    config = Config(articles=articles, index=tmp_path / "index" / "default")
    first = build_index(config)
    assert first.embedded == first.chunks and first.generation == 1
    before = retrieve("did the summit happen?", index=config.index)[0].text
    assert build_index(config).generation == 1  # nothing changed: no new generation

    write(articles, "extra.md", "---\ndate: 2022-02-25\n---\nThe harbour reopened after the storm.\n")
    second = build_index(config)
    assert (second.added, second.changed, second.removed, second.embedded) == (1, 0, 0, 1)
    assert second.chunks == first.chunks + 1 and second.generation == 2
    assert index_status(config).summary().endswith("up to date with its articles folder")

    (articles / "extra.md").unlink()
    third = build_index(config)
    assert (third.removed, third.embedded, third.chunks) == (1, 0, first.chunks)
    assert all(p.article.id != "extra.md" for p in retrieve("harbour reopened storm", index=config.index))
    assert len(list((config.index / "vectors").glob("*.faiss"))) == 2  # the current and the previous generation

    for path in articles.iterdir():
        path.unlink()
    write(articles, "empty.txt", "")
    with pytest.raises(BuildError, match="previous index"):
        build_index(config)
    assert retrieve("did the summit happen?", index=config.index)[0].text == before


def test_add_and_remove_one_article_and_a_running_engine_sees_each_generation(tmp_path: Path) -> None:
    config = Config(articles=_articles(tmp_path), index=tmp_path / "index")
    build_index(config)
    engine = engine_for(config.index, config)
    assert engine.retrieve("lighthouse keeper Orla Venn", k=1)[0].article.id != "lighthouse.md"
    outside = write(
        tmp_path / "elsewhere",
        "lighthouse.md",
        "# Orla Venn retires\n\nDate: 2024-05-02\n\nThe lighthouse keeper Orla Venn retired after forty years on Skellig Rock.\n",
    )
    report = add_articles([outside], config)
    assert (report.added, report.embedded) == (1, 1) and (config.articles / "lighthouse.md").exists()
    assert engine.retrieve("lighthouse keeper Orla Venn", k=1)[0].article.id == "lighthouse.md"  # no restart
    with pytest.raises(BuildError, match="other content"):
        add_articles([write(tmp_path / "other", "lighthouse.md", "Another text entirely.")], config)
    remove_articles(["lighthouse.md"], config)
    assert all(p.article.id != "lighthouse.md" for p in engine.retrieve("lighthouse keeper Orla Venn", k=5))
    with pytest.raises(BuildError, match="not in the index"):
        remove_articles(["no-such-article.md"], config)
    assert build_index(config).removed == 0 and "lighthouse.md" not in Index(config.index).article_ids()  # stays removed
    assert add_articles([config.articles / "lighthouse.md"], config).added == 1  # until it is added again
    assert engine.retrieve("lighthouse keeper Orla Venn", k=1)[0].article.id == "lighthouse.md"


def test_a_second_writer_is_refused(tmp_path: Path) -> None:
    config = Config(articles=_articles(tmp_path), index=tmp_path / "index")
    build_index(config)
    with writer_lock(config.index):
        with pytest.raises(BuildError, match="another build is running"):
            build_index(config, full=True)
    assert load_index(config.index, config).manifest["generation"] == 1


#: A build that stops for good at the first log line starting with `argv[4]`, so that the test
#: kills it at that moment, whatever the machine's speed.
_STOPS_AT = """
import sys, threading, qa
def log(line):
    print(line, flush=True)
    if line.startswith(sys.argv[4]):
        threading.Event().wait()
qa.build_index(qa.Config(articles=sys.argv[1], index=sys.argv[2]), full=sys.argv[3] == "full", progress=True, log=log)
"""


def _kill_at(moment: str, script: list[str], env: dict[str, str]) -> None:
    """Runs `python -c script…`, a build that stops for good at a log line, and kills it there (SIGKILL)."""
    process = subprocess.Popen(
        [sys.executable, "-c", *script], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith(moment):
            process.send_signal(signal.SIGKILL)
            break
    assert process.wait() == -signal.SIGKILL, f"the build never reached {moment!r}"


def test_kill_9_during_builds_leaves_an_index_that_answers(tmp_path: Path) -> None:
    """Builds killed at each moment (embedding, the keyword commit, the metadata commit,
    housekeeping), incremental and full: the index always answers, and the next build completes."""
    articles = _articles(tmp_path)
    index = tmp_path / "index"
    config = Config(articles=articles, index=index)
    build_index(config)
    for n in range(40):
        write(
            articles,
            f"batch/{n:02d}.md",
            f"# Report {n}\n\nDate: 2023-01-{n % 28 + 1:02d}\n\n"
            + f"The council of Quillsby town number {n} met to discuss the budget, the harbour and the storm. " * 12,
        )
    env = os.environ | {"HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    moments = [
        ("incremental", "embedded", 2),
        ("incremental", "writing the keyword index", 2),
        ("incremental", "committing generation", 2),
        ("incremental", "generation 2 committed", 42),
        ("full", "embedded", 42),
        ("full", "writing the keyword index", 42),
        ("full", "committing generation", 42),
        ("full", "generation 3 committed", 42),
    ]
    for mode, moment, articles_after in moments:
        _kill_at(moment, [_STOPS_AT, str(articles), str(index), mode, moment], env)
        fresh = Index(index)  # loads: the last committed generation, whole, its keyword index included
        assert fresh.manifest["articles"] == articles_after and fresh.vectors.ntotal == fresh.manifest["chunks"]
        assert fresh.keywords.size == fresh.manifest["chunks"]  # old or new, never a mix (issue 20)
        assert bool(len(fresh.keyword(["quillsbi"], 100, Filter())[0])) == (articles_after == 42)  # the batch's own word
        assert retrieve("did the summit happen?", index=index, config=config)
    final = build_index(config)  # and the next build completes, cleaning up what killed builds left
    assert final.articles == 42 and not list((index / "vectors").glob("*.tmp"))


def test_a_model_that_is_not_here_is_a_clear_error(tmp_path: Path) -> None:
    config = Config(articles=ARTICLES, index=tmp_path / "index" / "default", model=str(tmp_path / "no-such-model"))
    with pytest.raises(QAError, match="never downloads"):
        build_index(config)
    assert not (config.index / FILE_NAME).exists()


def test_a_rebuild_uses_the_folder_the_index_was_built_from(seeds: Config, tmp_path: Path) -> None:
    elsewhere = Config(index=seeds.index, articles=tmp_path / "not-the-articles")
    assert recorded_articles(elsewhere).articles == ARTICLES.resolve()
    assert build_index(recorded_articles(elsewhere)).articles == 2  # nothing dropped


def test_leftovers_of_dead_builds_are_removed_with_a_relative_index_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = Config(articles=_articles(tmp_path), index=Path("index/default"))  # relative, as the default is
    build_index(config)
    dead = Path("index/.default.building-20260101-000000")
    dead.mkdir()
    (dead / "build.lock").write_text("12345")  # a pid, but nobody holds the lock
    live = Path("index/.default.building-live")
    (Path("index/.default.old-20260101")).mkdir()
    Path("index/default.20250101-000000-000000").mkdir()  # a whole build an earlier format swapped out
    Path("index/.default.link-999").symlink_to("default")
    with writer_lock(live):  # a build in progress right now keeps its folder
        write(config.articles, "new.txt", "The harbour reopened on Friday after the storm, officials said.")
        build_index(config)
        assert sorted(p.name for p in Path("index").iterdir()) == [".default.building-live", "default"]
    assert len(list(Path("index/default/vectors").glob("*.faiss"))) == 2  # this generation and the previous one


def test_an_index_read_by_an_older_ingest_rereads_its_files_but_reembeds_only_changed_text(tmp_path: Path) -> None:
    from qa.ingest import INGEST_VERSION

    config = Config(articles=_articles(tmp_path), index=tmp_path / "index")
    first = build_index(config)
    with sqlite3.connect(config.index / FILE_NAME) as db:  # as if an earlier qa had read the files
        db.execute("UPDATE meta SET value = '1' WHERE key = 'ingest_version'")
    again = build_index(config)
    assert again.generation == first.generation + 1 and (again.changed, again.embedded) == (0, 0)
    assert Index(config.index).manifest["ingest_version"] == INGEST_VERSION
    assert build_index(config).generation == again.generation  # read once, then up to date


def test_questions_during_a_build_in_the_same_process_all_answer_and_the_build_makes_what_it_makes_idle(tmp_path: Path) -> None:
    """Issue 9: threads asking questions while a build embedded once broke the shared tokenizer
    (2 of 200 questions failed, and the build made 1,371 chunks where an idle one makes 1,298).

    The askers ask from before the build starts until it ends, and the build waits at its keyword
    commit until they have answered more questions, so the two overlap on any machine."""
    import threading

    config = Config(articles=_articles(tmp_path), index=tmp_path / "index")
    idle = build_index(config).chunks
    engine = engine_for(config.index, config)
    failures: list[BaseException] = []
    answered: list[int] = []
    done, more = threading.Event(), threading.Event()
    asked_before: list[int] = []

    def ask() -> None:
        while not done.is_set():
            try:
                assert engine.retrieve("did the summit happen?", k=3)
                answered.append(1)
                if asked_before and len(answered) >= asked_before[0] + 6:
                    more.set()
            except BaseException as error:  # noqa: BLE001 - collected and asserted below
                failures.append(error)
                more.set()

    def log(line: str) -> None:
        if line.startswith("writing the keyword index"):
            asked_before.append(len(answered))
            more.wait()

    askers = [threading.Thread(target=ask) for _ in range(3)]
    for thread in askers:
        thread.start()
    try:
        busy = build_index(config, full=True, log=log).chunks
    finally:
        done.set()
        for thread in askers:
            thread.join()
    assert failures == [] and busy == idle and len(answered) >= 6


# --- builds committed in windows (issue 24) --------------------------------------------------------


def _batch(articles: Path, count: int) -> None:
    for n in range(count):
        write(
            articles,
            f"batch/{n:02d}.md",
            f"# Report {n}\n\nDate: 2023-01-{n % 28 + 1:02d}\n\n"
            + f"The council of Quillsby town number {n} met to discuss the budget, the harbour and the storm. " * 12,
        )


def _contents(index: Path) -> tuple[set[str], int, dict[str, str], list[str]]:
    fresh = Index(index)
    stories = {a: story for story, members in fresh.stories().items() for a in members}
    top = [p.article.id for p in retrieve("Quillsby town number 7 budget", index=index, k=3)]
    return fresh.article_ids(), fresh.manifest["chunks"], stories, top


def test_a_build_in_windows_equals_a_build_in_one_commit(tmp_path: Path) -> None:
    """Windows of whole articles, oldest first: the same articles, chunks, stories and answers as one commit."""
    articles = _articles(tmp_path)
    _batch(articles, 12)
    one = Config(articles=articles, index=tmp_path / "one", commit_chunks=0)
    windowed = Config(articles=articles, index=tmp_path / "windowed", commit_chunks=4)
    build_index(one)
    report = build_index(windowed)
    assert report.generation >= 4 and report.added == 14 and report.articles == 14
    assert _contents(windowed.index) == _contents(one.index)
    fresh = Index(windowed.index)
    assert fresh.vectors.ntotal == fresh.keywords.size == fresh.manifest["chunks"]
    assert build_index(windowed).embedded == 0  # every file was recorded: nothing left to do


#: A windowed build that stops for good at the first log line starting with `argv[3]`.
_STOPS_IN_WINDOWS = """
import sys, threading, qa
def log(line):
    print(line, flush=True)
    if line.startswith(sys.argv[3]):
        threading.Event().wait()
qa.build_index(qa.Config(articles=sys.argv[1], index=sys.argv[2], commit_chunks=4), log=log)
"""


def test_a_build_killed_between_windows_keeps_them_and_the_next_build_completes_it(tmp_path: Path) -> None:
    articles = _articles(tmp_path)
    index = tmp_path / "index"
    build_index(Config(articles=articles, index=index))
    _batch(articles, 12)
    env = os.environ | {"HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    moment = "generation 3 committed"  # the second window of 12 new articles, 4 chunks each
    _kill_at(moment, [_STOPS_IN_WINDOWS, str(articles), str(index), moment], env)
    kept = Index(index)
    assert kept.manifest["generation"] == 3 and 2 < kept.manifest["articles"] < 14  # two windows, whole
    assert kept.vectors.ntotal == kept.keywords.size == kept.manifest["chunks"]
    done = len(kept.article_ids())
    final = build_index(Config(articles=articles, index=index, commit_chunks=4))
    assert final.articles == 14 and final.added == 14 - done  # only what the killed build had not committed


def test_add_and_remove_never_create_an_index_and_a_failed_first_build_leaves_nothing(tmp_path: Path) -> None:
    """A newcomer's report: `qa remove x --index NEW` made a folder that every later command called damaged."""
    missing = Config(articles=_articles(tmp_path), index=tmp_path / "nowhere")
    with pytest.raises(IndexNotFoundError, match="no index at"):
        remove_articles(["x"], missing)
    with pytest.raises(IndexNotFoundError, match="no index at"):
        add_articles([ARTICLES / sorted(p.name for p in ARTICLES.iterdir())[0]], missing)
    assert not missing.index.exists()
    failed = Config(articles=tmp_path / "no-such-folder", index=tmp_path / "new")
    with pytest.raises(FileNotFoundError, match="articles folder not found"):
        build_index(failed)
    assert not failed.index.exists()
    build_index(Config(articles=missing.articles, index=failed.index))  # and a build there then works
