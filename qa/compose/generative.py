"""The generative composer: a language model writes the answer, and only what verifies is shown.

It starts from the extractive answer (`qa/answer.py`), which has already chosen the evidence, the
lead and the verdict; the model gets that as a `Brief` and streams a few sentences. By default
(`llm_shape=passages`) it is asked once per passage, the lead first, for one short sentence from
that passage alone, and the composer ends each sentence with that passage's number: a small model
that never writes a citation still writes sentences that cite what they were written from. For a
status question only the lead and reports newer than it are asked: an older report's "yes" is
the mistake this product exists to avoid. Each sentence is then checked against the passages it
cites (`verify.py`); the ones that fail are dropped and the note says so. When the server is down, slow or writes nothing usable, when no sentence
survives, or when a status answer disagrees with the newest report, the extractive answer is
returned with one line saying why: the reader never gets less than the quotes.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Generator, Iterator
from typing import Any

from ..config import Config
from ..embedding import Encoder
from ..query import Query
from ..records import Answer, Claim
from .brief import Brief, Given, brief_of, messages, passage_messages, passage_prompt
from .endpoint import Endpoint, GenerationFailed
from .verify import CITES, agrees, split_claims, verify

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
    try:
        written = (yield from _written(brief, query, config, endpoint)).strip()
    except GenerationFailed as error:
        yield fallback(answer, str(error))
        return
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


def _written(brief: Brief, query: Query, config: Config, endpoint: Callable[[], Endpoint]) -> Generator[str, None, str]:
    """Streams the text as it is written, in the configured shape, within `llm_timeout` in all, and
    returns the text to verify: with `passages`, each passage's sentences ending with its number."""
    server = endpoint()
    deadline = time.monotonic() + config.llm_timeout

    def relayed(chat: list[dict[str, str]], prompt: str, **options: Any) -> Generator[str, None, str]:
        """One request through the configured API, its pieces passed on as they come; returns the whole."""
        if config.llm_api == "completions":
            pieces = server.complete(prompt, deadline=deadline, **options)
        else:
            pieces = server.stream(chat, deadline=deadline, **options)
        whole = []
        for piece in pieces:
            whole.append(piece)
            yield piece
        return "".join(whole)

    if config.llm_shape == "cited":
        chat = messages(brief)
        return (yield from relayed(chat, chat[0]["content"] + "\n"))
    chosen = _asked(brief, query.status)
    budget = max(16, config.llm_max_tokens // max(len(chosen), 1))
    cited: list[str] = []
    for given in chosen:
        chat, prompt = passage_messages(brief, given), passage_prompt(brief, given)
        written = yield from relayed(chat, prompt, stop=["\n"], max_tokens=budget)
        if sentences := _cite(written, given.number):
            cited.append(sentences)
            yield f" [{given.number}] "  # shown while the next passage is asked; the final text puts it in place
    return " ".join(cited)


def _asked(brief: Brief, status: bool) -> list[Given]:
    """The passages asked for a sentence: the lead first, then the others. For a status question with
    a verdict, the lead and only reports newer than it: the newest report decides, and an older one's
    answer ("it will open on 18 November") is the mistake this product exists to avoid."""
    lead = [g for g in brief.passages if g.number == brief.lead]
    others = [g for g in brief.passages if g.number != brief.lead]
    if status and brief.verdict and lead:
        since = lead[0].date
        return lead + [g for g in others if since is not None and g.date is not None and g.date > since]
    return lead + others


def _cite(written: str, number: int) -> str:
    """Each sentence the model wrote from passage `number`, ending with `[number]`: the citation is the
    request's, not the model's (any numbers it wrote in brackets are removed: it saw no other passage)."""
    sentences = [" ".join(CITES.sub("", text).split()) for text, _ in split_claims(" ".join(written.split()))]
    return " ".join(_cited(text, number) for text in sentences if any(ch.isalnum() for ch in text))


def _cited(sentence: str, number: int) -> str:
    """ "… off [1]." for "… off.": the citation goes before a closing full stop, after anything else."""
    return f"{sentence[:-1].rstrip()} [{number}]." if sentence.endswith(".") else f"{sentence} [{number}]"


def _short(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
