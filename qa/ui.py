"""The web UI: a Gradio chat whose answers cite numbered, linked sources and show a timeline.

Article text is untrusted: everything quoted is Markdown-escaped by `answer`, and
Gradio's HTML sanitiser stays on. A rebuild from the UI runs the same build as
`qa build`; if it fails, the previous index keeps serving.
"""

from __future__ import annotations

import os
import re
import threading
from typing import Any
from urllib.parse import quote

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # offline: no telemetry calls

import gradio as gr  # noqa: E402

from .answer import URL_SAFE, markdown_escape, sources_markdown  # noqa: E402
from .build import build_index, recorded_articles  # noqa: E402
from .config import Config  # noqa: E402
from .errors import QAError  # noqa: E402
from .records import Answer  # noqa: E402
from .engine import answer, load_index  # noqa: E402

__all__ = ["create_app", "serve", "render"]

EXAMPLES = ["did the summit happen?", "Who said a Biden-Putin summit was not in the plans?"]


def render(result: Answer) -> str:
    """One chat message: the answer, its numbered sources and, when dates differ, a timeline."""
    links = {p.citation.number: quote(p.citation.url, safe=URL_SAFE) for p in result.passages if p.citation.url}
    text = re.sub(r"(?<!\\)\[(\d+)\]", lambda m: f"[[{m[1]}]]({links[int(m[1])]})" if int(m[1]) in links else m[0], result.text)
    parts = [*(f"*{markdown_escape(n)}*" for n in result.notes), text]
    if result.passages:
        heading = "**Sources**" if result.answered else "**Nearest passages**"
        parts.append(f"{heading}\n\n{sources_markdown(result)}")
    if len(result.timeline) > 1:
        rows = ["| Date | Report | |", "|---|---|---|"]
        for entry in result.timeline:
            date = entry.date.isoformat() if entry.date else "undated"
            flag = "latest update" if entry.superseding else ""
            cited = f"[{entry.number}] " if entry.number else ""
            rows.append(f"| {date} | {cited}{markdown_escape(entry.title)} | {flag} |")
        parts.append("**Timeline** (newest first)\n\n" + "\n".join(rows))
    return "\n\n".join(parts)


def create_app(config: Config) -> gr.Blocks:
    build_lock = threading.Lock()

    def respond(message: str, history: list[dict[str, Any]]) -> str:
        try:
            return render(answer(message, history=history, config=config))
        except (QAError, ValueError) as error:
            return f"**Error:** {markdown_escape(str(error))}"

    def status() -> str:
        try:
            index = load_index(config.index, config)
        except QAError as error:
            return f"No usable index: {markdown_escape(str(error))}"
        m = index.manifest
        return (f"Index `{markdown_escape(str(config.index))}` (generation {index.generation}): {m['articles']} articles, "
                f"{m['chunks']} chunks, vectors {markdown_escape(index.factory)}, built {m['built_at']} with "
                f"{markdown_escape(m['model'])} from `{markdown_escape(str(m.get('articles_folder', '')))}`.")

    def rebuild() -> str:
        if not build_lock.acquire(blocking=False):
            return "A rebuild is already running."
        try:
            report = build_index(recorded_articles(config))  # the index's own folder, wherever the server runs
            warnings = "".join(f"\n- {markdown_escape(str(w))}" for w in report.warnings)
            return markdown_escape(report.summary()) + warnings
        except (QAError, OSError, ValueError) as error:
            return f"**Rebuild failed; the previous index is still serving.** {markdown_escape(str(error))}"
        finally:
            build_lock.release()

    with gr.Blocks(title="qa: ask the news") as app:
        gr.Markdown("## Ask the news\nAnswers quote the articles exactly; the newest dated report leads.")
        gr.ChatInterface(
            fn=respond,
            chatbot=gr.Chatbot(height=720, sanitize_html=True, label="qa"),
            examples=EXAMPLES,
            cache_examples=False,
            api_name="ask",
        )
        with gr.Accordion("Index", open=False):
            info = gr.Markdown(status())
            button = gr.Button("Rebuild index from articles")
            button.click(rebuild, outputs=info, api_name="rebuild")
    return app


def serve(config: Config) -> None:
    """Build the index if there is none yet, then serve the chat until interrupted."""
    if not config.index.exists():
        print(f"No index at {config.index}; building it from {config.articles} …", flush=True)
        print(build_index(config, log=print).summary(), flush=True)
    load_index(config.index, config)  # fail now, with the clear message, rather than at the first question
    create_app(config).launch(server_name=config.host, server_port=config.port, show_error=True)
