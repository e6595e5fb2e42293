"""Live changes in a real browser: a progress bar set in a callback moves while it runs."""

from __future__ import annotations

import threading
import time
from typing import Any

from playwright.sync_api import expect

import stgo

# Every value the bar showed, as the page's DOM changed (a function: the page's
# CSP refuses expressions).
WATCH = """() => {
  window.seenValues = [];
  const note = () => {
    const bar = document.querySelector('[data-key=bar] progress');
    if (bar) window.seenValues.push(Number(bar.value));
  };
  new MutationObserver(note).observe(document.body,
                                     {childList: true, subtree: true, attributes: true});
}"""

INTERMEDIATE = """() => {
  const bar = document.querySelector('[data-key=bar] progress');
  return bar !== null && Number(bar.value) > 0 && Number(bar.value) < 100;
}"""


def progress_app() -> tuple[stgo.App, threading.Event]:
    app = stgo.App(title="Progress")
    bar = app.progress(0, key="bar")
    go = app.button("Run", key="run")
    finished = threading.Event()

    @go.on_click
    def run(session: stgo.Session, event: str, value: Any) -> None:
        finished.clear()
        for i in range(101):  # 0..100 over about 2 s: the callback's own work
            bar.set_progress(i)
            time.sleep(0.02)
        finished.set()

    return app, finished


def test_a_progress_bar_moves_while_its_callback_runs(serve, new_page) -> None:
    app, finished = progress_app()
    server = serve(app)
    page = new_page(server.url)
    page.evaluate(WATCH)
    page.get_by_role("button", name="Run").click()
    page.wait_for_function(INTERMEDIATE, timeout=10_000)
    assert not finished.is_set()  # seen while the callback still ran
    expect(page.locator("[data-key=bar] progress")).to_have_attribute("value", "100",
                                                                       timeout=15_000)
    seen = page.evaluate("() => window.seenValues")
    between = sorted({v for v in seen if 0 < v < 100})
    assert len(between) >= 3, seen  # it moved, step by step
    assert len(seen) < 101  # coalesced: not one push per change
