"""The commands that ask the index: `qa ask` (one question, answered with citations) and `qa eval`
(a question set, scored), moved out of `qa/cli.py`; both build the sample index on a fresh checkout."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..config import Config
from . import log

__all__ = ["ask_command", "eval_command"]


def ask_command(args: argparse.Namespace, config: Config) -> int:
    from ..engine import engine_for
    from ..render import to_json, to_text

    _build_the_sample_index(config)
    local = None
    if config.answer == "generative" and not config.llm_url:
        from ..compose import LocalServer, llama_cpp_installed

        if llama_cpp_installed():  # else the answer falls back to quotes and says why
            log(f"Starting the bundled model ({config.llm_local}) on loopback …")
            local = LocalServer(config.llm_local, config).start()
            config = config.with_overrides(llm_url=local.url, llm_api=local.api)
    try:
        result = engine_for(config.index, config).answer(
            args.question, since=args.since, until=args.until, sources=args.source, mode=args.mode
        )
    finally:
        if local is not None:
            local.stop()
    print(json.dumps(to_json(result), ensure_ascii=False, indent=2) if args.json else to_text(result))
    return 0


def _build_the_sample_index(config: Config) -> None:
    """On a fresh checkout the default index does not exist yet: `qa ask` and `qa eval` build it from
    the default articles folder, as `qa serve` does, instead of failing. An index path given explicitly
    (`--index`, `QA_INDEX`) is never built behind the user's back, and the Python API never builds."""
    default = Config()
    from ..storage.feeds import holds_only_feeds

    index = Path(config.index)
    if index != default.index or (index.exists() and not holds_only_feeds(index)) or not Path(config.articles).is_dir():
        return
    from ..indexing import build_index

    log(f"No index at {config.index} yet; building it from {config.articles} …")
    log(build_index(config).summary())


def eval_command(args: argparse.Namespace, config: Config) -> int:
    from ..evaluation import evaluate, format_report, load_questions

    _build_the_sample_index(config)
    report = evaluate(load_questions(args.questions), k=args.k, mode=args.mode, config=config)
    print(json.dumps(report, indent=2) if args.json else format_report(report))
    return 0
