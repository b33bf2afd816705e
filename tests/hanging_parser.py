"""A parser for the pool's time-limit test: jobs named `hang*` never finish, the rest parse as usual.

It lives in a module of its own because the pool's worker processes import it by name.
"""

from __future__ import annotations

import threading

from qa.ingest.pool import Parsed, ParseJob, parse_job


def parse_or_hang(job: ParseJob) -> Parsed:
    if job.rel.startswith("hang"):
        threading.Event().wait()  # blocks until the pool kills this worker
    return parse_job(job)
