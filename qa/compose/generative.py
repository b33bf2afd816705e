"""The generative composer: a language model writes the answer, and only what verifies is shown.

It starts from the extractive answer (`qa/answer.py`), which has already chosen the evidence, the
lead and the verdict; the model gets that as a `Brief` and streams a few sentences. Each sentence
is then checked against the passages it cites (`verify.py`); the ones that fail are dropped and
the note says so. When the server is down, slow or writes nothing usable, when no sentence
survives, or when a status answer disagrees with the newest report, the extractive answer is
returned with one line saying why: the reader never gets less than the quotes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator

from ..config import Config
from ..embedding import Encoder
from ..query import Query
from ..records import Answer, Claim
from .brief import brief_of, messages
from .endpoint import Endpoint, GenerationFailed
from .verify import agrees, verify

__all__ = ["generate", "fallback"]

_QUOTED = "the answer below quotes the reports instead"


def fallback(answer: Answer, why: str, claims: tuple[Claim, ...] = ()) -> Answer:
    """The extractive answer, with one note saying why the generated one is not shown."""
    return dataclasses.replace(
        answer, composer="extractive", claims=claims, notes=(*answer.notes, f"No generated answer: {why}; {_QUOTED}.")
    )


def generate(
    answer: Answer, query: Query, config: Config, encoder: Encoder, endpoint: Callable[[], Endpoint]
) -> Iterator[str | Answer]:
    """The generated text as it is written (strings), then the final `Answer` (always last)."""
    brief = brief_of(answer)
    pieces: list[str] = []
    try:
        for piece in endpoint().stream(messages(brief)):
            pieces.append(piece)
            yield piece
    except GenerationFailed as error:
        yield fallback(answer, str(error))
        return
    written = "".join(pieces).strip()
    if not written:
        yield fallback(answer, "the model wrote nothing")
        return
    claims = tuple(verify(written, brief, encoder, min_words=config.verify_words, min_cosine=config.verify_cosine))
    kept = [c for c in claims if c.reason is None]
    if not kept:
        said = "its one sentence is not" if len(claims) == 1 else f"none of its {len(claims)} sentences is"
        yield fallback(answer, f"{said} supported by what it cites ({claims[0].reason})", claims)
        return
    if disagreement := agrees(claims, answer.verdict, query.status):
        yield fallback(answer, f"the generated answer disagrees with the newest report: {disagreement}", claims)
        return
    dropped = [c for c in claims if c.reason is not None]
    notes = answer.notes
    if dropped:
        reasons = "; ".join(f"“{_short(c.text)}”: {c.reason}" for c in dropped)
        sentences = "sentence was" if len(dropped) == 1 else "sentences were"
        notes = (*notes, f"{len(dropped)} generated {sentences} dropped, unsupported by what it cites: {reasons}")
    yield dataclasses.replace(answer, composer="generative", claims=claims, notes=notes)


def _short(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
