"""Generations: one writer at a time, whole files only, and housekeeping of what a build replaced.

A build is published by one SQLite commit (see `metadata.py`), which also names the vector file
of the new generation. Vector files are written whole under a temporary name first; after the
commit, files older than the previous generation are removed (a reader that opened the previous
generation a moment ago can still read its file). A killed build leaves at most an orphan file,
which the next build removes.
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import BuildError
from .keyword import KEYWORD_DIR
from .metadata import FILE_NAME

__all__ = ["writer_lock", "vector_file", "housekeep", "is_legacy", "VECTOR_DIR", "discard_unfinished"]

VECTOR_DIR = "vectors"
_LOCK = "build.lock"


@contextmanager
def writer_lock(folder: Path) -> Iterator[None]:
    """Held for a whole build; a second writer gets a clear error at once instead of racing."""
    folder.mkdir(parents=True, exist_ok=True)
    handle = open(folder / _LOCK, "a+", encoding="utf-8")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            if error.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise BuildError(
                f"another build is running on {folder} (pid {holder}); wait for it to finish, the index keeps serving meanwhile"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        yield
    finally:
        handle.close()  # closing releases the lock; a killed process releases it too


def vector_file(generation: int) -> str:
    return f"{VECTOR_DIR}/g{generation:08d}.faiss"


def housekeep(folder: Path, generation: int, name: Path | None = None) -> None:
    """Remove vector files of generations before the previous one, and leftovers of killed builds
    (beside `name`, the index path as given, when it is a link to `folder`)."""
    vectors = folder / VECTOR_DIR
    for path in vectors.glob("*") if vectors.is_dir() else []:
        match = re.fullmatch(r"g(\d{8})\.faiss", path.name)
        # Older than the previous generation, or newer than this one (a build killed before its commit).
        if path.name.endswith(".tmp") or (match and not generation - 1 <= int(match[1]) <= generation):
            path.unlink(missing_ok=True)
    for path in folder.glob(f"{KEYWORD_DIR}.g*"):  # keyword generations, kept on the same terms
        match = re.fullmatch(r"g(\d{8})", path.name.rsplit(".", 1)[-1])
        if match and not generation - 1 <= int(match[1]) <= generation:
            shutil.rmtree(path, ignore_errors=True)
    if (folder / KEYWORD_DIR).is_dir() and any(folder.glob(f"{KEYWORD_DIR}.g*")):
        shutil.rmtree(folder / KEYWORD_DIR, ignore_errors=True)  # the shared one of an older qa, now replaced
    # Leftovers of killed format upgrades beside the index: staging folders whose build is dead (its
    # lock is free), and the links and old folders of an interrupted swap. `folder` is resolved, so a
    # relative `--index` finds them as well as an absolute one.
    name = (name or folder).absolute()  # the index's name as given (`index/default`, maybe a link)
    for stale in name.parent.glob(f".{name.name}.*"):
        kind = stale.name[len(name.name) + 2 :].split("-", 1)[0]
        if kind == "building" and _is_locked(stale):
            continue  # another process is building there right now
        if kind in ("building", "old"):
            shutil.rmtree(stale, ignore_errors=True)
        elif kind == "link" and stale.is_symlink():
            stale.unlink(missing_ok=True)
    for replaced in name.parent.glob(f"{name.name}.*"):  # whole builds that an earlier format swapped out
        if (
            re.fullmatch(r"\d{8}-\d{6}-\d{6}", replaced.name[len(name.name) + 1 :])
            and replaced.resolve() != folder.resolve()
            and replaced.is_dir()
            and not _is_locked(replaced)
        ):
            shutil.rmtree(replaced, ignore_errors=True)


def _is_locked(folder: Path) -> bool:
    """Whether a live process holds the build lock of `folder`."""
    try:
        with open(folder / _LOCK, "a+", encoding="utf-8") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return False
    except FileNotFoundError:
        return False
    except OSError:
        return True


def is_legacy(folder: Path) -> bool:
    """An index of an earlier format: a manifest.json and no SQLite file."""
    return (folder / "manifest.json").exists() and not (folder / FILE_NAME).exists()


def discard_unfinished(folder: Path, *, folder_existed: bool) -> None:
    """What a first build that failed created, so that the folder is not taken for a damaged index:
    the folder itself when it did not exist, else the files an index is made of."""
    if not folder_existed:
        shutil.rmtree(folder, ignore_errors=True)
        return
    for name in (FILE_NAME, f"{FILE_NAME}-wal", f"{FILE_NAME}-shm", f"{FILE_NAME}-journal", _LOCK):
        (folder / name).unlink(missing_ok=True)
    for path in [folder / VECTOR_DIR, *folder.glob(f"{KEYWORD_DIR}*")]:
        shutil.rmtree(path, ignore_errors=True)
