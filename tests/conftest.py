"""Shared fixtures: a real server on a free port, WebSocket clients, leak checks."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from stgo import App
from stgo.server import Server

from .helpers import Client, FakeClock, ServerProcess, wait_until
from .services import (  # noqa: F401  (fixtures for every test module)
    nginx_server,
    oidc_provider,
    redis_server,
)


def _stgo_threads() -> set[threading.Thread]:
    return {
        t for t in threading.enumerate()
        if t.name.startswith("stgo-") or "simple_websocket" in t.name
    }


@pytest.fixture(autouse=True)
def no_leaked_threads() -> Iterator[None]:
    """Fail a test that leaves stgo or WebSocket threads running behind it."""
    before = _stgo_threads()
    yield
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        leaked = _stgo_threads() - before
        if not leaked:
            return
        time.sleep(0.05)
    pytest.fail(f"test leaked threads: {sorted(t.name for t in leaked)}")


@pytest.fixture
def serve() -> Iterator[Callable[..., Server]]:
    """Start an App on 127.0.0.1 with a free port; stopped after the test.

    ``serve(app, **options)`` passes *options* to :class:`~stgo.server.Server`.
    After stopping, a server whose App still holds sessions, hub connections
    or connection-limit slots fails the test: stopping must release them all.
    """
    servers: list[Server] = []

    def start(app: App, **options: Any) -> Server:
        server = Server(app, "127.0.0.1", 0, **options)
        server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
    for server in servers:
        app = server.app
        left = _leftovers(app)
        deadline = time.monotonic() + 5  # a connection thread may still be unwinding
        while left and time.monotonic() < deadline:
            time.sleep(0.02)
            left = _leftovers(app)
        if left:
            pytest.fail(f"stopped server left behind: {left}")


def _leftovers(app: App) -> dict[str, int]:
    """What a stopped App still holds (empty when everything was released)."""
    held = {
        "sessions": len(app.sessions),
        "hub connections": len(app.hub),
        "connection slots": app.connection_limits.total,
        "cleanup thread": int(app.sessions.running),
    }
    return {what: n for what, n in held.items() if n}


@pytest.fixture
def make_app() -> Iterator[Callable[..., App]]:
    """``make_app(**kwargs)``: an App, stopped (its store closed) after the test."""
    apps: list[App] = []

    def make(**kwargs: Any) -> App:
        app = App(**kwargs)
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.stop()


@pytest.fixture
def clock() -> FakeClock:
    """A :class:`~tests.helpers.FakeClock` at ``T0``: epoch seconds moved by hand."""
    return FakeClock()


@pytest.fixture
def client_for() -> Iterator[Callable[[Server], Client]]:
    """Make browser-like clients (cookie jar + WebSockets); all closed after the test."""
    clients: list[Client] = []

    def make(server: Server) -> Client:
        client = Client(server.url)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def fast_switching() -> Iterator[None]:
    """Switch threads very often, so that races show up."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    yield
    sys.setswitchinterval(before)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call":
        item.stash[_CALL_FAILED] = report.failed
    return report


_CALL_FAILED = pytest.StashKey[bool]()


@pytest.fixture
def processes(request: pytest.FixtureRequest) -> Iterator[list[ServerProcess]]:
    """Append the server processes a test starts: each is killed after it.

    When the test failed, the end of each one's output is printed (in the
    report's "Captured stdout teardown"): what a server said is often why.
    """
    procs: list[ServerProcess] = []
    yield procs
    for proc in procs:
        proc.kill()
    if request.node.stash.get(_CALL_FAILED, False):
        for proc in procs:
            said = [line for line in proc.output().splitlines() if " werkzeug INFO " not in line]
            tail = said[-30:]  # without the access log
            print(f"--- {' '.join(map(str, proc.proc.args))[-120:]} "
                  f"(exit {proc.proc.returncode}):", *tail, sep="\n")


__all__ = ["wait_until"]
