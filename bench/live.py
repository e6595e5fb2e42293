"""What does live flushing cost a callback that makes 1,000 changes?

The same 1,000 changes of a global text and a session text, made in one batch,
with the flushing a callback's batch now has (``live=True``: pushed while it
runs, at most every 1/30 s after the first 0.1 s) and without it (a plain
``app.batch()``, one message at the end), interleaved run by run.  Two shapes:

- *quick*: the changes back to back (a callback of a few milliseconds: no
  flush before the end, so this is the bookkeeping per change);
- *spread*: a little CPU work between changes, ~0.5 s in all (~12 early
  flushes: the price of the pushes themselves, and how many messages a tab gets).

Ten tabs are connected (test doubles that count what they are sent), so each
flush renders and encodes for real.  Run ``python -m bench.live [RUNS]``.
"""

from __future__ import annotations

import statistics
import sys
import time
from typing import Any

import stgo

__all__ = ["measure", "main"]


class _Tab:
    """A connection that keeps count of the messages it is sent."""

    def __init__(self) -> None:
        self.messages = 0

    def send(self, text: str, key: Any = None) -> bool:
        self.messages += 1
        return True

    def close(self, code: int = 1000, reason: str = "", final: str | None = None) -> None:
        pass


def _work(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def _one(app: stgo.App, session: stgo.Session, tabs: list[_Tab], *, live: bool,
         spread: float) -> tuple[float, int]:
    """Seconds for 1,000 changes in one batch, and the messages one tab got."""
    shared = app.widget("shared")
    mine = session.widget("mine")
    before = tabs[0].messages
    start = time.perf_counter()
    with app.hub.batch(origin=session, live=live):
        for i in range(1000):
            shared.set_text(f"shared {i}")  # type: ignore[attr-defined]
            mine.set_text(f"mine {i}")  # type: ignore[attr-defined]
            if spread:
                _work(spread / 1000)
    return time.perf_counter() - start, tabs[0].messages - before


def measure(runs: int = 10) -> dict[str, dict[str, float]]:
    """Median seconds and messages per shape and mode (see the module)."""
    app = stgo.App(title="Live bench")
    app.text("shared 0", key="shared")
    session = app.sessions.create()
    session.text("mine 0", key="mine")
    tabs = [_Tab() for _ in range(10)]
    for tab in tabs:
        app.hub.register(session, tab)
    results: dict[str, dict[str, float]] = {}
    try:
        for shape, spread in (("quick", 0.0), ("spread", 0.5)):
            times: dict[bool, list[float]] = {False: [], True: []}
            counts: dict[bool, list[int]] = {False: [], True: []}
            for _ in range(runs):
                for live in (False, True):  # interleaved: the machine's mood hits both
                    seconds, messages = _one(app, session, tabs, live=live, spread=spread)
                    times[live].append(seconds)
                    counts[live].append(messages)
            for live in (False, True):
                name = f"{shape} {'live' if live else 'plain app.batch()'}"
                results[name] = {"ms": statistics.median(times[live]) * 1000,
                                 "messages": statistics.median(counts[live])}
    finally:
        app.stop()
    return results


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    runs = int(args[0]) if args else 10
    print(f"1,000 changes x 2 widgets in one batch, 10 tabs, median of {runs} runs")
    print(f"{'shape and mode':32} {'ms':>9} {'messages/tab':>13}")
    for name, row in measure(runs).items():
        print(f"{name:32} {row['ms']:9.1f} {row['messages']:13.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
