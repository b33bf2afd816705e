"""The web UI in a real browser: Debian's chromium driven by Playwright, at 1280 px and at 390 px.

Screenshots go to tests/out/ (git-ignored). Skipped, with the reason, only where chromium or
Playwright is not installed (`make test` installs both where apt-get works).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ROOT, write

from qa import Config, build_index
from qa.ui import running

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
playwright = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (pip install playwright)")
if not Path(CHROMIUM).exists():
    pytest.skip("Debian's chromium is not installed and could not be (apt-get install chromium)", allow_module_level=True)

OUT = ROOT / "tests" / "out"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WAIT = 90_000  # ms: the first question of a process loads the model


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with playwright.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A private index of the sample articles: the test uploads articles into its folder."""
    folder = tmp_path_factory.mktemp("browser")
    shutil.copytree(ROOT / "articles", folder / "articles")
    config = Config(articles=folder / "articles", index=folder / "index")
    build_index(config)
    with running(config, admin_password="") as served:
        yield served


def _ask(page: object, question: str) -> None:
    box = page.locator("#qa-question textarea")  # type: ignore[attr-defined]
    box.fill(question)
    box.press("Enter")


@pytest.mark.parametrize("width,height", [(1280, 800), (390, 844)])
def test_the_verdict_and_the_newest_report_are_in_view_and_nothing_scrolls_sideways(
    browser, url: str, width: int, height: int
) -> None:  # type: ignore[no-untyped-def]
    expect = playwright.expect
    OUT.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(url)
    _ask(page, "Did the summit happen?")
    headline = page.locator("#qa-verdict .qa-headline")
    expect(headline).to_contain_text("Called off — 23 Feb 2022", timeout=WAIT)
    card = page.locator("#qa-verdict .qa-card")
    expect(card).to_contain_text("2022-02-23")
    expect(card.locator("a")).to_have_attribute("href", re.compile(r"^https://www\.themoscowtimes\.com/2022/02/23/"))
    assert page.evaluate("window.scrollY") == 0
    for element in (headline, card.locator(".qa-meta"), card.locator("a")):  # in view without scrolling
        box = element.bounding_box()
        assert box and 0 <= box["y"] and box["y"] + box["height"] <= height and box["x"] + box["width"] <= width, box
    expect(page.locator("#qa-cards .qa-timeline")).to_contain_text("2022-02-23")
    page.screenshot(path=str(OUT / f"summit-{width}.png"))

    _ask(page, "and why?")
    expect(page.locator("#qa-chat")).to_contain_text("Searched with: Did the summit happen? and why?", timeout=WAIT)
    expect(page.locator("#qa-chat")).to_contain_text("The same reports answer this ([1], [2])")  # not the whole text again
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=str(OUT / f"follow-up-{width}.png"), full_page=True)

    keeper = f"Orla Venn{width}"  # a name no other article holds, one per width
    article = write(
        OUT / "upload",
        f"lighthouse {width}.md",
        f"---\ntitle: {keeper} retires from Skellig Rock\ndate: 2024-05-02\n"
        f"source: Island Post\n---\nThe lighthouse keeper {keeper} retired on Thursday after forty years on Skellig Rock.\n",
    )
    page.goto(url + "admin/")  # the index panel (no password set here: no login)
    page.locator("#qa-upload input[type=file]").set_input_files(str(article))
    page.locator("#qa-add").click()
    expect(page.locator("#qa-admin")).to_contain_text("1 added", timeout=WAIT)
    expect(page.locator("#qa-articles")).to_contain_text(f"lighthouse_{width}.md", timeout=WAIT)  # saved under a safe name
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=str(OUT / f"index-panel-{width}.png"), full_page=True)
    page.goto(url)
    # The new outlet is in the sources filter without a restart (issue 21): listed from the index as it is now.
    page.get_by_text("Filters").click()
    page.locator("#qa-sources input").click()
    expect(page.get_by_role("option", name="Island Post")).to_be_visible(timeout=WAIT)
    page.keyboard.press("Escape")
    _ask(page, f"Which lighthouse keeper retired after forty years, {keeper}?")
    expect(page.locator("#qa-verdict")).to_contain_text(f"{keeper} retires from Skellig Rock", timeout=WAIT)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=str(OUT / f"upload-{width}.png"), full_page=True)
    page.close()


PAYLOADS = [
    '<img src=x onerror="window.__xss=1">',
    "<script>window.__xss=2</script>",
    '<svg onload="window.__xss=3">',
    "[click](javascript:window.__xss=4)",
    '"><iframe src="javascript:window.__xss=5"></iframe>',
    '<a href="javascript:window.__xss=6">link</a>',
    "**bold** _it_ `code` <b onmouseover=window.__xss=7>hover</b>",
]


def test_an_article_full_of_payloads_renders_inert(browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    expect = playwright.expect
    body = " ".join(f"The harbour board payload {n} reads {p} in its minutes." for n, p in enumerate(PAYLOADS))
    write(
        tmp_path / "a",
        "x.md",
        f"---\ntitle: '{PAYLOADS[0]} harbour'\nsource: '{PAYLOADS[2]}'\nurl: 'javascript:window.__xss=8'\n"
        f"date: 2024-01-02\n---\nThe harbour board approved a new ferry plan. {body}\n",
    )
    config = Config(articles=tmp_path / "a", index=tmp_path / "i" / "default")
    build_index(config)
    with running(config, admin_password="") as served:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(served)
        _ask(page, "what did the harbour board approve in its minutes?")
        expect(page.locator("#qa-cards, #qa-verdict").first).to_contain_text("harbour", timeout=WAIT)
        expect(page.locator("#qa-chat")).to_contain_text("harbour", timeout=WAIT)
        live = page.evaluate("""() => {
            const scope = [...document.querySelectorAll('#qa-verdict *, #qa-cards *, #qa-chat *')];
            return {
              handlers: scope.filter(e => [...e.attributes].some(a => a.name.startsWith('on'))).length,
              elements: scope.filter(e => ['SCRIPT', 'IFRAME', 'OBJECT', 'EMBED'].includes(e.tagName)
                                          || [...e.attributes].some(a => a.value.includes('__xss'))).map(e => e.tagName),
              javascript: scope.filter(e => (e.getAttribute('href') || e.getAttribute('src') || '').trim().toLowerCase()
                                          .startsWith('javascript:')).length,
              fired: window.__xss === undefined ? null : window.__xss,
            };
        }""")
        assert live == {"handlers": 0, "elements": [], "javascript": 0, "fired": None}, live
        shown = page.locator("#qa-verdict").inner_text() + page.locator("#qa-cards").inner_text()
        assert "window.__xss" in shown  # the payloads are there, as text
        page.screenshot(path=str(OUT / "payloads.png"), full_page=True)
        page.close()
