"""What a build says it did: `BuildReport`, returned by `build_index`, `add_articles`,
`remove_articles` and the add of fetched feed articles, and printed by `qa build`, `qa add` and `qa remove`.

Kept apart from the writer (`writer.py`, which fills it in) so that the writer stays short.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..records import IngestWarning

__all__ = ["BuildReport"]


@dataclass(frozen=True)
class BuildReport:
    path: Path
    articles: int
    chunks: int
    added: int
    changed: int
    removed: int
    embedded: int  #: chunks embedded now; the others were kept or reused by content hash
    linked: int  #: articles linked into stories now; the rest kept their story
    seconds: float
    warnings: tuple[IngestWarning, ...]
    generation: int
    factory: str
    #: Stored reports that story linking read to link the new ones: those that share a telling name
    #: with one (`qa/stories.py`), or every kept one when the linking rules changed.
    stories_read: int = 0

    @property
    def chunks_per_second(self) -> float:
        return self.embedded / self.seconds if self.seconds else 0.0

    def summary(self) -> str:
        return (
            f"generation {self.generation}: {_count(self.articles, 'article')}, {_count(self.chunks, 'chunk')} ({self.added} added, "
            f"{self.changed} changed, {self.removed} removed; {self.embedded} chunks embedded, {self.linked} articles "
            f"linked into stories) in {self.seconds:.1f} s, {len(self.warnings)} warnings, vectors {self.factory} → {self.path}"
        )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
