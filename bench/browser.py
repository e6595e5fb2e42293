"""Browser benchmarks: headless Chromium (Debian's) driven by Playwright, counter app.

Everything is timed inside the page with ``performance.now()``:

- click → DOM updated: from the button's own click listener (it runs before
  stgo's, which listens on the document) to the MutationObserver callback that
  sees the user's count change;
- page load → first widget visible: from navigation start to the first
  animation frame in which a widget has a laid-out box (the CSS applied);
- shared change → visible in the 9 other tabs: one tab clicks, the other nine
  observe the shared total; the time until the *last* of the nine has it
  (clocks compared as ``performance.timeOrigin + performance.now()``);
- server memory per extra open tab: the server's RSS delta over N more tabs
  (each its own browser context, so a new session and a connection), / N.
"""

from __future__ import annotations

import os
import shutil
import time
from typing import Any

from .load import summary
from .proc import Server, floor_server, settled_rss, stgo_server

__all__ = ["measure", "chromium_path", "FLAGS", "CLICKS"]

FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]

# Installed before the page's own scripts: note when the first widget is laid out.
_FIRST_WIDGET = """
(() => {
  window.__firstWidget = null;
  function check() {
    const w = document.querySelector('.stgo-w');
    if (w && w.getBoundingClientRect().height > 0) {
      window.__firstWidget = performance.now();
      return;
    }
    requestAnimationFrame(check);
  }
  requestAnimationFrame(check);
})();
"""

# Click the button *n* times, one after another; time each click to the DOM
# change, as [total, to send, round trip, apply] (the last three need
# bench.clicks' wiretap of the page's WebSocket; without it they are noise).
CLICKS = """
async ([key, watch, n]) => {
  const target = document.getElementById(watch);
  const wire = window.__wire || { sent: 0, heard: 0 };
  let t0 = 0, done = null;
  // Capture phase on the document: runs before the client's own (bubbling) listener.
  const onClick = () => { t0 = performance.now(); };
  document.addEventListener('click', onClick, true);
  const mo = new MutationObserver(() => {
    if (!done) return;
    const d = done, t = performance.now();
    done = null;
    d([t - t0, wire.sent - t0, wire.heard - wire.sent, t - wire.heard]);
  });
  mo.observe(target, {childList: true, subtree: true, characterData: true});
  const out = [];
  for (let i = 0; i < n; i++) {
    const p = new Promise(r => { done = r; });
    document.querySelector(`[data-key="${key}"] button`).click();
    out.push(await p);
    await new Promise(r => setTimeout(r, 5));
  }
  mo.disconnect();
  document.removeEventListener('click', onClick, true);
  return out;
}
"""

# In each watching tab: note (as an epoch in ms, sub-ms precise) every change of the total.
_WATCH = """
() => {
  window.__seen = [];
  const target = document.querySelector('[data-key="total"]').parentElement;
  new MutationObserver(() => { window.__seen.push(performance.timeOrigin + performance.now()); })
    .observe(target, {childList: true, subtree: true, characterData: true});
}
"""

_CLICK_AT = """
() => {
  let t = 0;
  const f = () => { t = performance.timeOrigin + performance.now(); };
  document.addEventListener('click', f, {capture: true, once: true});
  document.querySelector('[data-key="increment"] button').click();
  return t;
}
"""


def chromium_path() -> str | None:
    """Debian's Chromium, or ``None``."""
    path = os.environ.get("STGO_CHROMIUM", "/usr/bin/chromium")
    if os.path.exists(path):
        return path
    return shutil.which("chromium")


def _wait_connected(page: Any) -> None:
    page.wait_for_function("() => window.stgo && window.stgo.connected", timeout=15_000)


def _open(browser: Any, url: str, context: Any = None) -> tuple[Any, Any]:
    """A page at *url* with its client connected, in *context* or a new one."""
    if context is None:
        context = browser.new_context()
    page = context.new_page()
    page.goto(url)
    _wait_connected(page)
    return context, page


def _page_load(browser: Any, url: str, n: int) -> list[float]:
    out = []
    for i in range(n + 2):
        context = browser.new_context()
        context.add_init_script(_FIRST_WIDGET)
        page = context.new_page()
        page.goto(url)
        page.wait_for_function("() => window.__firstWidget !== null", timeout=15_000)
        t = page.evaluate("() => window.__firstWidget")
        if i >= 2:  # the first two warm the browser up
            out.append(float(t))
        context.close()
    return out


def _click_to_dom(browser: Any, url: str, n: int) -> list[float]:
    context, page = _open(browser, url)
    try:
        # The user's count is a session widget: its update replaces the
        # element inside the session root, which the observer watches.
        page.evaluate(CLICKS, ["increment", "stgo-session", 20])  # warm-up
        return [float(c[0]) for c in page.evaluate(CLICKS, ["increment", "stgo-session", n])]
    finally:
        context.close()


def _shared_change(browser: Any, url: str, clicker_url: str, rounds: int,
                   watchers: int = 9) -> dict[str, Any]:
    opened = [_open(browser, clicker_url)] + [_open(browser, url) for _ in range(watchers)]
    pages = [p for _, p in opened]
    clicker, others = pages[0], pages[1:]
    try:
        for p in others:
            p.evaluate(_WATCH)
        last: list[float] = []
        each: list[float] = []
        for r in range(rounds + 3):
            counts = [p.evaluate("() => window.__seen.length") for p in others]
            t0 = float(clicker.evaluate(_CLICK_AT))
            # Sleep rather than poll: Playwright's polling runs animation
            # frames in every tab, which would load the CPU being measured.
            time.sleep(0.25)
            arrived = []
            for p, c in zip(others, counts, strict=True):
                p.wait_for_function(f"() => window.__seen.length > {c}", timeout=15_000)
                arrived.append(float(p.evaluate(f"() => window.__seen[{c}]")))
            if r >= 3:
                last.append(max(arrived) - t0)
                each.extend(a - t0 for a in arrived)
            time.sleep(0.02)
        return {"last_ms": summary(last), "each_ms": summary(each), "tabs": watchers}
    finally:
        for context, _ in opened:
            context.close()


def _memory_per_tab(browser: Any, server: Server, url: str, tabs: int,
                    same_browser: bool = False) -> dict[str, Any]:
    """RSS delta per tab over *tabs* more tabs (after two warm-up tabs).

    :param same_browser: all tabs in one browser context (one cookie jar:
        one session, cached static files), as a user opening more tabs;
        otherwise each tab is a new visitor (its own context and session).
    """
    shared = browser.new_context() if same_browser else None
    warm = [_open(browser, url, shared) for _ in range(2)]
    before = settled_rss(server)
    threads = server.threads()
    opened = [_open(browser, url, shared) for _ in range(tabs)]
    after = settled_rss(server)
    threads_after = server.threads()
    contexts = {id(c): c for c, _ in opened + warm}
    for context in contexts.values():
        context.close()
    return {"tabs": tabs, "same_browser": same_browser, "rss_before": before,
            "rss_after": after, "bytes_per_tab": (after - before) / tabs,
            "threads_per_tab": (threads_after - threads) / tabs}


def measure(quick: bool = True) -> dict[str, Any]:
    """Run the four browser measurements on a fresh counter server each.

    :param quick: fewer samples (for ``make bench``).
    """
    path = chromium_path()
    if path is None:
        raise RuntimeError("no Chromium at /usr/bin/chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    n_load, n_click, n_rounds, n_tabs = (10, 100, 15, 30) if quick else (40, 400, 60, 60)
    out: dict[str, Any] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=path, args=FLAGS)
        try:
            for name, start, tab, clicker in (
                ("floor", floor_server, "tab", "tab?all"),
                ("stgo", stgo_server, "", ""),
            ):
                res: dict[str, Any] = {}
                with start() as server:
                    res["memory"] = _memory_per_tab(browser, server, server.url + tab, n_tabs)
                with start() as server:
                    res["memory_same_browser"] = _memory_per_tab(
                        browser, server, server.url + tab, n_tabs, same_browser=True)
                with start() as server:
                    url = server.url + tab
                    res["page_load_ms"] = summary(_page_load(browser, url, n_load))
                    res["click_to_dom_ms"] = summary(_click_to_dom(browser, url, n_click))
                    res["shared_change"] = _shared_change(browser, url, server.url + clicker,
                                                          n_rounds)
                out[name] = res
        finally:
            browser.close()
    return out
