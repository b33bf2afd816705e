"""Files: which paths under an articles folder are articles, and whether their bytes are text.

The folder may hold anything a scraper or an upload left there. Symlinks are followed only to
files inside the folder (a link to /etc/passwd is not an article), FIFOs and devices are never
opened (reading a FIFO blocks forever), and every file that is not read says why.
"""

from __future__ import annotations

import codecs
import os
import stat
from collections.abc import Iterator
from pathlib import Path

from charset_normalizer import from_bytes

from ..records import IngestWarning
from .fields import IngestError, safe_text

__all__ = ["article_files", "decode", "file_id", "TEXT_SUFFIXES", "HTML_SUFFIXES", "RECORD_SUFFIXES", "SUPPORTED"]

TEXT_SUFFIXES = {".txt", ".md", ".markdown"}
HTML_SUFFIXES = {".html", ".htm"}
RECORD_SUFFIXES = {".json", ".jsonl"}
SUPPORTED = TEXT_SUFFIXES | HTML_SUFFIXES | RECORD_SUFFIXES

_BOMS = [  # UTF-32 first: its little-endian BOM begins with UTF-16's
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
]
#: Share of control characters above which decoded bytes are binary. Text has none but tabs and
#: newlines; random bytes read as cp1252 have ~12% (measured in tests/test_hostile.py).
MAX_CONTROL_SHARE = 0.01
#: Bytes that are not UTF-8 are read in a legacy encoding only when there are at least this many:
#: random bytes are almost never valid UTF-8, but a dozen of them can pass for cp1252 text.
MIN_LEGACY_CHARS = 24


def file_id(rel: str) -> str:
    """The id of a file: its path in the folder, with bytes that are not UTF-8 written as `\\xNN`."""
    return os.fsencode(rel).decode("utf-8", "backslashreplace")


def article_files(folder: Path) -> tuple[list[tuple[Path, str]], list[IngestWarning]]:
    """Each supported regular file under `folder` (or `folder` itself) with its id, plus why others were skipped."""
    folder = Path(folder)
    if folder.is_file():
        if folder.suffix.lower() in SUPPORTED:
            return [(folder, file_id(folder.name))], []
        return [], [IngestWarning(file_id(folder.name), f"unsupported file type {folder.suffix or '(none)'}, skipped")]
    if not folder.is_dir():
        raise FileNotFoundError(f"articles folder not found: {folder}")
    root = folder.resolve()
    found: list[tuple[Path, str]] = []
    warnings: list[IngestWarning] = []
    for directory, subdirs, names in _walk(folder, warnings):
        for name in names + [d for d in subdirs if os.path.islink(os.path.join(directory, d))]:
            if name.startswith("."):
                continue  # .DS_Store and friends
            path = Path(directory) / name
            rel = file_id(path.relative_to(folder).as_posix())
            reason = _skip_reason(path, root)
            if reason:
                warnings.append(IngestWarning(rel, f"{reason}, skipped"))
            elif path.suffix.lower() not in SUPPORTED:
                warnings.append(IngestWarning(rel, f"unsupported file type {path.suffix or '(none)'}, skipped"))
            else:
                found.append((path, rel))
    return found, warnings


#: Folders nested deeper than this are not read (a scraper's runaway tree, or a hostile one: a
#: recursive walk of 1,000 levels ends in RecursionError).
MAX_DEPTH = 32


def _walk(folder: Path, warnings: list[IngestWarning]) -> Iterator[tuple[str, list[str], list[str]]]:
    """`os.walk` without recursion, in sorted order, hidden folders left out, at most `MAX_DEPTH` deep."""
    stack = [(str(folder), 0)]
    while stack:
        directory, depth = stack.pop()
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError as error:
            warnings.append(IngestWarning(file_id(os.path.relpath(directory, folder)), f"cannot be read ({error.strerror})"))
            continue
        subdirs = [e.name for e in entries if not e.name.startswith(".") and e.is_dir(follow_symlinks=False)]
        names = [e.name for e in entries if not e.is_dir(follow_symlinks=False)]
        yield directory, subdirs, names
        real = [d for d in subdirs if not os.path.islink(os.path.join(directory, d))]
        if real and depth + 1 > MAX_DEPTH:
            rel = file_id(Path(os.path.relpath(directory, folder)).as_posix())
            warnings.append(IngestWarning(rel, f"folders nested over {MAX_DEPTH} levels deep are not read, skipped"))
            continue
        stack.extend((os.path.join(directory, d), depth + 1) for d in reversed(real))


def _skip_reason(path: Path, root: Path) -> str | None:
    try:
        mode = path.lstat().st_mode
        if stat.S_ISLNK(mode):
            try:
                target = path.resolve(strict=True)
            except RuntimeError:
                return "symlink loop"
            except OSError:
                return "broken symlink"
            if not target.is_relative_to(root):
                return "symlink to outside the articles folder"
            mode = target.stat().st_mode
            if stat.S_ISDIR(mode):
                return "symlink to a folder (not followed)"
    except OSError as error:
        return f"cannot be read ({error.strerror})"
    if not stat.S_ISREG(mode):
        return "not a regular file"
    return None


def decode(raw: bytes) -> tuple[str, list[str]]:
    """The text of a file's bytes and a note when it was not UTF-8; raises `IngestError` for binary content."""
    if not raw:
        raise IngestError("empty file")
    for bom, encoding in _BOMS:
        if raw.startswith(bom):
            try:
                text, notes = raw[len(bom) :].decode(encoding), ([] if encoding == "utf-8" else [f"read as {encoding} (BOM)"])
            except UnicodeDecodeError as error:
                raise IngestError(f"starts with a {encoding} BOM but is not {encoding} (byte {error.start})") from None
            return _checked(text), notes
    if b"\x00" in raw[:8192]:
        raise IngestError("binary file (NUL bytes), not text")
    try:
        return _checked(raw.decode("utf-8")), []
    except UnicodeDecodeError as error:
        if len(raw.strip()) < MIN_LEGACY_CHARS:
            raise IngestError(
                f"not valid UTF-8 ({error.reason} at byte {error.start}) and too short to guess its encoding"
            ) from None
        try:  # the usual mis-encoding of English news: Windows-1252 (a superset of Latin-1's letters)
            return _checked(raw.decode("cp1252")), [f"not valid UTF-8 (byte {error.start}); read as cp1252"]
        except UnicodeDecodeError:
            pass
        best = from_bytes(raw[:1_000_000]).best()
        if best is None or best.encoding is None:
            raise IngestError(f"not valid UTF-8 ({error.reason} at byte {error.start}) and no other encoding fits") from None
        return _checked(raw.decode(best.encoding, errors="replace")), [
            f"not valid UTF-8 (byte {error.start}); read as {best.encoding}"
        ]


def _checked(text: str) -> str:
    sample = text[:65536]
    controls = sum(1 for ch in sample if (ch < " " and ch not in "\t\n\r\f") or "\x7f" <= ch < "\xa0")
    if controls > MAX_CONTROL_SHARE * len(sample):
        raise IngestError(f"binary content ({controls} control characters in the first {len(sample):,}), not text")
    return safe_text(text)
