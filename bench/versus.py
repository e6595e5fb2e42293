"""``make bench``'s throughput, fan-out and shared-change rows in turns: the floor,
this tree's stgo and another tree's (the baseline), measured in the same run.

Run ``python -m bench.versus --baseline PYTHONPATH [--turns N] [--only ...]``.

:mod:`bench.runner` measures stgo, then the floor, one after the other; on a
shared machine the load moves between the two and so do the ratios.  Here
each turn measures every server once, the order turned round every turn
(floor, stgo, baseline; then baseline, stgo, floor; ...), and the table shows
the median over turns of each number, its spread (lowest-highest), and the
median over turns of the per-turn ratios to the floor and to the baseline.

- ``throughput``: 50 sessions in closed loops (as :func:`bench.load.throughput`),
  all servers running at once, a closed-loop phase in each per turn;
- ``fanout``: one global change to 10/100/500/1000 connected sessions, p50 of
  each turn's rounds (as :func:`bench.load.fanout`), all servers running at once;
- ``shared``: Chromium, one tab clicks Increment and the 9 other tabs of the
  same server see the shared total (:mod:`bench.browser`); the tabs of all
  servers stay open, each turn runs a batch of rounds in each.

The baseline is a ``git worktree add /tmp/old <commit>`` checkout, served with
``python -P -m stgo`` and that ``PYTHONPATH`` (:func:`bench.proc.baseline_server`).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

from . import load
from .proc import Server, baseline_server, floor_server, stgo_server
from .wsclient import WSClient, text_frame

__all__ = ["measure", "main"]

SECTIONS = ("throughput", "fanout", "shared")
COUNTS = (10, 100, 500, 1000)


def _turns(names: list[str], turns: int) -> list[list[str]]:
    return [names if t % 2 == 0 else names[::-1] for t in range(turns)]


class _Side:
    """One server's clients: the floor's echo, or a stgo counter app's sessions."""

    def __init__(self, name: str, server: Server) -> None:
        self.name = name
        self.server = server
        self.stgo = None if name == "floor" else load._Stgo(server)
        self.clients: list[WSClient] = []

    def connect(self, count: int) -> None:
        """Grow to *count* open connections (a new session each)."""
        s = self.server
        while len(self.clients) < count:
            if self.stgo is None:
                self.clients.append(WSClient(s.host, s.port, "/"))
            else:
                self.clients.append(self.stgo.client())
        if self.stgo is None:
            time.sleep(0.5)  # the floor lists a connection after its 101 went out

    def drop(self) -> None:
        for c in self.clients:
            c.close()
        self.clients = []
        time.sleep(0.5)  # the servers forget them

    def rate(self, widget: str, seconds: float) -> float:
        """Events/s of the clients in closed loops on *widget* (the floor: echo)."""
        if self.stgo is None:
            payload = load._event("w0123456789ab", 1)
            acks, _, secs = load._closed_loop(self.clients, lambda seq: payload,
                                              lambda m: True, seconds)
        else:
            wid = self.stgo.widgets[widget]
            acks, _, secs = load._closed_loop(
                self.clients, lambda seq: load._event(wid, seq), load._stgo_ack, seconds)
        return acks / secs

    def fan(self, rounds: int, turn: int) -> float:
        """p50 (ms) of *rounds* changes, each until every client has its message."""
        first = self.clients[0]
        if self.stgo is None:
            frame = text_frame("all:" + "x" * 300)  # the size of stgo's patch

            def trigger(r: int) -> None:
                first.send_frame(frame)
        else:
            wid = self.stgo.widgets["increment"]
            base = 1_000_000 * (turn + 1) + 10_000 * len(self.clients)

            def trigger(r: int) -> None:
                first.send_frame(load._event(wid, base + r))
        return float(statistics.median(load._fan_rounds(self.clients, trigger, rounds)))


def _protocol(baseline: str | None, turns: int, seconds: float, rounds: int,
              sections: tuple[str, ...], log: Callable[[str], None],
              counts: tuple[int, ...] = COUNTS) -> dict[str, Any]:
    """Per metric and server: the value of each turn (events/s, or p50 ms).

    All servers run at once; each turn samples each of them, one after another.
    """
    starts: dict[str, Any] = {"floor": floor_server, "stgo": stgo_server}
    if baseline is not None:
        starts["baseline"] = lambda: baseline_server(baseline, "counter.py")
    values: dict[str, dict[str, list[float]]] = {}

    def note(metric: str, name: str, value: float) -> None:
        values.setdefault(metric, {}).setdefault(name, []).append(value)

    with ExitStack() as stack:
        sides = {name: _Side(name, stack.enter_context(start()))
                 for name, start in starts.items()}
        order = _turns(list(sides), turns)
        if "throughput" in sections:
            for side in sides.values():
                side.connect(50)
                for widget in ("mine_only", "increment"):
                    side.rate(widget, 0.5)  # warm-up
            for t, names in enumerate(order):
                log(f"versus: throughput, turn {t + 1}/{turns}")
                for name in names:
                    side = sides[name]
                    if name == "floor":
                        rate = side.rate("", seconds)
                        note("throughput, private events", name, rate)
                        note("throughput, shared total", name, rate)
                    else:
                        note("throughput, private events", name, side.rate("mine_only", seconds))
                        note("throughput, shared total", name, side.rate("increment", seconds))
            for side in sides.values():
                side.drop()
        if "fanout" in sections:
            for count in counts:
                for side in sides.values():
                    side.connect(count)
                    side.fan(3, -1)  # warm-up
                for t, names in enumerate(order):
                    log(f"versus: fan-out to {count}, turn {t + 1}/{turns}")
                    for name in names:
                        note(f"fan-out to {count} sessions p50", name,
                             sides[name].fan(rounds, t))
            for side in sides.values():
                side.drop()
        for side in sides.values():
            if side.stgo is not None:
                side.stgo.close()
    return values


# Before the page's scripts: note (as an epoch in ms) when each WebSocket message arrives,
# before the page's own handler runs (the split of each tab's time: wire, then apply).
_HEARD = """
(() => {
  const Native = window.WebSocket;
  window.__heard = [];
  window.WebSocket = function (url, protocols) {
    const ws = protocols === undefined ? new Native(url) : new Native(url, protocols);
    ws.addEventListener('message', () => {
      window.__heard.push(performance.timeOrigin + performance.now());
    });
    return ws;
  };
  window.WebSocket.prototype = Native.prototype;
  window.WebSocket.OPEN = Native.OPEN;
})();
"""


def _tabs(browser: Any, url: str, clicker_url: str, watchers: int = 9) -> tuple[Any, list[Any]]:
    from .browser import _WATCH

    pages = []
    for i in range(watchers + 1):
        context = browser.new_context()
        context.add_init_script(_HEARD)
        page = context.new_page()
        page.goto(clicker_url if i == 0 else url)
        page.wait_for_function("() => window.stgo && window.stgo.connected", timeout=15_000)
        if i:
            page.evaluate(_WATCH)
        pages.append(page)
    return pages[0], pages[1:]


def _shared_rounds(clicker: Any, others: list[Any], rounds: int,
                   warmup: int = 2) -> dict[str, list[float]]:
    """As :func:`bench.browser._shared_change`; also, per watching tab, when
    its message arrived (``heard``) and the message to the DOM change (``apply``)."""
    from .browser import _CLICK_AT

    out: dict[str, list[float]] = {"last": [], "each": [], "heard": [], "apply": []}
    for r in range(rounds + warmup):
        counts = [p.evaluate("() => [window.__seen.length, window.__heard.length]")
                  for p in others]
        t0 = float(clicker.evaluate(_CLICK_AT))
        time.sleep(0.25)  # sleep rather than poll (see bench.browser)
        seen, heard = [], []
        for p, (c, h) in zip(others, counts, strict=True):
            p.wait_for_function(f"() => window.__seen.length > {c}", timeout=15_000)
            s, hd = p.evaluate(f"() => [window.__seen[{c}], window.__heard[{h}]]")
            seen.append(float(s))
            heard.append(float(hd))
        if r >= warmup:
            out["last"].append(max(seen) - t0)
            out["each"].extend(s - t0 for s in seen)
            out["heard"].append(max(heard) - t0)
            out["apply"].extend(s - h for s, h in zip(seen, heard, strict=True))
        time.sleep(0.02)
    return out


_SHARED_METRICS = {
    "last": "browser: shared change -> all 9 other tabs p50",
    "each": "browser: shared change -> each of 9 other tabs p50",
    "heard": "  (split) click -> the last tab's message event p50",
    "apply": "  (split) message event -> DOM changed, each tab p50",
}


def _shared(baseline: str | None, turns: int, rounds: int,
            log: Callable[[str], None]) -> dict[str, Any]:
    """Shared change -> the 9 other tabs, each turn *rounds* rounds per server:
    per metric and server, each turn's median (ms)."""
    from playwright.sync_api import sync_playwright

    from .browser import FLAGS, chromium_path

    path = chromium_path()
    if path is None:
        raise RuntimeError("no Chromium at /usr/bin/chromium (apt-get install chromium)")
    starts: dict[str, Any] = {"floor": floor_server, "stgo": stgo_server}
    if baseline is not None:
        starts["baseline"] = lambda: baseline_server(baseline, "counter.py")
    values: dict[str, dict[str, list[float]]] = {}
    with sync_playwright() as pw, ExitStack() as stack:
        browser = pw.chromium.launch(executable_path=path, args=FLAGS)
        stack.callback(browser.close)
        tabs = {}
        for name, start in starts.items():
            server = stack.enter_context(start())
            tab, clicker = ("tab", "tab?all") if name == "floor" else ("", "")
            tabs[name] = _tabs(browser, server.url + tab, server.url + clicker)
        for t, order in enumerate(_turns(list(starts), turns)):
            log(f"versus: shared change, turn {t + 1}/{turns}")
            for name in order:
                got = _shared_rounds(*tabs[name], rounds)
                for part, metric in _SHARED_METRICS.items():
                    values.setdefault(metric, {}).setdefault(name, []).append(
                        statistics.median(got[part]))
    return values


def measure(baseline: str | None, turns: int = 4, seconds: float = 3.0, rounds: int = 20,
            browser_rounds: int = 10, sections: tuple[str, ...] = SECTIONS,
            log: Callable[[str], None] = lambda m: None,
            counts: tuple[int, ...] = COUNTS) -> dict[str, Any]:
    """Every metric of *sections*: per server, the value of each turn.

    :returns: ``{metric: {"floor"|"stgo"|"baseline": [value per turn]}}``.
    """
    values: dict[str, Any] = {}
    if "throughput" in sections or "fanout" in sections:
        values.update(_protocol(baseline, turns, seconds, rounds, sections, log, counts))
    if "shared" in sections:
        values.update(_shared(baseline, turns, browser_rounds, log))
    return values


def _ratios(a: list[float], b: list[float]) -> list[float]:
    return [x / y for x, y in zip(a, b, strict=True)]


def report(values: dict[str, Any]) -> list[str]:
    """One line per metric and server: median over turns (spread), median of
    the per-turn ratios to the floor and to the baseline."""
    lines = []
    for metric, by_name in values.items():
        unit = "/s" if metric.startswith("throughput") else "ms"
        lines.append(metric)
        for name, vals in by_name.items():
            fmt = (lambda v: f"{v:,.0f}") if unit == "/s" else (lambda v: f"{v:.2f}")
            line = (f"  {name:<9} {fmt(statistics.median(vals)):>8} {unit:<2} "
                    f"({fmt(min(vals))}-{fmt(max(vals))})")
            if name != "floor":
                r = _ratios(vals, by_name["floor"])
                line += f"  /floor x{statistics.median(r):.2f} (x{min(r):.2f}-x{max(r):.2f})"
            if name == "stgo" and "baseline" in by_name:
                r = _ratios(vals, by_name["baseline"])
                line += f"  /baseline x{statistics.median(r):.3f} (x{min(r):.2f}-x{max(r):.2f})"
            lines.append(line)
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--baseline", metavar="PYTHONPATH",
                        help="also another tree's stgo (its PYTHONPATH)")
    parser.add_argument("--turns", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=3.0,
                        help="throughput: seconds per phase (make bench: 3)")
    parser.add_argument("--rounds", type=int, default=20,
                        help="fan-out: rounds per count (make bench: 20)")
    parser.add_argument("--counts", default=",".join(map(str, COUNTS)),
                        help="fan-out: connected sessions, comma-separated")
    parser.add_argument("--browser-rounds", type=int, default=10,
                        help="shared change: rounds per server per turn")
    parser.add_argument("--only", default=",".join(SECTIONS),
                        help=f"comma-separated sections (default all: {','.join(SECTIONS)})")
    parser.add_argument("--json", metavar="PATH", help="also write the values here")
    args = parser.parse_args(argv)
    sections = tuple(s.strip() for s in args.only.split(",") if s.strip())
    unknown = [s for s in sections if s not in SECTIONS]
    if unknown:
        parser.error(f"unknown section(s) {unknown}; choose from {list(SECTIONS)}")

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    values = measure(args.baseline, args.turns, args.seconds, args.rounds,
                     args.browser_rounds, sections, log,
                     tuple(int(c) for c in args.counts.split(",") if c.strip()))
    print(f"{args.turns} turns; median over turns (lowest-highest), "
          "median of the per-turn ratios")
    print("\n".join(report(values)))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(values, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
