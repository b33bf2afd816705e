from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request

import pytest
from conftest import NEWER, OLDER
from gradio_client import Client
from gradio_client.exceptions import AuthenticationError

from qa import Config
from qa.storage import Index
from qa.ui import create_admin, create_app, is_loopback, running


@pytest.fixture(scope="module")
def server(seeds: Config):  # type: ignore[no-untyped-def]
    with running(seeds, admin_password="") as url:
        yield url


def test_chat_answers_over_http(server, seeds: Config) -> None:  # type: ignore[no-untyped-def]
    client = Client(server, verbose=False)
    reply = client.predict(message="did the summit happen?", api_name="/ask")
    verdict, lead = reply.split("\n\n")[:2]
    assert verdict.startswith("### Called off — 23 Feb 2022, themoscowtimes.com [[1]](https://www.themoscowtimes.com/")
    assert lead.startswith("**Latest update, as of 23 Feb 2022**") and "called off" in lead
    assert "[[1]](https://www.themoscowtimes.com/" in lead  # the marker links to its source
    assert "**Sources**" in reply and "(https://www.themoscowtimes.com/2022/02/23/" in reply  # numbered links
    cited = reply.split("**Sources**")[1].split("**Timeline**")[0]
    assert "1. " in cited and "2. " in cited and "3. " not in cited  # only the cited reports; the rest under "More passages"
    assert "**More passages** (not cited)" in reply
    assert "**Timeline** (newest first)" in reply and "| 2022-02-23 |" in reply and "| undated |" in reply
    assert NEWER not in reply and OLDER not in reply  # untitled articles are labelled by their first words


def test_rebuild_over_http_keeps_serving(server, seeds: Config) -> None:  # type: ignore[no-untyped-def]
    client = Client(server, verbose=False)
    status = Client(server + "admin/", verbose=False).predict(api_name="/rebuild")
    assert "generation 1: 2 articles" in status and "0 added" in status  # nothing changed: nothing rebuilt
    assert "called off" in client.predict(message="did the summit happen?", api_name="/ask")


def test_chat_answers_a_fact_question(server) -> None:  # type: ignore[no-untyped-def]
    client = Client(server, verbose=False)
    first = client.predict(message="Who said a Biden-Putin summit was not in the plans?", api_name="/ask")
    assert "Psaki" in first


def test_the_index_panel_needs_gradios_login_when_a_password_is_set_and_readers_never_do(seeds: Config) -> None:
    with running(seeds, admin_password="s3cret horse") as url:
        before = Index(seeds.index).generation
        with pytest.raises(AuthenticationError):
            Client(url + "admin/", verbose=False).predict(api_name="/rebuild")
        with pytest.raises(ValueError, match="Could not login"):
            Client(url + "admin/", auth=("admin", "guess"), verbose=False)
        assert Index(seeds.index).generation == before
        assert "generation" in Client(url + "admin/", auth=("admin", "s3cret horse"), verbose=False).predict(api_name="/rebuild")
        assert "called off" in Client(url, verbose=False).predict(message="did the summit happen?", api_name="/ask")


def test_serving_beyond_loopback_without_a_password_refuses_to_start(seeds: Config) -> None:
    env = {k: v for k, v in os.environ.items() if k != "QA_ADMIN_PASSWORD"}
    result = subprocess.run(
        [sys.executable, "-m", "qa.cli", "serve", "--host", "0.0.0.0", "--index", str(seeds.index)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert result.returncode == 2 and result.stderr.startswith("error: refusing to serve on 0.0.0.0 without an admin password")
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost") and not is_loopback("0.0.0.0")


def test_questions_run_concurrently_up_to_the_configured_limit(seeds: Config) -> None:
    limits = {f.api_name: f.concurrency_limit for f in create_app(seeds).fns.values()}
    admin = {f.api_name: f.concurrency_limit for f in create_admin(seeds).fns.values()}
    assert limits["ask"] == limits["chat_turn"] == limits["answer"] == seeds.concurrency > 1 and admin["rebuild"] == 1


def test_bad_questions_get_one_line_and_no_python_text(server) -> None:  # type: ignore[no-untyped-def]
    client = Client(server, verbose=False)
    reply = client.predict(message="x" * 100_000, api_name="/ask")
    assert "Traceback" not in reply and 'File "' not in reply
    assert client.predict(message="   ", api_name="/ask") == "**Error:** the question is empty"


def test_the_http_api_returns_structured_passages_and_answers(server) -> None:  # type: ignore[no-untyped-def]
    client = Client(server, verbose=False)
    found = client.predict("did the summit happen?", 2, None, None, None, api_name="/retrieve")
    assert [p["rank"] for p in found["passages"]] == [1, 2]
    assert found["passages"][0]["article"]["date"] == "2022-02-23" and found["passages"][0]["quote"]
    filtered = client.predict("summit", 5, ["themoscowtimes.com"], "2022-02-01", None, api_name="/retrieve")
    assert {p["article"]["source"] for p in filtered["passages"]} == {"themoscowtimes.com"}
    assert client.predict("summit", 0, None, None, None, api_name="/retrieve") == {
        "error": "k must be a whole number from 1 to 100, not 0"
    }
    assert client.predict("summit", 5, ["NoSuch"], None, None, api_name="/retrieve")["error"].startswith(
        "No articles match source"
    )
    first = client.predict("did the summit happen?", None, None, None, None, None, api_name="/answer")
    assert first["answered"] and first["as_of"] == "2022-02-23" and "called off" in first["answer"]
    history = [{"role": "user", "content": "did the summit happen?"}, {"role": "assistant", "content": first["answer"]}]
    follow = client.predict("and why?", history, None, None, None, None, api_name="/answer")
    assert follow["question"] == "and why?" and follow["passages"]


def test_qa_serve_answers_on_the_port_it_names_and_a_port_in_use_is_one_line(seeds: Config) -> None:
    """`qa serve` as a user starts it: the address it prints answers (port 0: the one it was given);
    a second `qa serve` on that port says so in one line, and never that it is serving."""
    server = subprocess.Popen(
        [sys.executable, "-m", "qa.cli", "serve", "--port", "0", "--index", str(seeds.index)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert server.stdout is not None
        line = next((line for line in server.stdout if line.startswith("Serving on ")), "")  # read until it is said
        assert line, "qa serve ended without serving"
        url = line.split()[2]
        with urllib.request.urlopen(url + "api/answer?question=did+the+summit+happen%3F", timeout=120) as response:
            assert "called off" in json.loads(response.read())["verdict"].casefold()
        port = url.rstrip("/").rsplit(":", 1)[1]
        again = subprocess.run(
            [sys.executable, "-m", "qa.cli", "serve", "--port", port, "--index", str(seeds.index)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert again.returncode == 2 and "Serving on" not in again.stdout
        assert (
            again.stderr
            == f"error: cannot serve on 127.0.0.1:{port}: Address already in use; choose another --port (or QA_PORT)\n"
        )
    finally:
        server.terminate()
        try:
            server.wait(60)
        except subprocess.TimeoutExpired:  # a slow machine's shutdown is not what this test is about
            server.kill()
            server.wait()
