"""Server processes for the benchmarks: start, find the URL, read RSS, stop."""

from __future__ import annotations

import http.client
import queue
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psutil

__all__ = [
    "Server", "run_server", "stgo_server", "baseline_server", "floor_server", "APPS",
    "new_session", "settled_rss", "stop",
]

APPS = Path(__file__).resolve().parent / "apps"
ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Server:
    """A running server process."""

    url: str
    proc: subprocess.Popen[str]

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or "127.0.0.1"

    @property
    def port(self) -> int:
        return urlsplit(self.url).port or 80

    @property
    def origin(self) -> str:
        return self.url.rstrip("/")

    def rss(self) -> int:
        """The process's resident set size, bytes."""
        return int(psutil.Process(self.proc.pid).memory_info().rss)

    def threads(self) -> int:
        return int(psutil.Process(self.proc.pid).num_threads())


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now (for a server the bench starts)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def run_server(argv: list[str], timeout: float = 30.0) -> Iterator[Server]:
    """Run *argv*, wait for a line with ``http://HOST:PORT/``, yield the Server; end it after."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            cwd=ROOT)
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)

    threading.Thread(target=read, daemon=True).start()
    try:
        deadline = time.monotonic() + timeout
        seen: list[str] = []
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError(f"{argv[1:]} printed no URL:\n{''.join(seen)}")
            try:
                line = lines.get(timeout=min(left, 0.2))
            except queue.Empty:
                if proc.poll() is not None:
                    raise RuntimeError(f"{argv[1:]} exited:\n{''.join(seen)}") from None
                continue
            seen.append(line)
            m = re.search(r"http://[0-9.]+:[0-9]+/", line)
            if m:
                break
        yield Server(m.group(0), proc)
    finally:
        stop(proc, timeout=15)
        if proc.stdout is not None:
            proc.stdout.close()


def stop(proc: subprocess.Popen[Any], timeout: float = 10.0) -> None:
    """End *proc* (SIGTERM: each server's fast, clean shutdown), killing it after *timeout*."""
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout)


def stgo_server(app: str = "counter.py") -> AbstractContextManager[Server]:
    """``python -m stgo run bench/apps/APP --port 0`` (warnings only in its log)."""
    return run_server([sys.executable, "-m", "stgo", "run", str(APPS / app), "--port", "0",
                     "--log-level", "WARNING"])


def baseline_server(pythonpath: str, app: str | Path) -> AbstractContextManager[Server]:
    """``python -m stgo run APP`` with another tree's stgo (its *pythonpath*: a
    ``git worktree add /tmp/old <commit>`` checkout); *app* is a path, or a
    name in bench/apps."""
    path = app if isinstance(app, Path) or "/" in str(app) else APPS / app
    # -P: the baseline's stgo, not this tree's from the working directory.
    return run_server(["env", f"PYTHONPATH={pythonpath}", sys.executable, "-P", "-m", "stgo",
                       "run", str(path), "--port", "0", "--log-level", "WARNING"])


def floor_server(page_bytes: int = 20_000) -> AbstractContextManager[Server]:
    """The simple-websocket floor (:mod:`bench.floor`)."""
    return run_server([sys.executable, "-m", "bench.floor", "--page-bytes", str(page_bytes)])


def new_session(conn: http.client.HTTPConnection) -> tuple[str, str, str]:
    """GET / without a cookie over *conn* (keep-alive): a new session.

    :returns: (session ID, ``Cookie`` header value, page HTML).
    """
    conn.request("GET", "/")
    resp = conn.getresponse()
    html = resp.read().decode()
    if resp.status != 200:
        raise RuntimeError(f"GET / answered {resp.status}")
    cookie = resp.getheader("Set-Cookie", "").split(";", 1)[0]
    if not cookie.startswith("stgo_session="):
        raise RuntimeError("no session cookie")
    return cookie.split("=", 1)[1], cookie, html


def settled_rss(server: Server, wait: float = 0.5, tries: int = 6) -> int:
    """RSS once it stops moving (two readings *wait* seconds apart within 16 KiB)."""
    last = server.rss()
    for _ in range(tries):
        time.sleep(wait)
        now = server.rss()
        if abs(now - last) < 16 * 1024:
            return now
        last = now
    return last
