"""The index panel at `/admin/`: status, the indexed articles, upload, remove and rebuild, and the feeds
the index follows (add, remove, fetch now; each with its last fetch, result and article count).

`server.py` mounts it behind a login when an admin password is set. Every change to the index runs
`qa add/remove/build` in a process of its own; if it fails, the previous index keeps serving. An
upload is taken only from the framework's own upload folder: a file reference a client makes up
(`{"path": "/etc/…"}`) is refused, so the panel can never be made to index a file of the server's.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import gradio as gr
from gradio.utils import get_upload_folder

from ..config import Config
from ..errors import QAError, shown
from ..feeds import list_feeds
from ..indexing import recorded_articles
from ..ingest import SUPPORTED, IngestError
from ..ingest.files import decode
from ..render import markdown_escape
from .reader import internal_error
from .service import Service

__all__ = ["create_admin", "stage_uploads", "run_qa", "Changes"]


class Changes:
    """Changes to the index, one at a time, each in a `qa` process of its own (the panel and the
    JSON API's admin routes share one)."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._lock = threading.Lock()

    def run(self, command: list[str], doing: str) -> Iterator[str]:
        if not self._lock.acquire(blocking=False):
            yield "Another change to the index is running; try again when it is done."
            return
        try:
            yield from run_qa(command, recorded_articles(self.config), doing)
        except Exception:  # noqa: BLE001 - logged with its traceback by internal_error; the client sees one line
            yield internal_error(doing)
        finally:
            self._lock.release()

    def upload(self, files: list[str] | None) -> Iterator[str]:
        """Uploaded files, checked (where they are, type, size, text), saved under safe names, then added."""
        if not files:
            yield "Choose .txt, .md, .html, .json or .jsonl files first."
            return
        staged, problems = stage_uploads(files, self.config)
        if problems and not staged:
            yield "**Nothing was added.** " + " ".join(markdown_escape(p) for p in problems)
            return
        try:
            for line in self.run(["add", *map(str, staged)], "adding articles"):
                yield line + "".join(f"\n- skipped: {markdown_escape(p)}" for p in problems)
        finally:
            shutil.rmtree(staged[0].parent, ignore_errors=True)


def create_admin(service: Service | Config, changes: Changes | None = None) -> gr.Blocks:
    """The index panel: status, the indexed articles, upload, remove and rebuild; the feeds."""
    service = service if isinstance(service, Service) else Service(service)
    config = service.config
    changes = changes or Changes(config)

    def status() -> str:
        try:
            index = service.engine.index()
        except QAError as error:
            return f"No usable index: {markdown_escape(str(error))}"
        m = index.manifest
        return (
            f"Index `{markdown_escape(str(config.index))}` (generation {index.generation}): {m['articles']} articles, "
            f"{m['chunks']} chunks, vectors {markdown_escape(index.factory)}, built {m['built_at']} with "
            f"{markdown_escape(m['model'])} from `{markdown_escape(str(m.get('articles_folder', '')))}`."
        )

    def rebuild() -> Iterator[str]:
        yield from changes.run(["build"], "rebuilding")

    def remove(article_id: str) -> Iterator[str]:
        if not (article_id or "").strip():
            yield "Give the id of an article (see the list above)."
            return
        yield from changes.run(["remove", article_id.strip()], "removing an article")

    def feeds() -> list[list[str]]:
        try:
            return [[f.name, f.url, f.last_fetch or "never", f.last_result or "", str(f.articles)] for f in list_feeds(config)]
        except (QAError, sqlite3.Error):
            return []

    def add_feed(url: str, name: str) -> Iterator[str]:
        if not (url or "").strip():
            yield "Give the URL of an RSS or Atom feed or a news sitemap."
            return
        yield from changes.run(
            ["feeds", "add", url.strip(), *(["--name", name.strip()] if (name or "").strip() else [])], "adding a feed"
        )

    def remove_feed(name: str) -> Iterator[str]:
        if not (name or "").strip():
            yield "Give the name or URL of a feed (see the list above)."
            return
        yield from changes.run(["feeds", "remove", name.strip()], "removing a feed")

    def fetch() -> Iterator[str]:
        yield from changes.run(["fetch"], "fetching the feeds")

    def articles(search: str) -> list[list[str]]:
        try:
            return [list(row) for row in service.engine.index().article_rows(search or "")]
        except QAError:
            return []

    with gr.Blocks(title="qa: the index") as panel:
        gr.Markdown("## The index\n[← Ask the news](../)")
        info = gr.Markdown(status())
        with gr.Row():
            search = gr.Textbox(label="Find an indexed article", placeholder="id, title or source", scale=3)
            refresh = gr.Button("Refresh", scale=1)
        listing = gr.Dataframe(
            articles(""), headers=["id", "title", "date", "source"], interactive=False, wrap=True, elem_id="qa-articles"
        )
        with gr.Row():
            files = gr.File(
                label="Add articles", file_count="multiple", type="filepath", elem_id="qa-upload", file_types=sorted(SUPPORTED)
            )
            with gr.Column():
                add = gr.Button("Add the files to the index", elem_id="qa-add")
                gone = gr.Textbox(label="Article id to remove")
                drop = gr.Button("Remove the article")
                button = gr.Button("Rebuild index from articles")
        result = gr.Markdown(elem_id="qa-admin")
        private = {"api_visibility": "private"}
        search.submit(articles, inputs=search, outputs=listing, **private)
        refresh.click(articles, inputs=search, outputs=listing, **private)
        add.click(changes.upload, inputs=files, outputs=result, concurrency_limit=1, **private).then(
            articles, inputs=search, outputs=listing, **private
        ).then(status, outputs=info, **private)
        drop.click(remove, inputs=gone, outputs=result, concurrency_limit=1, **private).then(
            articles, inputs=search, outputs=listing, **private
        ).then(status, outputs=info, **private)
        button.click(rebuild, outputs=info, api_name="rebuild", concurrency_limit=1)

        gr.Markdown("### Feeds\nRSS and Atom feeds and news sitemaps the index follows (`qa fetch`, `qa serve --watch`).")
        feed_list = gr.Dataframe(
            feeds(),
            headers=["name", "url", "last fetch (UTC)", "result", "articles"],
            interactive=False,
            wrap=True,
            elem_id="qa-feeds",
        )
        with gr.Row():
            feed_url = gr.Textbox(label="Feed or sitemap URL", scale=3)
            feed_name = gr.Textbox(label="Name (optional)", scale=1)
            subscribe = gr.Button("Add the feed", scale=1)
        with gr.Row():
            unsubscribe_name = gr.Textbox(label="Feed name or URL to remove", scale=3)
            unsubscribe = gr.Button("Remove the feed", scale=1)
            fetch_now = gr.Button("Fetch every feed now", scale=1)
        for event in (
            subscribe.click(add_feed, inputs=[feed_url, feed_name], outputs=result, concurrency_limit=1, **private),
            unsubscribe.click(remove_feed, inputs=unsubscribe_name, outputs=result, concurrency_limit=1, **private),
            fetch_now.click(fetch, outputs=result, concurrency_limit=1, **private),
        ):
            event.then(feeds, outputs=feed_list, **private).then(status, outputs=info, **private)
    return panel


def stage_uploads(files: list[str], config: Config) -> tuple[list[Path], list[str]]:
    """Copies of the uploads that pass (in the upload folder, type, size, decodable text) under safe
    names in a fresh folder, and a reason for each that does not. `qa add` then refuses to
    overwrite a different file."""
    uploads = Path(get_upload_folder()).resolve()
    folder = Path(tempfile.mkdtemp(prefix="qa-upload-"))
    staged: list[Path] = []
    problems: list[str] = []
    for given in files[: config.max_upload_files]:
        path = Path(given)
        # Only what was uploaded: a path the client names is never read, whatever it points to.
        if not path.resolve().is_relative_to(uploads) or not path.is_file():
            problems.append(f"{shown(path.name)}: not an uploaded file, refused")
            continue
        name = re.sub(r"[^A-Za-z0-9._-]+", "_", path.name).strip("._")[:100] or "upload"
        suffix = Path(name).suffix.lower()
        if suffix not in SUPPORTED:
            problems.append(f"{shown(path.name)}: not one of {', '.join(sorted(SUPPORTED))}")
            continue
        size = path.stat().st_size
        if size > config.max_article_bytes:
            problems.append(f"{shown(path.name)}: {size / 1e6:.1f} MB is over the {config.max_article_bytes / 1e6:.0f} MB limit")
            continue
        try:
            decode(path.read_bytes())
        except IngestError as error:
            problems.append(f"{shown(path.name)}: {error}")
            continue
        target = folder / name
        if target.exists():
            problems.append(f"{shown(path.name)}: two uploads are both named {name}")
            continue
        shutil.copyfile(path, target)
        staged.append(target)
    if len(files) > config.max_upload_files:
        problems.append(f"{len(files) - config.max_upload_files} more files than the {config.max_upload_files} a request may add")
    if not staged:
        shutil.rmtree(folder, ignore_errors=True)
    return staged, problems


def run_qa(arguments: list[str], config: Config, doing: str) -> Iterator[str]:
    """`qa build|add|remove` in a process of its own, its progress streamed: a build never shares the
    model, the tokenizer or the interpreter lock with the questions being answered meanwhile."""
    command = [sys.executable, "-m", "qa.cli", *arguments, "--index", str(config.index)]
    env = os.environ | config.to_env()
    with subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors="replace"
    ) as process:
        assert process.stderr is not None and process.stdout is not None
        lines: list[str] = []
        bar = ""
        for line in process.stderr:
            line = line.rstrip().rsplit("\r", 1)[-1]  # a terminal progress bar's last state
            lines.append(line)
            if done := re.match(r"embedded (\d+)/(\d+) chunks", line):
                share = int(done[1]) / max(int(done[2]), 1)
                bar = f"`{'█' * round(20 * share)}{'░' * (20 - round(20 * share))}` {share:.0%} of {int(done[2]):,} chunks embedded\n\n"
            yield f"{doing.capitalize()} …\n\n{bar}" + "\n".join(f"- {markdown_escape(x)}" for x in lines[-8:] if x)
        summary = process.stdout.read().strip()
        process.wait()
    warnings = "".join(f"\n- {markdown_escape(x)}" for x in lines if x.startswith("warning: "))
    if process.returncode == 0:
        yield markdown_escape(summary) + warnings
    else:
        error = next((x for x in reversed(lines) if x.startswith("error: ")), "error: the build stopped")
        yield f"**That failed; the previous index is still serving.** {markdown_escape(error.removeprefix('error: '))}"
