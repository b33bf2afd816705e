"""From Enter to a visible answer in a real browser (Debian's chromium through Playwright).

    python bench/ui_latency.py [INDEX] [QUESTIONS]

INDEX defaults to bench/out/multihop/default (the 609-article corpus). The server runs in its own
process (`qa serve`); the first question is a warm-up. Each timing is from pressing Enter to the
verdict panel showing the answer to that question.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
from playwright.sync_api import sync_playwright
from serving import served

ROOT = Path(__file__).resolve().parents[1]
#: The answer panel's own content (not Gradio's loading indicator beside it) and the last chat message.
VERDICT = (
    "() => (document.querySelector('#qa-verdict .qa-verdict') || {}).innerHTML + '|' + "
    "[...document.querySelectorAll('#qa-chat .message')].length"
)
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def main() -> None:
    index = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "bench/out/multihop/default"
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    questions = [json.loads(line)["question"] for line in (ROOT / "bench/dev_questions.jsonl").read_text().splitlines()][
        : count + 1
    ]
    times = []
    with served(index) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(url)
        box = page.locator("#qa-question textarea")
        for n, question in enumerate(questions):
            before = page.evaluate(VERDICT)
            box.fill(question)
            started = time.perf_counter()
            box.press("Enter")
            page.wait_for_function(f"before => ({VERDICT})() !== before", arg=before, timeout=120_000)
            if n:  # the first is a warm-up
                times.append(time.perf_counter() - started)
        browser.close()
    ms = np.array(times) * 1000
    print(
        f"{len(ms)} questions on {index}: Enter → visible answer p50 {np.percentile(ms, 50):.0f} ms, "
        f"p95 {np.percentile(ms, 95):.0f} ms, max {ms.max():.0f} ms"
    )


if __name__ == "__main__":
    main()
