"""Real services for the tests: a redis-server and an nginx of our own on free ports.

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
from collections.abc import Callable, Iterator

import pytest

__all__ = ["RedisServer", "redis_server", "NginxServer", "nginx_server", "free_port",
           "require_service"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def require_service(binary: str, why: str) -> str:
    """The path of *binary*; skip (or fail under STGO_REQUIRE_SERVICES=1) without it."""
    path = shutil.which(binary) or next(
        (f"{d}/{binary}" for d in ("/usr/bin", "/usr/sbin") if os.path.exists(f"{d}/{binary}")),
        None)
    if path is None:
        message = f"{binary} not installed: {why} NOT TESTED (apt-get install {binary})"
        if os.environ.get("STGO_REQUIRE_SERVICES") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return path


class _Service:
    """One server process of ours on a free port of 127.0.0.1, with a
    temporary folder of its own (:meth:`close` removes it)."""

    #: Its name in errors.
    name = ""

    def __init__(self, binary: str) -> None:
        self.binary = binary
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix=f"stgo-{self.name}-")
        self.proc: subprocess.Popen[bytes] | None = None

    def _spawn(self, argv: list[str], ready: Callable[[], bool], timeout: float, *,
               stderr: int = subprocess.DEVNULL) -> None:
        """Start *argv* and wait until ``ready()``; fail if it exits or
        *timeout* passes first (with its stderr, if piped)."""
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=stderr)
        deadline = time.monotonic() + timeout
        while not ready():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                said = f": {self.proc.stderr.read().decode()}" if self.proc.stderr else ""
                raise RuntimeError(f"{self.name} did not start on port {self.port}{said}")
            time.sleep(0.02)

    def stop(self) -> None:
        """SIGTERM (nginx: a fast shutdown; open WebSockets would hold up
        SIGQUIT's), then SIGKILL past 10 s; nothing if it is not running."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGCONT)  # a paused one cannot exit
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        if proc.stderr is not None:
            proc.stderr.close()

    def close(self) -> None:
        """Stop it and remove its folder."""
        self.stop()
        with contextlib.suppress(OSError):
            shutil.rmtree(self.dir)


class RedisServer(_Service):
    """One redis-server process: start, pause (SIGSTOP), resume, restart, stop."""

    name = "redis-server"

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> None:
        self._spawn([self.binary, "--port", str(self.port), "--bind", "127.0.0.1",
                     "--save", "", "--appendonly", "no", "--dir", self.dir],
                    self.ping, timeout)

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
        server.close()


class NginxServer(_Service):
    """One nginx in front of stgo processes: a generated config in a temp dir,
    ``-p dir -c conf -g 'daemon off;'``, on a free port of 127.0.0.1.

    The upstream block is the one docs/deployment.md shows for many processes:
    round robin, a refused or timed-out connect moves on to the next process
    (``proxy_next_upstream``, ``proxy_connect_timeout``), and a process that
    failed is left alone for a while (``max_fails``/``fail_timeout``);
    ``start(prefix="/app/")`` serves them under a prefix nginx strips.
    """

    name = "nginx"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def config(self, upstreams: list[int], prefix: str = "/") -> str:
        servers = "".join(f"        server 127.0.0.1:{port} max_fails=1 fail_timeout=10s;\n"
                          for port in upstreams)
        temp = "".join(f"    {kind}_temp_path {self.dir}/{kind};\n"
                       for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        return f"""worker_processes 1;
error_log {self.dir}/error.log warn;
pid {self.dir}/nginx.pid;
events {{ worker_connections 512; }}
http {{
    access_log off;
{temp}    map $http_upgrade $connection_upgrade {{ default upgrade; "" close; }}
    upstream stgo {{
{servers}    }}
    server {{
        listen 127.0.0.1:{self.port};
        location {prefix} {{
            proxy_pass http://stgo{"" if prefix == "/" else "/"};
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_connect_timeout 2s;
            proxy_next_upstream error timeout http_503;
            proxy_read_timeout 300s;
            proxy_send_timeout 300s;
            proxy_buffering off;
        }}
    }}
}}
"""

    def start(self, upstreams: list[int], timeout: float = 10.0, *, prefix: str = "/") -> None:
        """Start in front of the stgo processes on *upstreams* (ports), at
        *prefix* (``"/app/"``: a prefix nginx strips, as docs/deployment.md
        shows)."""
        conf = os.path.join(self.dir, "nginx.conf")
        with open(conf, "w", encoding="utf-8") as f:
            f.write(self.config(upstreams, prefix))
        self._spawn([self.binary, "-p", self.dir, "-c", conf, "-e", f"{self.dir}/error.log",
                     "-g", "daemon off;"], self._answers, timeout, stderr=subprocess.PIPE)

    def _answers(self) -> bool:
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
        except OSError:
            return False
        return True


@pytest.fixture
def nginx_server() -> Iterator[NginxServer]:
    """An nginx (not started: call ``start(upstream_ports)``), stopped after the test."""
    server = NginxServer(require_service("nginx", "serving behind nginx is"))
    try:
        yield server
    finally:
        server.close()
