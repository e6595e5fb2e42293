"""Shared fixtures: a real server on a free port, WebSocket clients, leak checks."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest

from stgo import App
from stgo.server import Server

from .helpers import Client, wait_until


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
def serve() -> Iterator[Callable[[App], Server]]:
    """Start an App on 127.0.0.1 with a free port; stopped after the test."""
    servers: list[Server] = []

    def start(app: App) -> Server:
        server = Server(app, "127.0.0.1", 0)
        server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


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


__all__ = ["wait_until"]
