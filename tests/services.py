"""Real services for the tests: a redis-server of our own on a free port.

``redis_server`` starts ``/usr/bin/redis-server`` (Debian's package; .ci/run
installs it) with no persistence on a free port of 127.0.0.1, waits until it
answers PING, and stops it by PID after the test.  Without the binary the test
is skipped, loudly, unless ``STGO_REQUIRE_SERVICES=1``, where it fails.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator

import pytest

__all__ = ["RedisServer", "redis_server", "free_port", "require_service"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def require_service(binary: str, why: str) -> str:
    """The path of *binary*; skip (or fail under STGO_REQUIRE_SERVICES=1) without it."""
    path = shutil.which(binary) or (f"/usr/bin/{binary}" if os.path.exists(
        f"/usr/bin/{binary}") else None)
    if path is None:
        message = f"{binary} not installed: {why} NOT TESTED (apt-get install {binary})"
        if os.environ.get("STGO_REQUIRE_SERVICES") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return path


class RedisServer:
    """One redis-server process: start, pause (SIGSTOP), resume, restart, stop."""

    def __init__(self, binary: str) -> None:
        self.binary = binary
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="stgo-redis-")
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> None:
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", self.dir],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while not self.ping():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start on port {self.port}")
            time.sleep(0.02)

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def pause(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGCONT)  # a paused server cannot exit
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)

    def restart(self) -> None:
        """Stop and start again on the same port (everything in it is lost)."""
        self.stop()
        self.start()


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    """A running redis-server on a free port, stopped after the test."""
    server = RedisServer(require_service("redis-server", "the Redis store is"))
    import importlib.util

    if importlib.util.find_spec("redis") is None:
        message = "redis-py not installed: the Redis store NOT TESTED (pip install 'stgo[redis]')"
        if os.environ.get("STGO_REQUIRE_SERVICES") == "1":
            pytest.fail(message)
        pytest.skip(message)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        with contextlib.suppress(OSError):
            shutil.rmtree(server.dir)
