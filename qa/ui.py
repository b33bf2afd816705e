"""The web UI: two Gradio apps on one server.

`/` is the reader's: the chat, the verdict and lead card above it, the cited reports as cards
beside it, filters, and the HTTP API (`/ask`, `/retrieve`, `/answer`). `/admin/` is the index
panel (status, articles, upload, remove, rebuild), behind Gradio's own login when
`QA_ADMIN_PASSWORD` is set; on any address but loopback `qa serve` needs one. Every change to the
index runs `qa add/remove/build` in a process of its own; if it fails, the previous index keeps
serving. Article text is untrusted: `render.py` escapes all of it, and Gradio's sanitiser stays
on. Errors of ours are logged on the server and never sent to clients.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # offline: no telemetry calls

import gradio as gr
import uvicorn
from fastapi import FastAPI

from .build import build_index, recorded_articles
from .config import Config
from .engine import answer, load_index, retrieve
from .errors import QAError
from .ingest import SUPPORTED, IngestError
from .ingest.files import decode
from .render import (
    cards_html,
    markdown_escape,
    more_markdown,
    passage_json,
    to_chat,
    to_json,
    to_markdown,
    verdict_html,
)

__all__ = ["create_app", "create_admin", "create_server", "running", "serve", "is_loopback"]

log = logging.getLogger("qa.ui")

EXAMPLES = ["did the summit happen?", "Who said a Biden-Putin summit was not in the plans?"]


def create_admin(config: Config) -> gr.Blocks:
    """The index panel: status, the indexed articles, upload, remove and rebuild. `create_server` mounts
    it at `/admin` behind Gradio's own login when an admin password is set."""
    build_lock = threading.Lock()

    def status() -> str:
        try:
            index = load_index(config.index, config)
        except QAError as error:
            return f"No usable index: {markdown_escape(str(error))}"
        m = index.manifest
        return (
            f"Index `{markdown_escape(str(config.index))}` (generation {index.generation}): {m['articles']} articles, "
            f"{m['chunks']} chunks, vectors {markdown_escape(index.factory)}, built {m['built_at']} with "
            f"{markdown_escape(m['model'])} from `{markdown_escape(str(m.get('articles_folder', '')))}`."
        )

    def admin(command: list[str], doing: str) -> Iterator[str]:
        """An admin action: one at a time, in a `qa` process of its own."""
        if not build_lock.acquire(blocking=False):
            yield "Another change to the index is running; try again when it is done."
            return
        try:
            yield from _run_qa(command, recorded_articles(config), doing)
        except Exception:  # noqa: BLE001 - logged with its traceback by _internal_error; the client sees one line
            yield _internal_error(doing)
        finally:
            build_lock.release()

    def rebuild() -> Iterator[str]:
        yield from admin(["build"], "rebuilding")

    def upload(files: list[str] | None) -> Iterator[str]:
        """Uploaded files, checked (type, size, text), saved under safe names, then added incrementally."""
        if not files:
            yield "Choose .txt, .md, .html, .json or .jsonl files first."
            return
        staged, problems = _stage_uploads(files, config)
        if problems and not staged:
            yield "**Nothing was added.** " + " ".join(markdown_escape(p) for p in problems)
            return
        try:
            for line in admin(["add", *map(str, staged)], "adding articles"):
                yield line + "".join(f"\n- skipped: {markdown_escape(p)}" for p in problems)
        finally:
            shutil.rmtree(staged[0].parent, ignore_errors=True)

    def remove(article_id: str) -> Iterator[str]:
        if not (article_id or "").strip():
            yield "Give the id of an article (see the list above)."
            return
        yield from admin(["remove", article_id.strip()], "removing an article")

    def articles(search: str) -> list[list[str]]:
        try:
            return [list(row) for row in load_index(config.index, config).article_rows(search or "")]
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
        search.submit(articles, inputs=search, outputs=listing, api_visibility="private")
        refresh.click(articles, inputs=search, outputs=listing, api_visibility="private")
        add.click(upload, inputs=files, outputs=result, api_visibility="private", concurrency_limit=1).then(
            articles, inputs=search, outputs=listing, api_visibility="private"
        ).then(status, outputs=info, api_visibility="private")
        drop.click(remove, inputs=gone, outputs=result, api_visibility="private", concurrency_limit=1).then(
            articles, inputs=search, outputs=listing, api_visibility="private"
        ).then(status, outputs=info, api_visibility="private")
        button.click(rebuild, outputs=info, api_name="rebuild", concurrency_limit=1)
    return panel


def create_app(config: Config) -> gr.Blocks:
    """The public app: the chat, its verdict and source cards, filters, and the HTTP API."""

    def ask(
        message: str,
        history: list[dict[str, Any]] | None,
        k: float,
        mode: str,
        since: str,
        until: str,
        sources: list[str] | None,
        previous: list[int] | None,
    ) -> tuple[list[dict[str, Any]], str, str, str, str, list[int]]:
        """One turn of the chat: the answer in the chat, its verdict and lead card above it, the
        other cited reports and the timeline beside it, further passages folded away."""
        history = list(history or [])
        try:
            result = answer(
                message,
                history=history,
                since=(since or "").strip() or None,
                until=(until or "").strip() or None,
                sources=sources or None,
                k=int(k or config.k),
                config=config.with_overrides(mode=mode or None),
            )
        except (QAError, ValueError) as error:  # our own messages, written for the user
            reply, panel = f"**Error:** {markdown_escape(str(error))}", verdict_html(None, str(error))
            return history + _turn(message, reply), "", panel, "", "", []
        except Exception:  # noqa: BLE001 - logged with its traceback by _internal_error; the client sees one line
            reply = _internal_error("answering a question")
            return history + _turn(message, reply), "", verdict_html(None, "Something went wrong on the server."), "", "", []
        cited = sorted(p.chunk.id for p in result.passages[: result.cited])
        same = bool(cited) and cited == sorted(previous or []) and any(n.startswith("Searched with:") for n in result.notes)
        return (
            history + _turn(message, to_chat(result, same_evidence=same)),
            "",
            verdict_html(result),
            cards_html(result),
            more_markdown(result),
            cited,
        )

    def ask_markdown(message: str) -> str:
        """`/ask`: one question, the whole answer as Markdown (verdict, answer, sources, timeline)."""
        try:
            return to_markdown(answer(message, config=config))
        except (QAError, ValueError) as error:
            return f"**Error:** {markdown_escape(str(error))}"
        except Exception:  # noqa: BLE001 - logged with its traceback by _internal_error; the client sees one line
            return _internal_error("answering a question")

    try:
        known_sources = load_index(config.index, config).sources()
    except QAError:
        known_sources = []
    with gr.Blocks(title="qa: ask the news") as app:
        gr.Markdown("## Ask the news\nAnswers quote the articles exactly; the newest dated report leads. [The index](admin/)")
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=340):
                panel = gr.HTML(verdict_html(None), elem_id="qa-verdict")
                chat = gr.Chatbot(height=420, sanitize_html=True, label="qa", elem_id="qa-chat", autoscroll=True)
                question = gr.Textbox(
                    placeholder="Ask about the news, e.g. did the summit happen?",
                    show_label=False,
                    elem_id="qa-question",
                    submit_btn=True,
                    max_length=config.max_question_chars * 50,
                )
                gr.Examples(EXAMPLES, inputs=question)
                with gr.Accordion("Filters", open=False):
                    k = gr.Slider(1, 20, value=config.k, step=1, label="Passages (k)")
                    mode = gr.Radio(["hybrid", "bm25", "dense"], value=config.mode, label="Ranking")
                    with gr.Row():
                        since = gr.Textbox(label="Published on or after", placeholder="YYYY-MM-DD")
                        until = gr.Textbox(label="Published on or before", placeholder="YYYY-MM-DD")
                    sources = gr.Dropdown(known_sources, multiselect=True, label="Sources")
            with gr.Column(scale=2, min_width=300):
                cards = gr.HTML(elem_id="qa-cards")
                with gr.Accordion("More passages (not cited)", open=False):
                    more = gr.Markdown()
        shown = gr.State([])  # the chunks the last answer cited: a follow-up that finds the same says so
        question.submit(
            ask,
            inputs=[question, chat, k, mode, since, until, sources, shown],
            outputs=[chat, question, panel, cards, more, shown],
            api_name="chat_turn",
            api_visibility="private",
            concurrency_limit=config.concurrency,
        )
        gr.api(ask_markdown, api_name="ask", concurrency_limit=config.concurrency)

        # The HTTP API beside the chat's `/ask` (rendered Markdown): the same results as JSON, with
        # history, filters and k (`qa ask --json` has the same fields). Errors come back as {"error": …}.
        def retrieve_json(
            question: str, k: int = 5, sources: list[str] | None = None, since: str | None = None, until: str | None = None
        ) -> dict[str, Any]:
            try:
                passages = retrieve(
                    question, k, config.index, sources=sources, since=since or None, until=until or None, config=config
                )
                return {"passages": [passage_json(p) for p in passages]}
            except (QAError, ValueError) as error:
                return {"error": str(error)}
            except Exception:  # noqa: BLE001 - logged with its traceback by _internal_error; the client sees one line
                return {"error": _internal_error("retrieving")}

        def answer_json(
            question: str,
            history: list[Any] | None = None,
            k: int | None = None,
            sources: list[str] | None = None,
            since: str | None = None,
            until: str | None = None,
        ) -> dict[str, Any]:
            try:
                return to_json(
                    answer(
                        question,
                        history=history or None,
                        since=since or None,
                        until=until or None,  # type: ignore[return-value]
                        sources=sources,
                        k=k,
                        config=config,
                    )
                )
            except (QAError, ValueError) as error:
                return {"error": str(error)}
            except Exception:  # noqa: BLE001 - logged with its traceback by _internal_error; the client sees one line
                return {"error": _internal_error("answering")}

        gr.api(retrieve_json, api_name="retrieve", concurrency_limit=config.concurrency)
        gr.api(answer_json, api_name="answer", concurrency_limit=config.concurrency)
    return app


def _turn(question: str, reply: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": question}, {"role": "assistant", "content": reply}]


#: Cards and timeline wrap on a phone: long words and URLs break anywhere, dates never.
CSS = """
.qa-verdict { padding: 0.6em 0.8em; border-radius: 8px; background: var(--block-background-fill); }
.qa-headline { font-size: 1.25em; font-weight: 700; margin-bottom: 0.4em; overflow-wrap: anywhere; }
.qa-card { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 0.5em 0.7em; margin: 0.4em 0; }
.qa-meta, .qa-label { font-size: 0.85em; opacity: 0.8; }
.qa-title { font-weight: 600; overflow-wrap: anywhere; }
.qa-passage { margin: 0.3em 0 0; overflow-wrap: anywhere; }
.qa-passage mark { padding: 0 0.1em; }
.qa-timeline ol { padding-left: 1.2em; margin: 0.3em 0; }
.qa-timeline li { overflow-wrap: anywhere; }
.qa-timeline time { white-space: nowrap; font-variant-numeric: tabular-nums; }
.qa-error, .qa-declined { font-weight: 600; }
"""


def _stage_uploads(files: list[str], config: Config) -> tuple[list[Path], list[str]]:
    """Copies of the uploads that pass (type, size, decodable text) under safe names in a fresh folder,
    and a reason for each that does not. `qa add` then refuses to overwrite a different file."""
    folder = Path(tempfile.mkdtemp(prefix="qa-upload-"))
    staged: list[Path] = []
    problems: list[str] = []
    for given in files:
        path = Path(given)
        name = re.sub(r"[^A-Za-z0-9._-]+", "_", path.name).strip("._")[:100] or "upload"
        suffix = Path(name).suffix.lower()
        if suffix not in SUPPORTED:
            problems.append(f"{path.name}: not one of {', '.join(sorted(SUPPORTED))}")
            continue
        size = path.stat().st_size
        if size > config.max_article_bytes:
            problems.append(f"{path.name}: {size / 1e6:.1f} MB is over the {config.max_article_bytes / 1e6:.0f} MB limit")
            continue
        try:
            decode(path.read_bytes())
        except IngestError as error:
            problems.append(f"{path.name}: {error}")
            continue
        target = folder / name
        if target.exists():
            problems.append(f"{path.name}: two uploads are both named {name}")
            continue
        shutil.copyfile(path, target)
        staged.append(target)
    if not staged:
        shutil.rmtree(folder, ignore_errors=True)
    return staged, problems


def _run_qa(arguments: list[str], config: Config, doing: str) -> Iterator[str]:
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


def _internal_error(doing: str) -> str:
    """Logged with its traceback on the server; the client learns only that it happened."""
    log.exception("internal error while %s", doing)
    return "**Something went wrong on the server** (it was logged); please try again."


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def create_server(config: Config, *, admin_password: str | None = None) -> FastAPI:
    """The public app at `/` and the index panel at `/admin/`, behind Gradio's own login ("admin" and
    `admin_password`, default `$QA_ADMIN_PASSWORD`) when a password is set. Readers never log in."""
    password = admin_password if admin_password is not None else os.environ.get("QA_ADMIN_PASSWORD") or None
    server = FastAPI()
    gr.mount_gradio_app(
        server,
        create_admin(config),
        path="/admin",
        auth=("admin", password) if password else None,
        auth_message="The index panel: log in as admin.",
        css=CSS,
        show_error=False,
    )
    gr.mount_gradio_app(server, create_app(config), path="", css=CSS, show_error=False)
    return server


def serve(config: Config) -> None:
    """Build the index if there is none yet, then serve until interrupted.

    Loopback by default; another address needs `QA_ADMIN_PASSWORD`, or nothing starts.
    """
    if not is_loopback(config.host) and not os.environ.get("QA_ADMIN_PASSWORD"):
        raise QAError(
            f"refusing to serve on {config.host} without an admin password: anyone who can reach it could "
            "change the index. Set QA_ADMIN_PASSWORD, or serve on 127.0.0.1"
        )
    if not config.index.exists():
        print(f"No index at {config.index}; building it from {config.articles} …", flush=True)
        print(build_index(config, log=print).summary(), flush=True)
    load_index(config.index, config)  # fail now, with the clear message, rather than at the first question
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    print(f"Serving on http://{config.host}:{config.port}/ (the index panel: /admin/)", flush=True)
    # Clients keep event streams open; a stop waits 5 s for them, not for ever.
    uvicorn.run(create_server(config), host=config.host, port=config.port, log_level="warning", timeout_graceful_shutdown=5)


@contextmanager
def running(config: Config, *, admin_password: str | None = None) -> Iterator[str]:
    """The server on a free loopback port in a thread, for tests and benchmarks; yields its URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    server = uvicorn.Server(
        uvicorn.Config(
            create_server(config, admin_password=admin_password),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            timeout_graceful_shutdown=5,
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.should_exit = True
        thread.join(10)
