"""The reader's app at `/`: the chat, the verdict and lead card above it, the cited reports as cards
beside it, filters, and the Gradio API (`/ask`, `/retrieve`, `/answer`) for `gradio_client` users.

Every question goes through the `Service` (one limit on answers in flight for the whole server);
the Gradio events that answer also share one queue limit (`concurrency_id`). Readers never log in
and can upload nothing (`server.py` refuses the framework's upload route here).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import gradio as gr

from ..config import Config
from ..errors import QAError
from ..panels import cards_html, more_markdown, verdict_html
from ..records import Answer
from ..render import markdown_escape, passage_json, to_chat, to_json, to_markdown
from .service import Service

__all__ = ["create_app", "examples", "internal_error", "CSS"]

log = logging.getLogger("qa.ui")

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

#: Questions the server answers share one queue limit in Gradio (and the `Gate` besides).
QUESTIONS = "questions"
_FALLBACK_EXAMPLES = ["did the summit happen?", "Who said a Biden-Putin summit was not in the plans?"]


def internal_error(doing: str) -> str:
    """Logged with its traceback on the server; the client learns only that it happened."""
    log.exception("internal error while %s", doing)
    return "**Something went wrong on the server** (it was logged); please try again."


def examples(service: Service) -> list[str]:
    """Example questions from the index's own newest articles (the sample questions for the sample index)."""
    try:
        rows = service.engine.index().article_rows("", limit=200)
    except QAError:
        return _FALLBACK_EXAMPLES
    titled = sorted((r for r in rows if r[1] and r[2]), key=lambda r: r[2], reverse=True)
    if any(r[0] in ("003_6d5d5bb868c4c0db.txt", "000_9da13dacb9154aa5.txt") for r in rows) or not titled:
        return _FALLBACK_EXAMPLES
    return [f"What is the latest on {title.rstrip(' .…')}?" for _, title, _, _ in titled[:2]]


def create_app(service: Service | Config) -> gr.Blocks:
    """The public app: the chat, its verdict and source cards, filters, and the Gradio API."""
    service = service if isinstance(service, Service) else Service(service)
    config = service.config

    def ask(
        message: str,
        history: list[dict[str, Any]] | None,
        k: float,
        mode: str,
        since: str,
        until: str,
        sources: list[str] | None,
        previous: list[int] | None,
        composer: str | None = None,
    ) -> Iterator[tuple[list[dict[str, Any]], str, str, str, str, list[int]]]:
        """One turn of the chat: the answer in the chat (a generated one streamed as it is written,
        then replaced by its checked sentences), its verdict and lead card above it, the other cited
        reports and the timeline beside it, further passages folded away."""
        history = list(history or [])
        result: Answer | None = None
        written = ""
        try:
            for item in service.answer_stream(
                message,
                history=history,
                since=(since or "").strip() or None,
                until=(until or "").strip() or None,
                sources=sources or None,
                k=int(k or config.k),
                mode=mode or None,
                composer=composer or None,
            ):
                if isinstance(item, str):
                    written += item
                    yield history + _turn(message, f"*Writing …*\n\n{markdown_escape(written)}"), "", gr.skip(), "", "", []
                else:
                    result = item
        except QAError as error:  # our own messages, written for the user
            reply, panel = f"**Error:** {markdown_escape(str(error))}", verdict_html(None, str(error))
            yield history + _turn(message, reply), "", panel, "", "", []
            return
        except Exception:  # noqa: BLE001 - logged with its traceback by internal_error; the client sees one line
            reply = internal_error("answering a question")
            yield history + _turn(message, reply), "", verdict_html(None, "Something went wrong on the server."), "", "", []
            return
        assert result is not None  # the stream always ends with the answer
        cited = sorted(p.chunk.id for p in result.passages[: result.cited])
        same = bool(cited) and cited == sorted(previous or []) and any(n.startswith("Searched with:") for n in result.notes)
        yield (
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
            return to_markdown(service.answer(message))
        except QAError as error:
            return f"**Error:** {markdown_escape(str(error))}"
        except Exception:  # noqa: BLE001 - logged with its traceback by internal_error; the client sees one line
            return internal_error("answering a question")

    def retrieve_json(
        question: str, k: int = 5, sources: list[str] | None = None, since: str | None = None, until: str | None = None
    ) -> dict[str, Any]:
        try:
            passages = service.retrieve(question, k=k, sources=sources, since=since or None, until=until or None)
            return {"passages": [passage_json(p) for p in passages]}
        except QAError as error:
            return {"error": str(error)}
        except Exception:  # noqa: BLE001 - logged with its traceback by internal_error; the client sees one line
            return {"error": internal_error("retrieving")}

    def answer_json(
        question: str,
        history: list[Any] | None = None,
        k: int | None = None,
        sources: list[str] | None = None,
        since: str | None = None,
        until: str | None = None,
        composer: str | None = None,
    ) -> dict[str, Any]:
        try:
            result = service.answer(
                question,
                history=history or None,
                since=since or None,
                until=until or None,
                sources=sources,
                k=k,
                composer=composer or None,
            )
            return to_json(result)  # type: ignore[return-value]
        except QAError as error:
            return {"error": str(error)}
        except Exception:  # noqa: BLE001 - logged with its traceback by internal_error; the client sees one line
            return {"error": internal_error("answering")}

    def fresh_sources() -> Any:
        """The outlets of the index as it is now (a build or an upload may have added some)."""
        try:
            return gr.update(choices=service.engine.index().sources())
        except QAError:
            return gr.update(choices=[])

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
                gr.Examples(examples(service), inputs=question)
                with gr.Accordion("Filters", open=False):
                    k = gr.Slider(1, 20, value=config.k, step=1, label="Passages (k)")
                    mode = gr.Radio(["hybrid", "bm25", "dense"], value=config.mode, label="Ranking")
                    with gr.Row():
                        since = gr.Textbox(label="Published on or after", placeholder="YYYY-MM-DD")
                        until = gr.Textbox(label="Published on or before", placeholder="YYYY-MM-DD")
                    sources = gr.Dropdown([], multiselect=True, label="Sources", elem_id="qa-sources")
                composer = gr.Radio(
                    [("Quotes", "extractive"), ("Generated, each sentence checked", "generative")],
                    value=config.answer,
                    label="Answer",
                    elem_id="qa-composer",
                )
            with gr.Column(scale=2, min_width=300):
                cards = gr.HTML(elem_id="qa-cards")
                with gr.Accordion("More passages (not cited)", open=False):
                    more = gr.Markdown()
        shown = gr.State([])  # the chunks the last answer cited: a follow-up that finds the same says so
        limit = {"concurrency_limit": config.concurrency, "concurrency_id": QUESTIONS}
        question.submit(
            ask,
            inputs=[question, chat, k, mode, since, until, sources, shown, composer],
            outputs=[chat, question, panel, cards, more, shown],
            api_name="chat_turn",
            api_visibility="private",
            **limit,
        )
        app.load(fresh_sources, outputs=sources, api_visibility="private")
        gr.api(ask_markdown, api_name="ask", **limit)
        gr.api(retrieve_json, api_name="retrieve", **limit)
        gr.api(answer_json, api_name="answer", **limit)
    return app


def _turn(question: str, reply: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": question}, {"role": "assistant", "content": reply}]
