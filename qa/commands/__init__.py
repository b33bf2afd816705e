"""The bodies of the `qa` commands, one module per theme, so that `qa/cli.py` stays the argument
parser and the dispatch: `index.py` builds and changes the index (build, add, remove, status,
shard), `asking.py` asks it (ask, eval), `serving.py` starts the web UI (serve), `feeds.py`
follows feeds (feeds, fetch, watch).

Each command is `<name>_command(args, config) -> exit status`. What several of them share is here:
progress lines go to stderr (`log`), and `--every` is read by `seconds`.
"""

from __future__ import annotations

import sys

__all__ = ["log", "seconds"]


def log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def seconds(every: str) -> float:
    """`90s`, `15m`, `1h` or a plain number of seconds."""
    units = {"s": 1, "m": 60, "h": 3600}
    text = every.strip().lower()
    try:
        seconds = float(text[:-1]) * units[text[-1]] if text and text[-1] in units else float(text)
    except ValueError:
        seconds = 0
    if not seconds >= 1:
        raise ValueError(f"--every {every!r}: give a time of at least a second, e.g. 90s, 15m or 1h")
    return seconds
