"""qa: ask questions of a folder of news articles and get dated, exactly quoted, cited answers.

    >>> import qa
    >>> qa.build_index(qa.Config(articles="articles"))          # doctest: +SKIP
    >>> qa.retrieve("did the summit happen?", k=5)              # doctest: +SKIP
    >>> qa.answer("did the summit happen?").verdict             # doctest: +SKIP

Wherever an index is asked for, an `Index` or the path of an index folder works (a shard set
written by `split_index` / `qa shard` or `build_shards` / `qa build --ray --shards` included).
"""

from .config import Config
from .engine import Engine, answer, load_index, retrieve
from .errors import (
    BuildError,
    CorruptIndexError,
    IndexMismatchError,
    IndexNotFoundError,
    InvalidRequest,
    NoMatchError,
    QAError,
)
from .feeds import FetchReport, add_feed, fetch_feeds, list_feeds, remove_feed, watch
from .indexing import BuildReport, IndexStatus, add_articles, build_index, build_shards, index_status, remove_articles
from .records import Answer, Article, Chunk, Citation, Passage, Sentence, TimelineEntry
from .storage import Index, ShardedIndex
from .storage.split import split_index

__all__ = [
    "retrieve",
    "answer",
    "build_index",
    "build_shards",
    "add_articles",
    "remove_articles",
    "index_status",
    "split_index",
    "add_feed",
    "list_feeds",
    "remove_feed",
    "fetch_feeds",
    "watch",
    "FetchReport",
    "load_index",
    "Engine",
    "IndexStatus",
    "Config",
    "Index",
    "ShardedIndex",
    "BuildReport",
    "Article",
    "Chunk",
    "Sentence",
    "Citation",
    "Passage",
    "Answer",
    "TimelineEntry",
    "QAError",
    "NoMatchError",
    "InvalidRequest",
    "IndexNotFoundError",
    "IndexMismatchError",
    "CorruptIndexError",
    "BuildError",
]
__version__ = "0.1.0"
