"""`qa serve`: the web UI, optionally watching feeds and with a model for generated answers (the
bundled one started on loopback, or any OpenAI-compatible endpoint); moved out of `qa/cli.py`."""

from __future__ import annotations

import argparse

from ..config import Config
from . import log, seconds

__all__ = ["serve_command"]


def serve_command(args: argparse.Namespace, config: Config) -> int:
    from ..ui import serve

    if args.every and not args.watch:
        raise ValueError("--every goes with --watch")
    watch_every = (seconds(args.every) if args.every else config.watch_every) if args.watch else None
    if not args.llm:
        serve(config, watch_every=watch_every)
        return 0
    composer = args.answer or "generative"
    if args.llm != "local":
        serve(config.with_overrides(llm_url=args.llm, answer=composer), watch_every=watch_every)
        return 0
    from ..compose import LocalServer

    log(f"Starting the bundled model ({config.llm_local}) on loopback …")
    with LocalServer(config.llm_local, config) as local:
        log(f"The bundled model answers at {local.url}")
        serve(config.with_overrides(llm_url=local.url, llm_api=local.api, answer=composer), watch_every=watch_every)
    return 0
