from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from conftest import ARTICLES, NEWER, OLDER, write

from qa.cleaning import clean_text
from qa.ingest import load_articles


def test_seed_metadata() -> None:
    articles, warnings = load_articles(ARTICLES)
    assert warnings == []
    by_id = {a.id: a for a in articles}
    newer = by_id[NEWER]
    assert newer.title == "U.S. Calls Off Biden-Putin Summit After Ukraine 'Invasion'"
    assert newer.date == dt.date(2022, 2, 23)
    assert newer.url == "https://www.themoscowtimes.com/2022/02/23/us-calls-off-biden-putin-summit-after-ukraine-invasion-a76533"
    assert newer.source == "themoscowtimes.com"
    older = by_id[OLDER]
    assert older.date is None and older.title is None and older.url is None  # nothing invented


def test_seed_cleaning() -> None:
    text = {a.id: a for a in load_articles(ARTICLES)[0]}[NEWER].text
    assert "](#)" not in text and "**" not in text
    assert "The Kremlin however had called talk of a summit" in text  # link text kept
    assert "flickr" not in text  # photo credit gone
    assert "Related article" not in text and "Sanctions Russia for 'Beginning'" not in text
    assert 'if the Russian leader "changes course.”' in text  # sentence rejoined across a blank line
    assert "Original url" not in text and "February 23, 2022" not in text  # metadata lines are not body


def test_markdown_front_matter_and_wrapping(tmp_path: Path) -> None:
    write(
        tmp_path,
        "a.md",
        "---\ntitle: Front Title\ndate: 2023-10-05\nsource: The Verge\nauthor: Jane Roe\n---\n"
        "# Heading Title\n\n![chart](img.png)\nThe council voted on\nThursday to approve the [new budget](http://x.org).\n\n"
        "Photo: Getty Images\n\nRead more: Something else\n",
    )
    [article], warnings = load_articles(tmp_path)
    assert warnings == []
    assert (article.title, article.date, article.source, article.author) == (
        "Front Title",
        dt.date(2023, 10, 5),
        "The Verge",
        "Jane Roe",
    )
    assert article.text == "The council voted on Thursday to approve the new budget."


def test_html_goes_through_main_text_extraction(tmp_path: Path) -> None:
    body = " ".join(f"The harbour authority said the new ferry line number {i} opens next spring." for i in range(12))
    write(
        tmp_path,
        "page.html",
        f"""<html><head><title>Ferry line opens | Daily Port</title>
        <meta property="og:title" content="Ferry line opens"><meta property="article:published_time" content="2023-11-02">
        <meta property="og:url" content="https://port.example.com/ferry"></head>
        <body><nav>Home | Sports | Weather</nav><article><h1>Ferry line opens</h1><p>{body}</p></article>
        <footer>Copyright Daily Port</footer></body></html>""",
    )
    [article], warnings = load_articles(tmp_path)
    assert warnings == []
    assert article.title == "Ferry line opens" and article.date == dt.date(2023, 11, 2)
    assert "ferry line number 3 opens" in article.text and "Copyright" not in article.text and "Weather" not in article.text


def test_jsonl_news_dump(tmp_path: Path) -> None:
    records = [
        {
            "title": "One",
            "body": "First body text.",
            "published_at": "2023-11-27T08:45:59+00:00",
            "source": "Mashable",
            "url": "https://m.example/1",
            "author": None,
        },
        {"title": "Two", "body": "", "published_at": None, "source": "X", "url": None, "author": None},
    ]
    write(tmp_path, "dump.jsonl", "\n".join(json.dumps(r) for r in records) + "\n{broken\n")
    articles, warnings = load_articles(tmp_path)
    assert [(a.id, a.title, a.date, a.source) for a in articles] == [
        ("dump.jsonl#https://m.example/1", "One", dt.date(2023, 11, 27), "Mashable")
    ]
    reasons = sorted(w.reason for w in warnings)
    assert reasons[0] == "line 2: no body, skipped" and reasons[1].startswith("line 3: not valid JSON")


def test_record_ids_come_from_the_record_never_from_its_line(tmp_path: Path) -> None:
    records = [
        {"id": "a-17", "body": "Body A."},
        {"url": "https://x.example/b", "body": "Body B."},
        {"body": "Body C."},
        {"id": "a-17", "body": "A duplicate id."},
    ]
    write(tmp_path, "dump.jsonl", "\n".join(json.dumps(r) for r in records))
    first, warnings = load_articles(tmp_path)
    write(tmp_path, "dump.jsonl", "\n".join(json.dumps(r) for r in reversed(records[:3])))
    second, _ = load_articles(tmp_path)
    assert {a.id: a.text for a in first} == {a.id: a.text for a in second}  # reordering the dump changes no id
    assert {a.id for a in first} >= {"dump.jsonl#a-17", "dump.jsonl#https://x.example/b"} and len(first) == 3
    assert any("same id as line 1" in w.reason for w in warnings)


def test_bad_files_warn_and_the_rest_is_indexed(tmp_path: Path) -> None:
    write(tmp_path, "good.txt", "A perfectly fine article about harbours. It has two sentences.")
    write(tmp_path, "empty.txt", "")
    write(tmp_path, "binary.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    write(tmp_path, "latin1.txt", "Caf\xe9 owners in S\xe3o Paulo protest the new tax.".encode("latin-1"))
    with open(tmp_path / "huge.txt", "wb") as out:  # 50 MB, written sparsely
        out.truncate(50_000_000)
    articles, warnings = load_articles(tmp_path, max_bytes=10_000_000)
    assert sorted(a.id for a in articles) == ["good.txt", "latin1.txt"]
    assert "São Paulo" in {a.id: a for a in articles}["latin1.txt"].text
    by_file = {w.path: str(w) for w in warnings}
    assert set(by_file) == {"empty.txt", "binary.txt", "latin1.txt", "huge.txt"}
    assert all("\n" not in line and line.startswith(f"warning: {path}: ") for path, line in by_file.items())
    assert "empty" in by_file["empty.txt"] and "binary" in by_file["binary.txt"]
    assert "UTF-8" in by_file["latin1.txt"] and "50.0 MB" in by_file["huge.txt"]


def test_clean_text_keeps_paragraphs() -> None:
    assert clean_text("One.\nTwo.\n\n\nThree") == "One.\n\nTwo.\n\nThree"


@pytest.mark.parametrize(
    ("markdown", "text"),
    [
        ("See [the report](https://en.wikipedia.org/wiki/Foo_(bar)) here.", "See the report here."),
        ("**Talks** were *called off* on _Monday_.", "Talks were called off on Monday."),
        ("Shares of AT&amp;T rose; `code` stays; \\*not emphasis\\*.", "Shares of AT&T rose; code stays; *not emphasis*."),
        ("“It was a f*ing mess,” he said of the sh*t show.", "“It was a f*ing mess,” he said of the sh*t show."),
        ("Read more at <https://example.com/a> ![chart](c.png) today.", "Read more at https://example.com/a today."),
        ("snake_case_names and 5 * 3 * 2 stay as written [1].", "snake_case_names and 5 * 3 * 2 stay as written [1]."),
    ],
)
def test_markdown_becomes_its_text(markdown: str, text: str) -> None:
    """CommonMark's rules (markdown-it-py), not patterns: a URL with parentheses, single-star emphasis,
    escapes and entities; asterisk censoring and intraword underscores are text."""
    assert clean_text(markdown) == text
