"""The writer: what a build does with a scan (`scan.py`).

    scan → chunk and embed what is new → link stories → one new generation (`IndexStore`)
    (a large build: one generation every `Config.commit_chunks` chunks, `windows.py`)

An article whose content hash is unchanged is not re-chunked or re-embedded, and a chunk whose
text was embedded before (a renamed file) reuses its vectors. Removed articles are deleted from
every part. Every byte is written by `qa/storage/writing.py`, in generations that a single
commit each publishes: readers see the old generation or the new one, and a killed or failed build
leaves the old one. Parsing, chunking and embedding run wherever the writer's `Stages` say
(`stages.py`): here, or on a Ray cluster. The steps a shard-set build shares with this one are in
`steps.py`; what a build says it did, `BuildReport`, in `report.py`.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from ..config import Config
from ..embedding import Encoder
from ..engine import shared_encoder
from ..errors import BuildError
from ..ingest import INGEST_VERSION
from ..records import Article, Chunk
from ..storage import is_sharded
from ..storage.new_generation import Generation
from ..storage.rows import add_keywords
from ..storage.writing import IndexStore
from ..stories import StoryMember, assign_stories, link, linking_settings, member_of
from .report import BuildReport
from .scan import Log, Scan, Scanner, article_hash
from .stages import LocalStages, Stages
from .steps import chunk_scan, embed_chunks, index_manifest
from .windows import windows

__all__ = ["Writer"]


class Writer:
    """The one process allowed to change an index folder, for the length of a `with` block."""

    def __init__(self, target: Path, config: Config, log: Log, stages: Stages | None = None) -> None:
        self.target, self.config, self.log = target, config, log
        self.stages = stages or LocalStages()
        self.folder = target.resolve() if target.exists() else target.absolute()

    def __enter__(self) -> Writer:
        if is_sharded(self.folder):
            raise BuildError(
                f"{self.target} is a shard set (made by `qa shard`); build its source index and run `qa shard` again"
            )
        self.store = IndexStore(
            self.folder,
            self.target,
            keyword_heap_mb=self.config.keyword_heap_mb,
            keyword_threads=self.config.keyword_threads,
        ).__enter__()
        self.meta = self.store.meta
        self.scanner = Scanner(
            self.folder, self.meta, self.store.files(), self.store.article_hashes(), self.config, self.stages, self.log
        )
        return self

    def __exit__(self, *exc: object) -> None:
        self.store.__exit__(*exc)

    def apply(self, scan: Scan, *, full: bool, progress: bool) -> BuildReport:
        started = time.perf_counter()
        encoder = shared_encoder(self.config)
        if self.meta.get("model") not in (None, encoder.model_id) and not full:
            raise BuildError(
                f"the index was built with model {self.meta['model']!r}, the configured model is "
                f"{encoder.model_id!r}; rebuild it with `qa build --full`"
            )
        stored = self.store.article_ids()
        if full or not self.meta:
            scan.removed |= stored - {a.id for a in scan.upserts}
        self._check_remaining(scan, len(stored))
        settings = linking_settings(self.config)
        relink_all = self.meta.get("stories") != settings and bool(self.meta)
        stale_ingest = bool(self.meta) and self.meta.get("ingest_version") != INGEST_VERSION
        if self.meta and not (full or scan.upserts or scan.removed or relink_all or stale_ingest):  # nothing changed
            return BuildReport(
                self.target,
                int(self.meta["articles"]),
                int(self.meta["chunks"]),
                *(0, 0, 0, 0, 0),
                time.perf_counter() - started,
                tuple(scan.warnings),
                int(self.meta["generation"]),
                str(self.meta["factory"]),
            )
        chunks = self._chunk(scan)
        self._check_remaining(scan, len(stored))
        parts = windows(scan, chunks, self._window(full, encoder), stored=stored, full=full)
        if len(parts) > 1:
            self.log(f"{len(chunks)} chunks to write: {len(parts)} generations of about {self.config.commit_chunks} chunks each")
        embedded = linked = read = 0
        for n, part in enumerate(parts):
            got = self._commit(
                part.scan,
                part.chunks,
                encoder,
                full=full and len(parts) == 1,
                reuse=not full,
                forget_files=(full and n == 0) or not self.meta,
                relink_all=relink_all and n == 0,
                progress=progress,
            )
            embedded, linked, read = embedded + got[0], linked + got[1], read + got[2]
        return BuildReport(
            self.target,
            int(self.meta["articles"]),
            int(self.meta["chunks"]),
            len(scan.upserts) - len(scan.changed),
            len(scan.changed),
            len(scan.removed),
            embedded,
            linked,
            time.perf_counter() - started,
            tuple(scan.warnings),
            int(self.meta["generation"]),
            str(self.meta["factory"]),
            read,
        )

    def _window(self, full: bool, encoder: Encoder) -> int:
        """Chunks per generation (`windows.py`); 0, one commit, when vectors of two models would mix."""
        if full and self.meta and self.meta.get("model") != encoder.model_id:
            return 0  # every stored vector is replaced: readers keep the old model's index until the end
        return self.config.commit_chunks

    def _commit(
        self,
        scan: Scan,
        chunks: list[Chunk],
        encoder: Encoder,
        *,
        full: bool,
        reuse: bool,
        forget_files: bool,
        relink_all: bool,
        progress: bool,
    ) -> tuple[int, int, int]:
        """Embed (`reuse`: not a chunk whose text was embedded before), link and write one generation
        (`full`: a new one, not an update of the current one); returns the chunks embedded, the
        articles linked and the stored reports linking read."""
        by_id = {a.id: a for a in scan.upserts}
        vectors, sentence_vectors, embedded = self._embed(encoder, chunks, by_id, reuse=reuse, progress=progress)
        members, linked, read = self._link(scan, chunks, vectors, relink_all)
        generation = int(self.meta.get("generation", 0)) + 1
        leaving = scan.removed | scan.changed | ({a.id for a in scan.upserts} if full else set())
        self.log("writing the keyword index")
        with self.store.generation(generation) as new:
            keywords = new.keywords(full=full, leaving=scan.removed | scan.changed | set(by_id))
            for chunk in chunks:
                add_keywords(keywords, by_id[chunk.article_id], chunk)
            keywords.commit()
            self.log(f"committing generation {generation}")
            self._write(new, scan, chunks, vectors, sentence_vectors, members, linked, leaving, full, forget_files, encoder)
        self.meta = self.store.reread_meta()
        self.log(f"generation {generation} committed")
        return embedded, len(linked) + len(members), read

    def _check_remaining(self, scan: Scan, stored: int) -> None:
        if stored - len(scan.removed) - len(scan.changed) + len(scan.upserts) <= 0:
            raise BuildError(f"no readable articles in {self.config.articles}; the previous index (if any) is unchanged")

    def _write(
        self,
        new: Generation,
        scan: Scan,
        chunks: list[Chunk],
        vectors: np.ndarray,
        sentence_vectors: list[np.ndarray],
        members: list[StoryMember],
        linked: dict[str, StoryMember],
        leaving: set[str],
        full: bool,
        forget_files: bool,
        encoder: Encoder,
    ) -> str:
        """The generation's metadata, vectors and manifest; returns the vector index's factory."""
        dropped = new.delete(leaving)
        story = {m.article_id: m for m in members}
        new.insert([(a, article_hash(a), story[a.id]) for a in scan.upserts], chunks, vectors, sentence_vectors)
        new.relink(list(linked.values()))
        new.record_files(scan.files, only=forget_files)
        factory = new.write_vectors(
            dropped,
            chunks,
            vectors,
            full=full,
            dimension=encoder.dimension,
            exact_below=self.config.exact_below,
            nprobe=self.config.ivf_nprobe,
            retrain=self.config.ivf_retrain_factor,
        )
        articles, count = new.counts()
        trained_on = (
            count if factory != self.meta.get("factory") or full or "IVF" not in factory else self.meta.get("trained_on", count)
        )
        folder = Path(self.meta.get("articles_folder") or self.config.articles)
        new.publish(index_manifest(self.config, encoder, folder, articles, count, factory) | {"trained_on": trained_on})
        return factory

    def _chunk(self, scan: Scan) -> list[Chunk]:
        return chunk_scan(scan, self.stages, self.config, self.log)

    def _embed(
        self, encoder: Encoder, chunks: list[Chunk], articles: dict[str, Article], *, reuse: bool, progress: bool
    ) -> tuple[np.ndarray, list[np.ndarray], int]:
        vectors = np.zeros((len(chunks), encoder.dimension), dtype=np.float32)
        sentence_vectors: list[np.ndarray] = [np.zeros((0, encoder.dimension), np.float32)] * len(chunks)
        missing = list(range(len(chunks)))
        if reuse and chunks:
            known = self.store.stored_vectors(list({c.content_hash for c in chunks}))
            missing = []
            for i, chunk in enumerate(chunks):
                if chunk.content_hash in known and known[chunk.content_hash][1] is not None:
                    vector, sentences = known[chunk.content_hash]
                    vectors[i] = np.frombuffer(vector, dtype=np.float16)
                    sentence_vectors[i] = (
                        np.frombuffer(sentences, dtype=np.float16).reshape(-1, encoder.dimension).astype(np.float32)  # type: ignore[arg-type]
                    )
                else:
                    missing.append(i)
        quiet = not progress and len(missing) <= 256  # a small `qa add` says nothing until its summary
        got, got_spans = embed_chunks(
            self.stages, self.config, (lambda _: None) if quiet else self.log, [chunks[i] for i in missing], articles
        )
        if len(missing):
            vectors[missing] = got
        for i, span_vectors in zip(missing, got_spans):
            sentence_vectors[i] = span_vectors
        return vectors, sentence_vectors, len(missing)

    def _link(
        self, scan: Scan, chunks: list[Chunk], vectors: np.ndarray, relink_all: bool
    ) -> tuple[list[StoryMember], dict[str, StoryMember], int]:
        """Stories for the new articles (and for every article when the linking rules changed).

        Returns the members of the new articles, the re-linked members of kept articles, and how
        many stored reports were read. Only a relink reads every kept article (its text, one at a
        time, for its names: one pass over every member); otherwise linking reads the stored
        articles that share a telling name with a new one, and counts (`qa/stories.py`).
        """
        leaving = scan.removed | scan.changed
        dimension = vectors.shape[1]
        leads: dict[str, int] = {}
        for i, chunk in enumerate(chunks):
            leads.setdefault(chunk.article_id, i)
        fresh_vectors = np.array(
            [vectors[leads[a.id]] if a.id in leads else np.zeros(dimension, np.float32) for a in scan.upserts], dtype=np.float32
        ).reshape(-1, dimension)
        if relink_all:
            kept, kept_vectors = [], []
            for article, lead in self.store.staying_articles(leaving, dimension):
                kept.append(member_of(article))
                kept_vectors.append(lead)
            fresh = [member_of(a) for a in scan.upserts]
            vectors = np.concatenate([np.array(kept_vectors, np.float32).reshape(-1, dimension), fresh_vectors])
            everyone = link(kept + fresh, vectors, self.config).members
            return everyone[len(kept) :], {m.article_id: m for m in everyone[: len(kept)]}, len(kept)
        linking = assign_stories(scan.upserts, fresh_vectors, self.config, self.store.stories(leaving, dimension))
        return linking.members, {}, linking.read
