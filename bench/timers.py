"""A timer's tick pushed to many tabs, beside a plain ``app.batch()`` push.

Run ``python -m bench.timers [--tabs N] [--rounds N]``.

The server (``bench/apps/ticks.py``) sets one shared text every 0.25 s from
an ``@app.every`` timer and, between those, from a thread of its own inside
``app.batch()``; each value carries ``time.monotonic()`` at the change (one
clock for every process on the machine).  The client holds *tabs* sessions
open and times, for every change, how long until the last tab had it (the
fan-out) and each tab's own wait.  Both kinds are measured in the same run,
interleaved, so both see the same load.
"""

from __future__ import annotations

import argparse
import json
import re
import selectors
import sys
import time
from typing import Any

from .load import summary
from .proc import new_session, stgo_server
from .wsclient import WSClient

__all__ = ["measure", "main"]

_STAMP = re.compile(r"(timer|batch) ([0-9]+\.[0-9]+)")


def measure(tabs: int = 1000, rounds: int = 40, timeout: float = 60.0) -> dict[str, Any]:
    """*rounds* changes of each kind, each timed to the last of *tabs* tabs.

    :returns: per kind (``timer``, ``batch``): ``all_ms`` (the change to the
        last tab having it) and ``each_ms`` (the change to each tab), as
        :func:`bench.load.summary`; ``ratio``: the timer's p50 of ``all_ms``
        over the batch's.
    """
    import http.client

    with stgo_server("ticks.py") as server:
        conn = http.client.HTTPConnection(server.host, server.port, timeout=30)
        clients = []
        for _ in range(tabs):
            _, cookie, _ = new_session(conn)
            client = WSClient(server.host, server.port, "/ws", cookie=cookie,
                              origin=server.origin)
            client.recv()  # the render
            clients.append(client)
        conn.close()
        sel = selectors.DefaultSelector()
        for i, c in enumerate(clients):
            c.tag = i
            sel.register(c.sock, selectors.EVENT_READ, c)
        # (kind, stamp) -> the monotonic times each tab had it
        seen: dict[tuple[str, str], list[float]] = {}
        done = {"timer": 0, "batch": 0}
        warm = 3
        deadline = time.monotonic() + timeout
        try:
            while min(done.values()) < rounds + warm and time.monotonic() < deadline:
                for key, _ in sel.select(1.0):
                    c = key.data
                    data = c.sock.recv(262144)
                    if not data:
                        raise RuntimeError("the server closed a connection")
                    now = time.monotonic()
                    for message in c.feed(data):
                        for kind, stamp in _STAMP.findall(message.decode("utf-8", "replace")):
                            arrivals = seen.setdefault((kind, stamp), [])
                            arrivals.append(now)
                            if len(arrivals) == tabs:
                                done[kind] += 1
        finally:
            sel.close()
            for c in clients:
                c.close()
    out: dict[str, Any] = {"tabs": tabs, "rounds": rounds}
    for kind in ("timer", "batch"):
        complete = sorted(((float(s), a) for (k, s), a in seen.items()
                           if k == kind and len(a) == tabs))[warm:]
        if not complete:
            raise RuntimeError(f"no {kind} change reached all {tabs} tabs in {timeout} s")
        out[kind] = {
            "all_ms": summary([(max(a) - t) * 1000.0 for t, a in complete]),
            "each_ms": summary([(x - t) * 1000.0 for t, a in complete for x in a]),
        }
    out["ratio"] = out["timer"]["all_ms"]["p50"] / out["batch"]["all_ms"]["p50"]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--tabs", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=40, help="changes of each kind timed")
    parser.add_argument("--json", metavar="PATH", help="also write the result here")
    args = parser.parse_args(argv)
    result = measure(args.tabs, args.rounds)
    print(f"a change pushed to {args.tabs} tabs, {args.rounds} of each kind, in ms:")
    for kind, label in (("timer", "@app.every tick"), ("batch", "app.batch() push")):
        r = result[kind]
        print(f"  {label:<17} all tabs p50 {r['all_ms']['p50']:7.2f}  p99 "
              f"{r['all_ms']['p99']:7.2f}   each tab p50 {r['each_ms']['p50']:7.2f}")
    print(f"  tick / batch (all tabs, p50): x{result['ratio']:.2f}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
