"""The command line mirrors the Python API: `qa build`, `qa add`, `qa remove`, `qa status`, `qa shard`, `qa ask`, `qa serve`,
`qa eval`, and for feeds `qa feeds add|list|remove`, `qa fetch`, `qa watch`.

Every command takes `--index` and `--model`; settings otherwise come from
`QA_*` environment variables (see `Config`). Errors print one line and exit 2. This module parses
the arguments and dispatches; the commands' bodies are in `qa/commands/`, one module per theme.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from .commands.asking import ask_command, eval_command
from .commands.feeds import feeds_command, fetch_command, watch_command
from .commands.index import add_command, build_command, remove_command, shard_command, status_command
from .commands.serving import serve_command
from .config import Config, ConfigError
from .errors import QAError

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qa", description="Ask questions of a folder of news articles.")
    commands = parser.add_subparsers(dest="command", required=True)

    def common(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--index", help="index folder (default: index/default, or $QA_INDEX)")
        sub.add_argument("--model", help="sentence-transformers name or path (default: bundled all-MiniLM-L6-v2)")

    build = commands.add_parser("build", help="bring the index up to date with a folder of articles (only what changed)")
    build.add_argument("--articles", help="folder or file of articles (default: the index's own folder, else articles/)")
    build.add_argument("--full", action="store_true", help="rebuild everything from the files")
    build.add_argument(
        "--ray",
        nargs="?",
        const="",
        metavar="ADDRESS",
        help="parse, chunk and embed on a Ray cluster (no address: start a local one, or $RAY_ADDRESS)",
    )
    build.add_argument(
        "--shards",
        type=int,
        metavar="N",
        help="with --ray and --out: build a shard set of N shards, one writer (a Ray actor) per shard, as `qa shard` would split it",
    )
    build.add_argument("--out", metavar="SET", help="with --shards: folder of the shard set (replaced whole if it is one)")
    common(build)

    add = commands.add_parser("add", help="add or update articles (files outside the articles folder are copied in)")
    add.add_argument("paths", nargs="+")
    common(add)

    remove = commands.add_parser("remove", help="remove articles from the index by id")
    remove.add_argument("article_ids", nargs="+")
    common(remove)

    status = commands.add_parser("status", help="what the index holds and what a build would change")
    status.add_argument("--articles", action="store_true", help="list the indexed article ids")
    common(status)

    shard = commands.add_parser("shard", help="write the index as N shard indexes with a manifest (served as one)")
    shard.add_argument("--shards", type=int, required=True)
    shard.add_argument("--out", required=True, help="folder of the shard set (replaced whole if it is one)")
    common(shard)

    ask = commands.add_parser("ask", help="answer one question with citations")
    ask.add_argument("question")
    ask.add_argument("--k", type=int, help="passages to retrieve (default 5)")
    ask.add_argument("--mode", choices=["hybrid", "dense", "bm25"])
    ask.add_argument("--since", help="only articles published on or after this ISO date")
    ask.add_argument("--until", help="only articles published on or before this ISO date")
    ask.add_argument("--source", action="append", help="only articles from this source (repeatable)")
    ask.add_argument("--json", action="store_true", help="machine-readable output")
    ask.add_argument(
        "--answer",
        choices=["extractive", "generative"],
        help="quote the reports (default), or have a language model write the answer, each sentence checked "
        "(endpoint: $QA_LLM_URL; else the bundled local model is started and stopped)",
    )
    common(ask)

    serve = commands.add_parser("serve", help="start the web UI (builds the index first if there is none)")
    serve.add_argument("--articles", help="articles to index when no index exists yet")
    serve.add_argument(
        "--watch", action="store_true", help="also fetch the index's feeds every QA_WATCH_EVERY seconds (see `qa watch`)"
    )
    serve.add_argument("--every", help="with --watch: how often, e.g. 90s, 15m, 1h (default: QA_WATCH_EVERY seconds)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument(
        "--shard-workers",
        choices=["local", "ray"],
        help="a shard set is read here (local) or by one Ray actor per shard (ray; cluster: $QA_RAY_ADDRESS)",
    )
    serve.add_argument(
        "--llm",
        metavar="local|URL",
        help="the model behind generated answers: `local` serves the bundled one on loopback ($QA_LLM_LOCAL), "
        "a URL is any OpenAI-compatible endpoint; generated answers then become the default",
    )
    serve.add_argument("--answer", choices=["extractive", "generative"], help="the composer the chat starts with")
    common(serve)

    feeds = commands.add_parser("feeds", help="the RSS/Atom feeds and news sitemaps the index follows")
    feed_commands = feeds.add_subparsers(dest="feeds_command", required=True)
    feed_add = feed_commands.add_parser("add", help="subscribe to a feed or sitemap (fetched by `qa fetch`)")
    feed_add.add_argument("url")
    feed_add.add_argument("--name", help="its name, which names its folder under <articles>/feeds/ (default: from the URL)")
    common(feed_add)
    common(feed_commands.add_parser("list", help="each feed with its last fetch, result and article count"))
    feed_remove = feed_commands.add_parser("remove", help="unsubscribe (its articles stay until `qa remove`)")
    feed_remove.add_argument("feed", metavar="NAME|URL")
    common(feed_remove)

    common(commands.add_parser("fetch", help="fetch every feed once and add what is new or changed"))
    watch = commands.add_parser("watch", help="fetch every feed again and again, until interrupted")
    watch.add_argument("--every", help="how often, e.g. 90s, 15m, 1h (default: QA_WATCH_EVERY seconds)")
    common(watch)

    evaluate = commands.add_parser("eval", help="score retrieval on a JSONL question set with gold quotes")
    evaluate.add_argument("questions")
    evaluate.add_argument("--k", type=int, default=10)
    evaluate.add_argument("--mode", choices=["hybrid", "dense", "bm25"])
    evaluate.add_argument("--json", action="store_true")
    common(evaluate)
    return parser


def _config(args: argparse.Namespace) -> Config:
    """The environment's configuration with this command's flags; a bad flag is named as a flag."""
    given = {"index": args.index, "model": args.model}
    if args.command != "status":
        given |= {
            "articles": getattr(args, "articles", None),
            "k": getattr(args, "k", None) if args.command == "ask" else None,
            "host": getattr(args, "host", None),
            "port": getattr(args, "port", None),
            "shard_workers": getattr(args, "shard_workers", None),
            "answer": getattr(args, "answer", None),
        }
    environment = Config.from_env()
    try:
        return environment.with_overrides(**given)
    except ConfigError as error:
        if error.setting is None or given.get(error.setting) is None:
            raise
        flag = "--" + error.setting.replace("_", "-")
        raise ConfigError(
            str(error).replace(f"setting {error.setting} (QA_{error.setting.upper()})", flag), error.setting
        ) from None


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        config = _config(args)
        commands = {
            "build": build_command,
            "add": add_command,
            "remove": remove_command,
            "status": status_command,
            "shard": shard_command,
            "ask": ask_command,
            "serve": serve_command,
            "eval": eval_command,
            "feeds": feeds_command,
            "fetch": fetch_command,
            "watch": watch_command,
        }
        return commands[args.command](args, config)
    except (QAError, ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; the index is as it was before this command", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `qa ask … | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return 0
    except Exception as error:  # a bug of ours: still one line (QA_DEBUG=1 shows the traceback)
        if os.environ.get("QA_DEBUG"):
            raise
        print(
            f"error: unexpected {type(error).__name__}: {str(error)[:300]} (run with QA_DEBUG=1 for the traceback)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
