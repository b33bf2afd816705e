from __future__ import annotations

import socket

import pytest
from conftest import NEWER
from gradio_client import Client

from qa import Config
from qa.ui import create_app


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(seeds: Config):  # type: ignore[no-untyped-def]
    app = create_app(seeds)
    app.launch(server_name="127.0.0.1", server_port=_free_port(), prevent_thread_lock=True, quiet=True)
    yield app
    app.close()


def test_chat_answers_over_http(server, seeds: Config) -> None:  # type: ignore[no-untyped-def]
    client = Client(server.local_url, verbose=False)
    reply = client.predict(message="did the summit happen?", api_name="/ask")
    assert reply.startswith("**Latest update, as of 23 Feb 2022**")
    assert "called off" in reply.split("\n")[0]
    assert "[[1]](https://www.themoscowtimes.com/" in reply.split("\n")[0]  # the marker links to its source
    assert "**Sources**" in reply and "(https://www.themoscowtimes.com/2022/02/23/" in reply  # numbered links
    assert "**Timeline** (newest first)" in reply and "| 2022-02-23 |" in reply and "| undated |" in reply
    assert NEWER not in reply.split("**Sources**")[0].split("\n")[0]


def test_rebuild_over_http_keeps_serving(server, seeds: Config) -> None:  # type: ignore[no-untyped-def]
    client = Client(server.local_url, verbose=False)
    status = client.predict(api_name="/rebuild")
    assert "generation 1: 2 articles" in status and "0 added" in status  # nothing changed: nothing rebuilt
    assert "called off" in client.predict(message="did the summit happen?", api_name="/ask")


def test_chat_answers_a_fact_question(server) -> None:  # type: ignore[no-untyped-def]
    client = Client(server.local_url, verbose=False)
    first = client.predict(message="Who said a Biden-Putin summit was not in the plans?", api_name="/ask")
    assert "Psaki" in first
