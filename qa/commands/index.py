"""The commands that build and change the index: `qa build`, `qa add`, `qa remove`, `qa status`
and `qa shard` (moved out of `qa/cli.py`, which parses their arguments)."""

from __future__ import annotations

import argparse
import sys

from ..config import Config
from . import log

__all__ = ["build_command", "add_command", "remove_command", "status_command", "shard_command"]


def build_command(args: argparse.Namespace, config: Config) -> int:
    from ..indexing import build_index, recorded_articles

    if args.shards is not None or args.out is not None:
        _check_shard_build(args)
    if args.articles is None:  # the index remembers its articles folder
        config = recorded_articles(config)
    stages = None
    if args.ray is not None:
        from ..indexing.on_ray import RayStages, ray_address

        stages = RayStages(ray_address(args.ray or config.ray_address))
    try:
        if args.shards is not None:
            from ..indexing.shard_writers import build_shards

            print(build_shards(config, args.out, args.shards, stages=stages, progress=True, log=log).summary())
        else:
            print(build_index(config, full=args.full, progress=True, log=log, stages=stages).summary())
    finally:
        if stages is not None:
            stages.close()
    return 0


def _check_shard_build(args: argparse.Namespace) -> None:
    """`--shards N --out SET` go together, with `--ray`; checked before a cluster is started."""
    from ..storage.split import check_set

    if args.shards is None:
        raise ValueError("--out goes with --shards N (and --ray): qa build --ray [ADDRESS] --shards N --out SET")
    if args.ray is None:
        raise ValueError("--shards needs --ray: its writers are Ray actors (qa build --ray [ADDRESS] --shards N --out SET)")
    if args.out is None:
        raise ValueError("--shards needs --out SET, the folder of the shard set")
    check_set(args.out, args.shards)


def add_command(args: argparse.Namespace, config: Config) -> int:
    from ..indexing import add_articles

    print(add_articles(args.paths, config, progress=True, log=log).summary())
    return 0


def remove_command(args: argparse.Namespace, config: Config) -> int:
    from ..indexing import remove_articles

    print(remove_articles(args.article_ids, config, log=log).summary())
    print(
        "their files stay in the articles folder; a build leaves them out while the files are unchanged",
        file=sys.stderr,
    )
    return 0


def status_command(args: argparse.Namespace, config: Config) -> int:
    from ..indexing import index_status

    status = index_status(config)
    print(status.summary())
    for warning in status.warnings:
        print(warning)
    if args.articles:
        from ..storage import Index

        print("\n".join(Index(config.index).article_ids()))
    return 0


def shard_command(args: argparse.Namespace, config: Config) -> int:
    from ..storage.split import split_index

    print(split_index(config, args.out, args.shards, log=log).summary())
    return 0
