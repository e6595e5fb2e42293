"""Event round trip over one WebSocket: stgo against a bare echo server (the floor).

Starts the server processes on free ports:

- ``python -m stgo run`` on a small app whose button handler bumps a session
  counter and sets a session text (so every click is a real event: decode,
  find the widget, run the handler in the session's queue, render one widget,
  push a patch with the ack);
- a plain simple-websocket echo handler under Werkzeug's threaded server, the
  same transport with no framework on top: the floor;
- with ``--baseline PYTHONPATH``, the same app on another tree's stgo
  (``git worktree add /tmp/old <commit>``).

One client connects to each and, after a warm-up, sends *n* sequential events
to each in rounds, the order turned round every round, so that all see the
same load (a shared machine's load moves between one server's run and the
next's).  It times every send-to-reply round trip and prints the median, p99
and mean of each and the ratios to the floor (and to the baseline).

Run ``python -m bench.rtt [N] [--rounds R] [--baseline PYTHONPATH] [--json]``;
reuse :func:`measure` from a runner.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import Request, urlopen

import websocket  # websocket-client

from .proc import baseline_server, run_server

__all__ = ["measure", "main"]

WARMUP = 200

APP_SOURCE = '''\
import stgo

app = stgo.App(title="rtt", event_rate=None)  # faster than a person clicks
button = app.button("Go", key="go")


@app.on_session_start
def setup(session):
    session.text("0", key="count")


@button.on_click
def clicked(session, event, value):
    n = session.increment("n")
    session.widget("count").set_text(str(n))
'''

ECHO_SOURCE = '''\
import simple_websocket
from werkzeug.serving import make_server


def app(environ, start_response):
    ws = simple_websocket.Server.accept(environ)
    try:
        while True:
            ws.send(ws.receive())
    except simple_websocket.ConnectionClosed:
        pass
    raise ConnectionError("WebSocket closed")  # no HTTP response after a WebSocket


server = make_server("127.0.0.1", 0, app, threaded=True)
print(f"echo serving at http://127.0.0.1:{server.server_port}/", flush=True)
server.serve_forever()
'''


def _stgo_client(url: str, stack: ExitStack) -> Callable[[], None]:
    """Open a tab of the rtt app at *url*; return one click and its ack."""
    with urlopen(Request(url), timeout=10) as resp:
        resp.read()
        cookie = resp.headers["Set-Cookie"].split(";", 1)[0]
    netloc = urlsplit(url).netloc
    ws = websocket.create_connection(
        f"ws://{netloc}/ws", origin=f"http://{netloc}",
        cookie=cookie, timeout=10,
    )
    stack.callback(ws.close)
    render = json.loads(ws.recv())
    button = re.search(r'id="([^"]+)" data-key="go"', render["roots"]["global"])
    assert button, "no button in the render"
    widget = button.group(1)
    seq = 0

    def click() -> None:
        nonlocal seq
        seq += 1
        ws.send(json.dumps({"v": 1, "type": "event", "widget": widget, "event": "click",
                            "value": None, "seq": seq}))
        while True:
            reply = json.loads(ws.recv())
            if reply.get("ack") == seq:
                if reply["type"] != "patch":
                    raise RuntimeError(f"event failed: {reply}")
                return

    return click


def _echo_client(url: str, stack: ExitStack) -> Callable[[], None]:
    """Open the echo floor at *url*; return one message and its echo."""
    netloc = urlsplit(url).netloc
    ws = websocket.create_connection(f"ws://{netloc}/", timeout=10)
    stack.callback(ws.close)
    seq = 0

    def echo() -> None:
        nonlocal seq
        seq += 1
        text = json.dumps({"v": 1, "type": "event", "widget": "w0123456789ab",
                           "event": "click", "value": None, "seq": seq})
        ws.send(text)
        if ws.recv() != text:
            raise RuntimeError("echo mismatch")

    return echo


def _in_turns(once: dict[str, Callable[[], None]], n: int, rounds: int) -> dict[str, list[float]]:
    """Each of *once* WARMUP times untimed, then *n* timed in *rounds* turns (ms)."""
    for fn in once.values():
        for _ in range(WARMUP):
            fn()
    clock = time.perf_counter
    samples: dict[str, list[float]] = {name: [] for name in once}
    names = list(once)
    per_round = max(1, n // rounds)
    for r in range(rounds):
        for name in names if r % 2 == 0 else names[::-1]:
            fn, out = once[name], samples[name]
            for _ in range(per_round):
                t = clock()
                fn()
                out.append((clock() - t) * 1000.0)
    return samples


def _summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "median_ms": statistics.median(ordered),
        "p99_ms": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))],
        "mean_ms": statistics.fmean(ordered),
    }


def measure(n: int = 2000, rounds: int = 10, baseline: str | None = None) -> dict[str, Any]:
    """Time *n* sequential round trips against stgo and the echo floor (and
    the *baseline* tree's stgo), in *rounds* turns.

    :param n: timed events per server (after 200 untimed warm-up events).
    :returns: ``{"n", "stgo": {median_ms, p99_ms, mean_ms}, "floor": {...},
        "ratio_median", "ratio_p99"}`` (with *baseline*, also ``"baseline"``
        and ``"vs_baseline_median"``); times in milliseconds.
    """
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        app_file = Path(tmp) / "rtt_app.py"
        app_file.write_text(APP_SOURCE, encoding="utf-8")
        echo_file = Path(tmp) / "echo.py"
        echo_file.write_text(ECHO_SOURCE, encoding="utf-8")
        echo = stack.enter_context(run_server([sys.executable, str(echo_file)]))
        once = {"floor": _echo_client(echo.url, stack)}
        server = stack.enter_context(run_server(
            [sys.executable, "-m", "stgo", "run", str(app_file), "--port", "0",
             "--log-level", "WARNING"]))
        once["stgo"] = _stgo_client(server.url, stack)
        if baseline is not None:
            old = stack.enter_context(baseline_server(baseline, app_file))
            once["baseline"] = _stgo_client(old.url, stack)
        samples = _in_turns(once, n, rounds)
    out: dict[str, Any] = {"n": n, **{name: _summary(s) for name, s in samples.items()}}
    stgo, floor = out["stgo"], out["floor"]
    out["ratio_median"] = stgo["median_ms"] / floor["median_ms"]
    out["ratio_p99"] = stgo["p99_ms"] / floor["p99_ms"]
    if baseline is not None:
        out["vs_baseline_median"] = stgo["median_ms"] / out["baseline"]["median_ms"]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("n", nargs="?", type=int, default=2000, help="events (default 2000)")
    parser.add_argument("--rounds", type=int, default=10, help="turns (default 10)")
    parser.add_argument("--baseline", metavar="PYTHONPATH",
                        help="also another tree's stgo (its PYTHONPATH)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    result = measure(args.n, args.rounds, args.baseline)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{args.n} sequential events over one WebSocket to each server, in "
          f"{args.rounds} turns (after {WARMUP} warm-up)")
    labels = {"floor": "simple-websocket echo", "stgo": "stgo button event",
              "baseline": "baseline's stgo"}
    for name, label in labels.items():
        if name in result:
            r = result[name]
            print(f"  {label:<22} median {r['median_ms']:.3f} ms   p99 {r['p99_ms']:.3f} ms   "
                  f"mean {r['mean_ms']:.3f} ms")
    print(f"  stgo / floor           median x{result['ratio_median']:.2f}   "
          f"p99 x{result['ratio_p99']:.2f}")
    if "vs_baseline_median" in result:
        print(f"  stgo / baseline        median x{result['vs_baseline_median']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
