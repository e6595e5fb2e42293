"""Click → DOM in turns: the floor page, stgo, and another tree's stgo, all open at once.

Run ``python -m bench.clicks [--rounds N] [--clicks N] [--baseline PYTHONPATH]``.

The browser rows of :mod:`bench.browser` measure the floor, then stgo, one
after the other: on a shared machine the load moves between the two and so
does the ratio (x1.27 and x1.64 for one tree).  Here every page is open in
one browser from the start and each round clicks a batch in each, the order
turned round every round, so all see the same load.  Each click is also cut
in three, as the page sees it (``performance.now()``, 0.1 ms steps):

- *to send*: the click to the ``WebSocket.send`` of its event (the client's
  click handling);
- *round trip*: the send to the answer's ``message`` event (browser network
  stack, server, and back);
- *apply*: the message event to the DOM change (decoding, applying the patch).

``--baseline`` adds a third page, served by ``python -P -m stgo`` with that
``PYTHONPATH`` (another commit's tree: ``git worktree add /tmp/old <commit>``).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from contextlib import ExitStack
from typing import Any

from .browser import CLICKS, FLAGS, chromium_path
from .proc import Server, baseline_server, floor_server, stgo_server

__all__ = ["measure", "main"]

# Before the page's scripts: note when each WebSocket sends and hears.
_WIRETAP = """
(() => {
  const Native = window.WebSocket;
  window.__wire = { sent: 0, heard: 0 };
  window.WebSocket = function (url, protocols) {
    const ws = protocols === undefined ? new Native(url) : new Native(url, protocols);
    // Registered before the page sets onmessage: runs first.
    ws.addEventListener('message', () => { window.__wire.heard = performance.now(); });
    const send = ws.send.bind(ws);
    ws.send = (data) => { window.__wire.sent = performance.now(); send(data); };
    return ws;
  };
  window.WebSocket.prototype = Native.prototype;
  window.WebSocket.OPEN = Native.OPEN;
})();
"""


PARTS = ("total", "to send", "round trip", "apply")


def _open(browser: Any, server: Server, path: str) -> Any:
    context = browser.new_context()
    context.add_init_script(_WIRETAP)
    page = context.new_page()
    page.goto(server.url + path)
    page.wait_for_function("() => window.stgo && window.stgo.connected", timeout=15_000)
    page.evaluate(CLICKS, ["increment", "stgo-session", 20])  # warm-up
    return page


def measure(rounds: int = 12, clicks: int = 25, baseline: str | None = None) -> dict[str, Any]:
    """*rounds* batches of *clicks* clicks in each page, in turns.

    :returns: per page (``floor``, ``stgo``, ``baseline``): ``p50_ms`` (each
        part's median over all clicks, see :data:`PARTS`) and ``rounds_ms``
        (each round's median total); ``ratio`` and ``round_ratios`` to the floor.
    """
    path = chromium_path()
    if path is None:
        raise RuntimeError("no Chromium at /usr/bin/chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    starts = {"floor": floor_server, "stgo": stgo_server}
    if baseline is not None:
        starts["baseline"] = lambda: baseline_server(baseline, "counter.py")
    samples: dict[str, list[list[float]]] = {name: [] for name in starts}
    per_round: dict[str, list[float]] = {name: [] for name in starts}
    with sync_playwright() as pw, ExitStack() as stack:
        browser = pw.chromium.launch(executable_path=path, args=FLAGS)
        stack.callback(browser.close)
        pages = {name: _open(browser, stack.enter_context(start()),
                             "tab" if name == "floor" else "")
                 for name, start in starts.items()}
        names = list(pages)
        for r in range(rounds):
            for name in names if r % 2 == 0 else names[::-1]:
                batch = pages[name].evaluate(CLICKS, ["increment", "stgo-session", clicks])
                samples[name].extend(batch)
                per_round[name].append(statistics.median(c[0] for c in batch))
    out: dict[str, Any] = {}
    floor_p50 = statistics.median(c[0] for c in samples["floor"])
    for name, clicks_of in samples.items():
        parts = {part: statistics.median(c[i] for c in clicks_of) for i, part in enumerate(PARTS)}
        ratios = [a / b for a, b in zip(per_round[name], per_round["floor"], strict=True)]
        out[name] = {"p50_ms": parts, "rounds_ms": per_round[name],
                     "ratio": parts["total"] / floor_p50, "round_ratios": ratios}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--clicks", type=int, default=25, help="clicks per page per round")
    parser.add_argument("--baseline", metavar="PYTHONPATH",
                        help="also another tree's stgo (its PYTHONPATH)")
    args = parser.parse_args(argv)
    result = measure(args.rounds, args.clicks, args.baseline)
    print(f"click -> DOM, {args.rounds} rounds of {args.clicks} clicks per page, "
          "p50 in ms: " + ", ".join(PARTS))
    for name, r in result.items():
        parts = "  ".join(f"{r['p50_ms'][p]:5.2f}" for p in PARTS)
        ratios = sorted(r["round_ratios"])
        print(f"  {name:<9} {parts}   x{r['ratio']:.2f} (rounds x{ratios[0]:.2f}"
              f"-x{ratios[-1]:.2f}, median x{statistics.median(ratios):.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
