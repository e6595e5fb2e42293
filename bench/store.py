"""The Redis store against the memory store, in the same run.

- event round trip and ``GET /`` (with the session's cookie) of the rtt app
  under ``python -m stgo run``: one server with ``--store memory`` and one
  with ``--store redis://...`` run side by side, and their samples alternate
  in blocks of 50 (50 memory events, 50 Redis events, ...), so that both see
  the same load of a shared machine and the ratio is a fair one;
- session create / get / set per second through a SessionManager (in process);
- memory per idle session in Redis (``INFO memory`` before and after).

Starts its own redis-server (``/usr/bin/redis-server``) on a free port.  Run
``python -m bench.store [N] [--json]``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import websocket  # websocket-client

from .proc import free_port, run_server
from .rtt import APP_SOURCE, WARMUP

__all__ = ["measure", "main", "add_rows"]

#: The goal for the Redis store's event round trip and page load: at most
#: this many times the memory store's, measured in the same run.
GOAL = 1.5


@contextmanager
def redis_server() -> Iterator[str]:
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    port = free_port()
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no"], stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(10)


class _Tab:
    """One session's page and WebSocket on a server: a click on the rtt app's
    button, or a page load with the session's cookie, timed."""

    def __init__(self, base: str) -> None:
        parts = urlsplit(base)
        self._http = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        self._http.request("GET", "/")
        resp = self._http.getresponse()
        resp.read()
        self._cookie = (resp.getheader("Set-Cookie") or "").split(";", 1)[0]
        self._ws = websocket.create_connection(
            f"ws://{parts.netloc}/ws", origin=f"http://{parts.netloc}", cookie=self._cookie,
            timeout=10)
        render = json.loads(self._ws.recv())
        button = re.search(r'id="([^"]+)" data-key="go"', render["roots"]["global"])
        if button is None:
            raise RuntimeError("no button in the render")
        self._widget = button.group(1)
        self._seq = 0

    def click(self) -> float:
        """One event's round trip, ms."""
        self._seq += 1
        t = time.perf_counter()
        self._ws.send(json.dumps({"v": 1, "type": "event", "widget": self._widget,
                                  "event": "click", "value": None, "seq": self._seq}))
        while True:
            reply = json.loads(self._ws.recv())
            if reply.get("ack") == self._seq:
                if reply["type"] != "patch":
                    raise RuntimeError(f"event failed: {reply}")
                return (time.perf_counter() - t) * 1000.0

    def load(self) -> float:
        """One ``GET /`` with the session's cookie, ms."""
        t = time.perf_counter()
        self._http.request("GET", "/", headers={"Cookie": self._cookie})
        resp = self._http.getresponse()
        resp.read()
        if resp.status != 200:
            raise RuntimeError(f"GET / answered {resp.status}")
        return (time.perf_counter() - t) * 1000.0

    def close(self) -> None:
        self._ws.close()
        self._http.close()


def _alternate(tabs: dict[str, _Tab], what: str, n: int, warmup: int = WARMUP,
               block: int = 50) -> dict[str, list[float]]:
    """*n* samples of *what* (``click``/``load``) per tab, taken in turns of
    *block* samples (so that each server is warm while measured, and both
    see the same load of the machine), after *warmup* untimed ones each."""
    samples: dict[str, list[float]] = {name: [] for name in tabs}
    for tab in tabs.values():
        for _ in range(warmup):
            getattr(tab, what)()
    for start in range(0, n, block):
        for name, tab in tabs.items():
            samples[name].extend(getattr(tab, what)() for _ in range(min(block, n - start)))
    return samples


def _ops(store_url: str | None, n: int) -> dict[str, float]:
    from stgo import SessionManager
    from stgo.store import open_store

    store = open_store(store_url)
    store.open()
    try:
        m = SessionManager(store=store)
        out: dict[str, float] = {}
        t = time.perf_counter()
        made = [m.create() for _ in range(n)]
        out["create"] = n / (time.perf_counter() - t)
        t = time.perf_counter()
        for s in made:
            m.get(s.id)
        out["get"] = n / (time.perf_counter() - t)
        t = time.perf_counter()
        for s in made:
            s.set("k", 1)
        out["set"] = n / (time.perf_counter() - t)
        return out
    finally:
        store.close()


def _redis_memory_per_session(url: str, n: int) -> float:
    import redis

    from stgo import SessionManager
    from stgo.store.redis import RedisStore

    client = redis.Redis.from_url(url)
    store = RedisStore(url + "?prefix=mem:")
    store.open()
    try:
        before = client.info("memory")["used_memory"]
        m = SessionManager(store=store)
        for _ in range(n):
            s = m.create()
            s.set("count", 0)  # what the counter example keeps
        after = client.info("memory")["used_memory"]
        return (after - before) / n
    finally:
        store.close()
        client.close()


def measure(n: int = 2000, baseline: str | None = None) -> dict[str, Any]:
    """Both stores' numbers (keys ``<metric>_memory`` and ``<metric>_redis``).

    :param baseline: a ``PYTHONPATH`` (say, another commit's tree from
        ``git archive``) for a third server on the same Redis, measured in
        the same turns: keys ``<metric>_baseline`` (round trip and page only).
    """
    out: dict[str, Any] = {"n": n}
    with redis_server() as url, tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        app = Path(tmp) / "rtt_app.py"
        app.write_text(APP_SOURCE)
        tabs: dict[str, _Tab] = {}
        runs: list[tuple[str, str, list[str]]] = [("memory", "memory", []), ("redis", url, [])]
        if baseline is not None:
            # -P: not this tree's stgo from the working directory, the baseline's.
            runs.append(("baseline", url + "?prefix=baseline:",
                         ["env", f"PYTHONPATH={baseline}", sys.executable, "-P"]))
        for name, store, python in runs:
            argv = [*(python or [sys.executable]), "-m", "stgo", "run", str(app), "--port",
                    "0", "--log-level", "WARNING", "--store", store]
            server = stack.enter_context(run_server(argv))
            tabs[name] = _Tab(f"http://{server.host}:{server.port}/")
            stack.callback(tabs[name].close)
        rtt = _alternate(tabs, "click", n)
        page = _alternate(tabs, "load", n // 2, warmup=50)
        for name in tabs:
            out[f"rtt_p50_ms_{name}"] = statistics.median(rtt[name])
            out[f"rtt_p99_ms_{name}"] = statistics.quantiles(rtt[name], n=100)[98]
            out[f"page_p50_ms_{name}"] = statistics.median(page[name])
        for name in ("memory", "redis"):
            ops = _ops(None if name == "memory" else url, n)
            for op, rate in ops.items():
                out[f"{op}_per_s_{name}"] = rate
        out["redis_bytes_per_idle_session"] = _redis_memory_per_session(url, n)
    return out


def add_rows(r: dict[str, Any], add: Callable[..., None]) -> None:
    """Add this benchmark's rows to bench.runner's table: each Redis number
    beside the memory store's of the same run (the "floor" column)."""
    for key, label in (("rtt_p50_ms", "event round trip p50"),
                       ("page_p50_ms", "GET / with the session's cookie p50")):
        memory = r[f"{key}_memory"]
        add(f"Redis store: {label}", r[f"{key}_redis"], memory, "ms", GOAL * memory)
    add("Redis store: event round trip p99", r["rtt_p99_ms_redis"], r["rtt_p99_ms_memory"], "ms")
    for op in ("create", "get", "set"):
        add(f"Redis store: session {op} per second (in process)", r[f"{op}_per_s_redis"],
            r[f"{op}_per_s_memory"], "/s")
    add("Redis store: memory per idle session in Redis", r["redis_bytes_per_idle_session"],
        None, "KiB")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.store")
    parser.add_argument("n", nargs="?", type=int, default=2000)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--baseline", metavar="PYTHONPATH",
                        help="also run this stgo tree's server (before/after in one run)")
    args = parser.parse_args(argv)
    out = measure(args.n, args.baseline)
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    for key in ("rtt_p50_ms", "rtt_p99_ms", "page_p50_ms", "create_per_s", "get_per_s",
                "set_per_s"):
        mem, red = out[f"{key}_memory"], out[f"{key}_redis"]
        print(f"{key:16} memory {mem:10.3f}  redis {red:10.3f}  ratio x{red / mem:.2f}")
    if args.baseline:
        for key in ("rtt_p50_ms", "page_p50_ms"):
            mem, old = out[f"{key}_memory"], out[f"{key}_baseline"]
            print(f"{key:16} memory {mem:10.3f}  baseline {old:8.3f}  ratio x{old / mem:.2f}")
    print(f"redis bytes per idle session: {out['redis_bytes_per_idle_session']:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
