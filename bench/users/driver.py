"""N concurrent users in Debian's Chromium: each loads, clicks and waits for what it sees.

The users are browser contexts (a cookie jar each: a new visitor, a new
session) spread over a few Chromium processes, all started at once. Times are
taken inside the page with ``performance.now()``:

- load: navigation start to the user's own content visible (an element whose
  own text is the scenario's ``ready`` text, with a laid-out box), noted by an
  init script that watches the document from its start;
- click: from just before ``element.click()`` to the expected text visible;
  clicks wait until the page's socket is open (a click before it would be lost);
- live: no click; the gaps between the pushed value's visible changes.

While the users run, the server's process tree is sampled every 500 ms (RSS).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from typing import Any

from ..browser import FLAGS, chromium_path
from .peers import tree_cpu, tree_rss
from .scenarios import CONNECTED, Scenario
from .stats import Cell, UserResult

__all__ = ["Browsers", "run_cell", "INIT"]

#: Installed in every page before its own scripts: helpers, and the ready time.
INIT = """
(() => {
  const xp = (t) => t.endsWith('*')
    ? `//*[text()[starts-with(normalize-space(.), '${t.slice(0, -1)}')]]`
    : `//*[text()[normalize-space(.)='${t}']]`;
  const shown = (el) => {
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0;
  };
  const find = (t) => {
    const it = document.evaluate(xp(t), document, null,
                                 XPathResult.ORDERED_NODE_SNAPSHOT_TYPE, null);
    for (let i = 0; i < it.snapshotLength; i++) {
      if (shown(it.snapshotItem(i))) return it.snapshotItem(i);
    }
    return null;
  };
  // Resolve when check() is true: tested after DOM changes (once a frame) and every 50 ms.
  const until = (check, ms) => new Promise((resolve, reject) => {
    let timer = null, mo = null, ival = null;
    const done = (v, err) => { clearTimeout(timer); clearInterval(ival); if (mo) mo.disconnect();
                               err ? reject(err) : resolve(v); };
    const test = () => { try { const v = check(); if (v) done(v); } catch (e) { done(null, e); } };
    mo = new MutationObserver(test);
    mo.observe(document, {childList: true, subtree: true, characterData: true});
    ival = setInterval(test, 50);
    timer = setTimeout(() => done(null, new Error('timeout')), ms);
    test();
  });
  window.__h2h = { find, until, ready: null };
  const want = window.__h2hWant;
  until(() => find(want) && performance.now(), 600000).then(t => { window.__h2h.ready = t; });
})();
"""

_CLICK = """
async ([css, text, expect, ms]) => {
  const h = window.__h2h;
  const el = await h.until(() => [...document.querySelectorAll(css)].find(
      e => e.textContent.includes(text) && e.getBoundingClientRect().height > 0), ms);
  const t0 = performance.now();
  el.click();
  const t1 = await h.until(() => h.find(expect) && performance.now(), ms);
  return t1 - t0;
}
"""

# Wait for *n* changes of the pushed value; the gaps between them (ms).
_LIVE = """
async ([prefix, n, ms]) => {
  const h = window.__h2h, seen = [];
  let last = h.find(prefix).textContent.trim();
  await h.until(() => {
    const el = h.find(prefix), v = el && el.textContent.trim();
    if (v && v !== last) { last = v; seen.push(performance.now()); }
    return seen.length > n;
  }, ms);
  return seen.slice(1).map((t, i) => t - seen[i]);
}
"""


class Browsers:
    """A few Chromium processes; users are handed out round-robin."""

    def __init__(self, count: int = 3) -> None:
        self.count = count
        self._pw: Any = None
        self._list: list[Any] = []
        self._next = 0

    async def __aenter__(self) -> Browsers:
        path = chromium_path()
        if path is None:
            raise RuntimeError("no Chromium at /usr/bin/chromium (apt-get install chromium)")
        from playwright.async_api import async_playwright

        self._pw = await async_playwright().start()
        for _ in range(self.count):
            self._list.append(await self._pw.chromium.launch(executable_path=path, args=FLAGS))
        return self

    async def __aexit__(self, *exc: object) -> None:
        for b in self._list:
            await b.close()
        await self._pw.stop()

    def pick(self) -> Any:
        b = self._list[self._next % len(self._list)]
        self._next += 1
        return b


async def _user(browser: Any, url: str, sc: Scenario, framework: str, timeout_s: float,
                hold: asyncio.Event, contexts: list[Any], finished: list[int]) -> UserResult:
    res = UserResult()
    context = await browser.new_context()
    contexts.append(context)
    ms = int(timeout_s * 1000)
    stage = "load"  # named in the error: which step a failed user was at
    try:
        await context.add_init_script(f"window.__h2hWant = {sc.ready!r};" + INIT)
        page = await context.new_page()
        page.set_default_timeout(ms)
        statuses: list[int] = []  # the page's own answers: a failed load says which
        page.on("response", lambda r: statuses.append(r.status) if r.url == url else None)
        stage = "goto"
        await page.goto(url, wait_until="commit", timeout=ms)
        stage = "load"
        await page.wait_for_function("() => window.__h2h && window.__h2h.ready !== null",
                                     timeout=ms, polling=100)
        res.load_ms = float(await page.evaluate("() => window.__h2h.ready"))
        stage = "live" if sc.live else "connect"
        if sc.live:
            gaps = await page.evaluate(_LIVE, [sc.ready, 2, ms])
            res.clicks_ms.extend(float(g) for g in gaps)
        else:
            await page.wait_for_function(f"() => {CONNECTED[framework]}", timeout=ms,
                                         polling=100)
            for i, step in enumerate(sc.steps_for(framework), 1):
                stage = f"click {i}"
                dt = await page.evaluate(_CLICK, [step.target, step.text, step.expect, ms])
                res.clicks_ms.append(float(dt))
    except Exception as exc:  # noqa: BLE001 - a user's failure is a figure, not a crash
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if stage in ("goto", "load"):  # the page's status says which (a 503, a 408)
            stage = f"load (HTTP {','.join(map(str, statuses)) or '-'})"
        res.error = f"{stage}: " + ("timeout" if "imeout" in msg else msg[:120])
    finished[0] += 1
    await hold.wait()  # every user stays until all are done: the server holds them all
    return res


class _Sampler:
    """The server tree's RSS every *interval* seconds, on a thread; the peak."""

    def __init__(self, pid: int, interval: float = 0.5) -> None:
        self.pid, self.interval = pid, interval
        self.peak = 0
        self.samples: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while True:
            rss = tree_rss(self.pid)
            self.samples.append(rss)
            self.peak = max(self.peak, rss)
            if self._stop.wait(self.interval):
                return

    def __enter__(self) -> _Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


async def _warm(browsers: Browsers, url: str, sc: Scenario, timeout_s: float) -> None:
    """One user loads the page first, not measured: the server's first-use work (imports,
    a first script run) is not any one user's."""
    context = await browsers.pick().new_context()
    try:
        await context.add_init_script(f"window.__h2hWant = {sc.ready!r};" + INIT)
        page = await context.new_page()
        await page.goto(url, wait_until="commit", timeout=timeout_s * 1000)
        await page.wait_for_function("() => window.__h2h && window.__h2h.ready !== null",
                                     timeout=timeout_s * 1000, polling=100)
    finally:
        await context.close()


async def run_cell(browsers: Browsers, url: str, pid: int, sc: Scenario, framework: str,
                   n: int, timeout_s: float = 60.0) -> Cell:
    """*n* users of *sc* on the server at *url* (process *pid*), all at once."""
    await _warm(browsers, url, sc, timeout_s)
    await asyncio.sleep(1.0)
    before = tree_rss(pid)
    cpu0 = tree_cpu(pid)
    hold = asyncio.Event()
    contexts: list[Any] = []
    finished = [0]
    t0 = time.monotonic()
    with _Sampler(pid) as sampler:
        tasks = [asyncio.ensure_future(_user(browsers.pick(), url, sc, framework, timeout_s,
                                             hold, contexts, finished))
                 for _ in range(n)]
        # Release the users once all are done (each finishes, or fails, by its timeout).
        while finished[0] < n and time.monotonic() - t0 < timeout_s * 4:
            await asyncio.sleep(0.1)
        seconds = time.monotonic() - t0
        await asyncio.sleep(1.0)  # one more sample with everybody there
        cpu1 = tree_cpu(pid)
        hold.set()
        users = await asyncio.gather(*tasks)
    for c in contexts:
        with contextlib.suppress(Exception):  # a crashed context is already gone
            await c.close()
    return Cell(framework, sc.name, list(users), before, sampler.peak, cpu1 - cpu0, seconds)

