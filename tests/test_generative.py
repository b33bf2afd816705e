"""Generated answers (issue 23): a real llama.cpp server on loopback serving the bundled model, a
server that is down, one that never answers, and the sentence-by-sentence verifier on real passages."""

from __future__ import annotations

import json
import os
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from qa import Config
from qa.compose import LocalServer, agrees, brief_of, llama_cpp_installed, verify
from qa.engine import engine_for
from qa.panels import verdict_html
from qa.records import Answer, Claim
from qa.render import GENERATED, body, to_chat, to_json

SUMMIT = "did the summit happen?"


@pytest.fixture(scope="module")
def local_model(seeds: Config) -> Iterator[LocalServer]:
    """One real `python -m llama_cpp.server` for the module, serving the smallest bundled model."""
    if not llama_cpp_installed():
        pytest.skip("llama-cpp-python is not installed (pip install -e '.[llm]'; `make test` installs it)")
    with LocalServer("smollm2", seeds, threads=2) as server:
        yield server


def _extractive(seeds: Config) -> Answer:
    return engine_for(seeds.index, seeds).answer(SUMMIT, composer="extractive")


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_summit_question_answered_by_the_local_model(seeds: Config, local_model: LocalServer) -> None:
    config = seeds.with_overrides(llm_url=local_model.url, answer="generative")
    result = engine_for(config.index, config).answer(SUMMIT)
    extractive = _extractive(seeds)
    # The verdict is the newest report's, whoever wrote the sentences: called off on 23 Feb 2022.
    assert result.verdict == extractive.verdict and result.verdict.startswith("Called off — 23 Feb 2022")
    numbers = {p.citation.number: p for p in result.passages[: result.cited]}
    out = to_json(result)
    assert out["composer"] == result.composer
    if result.composer == "generative":
        kept = [c for c in result.claims if c.reason is None]
        assert kept and out["answer"] == " ".join(c.text for c in kept) == body(result, markdown=False)
        for claim in kept:  # every kept sentence cites passages it was given, and its support is quoted exactly
            assert claim.cites and set(claim.cites) <= set(numbers)
            assert claim.support is not None and claim.support.number in claim.cites
            article = numbers[claim.support.number].article
            assert article.text[claim.support.start : claim.support.end] == claim.support.quote
        assert agrees(result.claims, result.verdict, True) is None  # it says the summit is off
        # Verifying the kept text again keeps every sentence.
        again = verify(
            result.generated, brief_of(extractive), engine_for(seeds.index, seeds).encoder, min_words=0.6, min_cosine=0.5
        )
        assert all(c.reason is None for c in again)
        assert len(out["dropped"]) == len(result.claims) - len(kept)
    else:  # the model wrote nothing that verifies: the quoted answer, and one line saying why
        assert body(result, markdown=False) == body(extractive, markdown=False)
        why = [n for n in result.notes if n.startswith("No generated answer:")]
        assert len(why) == 1 and "\n" not in why[0]
        assert out["dropped"] and all(d["reason"] for d in out["dropped"])


def test_a_server_that_is_down_gives_the_quoted_answer_and_says_why(seeds: Config) -> None:
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    config = seeds.with_overrides(llm_url=url, llm_model="any", answer="generative")
    result = engine_for(config.index, config).answer(SUMMIT)
    assert result.composer == "extractive" and result.claims == ()
    assert body(result, markdown=False) == body(_extractive(seeds), markdown=False)
    (why,) = [n for n in result.notes if n.startswith("No generated answer:")]
    assert f"the model server at {url} could not be reached" in why and "\n" not in why


def test_a_server_that_never_answers_times_out(seeds: Config) -> None:
    """A loopback socket that accepts connections and never writes a byte."""
    stop = threading.Event()
    held: list[socket.socket] = []
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.2)  # the accept loop checks `stop` between connections

    def hold() -> None:
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/v1"
        config = seeds.with_overrides(llm_url=url, llm_model="any", llm_timeout=0.5, answer="generative")
        result = engine_for(config.index, config).answer(SUMMIT)
    finally:
        stop.set()
        thread.join()
        for connection in held:
            connection.close()
        listener.close()
    assert held, "the client never connected"
    assert result.composer == "extractive" and result.answered
    (why,) = [n for n in result.notes if n.startswith("No generated answer:")]
    assert f"the model server at {url} did not answer within 0.5 s" in why


def test_the_verifier_drops_what_the_passages_do_not_say(seeds: Config) -> None:
    """Crafted generated text against the real passages of the summit answer."""
    extractive = _extractive(seeds)
    brief = brief_of(extractive)
    lead = brief.given(brief.lead)
    assert lead is not None and "called off" in lead.excerpt
    encoder = engine_for(seeds.index, seeds).encoder
    text = (
        f"No. The United States called off the summit with Putin on 23 February [{lead.number}]. "
        f"The United States called off 42 meetings with Putin [{lead.number}]. "
        f"The United States called off the summit on 25 February [{lead.number}]. "
        f"The summit was called off by Angela Merkel [{lead.number}]. "
        "The United States called off the summit. "
        "The United States called off the summit [9]."
    )
    claims = verify(text, brief, encoder, min_words=0.6, min_cosine=0.5)
    reasons = [c.reason for c in claims]
    assert [c.text.split(" [")[0] for c in claims][1] == "The United States called off 42 meetings with Putin"
    assert reasons[0] is None, reasons[0]  # "No." joins no sentence: it is read with the first one
    assert reasons[1] == f"the number 42 is not in [{lead.number}]"
    assert reasons[2] == f"the date “25 February” is not a date of [{lead.number}]"
    assert reasons[3] == f"the name “Angela” is not in [{lead.number}]"
    assert reasons[4] == "cites no passage"
    assert reasons[5] == "cites [9], a passage it was not given"
    assert claims[0].support is not None and "called off" in claims[0].support.quote
    assert agrees(claims, extractive.verdict, True) is None
    (echo,) = verify(f"Did the summit with Putin happen? [{lead.number}]", brief, encoder, min_words=0.6, min_cosine=0.5)
    assert echo.reason == "it asks a question instead of answering it"  # the question's words alone verify
    yes = verify(f"Yes, the summit with Putin was agreed [{lead.number}].", brief, encoder, min_words=0.6, min_cosine=0.3)
    assert agrees(yes, extractive.verdict, True) is not None


def test_an_answer_from_an_older_report_alone_disagrees_when_a_newer_one_is_in_view() -> None:
    """The verdict's caution names the newer report: a kept sentence must rest on it."""
    verdict = "A newer report may change this: 30 Nov 2023, CNBC [2]"
    older = Claim("Changpeng Zhao is still the chief executive of Binance [1].", (1,))
    assert agrees([older], verdict, True) == "it rests only on reports older than the newest one ([2])"
    newer = Claim("Zhao stepped down as chief executive [2].", (2,))
    assert agrees([older, newer], verdict, True) is None
    assert agrees([older, replace(newer, reason="the name “Zhao” is not in [2]")], verdict, True) is not None
    assert agrees([older], verdict, False) is None  # not a status question


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="child processes are read from /proc")
def test_qa_ask_starts_the_bundled_model_and_stops_it(seeds: Config, capsys: pytest.CaptureFixture[str]) -> None:
    if not llama_cpp_installed():
        pytest.skip("llama-cpp-python is not installed (pip install -e '.[llm]'; `make test` installs it)")
    from qa.cli import main

    before = _model_servers()
    saved = {name: os.environ.pop(name, None) for name in ("QA_LLM_URL", "QA_LLM_LOCAL", "QA_ANSWER")}
    os.environ["QA_LLM_LOCAL"] = "smollm2"
    try:
        assert main(["ask", SUMMIT, "--answer", "generative", "--json", "--index", str(seeds.index)]) == 0
    finally:
        for name, value in saved.items():
            os.environ.pop(name, None)
            if value is not None:
                os.environ[name] = value
    out = capsys.readouterr()
    assert "Starting the bundled model (smollm2)" in out.err
    answer = json.loads(out.out)
    assert answer["composer"] in ("generative", "extractive") and answer["verdict"].startswith("Called off")
    if answer["composer"] == "extractive":
        assert any(n.startswith("No generated answer:") for n in answer["notes"])
    assert _model_servers() <= before  # the server it started is gone


def _model_servers() -> set[int]:
    """The process ids of this process's children that run llama_cpp.server."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            command = (stat.parent / "cmdline").read_bytes()
        except (OSError, ValueError, IndexError):
            continue
        if parent == os.getpid() and b"llama_cpp.server" in command:
            found.add(int(stat.parent.name))
    return found


class _Scripted(ThreadingHTTPServer):
    """A real OpenAI-compatible HTTP server on loopback that streams a fixed answer (an endpoint whose
    output the test chooses: the small bundled model seldom writes a sentence that verifies)."""

    daemon_threads = True

    def __init__(self, answer: str, *more: str) -> None:
        self.answer = answer
        self.answers = [answer, *more]  #: served in turn, the last one again once they run out
        self.requests: list[dict] = []
        self.paths: list[str] = []
        super().__init__(("127.0.0.1", 0), _Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


class _Handler(BaseHTTPRequestHandler):
    server: _Scripted

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # /v1/models
        self._send(200, json.dumps({"object": "list", "data": [{"id": "scripted", "object": "model"}]}).encode())

    def do_POST(self) -> None:  # /v1/chat/completions or /v1/completions, streamed as server-sent events
        served = self.server
        served.requests.append(json.loads(self.rfile.read(int(self.headers["content-length"]))))
        served.paths.append(self.path)
        words = served.answers[min(len(served.requests), len(served.answers)) - 1].split(" ")
        chat = self.path.endswith("/chat/completions")
        events = [
            {
                "id": "c",
                "object": "chat.completion.chunk" if chat else "text_completion",
                "created": 0,
                "model": "scripted",
                "choices": [
                    {"index": 0, "finish_reason": None}
                    | ({"delta": {"content": piece}} if chat else {"text": piece, "logprobs": None})
                    for piece in [w + (" " if i < len(words) - 1 else "")]
                ],
            }
            for i, w in enumerate(words)
        ]
        body = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
        self._send(200, body.encode(), "text/event-stream")

    def _send(self, status: int, body: bytes, kind: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("content-type", kind)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def scripted() -> Iterator[Callable[[str], _Scripted]]:
    servers: list[_Scripted] = []

    def start(answer: str, *more: str) -> _Scripted:
        server = _Scripted(answer, *more)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_a_generated_answer_keeps_what_verifies_and_says_what_it_dropped(
    seeds: Config, scripted: Callable[[str], _Scripted]
) -> None:
    server = scripted("No. The United States called off the summit with Putin [1]. The United States called off 42 meetings [1].")
    config = seeds.with_overrides(llm_url=server.url, answer="generative", llm_shape="cited")
    pieces = list(engine_for(config.index, config).answer_stream(SUMMIT))
    result = pieces[-1]
    assert isinstance(result, Answer) and all(isinstance(p, str) for p in pieces[:-1])
    assert "".join(pieces[:-1]) == server.answer  # streamed as written
    request = server.requests[0]  # what the model was given: the evidence, numbered, and the question
    assert request["temperature"] == 0 and request["stream"] is True and request["model"] == "scripted"
    assert "[1] (23 Feb 2022, themoscowtimes.com) The United States has called off" in request["messages"][0]["content"]
    assert result.composer == "generative"
    out = to_json(result)
    assert out["answer"] == "No. The United States called off the summit with Putin [1]."
    assert out["dropped"] == [
        {"sentence": "The United States called off 42 meetings [1].", "cites": [1], "reason": "the number 42 is not in [1]"}
    ]
    assert out["sentences"][0]["support"]["quote"].startswith("The United States has called off high-level meetings")
    assert any(n.startswith("1 generated sentence was dropped") for n in result.notes)
    chat = to_chat(result)
    assert GENERATED in chat and "called off the summit with Putin [[1]](https://www.themoscowtimes.com/" in chat
    assert "<mark>The United States has called off high-level meetings" in verdict_html(result)


@pytest.mark.parametrize("api", ["chat", "completions"])
def test_one_sentence_per_passage_is_cited_with_the_passage_it_was_written_from(
    seeds: Config, scripted: Callable[[str], _Scripted], api: str
) -> None:
    """The default shape: one request per passage, the lead first; the model writes no citation,
    and each of its sentences cites the passage it was asked about. Not a status question: every
    passage is asked (for a status question, the lead alone)."""
    question = "What did the Kremlin say about plans for a leaders' summit?"
    server = scripted(
        "The Kremlin said there were no concrete plans for a summit.",
        "The Kremlin said Putin signed 42 treaties.",
        "The Kremlin has said it is unfazed by the prospect of Western sanctions.",
    )
    config = seeds.with_overrides(llm_url=server.url, answer="generative", llm_api=api)
    pieces = list(engine_for(config.index, config).answer_stream(question))
    result = pieces[-1]
    assert isinstance(result, Answer) and all(isinstance(p, str) for p in pieces[:-1])
    brief = brief_of(engine_for(config.index, config).answer(question, composer="extractive"))
    asked = [g.number for g in brief.passages]
    assert asked[0] == brief.lead and len(server.requests) == len(asked) >= 2
    assert all(path.endswith("/chat/completions" if api == "chat" else "/v1/completions") for path in server.paths)
    for request, number in zip(server.requests, asked):  # one passage each, and the question
        given = brief.given(number)
        assert given is not None and request["stop"] == ["\n"] and request["temperature"] == 0
        prompt = request["messages"][0]["content"] if api == "chat" else request["prompt"]
        assert given.excerpt in prompt and question in prompt
        assert not any(g.excerpt in prompt for g in brief.passages if g.number != number)
    written = [(c.text, c.cites) for c in result.claims]
    assert written[0] == (f"The Kremlin said there were no concrete plans for a summit [{asked[0]}].", (asked[0],))
    assert written[1] == (f"The Kremlin said Putin signed 42 treaties [{asked[1]}].", (asked[1],))
    assert result.claims[1].reason == f"the number 42 is not in [{asked[1]}]"
    assert "The Kremlin said there were no concrete plans for a summit" in "".join(pieces[:-1])  # streamed as written
    assert result.composer == "generative", result.notes
    assert result.claims[0].reason is None and result.generated.startswith(written[0][0])


def test_a_status_question_asks_the_lead_alone(seeds: Config, scripted: Callable[[str], _Scripted]) -> None:
    """The newest report decides: its passage is asked (older ones are not), and the sentence agrees with its verdict."""
    server = scripted("The United States has called off high-level meetings with Putin.")
    config = seeds.with_overrides(llm_url=server.url, answer="generative")
    result = engine_for(config.index, config).answer(SUMMIT)
    lead = brief_of(_extractive(seeds)).given(brief_of(_extractive(seeds)).lead)
    assert lead is not None and len(server.requests) == 1 and lead.excerpt in server.requests[0]["messages"][0]["content"]
    assert result.composer == "generative" and result.verdict.startswith("Called off")
    assert result.generated == f"The United States has called off high-level meetings with Putin [{lead.number}]."


def test_a_generated_answer_that_contradicts_the_newest_report_falls_back(
    seeds: Config, scripted: Callable[[str], _Scripted]
) -> None:
    server = scripted("Yes. Biden had agreed to the summit [2].")
    config = seeds.with_overrides(llm_url=server.url, answer="generative", llm_shape="cited")
    result = engine_for(config.index, config).answer(SUMMIT)
    assert result.composer == "extractive" and result.verdict.startswith("Called off")
    (why,) = [n for n in result.notes if n.startswith("No generated answer:")]
    assert "disagrees with the newest report" in why


def test_a_date_the_report_speaks_of_verifies_and_another_does_not(seeds: Config) -> None:
    """The Moscow Times of 23 Feb 2022 says Blinken and Lavrov meet "this Thursday": 24 February."""
    engine = engine_for(seeds.index, seeds)
    brief = brief_of(engine.answer("When were Blinken and Lavrov supposed to meet?", composer="extractive"))
    (dated,) = [g for g in brief.passages if g.date is not None]
    n = dated.number
    claims = verify(
        f"Blinken and Lavrov were to meet on 24 February 2022 [{n}]. Blinken and Lavrov were to meet on 25 February [{n}].",
        brief,
        engine.encoder,
        min_words=0.6,
        min_cosine=0.5,
    )
    assert [c.reason for c in claims] == [None, f"the date “25 February” is not a date of [{n}]"]
