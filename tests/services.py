"""Real services for the tests: a redis-server and an nginx of our own on free ports.

``redis_server`` starts ``/usr/bin/redis-server`` (Debian's package; .ci/run
installs it) with no persistence on a free port of 127.0.0.1, waits until it
answers PING, and stops it by PID after the test.  Without the binary the test
is skipped, loudly, unless ``STGO_REQUIRE_SERVICES=1``, where it fails.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

__all__ = ["RedisServer", "redis_server", "NginxServer", "nginx_server", "free_port",
           "require_service", "documented_nginx", "MANY_PROCESSES"]


def _ephemeral_start() -> int:
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


#: Ports handed out by free_port in this test process (never twice).
_HANDED_OUT: set[int] = set()


def free_port() -> int:
    """A port free now for a server the test starts itself, later.

    Picked below the kernel's ephemeral range: a port the kernel gave out
    (bind to 0) is one any client socket of the run may be given next while
    the test still waits to bind it ("Address already in use", seen in a
    chaos test restarting a process on its port)."""
    top = _ephemeral_start()
    pick = random.SystemRandom()
    while True:
        port = pick.randrange(max(1024, top - 20000), top)
        if port in _HANDED_OUT:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _HANDED_OUT.add(port)
        return port


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


#: The deployment guide, whose nginx configurations the nginx fixture runs.
DEPLOYMENT_GUIDE = Path(__file__).resolve().parent.parent / "docs" / "deployment.md"

#: The guide's configuration for several processes (the fixture's default).
MANY_PROCESSES = "nginx in front of several built-in servers"


def documented_nginx() -> dict[str, str]:
    """The ```` ```nginx ```` blocks of docs/deployment.md, by the heading
    they are under (``"nginx in front"``, :data:`MANY_PROCESSES`,
    ``"Under a path prefix"``)."""
    text = DEPLOYMENT_GUIDE.read_text(encoding="utf-8")
    found: dict[str, str] = {}
    for m in re.finditer(r"^```nginx\n(.*?)^```", text, re.M | re.S):
        heading = re.findall(r"^#+ (.+)$", text[:m.start()], re.M)[-1].strip()
        found[heading] = m.group(1)
    return found


def _directive(line: str) -> str:
    """What a directive sets: ``proxy_set_header Host``, ``proxy_pass``."""
    words = line.split()
    return " ".join(words[:2]) if words[0] == "proxy_set_header" else words[0]


class NginxServer(_Service):
    """One nginx in front of stgo processes: a config in a temp dir,
    ``-p dir -c conf -g 'daemon off;'``, on a free port of 127.0.0.1.

    The configuration is docs/deployment.md's own (:func:`documented_nginx`),
    so that the guide and the tests cannot drift: by default the one for
    several processes (round robin, a refused or timed-out connect moves on
    to the next process, a process that failed is left alone for a while),
    listening here instead of on 443 and with the test's processes as its
    upstream servers.  ``start(prefix="/app/")`` serves them under a prefix
    nginx strips, with the guide's lines for that (``X-Forwarded-Prefix``).
    """

    name = "nginx"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def config(self, upstreams: list[int], prefix: str = "/", *,
               doc: str = MANY_PROCESSES, routes: dict[str, list[int]] | None = None) -> str:
        """The guide's configuration *doc* with *upstreams* at *prefix*, or
        with one upstream group per prefix of *routes*."""
        docs = documented_nginx()
        routes = routes or {prefix: upstreams}
        head, upstream, server = _split(docs[doc])
        location, server_top, server_end = _location(server)
        blocks = [head]
        places = []
        for n, (where, ports) in enumerate(routes.items()):
            name = "stgo" if n == 0 else f"stgo{n}"
            blocks.append(_upstream(upstream, name, ports))
            places.append(_place(location, name, where, docs["Under a path prefix"]))
        listen = re.sub(r"listen [^;]*;", f"listen 127.0.0.1:{self.port};", server_top)
        temp = "".join(f"    {kind}_temp_path {self.dir}/{kind};\n"
                       for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        body = "".join(blocks) + listen + "".join(places) + server_end
        return (f"worker_processes 1;\nerror_log {self.dir}/error.log warn;\n"
                f"pid {self.dir}/nginx.pid;\nevents {{ worker_connections 512; }}\n"
                f"http {{\n    access_log off;\n{temp}{body}}}\n")

    def start(self, upstreams: list[int], timeout: float = 10.0, *, prefix: str = "/",
              doc: str = MANY_PROCESSES, routes: dict[str, list[int]] | None = None) -> None:
        """Start in front of the stgo processes on *upstreams* (ports), at
        *prefix* (``"/app/"``: a prefix nginx strips, as docs/deployment.md
        shows), with the guide's configuration *doc*; or in front of several
        apps, one per prefix of *routes* (``{"/a/": [port], "/b/": [port]}``)."""
        conf = os.path.join(self.dir, "nginx.conf")
        with open(conf, "w", encoding="utf-8") as f:
            f.write(self.config(upstreams, prefix, doc=doc, routes=routes))
        self._spawn([self.binary, "-p", self.dir, "-c", conf, "-e", f"{self.dir}/error.log",
                     "-g", "daemon off;"], self._answers, timeout, stderr=subprocess.PIPE)

    def _answers(self) -> bool:
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
        except OSError:
            return False
        return True


def _split(text: str) -> tuple[str, str, str]:
    """A guide's configuration: what comes before its upstream block, the
    upstream block, and its server block."""
    m = re.search(r"^upstream stgo \{\n.*?^\}\n", text, re.M | re.S)
    assert m, "the guide's nginx configuration has no 'upstream stgo' block"
    return text[:m.start()], m.group(0), text[m.end():]


def _upstream(block: str, name: str, ports: list[int]) -> str:
    """*block* named *name*, its servers on *ports* (each with the guide's options)."""
    lines = block.splitlines(keepends=True)
    servers = [line for line in lines if line.split()[:1] == ["server"]]
    assert servers, "the guide's upstream block lists no server"
    options = servers[0].split(None, 2)[2].strip() if len(servers[0].split()) > 2 else ";"
    if servers[0].split()[1].endswith(";"):
        options = ";"
    kept = [line for line in lines if line not in servers]
    made = [f"    server 127.0.0.1:{port}{'' if options == ';' else ' '}{options}\n"
            for port in ports]
    kept[1:1] = made
    kept[0] = f"upstream {name} {{\n"
    return "".join(kept)


def _location(server: str) -> tuple[str, str, str]:
    """The server block's ``location / { ... }``, what comes before it and after it."""
    m = re.search(r"^    location / \{\n.*?^    \}\n", server, re.M | re.S)
    assert m, "the guide's server block has no 'location /'"
    return m.group(0), server[:m.start()], server[m.end():]


def _place(location: str, upstream: str, prefix: str, stripping: str) -> str:
    """*location* for *upstream* at *prefix*: at ``/`` as it is; elsewhere
    with the lines the guide adds for a prefix nginx strips (*stripping*)."""
    location = location.replace("http://stgo", f"http://{upstream}")
    if prefix == "/":
        return location
    changes = {}
    for line in stripping.splitlines()[1:]:
        line = line.split("#", 1)[0].strip()
        if line and line != "}":
            changes[_directive(line)] = line
    changes["proxy_pass"] = changes["proxy_pass"].replace("http://stgo", f"http://{upstream}")
    changes["proxy_set_header X-Forwarded-Prefix"] = (
        f"proxy_set_header X-Forwarded-Prefix {prefix.rstrip('/')};")
    lines = location.splitlines(keepends=True)
    out = [f"    location {prefix} {{\n"]
    for line in lines[1:-1]:
        bare = line.split("#", 1)[0].strip()
        key = _directive(bare) if bare else ""
        out.append(f"        {changes.pop(key)}\n" if key in changes else line)
    out.extend(f"        {line}\n" for line in changes.values())
    out.append(lines[-1])
    return "".join(out)


@pytest.fixture
def nginx_server() -> Iterator[NginxServer]:
    """An nginx (not started: call ``start(upstream_ports)``), stopped after the test."""
    server = NginxServer(require_service("nginx", "serving behind nginx is"))
    try:
        yield server
    finally:
        server.close()


class OIDCProvider(_Service):
    """A real OpenID provider (the PyPI package ``oidc-provider-mock``) on a
    free port: its sign-in form takes a subject name (``sub``)."""

    name = "oidc-provider-mock"

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                return True
        except OSError:
            return False

    def start(self) -> None:
        self._spawn([sys.executable, "-m", "oidc_provider_mock", "--port", str(self.port)],
                    self._answers, timeout=30.0, stderr=subprocess.PIPE)


@pytest.fixture
def oidc_provider() -> Iterator[OIDCProvider]:
    """A running OpenID provider on a free port, stopped (by its PID) after the test."""
    import importlib.util

    for module, why in (("oidc_provider_mock", "the OpenID provider"),
                        ("joserfc", "stgo[auth]")):
        if importlib.util.find_spec(module) is None:
            message = (f"{module} not installed: sign-in NOT TESTED "
                       f"(pip install -e '.[test]': {why})")
            if os.environ.get("STGO_REQUIRE_SERVICES") == "1":
                pytest.fail(message)
            pytest.skip(message)
    provider = OIDCProvider(sys.executable)
    provider.start()
    try:
        yield provider
    finally:
        provider.close()
