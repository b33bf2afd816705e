"""The JSON API and the server's limits (issue 21), over real HTTP on loopback."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest
from conftest import ARTICLES, ROOT, write
from gradio.utils import get_upload_folder
from gradio_client import Client

from qa import Config, add_articles, build_index
from qa.ui import running
from qa.ui.admin import Changes

QUESTION = "did the summit happen?"


@pytest.fixture(scope="module")
def server(seeds: Config):  # type: ignore[no-untyped-def]
    with running(seeds, admin_password="a long enough admin password") as url:
        yield url


def test_the_json_api_answers_as_qa_ask_json_does(server: str, seeds: Config) -> None:
    env = os.environ | {"HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    cli = subprocess.run(
        [sys.executable, "-m", "qa.cli", "ask", QUESTION, "--index", str(seeds.index), "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert cli.returncode == 0, cli.stderr
    posted = httpx.post(server + "api/answer", json={"question": QUESTION}, timeout=60)
    got = httpx.get(server + "api/answer", params={"question": QUESTION}, timeout=60)
    assert posted.status_code == got.status_code == 200
    assert posted.json() == got.json() == json.loads(cli.stdout)
    passages = httpx.get(
        server + "api/retrieve", params={"question": "summit", "k": 2, "sources": "themoscowtimes.com"}, timeout=60
    )
    assert [p["rank"] for p in passages.json()["passages"]] == [1, 2]
    assert {p["article"]["source"] for p in passages.json()["passages"]} == {"themoscowtimes.com"}
    schema = httpx.get(server + "api/openapi.json", timeout=60).json()
    assert {"/retrieve", "/answer", "/status", "/admin/rebuild"} <= set(schema["paths"])


@pytest.mark.parametrize(
    ("request_", "status", "error"),
    [
        ({"question": QUESTION, "k": 0}, 400, "k: Input should be greater than or equal to 1"),
        ({"question": QUESTION, "since": "yesterday"}, 400, "since must be a date as YYYY-MM-DD, not 'yesterday'"),
        ({"question": "   "}, 400, "the question is empty"),
        ({"question": QUESTION, "sources": ["NoSuch"]}, 400, "No articles match source 'nosuch'"),
        ({"question": QUESTION, "colour": "red"}, 400, "colour: Extra inputs are not permitted"),
        ({"question": QUESTION, "since": {}}, 400, "since: Input should be a valid string"),
    ],
)
def test_bad_requests_get_400_and_one_line(server: str, request_: dict, status: int, error: str) -> None:
    reply = httpx.post(server + "api/answer", json=request_, timeout=60)
    assert reply.status_code == status and reply.json()["error"].startswith(error) and "\n" not in reply.json()["error"]


def test_each_status_code_comes_from_a_real_request(server: str, seeds: Config, tmp_path: Path) -> None:
    assert httpx.post(server + "api/admin/rebuild", timeout=60).status_code == 401
    assert httpx.post(server + "api/answer", content=b"{" + b" " * 2_000_000 + b"}", timeout=60).status_code == 413
    ok = httpx.post(server + "api/admin/rebuild", headers={"Authorization": "Bearer a long enough admin password"}, timeout=300)
    assert ok.status_code == 200 and "generation" in ok.json()["result"]
    missing = Config(articles=ARTICLES, index=tmp_path / "nothing-here")
    with running(missing) as url:
        assert httpx.get(url + "api/status", timeout=60).status_code == 404
    damaged = tmp_path / "damaged"
    write(damaged, "qa.sqlite", b"this is not a database" * 100)
    with running(dataclasses.replace(seeds, index=damaged)) as url:
        reply = httpx.get(url + "api/status", timeout=60)
        assert reply.status_code == 503 and "rebuild it" in reply.json()["error"]
    with running(dataclasses.replace(seeds, rate_limit=2)) as url:
        codes = [httpx.get(url + "api/retrieve", params={"question": "summit"}, timeout=60) for _ in range(3)]
        assert [c.status_code for c in codes] == [200, 200, 429] and int(codes[2].headers["retry-after"]) >= 1


def test_readers_cannot_upload_and_the_panels_uploads_are_capped(server: str) -> None:
    folder = Path(get_upload_folder())
    before = sorted(folder.rglob("*")) if folder.exists() else []
    refused = httpx.post(server + "gradio_api/upload", files={"files": ("a.txt", b"hello " * 1000)}, timeout=60)
    assert refused.status_code == 403 and "upload" in refused.json()["error"]
    assert (sorted(folder.rglob("*")) if folder.exists() else []) == before
    big = httpx.post(server + "admin/gradio_api/upload", files={"files": ("a.txt", b"x" * 120_000_000)}, timeout=120)
    assert big.status_code == 413


def test_a_path_the_client_names_is_never_read_by_the_upload_action(seeds: Config, tmp_path: Path) -> None:
    config = dataclasses.replace(seeds, articles=tmp_path / "articles", index=tmp_path / "index")
    shutil.copytree(ARTICLES, config.articles)
    build_index(config)
    secret = write(tmp_path / "server-files", "secret.txt", "The vault code of the harbour authority is 4471, officials said.")
    lines = list(Changes(config).upload([str(secret)]))
    assert lines[-1].startswith("**Nothing was added.**") and "not an uploaded file" in lines[-1]
    assert sorted(p.name for p in config.articles.iterdir()) == sorted(p.name for p in ARTICLES.iterdir())


def test_failed_logins_are_throttled(server: str) -> None:
    codes = [
        httpx.post(server + "admin/login", data={"username": "admin", "password": f"guess {n}"}, timeout=60).status_code
        for n in range(20)
    ]
    # Refused (429) once the free failures are spent; an attempt that lands after its back-off ends is
    # refused by the password (400/401) instead: no attempt gets in, whatever the machine's speed.
    assert codes[0] in (400, 401) and 429 in codes[5:] and set(codes) <= {400, 401, 429}
    api = [
        httpx.post(server + "api/admin/rebuild", headers={"Authorization": f"Bearer guess {n}"}, timeout=60).status_code
        for n in range(20)
    ]
    assert set(api) <= {401, 429} and 429 in api  # one throttle per client: the panel's failures count here too


def test_a_new_outlet_is_listed_after_qa_add_without_a_restart(seeds: Config, tmp_path: Path) -> None:
    config = dataclasses.replace(seeds, articles=tmp_path / "articles", index=tmp_path / "index")
    shutil.copytree(ARTICLES, config.articles)
    build_index(config)
    with running(config) as url:
        assert "Harbour Gazette" not in httpx.get(url + "api/status", timeout=60).json()["sources"]
        new = write(
            tmp_path / "new",
            "pier.md",
            "---\nsource: Harbour Gazette\ndate: 2024-01-02\n---\nThe new pier opened on Tuesday, the harbour board said.\n",
        )
        add_articles([new], config)
        assert "Harbour Gazette" in httpx.get(url + "api/status", timeout=60).json()["sources"]


def test_sixteen_simultaneous_questions_run_at_most_the_configured_number_at_a_time(seeds: Config) -> None:
    config = dataclasses.replace(seeds, concurrency=2)
    with running(config) as url:
        replies: list[object] = []

        def by_api() -> None:
            replies.append(httpx.post(url + "api/answer", json={"question": QUESTION}, timeout=300).json()["answered"])

        def by_gradio() -> None:
            replies.append("called off" in Client(url, verbose=False).predict(message=QUESTION, api_name="/ask"))

        threads = [threading.Thread(target=by_api if n % 2 else by_gradio) for n in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        answers = httpx.get(url + "api/status", timeout=60).json()["answers"]
    assert replies == [True] * 16
    assert answers["limit"] == 2 and 1 <= answers["most"] <= 2 and answers["in_flight"] == 0
