"""The command line mirrors the Python API: `qa build`, `qa add`, `qa remove`, `qa status`, `qa shard`, `qa ask`, `qa serve`,
`qa eval`, and for feeds `qa feeds add|list|remove`, `qa fetch`, `qa watch`.

Every command takes `--index` and `--model`; settings otherwise come from
`QA_*` environment variables (see `Config`). Errors print one line and exit 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

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
            "build": _build,
            "add": _add,
            "remove": _remove,
            "status": _status,
            "shard": _shard,
            "ask": _ask,
            "serve": _serve,
            "eval": _eval,
            "feeds": _feeds,
            "fetch": _fetch,
            "watch": _watch,
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


def _log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _build(args: argparse.Namespace, config: Config) -> int:
    from .indexing import build_index, recorded_articles

    if args.shards is not None or args.out is not None:
        _check_shard_build(args)
    if args.articles is None:  # the index remembers its articles folder
        config = recorded_articles(config)
    stages = None
    if args.ray is not None:
        from .indexing.on_ray import RayStages, ray_address

        stages = RayStages(ray_address(args.ray or config.ray_address))
    try:
        if args.shards is not None:
            from .indexing.shard_writers import build_shards

            print(build_shards(config, args.out, args.shards, stages=stages, progress=True, log=_log).summary())
        else:
            print(build_index(config, full=args.full, progress=True, log=_log, stages=stages).summary())
    finally:
        if stages is not None:
            stages.close()
    return 0


def _check_shard_build(args: argparse.Namespace) -> None:
    """`--shards N --out SET` go together, with `--ray`; checked before a cluster is started."""
    from .storage.split import check_set

    if args.shards is None:
        raise ValueError("--out goes with --shards N (and --ray): qa build --ray [ADDRESS] --shards N --out SET")
    if args.ray is None:
        raise ValueError("--shards needs --ray: its writers are Ray actors (qa build --ray [ADDRESS] --shards N --out SET)")
    if args.out is None:
        raise ValueError("--shards needs --out SET, the folder of the shard set")
    check_set(args.out, args.shards)


def _add(args: argparse.Namespace, config: Config) -> int:
    from .indexing import add_articles

    print(add_articles(args.paths, config, progress=True, log=_log).summary())
    return 0


def _remove(args: argparse.Namespace, config: Config) -> int:
    from .indexing import remove_articles

    print(remove_articles(args.article_ids, config, log=_log).summary())
    print(
        "their files stay in the articles folder; a build leaves them out while the files are unchanged",
        file=sys.stderr,
    )
    return 0


def _status(args: argparse.Namespace, config: Config) -> int:
    from .indexing import index_status

    status = index_status(config)
    print(status.summary())
    for warning in status.warnings:
        print(warning)
    if args.articles:
        from .storage import Index

        print("\n".join(Index(config.index).article_ids()))
    return 0


def _shard(args: argparse.Namespace, config: Config) -> int:
    from .storage.split import split_index

    print(split_index(config, args.out, args.shards, log=_log).summary())
    return 0


def _ask(args: argparse.Namespace, config: Config) -> int:
    from .engine import engine_for
    from .render import to_json, to_text

    _build_the_sample_index(config)
    local = None
    if config.answer == "generative" and not config.llm_url:
        from .compose import LocalServer, llama_cpp_installed

        if llama_cpp_installed():  # else the answer falls back to quotes and says why
            _log(f"Starting the bundled model ({config.llm_local}) on loopback …")
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
    from .storage.feeds import holds_only_feeds

    index = Path(config.index)
    if index != default.index or (index.exists() and not holds_only_feeds(index)) or not Path(config.articles).is_dir():
        return
    from .indexing import build_index

    print(f"No index at {config.index} yet; building it from {config.articles} …", file=sys.stderr, flush=True)
    print(build_index(config).summary(), file=sys.stderr, flush=True)


def _serve(args: argparse.Namespace, config: Config) -> int:
    from .ui import serve

    if args.every and not args.watch:
        raise ValueError("--every goes with --watch")
    watch_every = (_seconds(args.every) if args.every else config.watch_every) if args.watch else None
    if not args.llm:
        serve(config, watch_every=watch_every)
        return 0
    composer = args.answer or "generative"
    if args.llm != "local":
        serve(config.with_overrides(llm_url=args.llm, answer=composer), watch_every=watch_every)
        return 0
    from .compose import LocalServer

    _log(f"Starting the bundled model ({config.llm_local}) on loopback …")
    with LocalServer(config.llm_local, config) as local:
        _log(f"The bundled model answers at {local.url}")
        serve(config.with_overrides(llm_url=local.url, llm_api=local.api, answer=composer), watch_every=watch_every)
    return 0


def _seconds(every: str) -> float:
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


def _feeds(args: argparse.Namespace, config: Config) -> int:
    from .feeds import add_feed, list_feeds, remove_feed

    if args.feeds_command == "add":
        feed = add_feed(args.url, config, name=args.name)
        print(f"added feed {feed.name}: {feed.url} (fetch it with `qa fetch`)")
    elif args.feeds_command == "remove":
        feed, ids = remove_feed(args.feed, config)
        print(f"removed feed {feed.name}; its {len(ids)} articles stay in the index (`qa remove` takes them out)")
    else:
        feeds = list_feeds(config)
        for feed in feeds:
            last = f"last fetch {feed.last_fetch}: {feed.last_result}" if feed.last_fetch else "not fetched yet"
            print(f"{feed.name}  {feed.url}\n    {feed.articles} articles; {last}")
        if not feeds:
            print("no feeds: add one with `qa feeds add URL`")
    return 0


def _fetch(args: argparse.Namespace, config: Config) -> int:
    from .feeds import fetch_feeds

    print(fetch_feeds(config, log=_log).summary())
    return 0


def _watch(args: argparse.Namespace, config: Config) -> int:
    import threading

    from .feeds import watch

    every = _seconds(args.every) if args.every else None
    _log(f"fetching every feed every {every or config.watch_every:g} s; Ctrl-C stops")
    watch(config, stop=threading.Event(), log=_log, every=every)
    return 0


def _eval(args: argparse.Namespace, config: Config) -> int:
    from .evaluation import evaluate, format_report, load_questions

    _build_the_sample_index(config)
    report = evaluate(load_questions(args.questions), k=args.k, mode=args.mode, config=config)
    print(json.dumps(report, indent=2) if args.json else format_report(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
