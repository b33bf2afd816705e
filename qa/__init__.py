"""qa: ask questions of a folder of news articles and get dated, exactly quoted, cited answers.

    >>> import qa
    >>> qa.build_index(qa.Config(articles="articles"))          # doctest: +SKIP
    >>> qa.retrieve("did the summit happen?", k=5)              # doctest: +SKIP
    >>> qa.answer("did the summit happen?").text                # doctest: +SKIP

Wherever an index is asked for, an `Index` or the path of an index folder works.
"""

from .answer import answer
from .config import Config
from .errors import BuildError, CorruptIndexError, IndexMismatchError, IndexNotFoundError, QAError
from .records import Answer, Article, Chunk, Citation, Passage, Sentence, TimelineEntry
from .retrieval import load_index, retrieve
from .store import BuildReport, Index, build_index

__all__ = [
    "retrieve",
    "answer",
    "build_index",
    "load_index",
    "Config",
    "Index",
    "BuildReport",
    "Article",
    "Chunk",
    "Sentence",
    "Citation",
    "Passage",
    "Answer",
    "TimelineEntry",
    "QAError",
    "IndexNotFoundError",
    "IndexMismatchError",
    "CorruptIndexError",
    "BuildError",
]
__version__ = "0.1.0"
