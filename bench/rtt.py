"""Event round trip over one WebSocket: stgo against a bare echo server (the floor).

Starts two server processes on free ports:

- ``python -m stgo run`` on a small app whose button handler bumps a session
  counter and sets a session text (so every click is a real event: decode,
  find the widget, run the handler in the session's queue, render one widget,
  push a patch with the ack);
- a plain simple-websocket echo handler under Werkzeug's threaded server, the
  same transport with no framework on top: the floor.

Then one client sends *n* sequential events over one WebSocket to each (after
a warm-up) and times every send-to-reply round trip.  It prints the median,
p99 and mean of both and the ratio stgo / floor.

Run ``python -m bench.rtt [N] [--json]``; reuse :func:`measure` from a runner.
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
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import Request, urlopen

import websocket  # websocket-client

from .proc import run_server

__all__ = ["measure", "main"]

WARMUP = 200

APP_SOURCE = '''\
import stgo

app = stgo.App(title="rtt")
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


def _time(n: int, once: Callable[[], None]) -> list[float]:
    """Run *once* WARMUP times untimed, then *n* times; return each duration in ms."""
    for _ in range(WARMUP):
        once()
    clock = time.perf_counter
    samples = []
    for _ in range(n):
        t = clock()
        once()
        samples.append((clock() - t) * 1000.0)
    return samples


def _stgo_samples(url: str, n: int) -> list[float]:
    with urlopen(Request(url), timeout=10) as resp:
        resp.read()
        cookie = resp.headers["Set-Cookie"].split(";", 1)[0]
    netloc = urlsplit(url).netloc
    ws = websocket.create_connection(
        f"ws://{netloc}/ws", origin=f"http://{netloc}",
        cookie=cookie, timeout=10,
    )
    try:
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

        return _time(n, click)
    finally:
        ws.close()


def _echo_samples(url: str, n: int) -> list[float]:
    netloc = urlsplit(url).netloc
    ws = websocket.create_connection(f"ws://{netloc}/", timeout=10)
    seq = 0
    try:
        def echo() -> None:
            nonlocal seq
            seq += 1
            text = json.dumps({"v": 1, "type": "event", "widget": "w0123456789ab",
                               "event": "click", "value": None, "seq": seq})
            ws.send(text)
            if ws.recv() != text:
                raise RuntimeError("echo mismatch")

        return _time(n, echo)
    finally:
        ws.close()


def _summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "median_ms": statistics.median(ordered),
        "p99_ms": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))],
        "mean_ms": statistics.fmean(ordered),
    }


def measure(n: int = 2000) -> dict[str, Any]:
    """Time *n* sequential round trips against stgo and against the echo floor.

    :param n: timed events per server (after 200 untimed warm-up events).
    :returns: ``{"n", "stgo": {median_ms, p99_ms, mean_ms}, "floor": {...},
        "ratio_median", "ratio_p99"}``; times in milliseconds.
    """
    with tempfile.TemporaryDirectory() as tmp:
        app_file = Path(tmp) / "rtt_app.py"
        app_file.write_text(APP_SOURCE, encoding="utf-8")
        echo_file = Path(tmp) / "echo.py"
        echo_file.write_text(ECHO_SOURCE, encoding="utf-8")
        with run_server([sys.executable, str(echo_file)]) as echo:
            floor = _summary(_echo_samples(echo.url, n))
        with run_server([sys.executable, "-m", "stgo", "run", str(app_file), "--port", "0",
                         "--log-level", "WARNING"]) as server:
            stgo = _summary(_stgo_samples(server.url, n))
    return {
        "n": n,
        "stgo": stgo,
        "floor": floor,
        "ratio_median": stgo["median_ms"] / floor["median_ms"],
        "ratio_p99": stgo["p99_ms"] / floor["p99_ms"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("n", nargs="?", type=int, default=2000, help="events (default 2000)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    result = measure(args.n)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{args.n} sequential events over one WebSocket (after {WARMUP} warm-up)")
    for name, label in (("floor", "simple-websocket echo"), ("stgo", "stgo button event")):
        r = result[name]
        print(f"  {label:<22} median {r['median_ms']:.3f} ms   p99 {r['p99_ms']:.3f} ms   "
              f"mean {r['mean_ms']:.3f} ms")
    print(f"  stgo / floor           median x{result['ratio_median']:.2f}   "
          f"p99 x{result['ratio_p99']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
