"""Live charts and uploads: bytes and time per ``add_rows``, upload throughput.

``python -m bench.charts [--tabs 10] [--points 1000] [--rounds 50] [--upload-mb 50]``

1. A 1,000-point line chart open in 10 tabs (10 sessions on real WebSockets):
   bytes each tab receives, and the time until all 10 have it, for one new
   point by ``chart.add_rows`` (an ``extend`` op) against the two ways of
   redrawing the chart: ``chart.set_data`` (a ``figure`` op with every point)
   and a full widget re-render (the ``update`` op a static image or table
   would need).
2. A 50 MB upload to a file uploader (``POST upload``: checks, spool to the
   session's directory) against a plain Werkzeug handler that writes the
   body to a temporary file, both on the built-in threaded server, same run.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import websocket
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

import stgo
from stgo.server import Server

__all__ = ["chart_updates", "upload_throughput", "main"]

COOKIE = "stgo_session"


@contextmanager
def _serving(app: stgo.App) -> Iterator[Server]:
    server = Server(app, "127.0.0.1", 0)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _visit(url: str) -> str:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    conn.request("GET", "/")
    resp = conn.getresponse()
    resp.read()
    conn.close()
    for name, value in resp.getheaders():
        if name.lower() == "set-cookie" and value.startswith(COOKIE + "="):
            return value.split(";", 1)[0].split("=", 1)[1]
    raise RuntimeError("no session cookie")


def _tab(url: str) -> websocket.WebSocket:
    sid = _visit(url)
    parts = urlsplit(url)
    origin = f"http://{parts.netloc}"
    # The cookie names the session; older servers also want it in the URL.
    for query in ("", f"?session={sid}"):
        try:
            ws = websocket.create_connection(f"ws://{parts.netloc}/ws{query}", timeout=10,
                                             origin=origin, cookie=f"{COOKIE}={sid}")
        except websocket.WebSocketBadStatusException:
            continue
        while json.loads(ws.recv())["type"] != "render":
            pass
        return ws
    raise RuntimeError("could not open a WebSocket")


def _round(tabs: list[websocket.WebSocket], trigger: Callable[[], None]) -> tuple[int, float]:
    """Run *trigger*; return (bytes per tab, seconds until every tab had its message)."""
    start = time.perf_counter()
    trigger()
    sizes = [len(ws.recv()) for ws in tabs]
    return int(statistics.mean(sizes)), time.perf_counter() - start


def chart_updates(tabs: int = 10, points: int = 1000, rounds: int = 50) -> dict[str, Any]:
    """Bytes and milliseconds per update of a *points*-point chart open in *tabs* tabs."""
    app = stgo.App()
    chart = app.line_chart({"t": list(range(points)), "v": [float(i % 17) for i in range(points)]},
                           x="t", y="v", max_points=points, key="c")
    out: dict[str, Any] = {"tabs": tabs, "points": points, "rounds": rounds}
    with _serving(app) as server:
        socks = [_tab(server.url) for _ in range(tabs)]
        try:
            n = [points]

            def extend() -> None:
                chart.add_rows({"t": [n[0]], "v": [1.0]})
                n[0] += 1

            def figure() -> None:
                chart.set_data(chart.data)

            ways = {"add_rows (extend)": extend, "set_data (figure)": figure,
                    "re-render (update)": lambda: chart.changed("update")}
            for name, trigger in ways.items():
                sizes, times = [], []
                for _ in range(rounds):
                    size, took = _round(socks, trigger)
                    sizes.append(size)
                    times.append(took)
                out[name] = {"bytes_per_tab": int(statistics.median(sizes)),
                             "ms_all_tabs_p50": round(statistics.median(times) * 1000, 2),
                             "ms_all_tabs_p95": round(sorted(times)[int(len(times) * 0.95) - 1]
                                                      * 1000, 2)}
        finally:
            for ws in socks:
                ws.close()
    return out


def _post(url: str, path: str, body_path: str, size: int, headers: dict[str, str]) -> float:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
    start = time.perf_counter()
    conn.putrequest("POST", path)
    for name, value in {**headers, "Content-Length": str(size)}.items():
        conn.putheader(name, value)
    conn.endheaders()
    with open(body_path, "rb") as f:
        while chunk := f.read(1 << 20):
            conn.send(chunk)
    resp = conn.getresponse()
    resp.read()
    took = time.perf_counter() - start
    conn.close()
    if resp.status not in (200, 201):
        raise RuntimeError(f"upload answered {resp.status}")
    return took


def upload_throughput(megabytes: int = 50) -> dict[str, Any]:
    """MB/s of a *megabytes* upload to stgo and to a plain Werkzeug handler."""
    size = megabytes * 1_000_000
    with tempfile.TemporaryDirectory() as tmp:
        source = os.path.join(tmp, "source.bin")
        with open(source, "wb") as f:
            for _ in range(megabytes):
                f.write(os.urandom(1_000_000))

        @Request.application
        def plain(request: Request) -> Response:
            with tempfile.NamedTemporaryFile(dir=tmp, delete=True) as out:
                stream = request.stream
                while chunk := stream.read(64 * 1024):
                    out.write(chunk)
            return Response("ok")

        floor = make_server("127.0.0.1", 0, plain, threaded=True)
        thread = threading.Thread(target=floor.serve_forever, daemon=True)
        thread.start()
        try:
            # Best of three each, alternating, so that a warm page cache favours neither.
            floor_s = min(_post(f"http://127.0.0.1:{floor.server_port}", "/", source, size,
                                {"Content-Type": "application/octet-stream"})
                          for _ in range(3))
        finally:
            floor.shutdown()
            thread.join()

        app = stgo.App(upload_dir=tmp)
        up = app.file_uploader("Upload", max_size=size, key="up")
        with _serving(app) as server:
            sid = _visit(server.url)
            parts = urlsplit(server.url)
            stgo_s = min(_post(server.url, f"/upload?widget={up.id}", source, size, {
                "Cookie": f"{COOKIE}={sid}", "Origin": f"http://{parts.netloc}",
                "X-Stgo-Filename": "big.bin", "Content-Type": "application/octet-stream"})
                for _ in range(3))
    return {"megabytes": megabytes, "stgo_MB_per_s": round(megabytes / stgo_s, 1),
            "werkzeug_MB_per_s": round(megabytes / floor_s, 1),
            "ratio": round(floor_s / stgo_s, 2)}


def main(argv: list[str] | None = None) -> int:
    """Run both and print them as JSON."""
    parser = argparse.ArgumentParser(prog="python -m bench.charts")
    parser.add_argument("--tabs", type=int, default=10)
    parser.add_argument("--points", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--upload-mb", type=int, default=50)
    args = parser.parse_args(argv)
    import logging

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    result = {"charts": chart_updates(args.tabs, args.points, args.rounds),
              "upload": upload_throughput(args.upload_mb)}
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
