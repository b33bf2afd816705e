from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import ARTICLES, write

from qa import BuildError, Config, CorruptIndexError, IndexMismatchError, IndexNotFoundError, QAError, build_index, retrieve
from qa.store import FORMAT_VERSION


def _copy(seeds: Config, tmp_path: Path) -> Path:
    copy = tmp_path / "copy"
    shutil.copytree(seeds.index.resolve(), copy)
    return copy


def test_manifest_records_the_build(seeds: Config) -> None:
    manifest = json.loads((seeds.index / "manifest.json").read_text())
    assert manifest["format_version"] == FORMAT_VERSION and manifest["dimension"] == 384
    assert manifest["articles"] == 2 and manifest["chunks"] >= 2 and len(manifest["fingerprint"]) == 16
    assert "all-MiniLM-L6-v2" in manifest["model"] and manifest["built_at"]


def test_index_of_another_model_is_refused(seeds: Config, tmp_path: Path) -> None:
    copy = _copy(seeds, tmp_path)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["model"] = "sentence-transformers/all-mpnet-base-v2"
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexMismatchError, match=r"built with model 'sentence-transformers/all-mpnet-base-v2'.*rebuild"):
        retrieve("summit", index=copy)


def test_damaged_and_missing_indexes_are_refused(seeds: Config, tmp_path: Path) -> None:
    copy = _copy(seeds, tmp_path)
    (copy / "vectors.faiss").write_bytes(b"not faiss")
    with pytest.raises(CorruptIndexError, match="rebuild"):
        retrieve("summit", index=copy)
    with pytest.raises(IndexNotFoundError, match="qa build"):
        retrieve("summit", index=tmp_path / "nowhere")
    (copy / "manifest.json").write_text("{")
    with pytest.raises(CorruptIndexError, match="unreadable"):
        retrieve("summit", index=copy)


def test_rebuild_swaps_atomically_and_failure_keeps_the_old_index(tmp_path: Path) -> None:
    articles = tmp_path / "articles"
    shutil.copytree(ARTICLES, articles)
    config = Config(articles=articles, index=tmp_path / "index" / "default")
    first = build_index(config)
    assert config.index.is_symlink() and first.embedded == first.chunks
    before = retrieve("did the summit happen?", index=config.index)[0].text

    write(articles, "extra.md", "---\ndate: 2022-02-25\n---\nThe harbour reopened after the storm.\n")
    second = build_index(config)
    assert second.embedded == 1 and second.chunks == first.chunks + 1  # unchanged chunks are not re-embedded
    assert len(list((tmp_path / "index").glob("default.*"))) == 1  # the replaced build is gone

    for path in articles.iterdir():
        path.unlink()
    write(articles, "empty.txt", "")
    with pytest.raises(BuildError, match="previous index"):
        build_index(config)
    assert retrieve("did the summit happen?", index=config.index)[0].text == before


def test_a_model_that_is_not_here_is_a_clear_error(tmp_path: Path) -> None:
    config = Config(articles=ARTICLES, index=tmp_path / "index" / "default", model=str(tmp_path / "no-such-model"))
    with pytest.raises(QAError, match="never downloads"):
        build_index(config)
    assert not config.index.exists()
