"""Presence (issue 24): ``@app.on_connect`` / ``@app.on_disconnect`` once per
tab event and in order per tab, with real WebSockets on a real server, and
``app.online()`` counting, in one process and across two on one Redis."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
import websocket

import stgo
from stgo.server import Server

from .helpers import COOKIE, Client, Socket, wait_until
from .services import RedisServer


class Recorder:
    """The presence hooks of an App, recorded as (kind, tab id, session id, thread)."""

    def __init__(self, app: stgo.App) -> None:
        self.events: list[tuple[str, str, str]] = []
        self.threads: set[str] = set()
        self._lock = threading.Lock()
        app.on_connect(lambda s, t: self._note("connect", s, t))
        app.on_disconnect(lambda s, t: self._note("disconnect", s, t))

    def _note(self, kind: str, session: stgo.Session, tab: stgo.BrowserTab[Any]) -> None:
        with self._lock:
            self.events.append((kind, tab.id, session.id))
            self.threads.add(threading.current_thread().name)

    def kinds(self, tab_id: str) -> list[str]:
        with self._lock:
            return [k for k, t, _ in self.events if t == tab_id]


def open_tab(client: Client, tab_id: str) -> Socket:
    """A tab named *tab_id* of *client*'s session (as the page's script opens it)."""
    if client.session_id is None:
        client.get("/")
    url = client.base_url.replace("http://", "ws://").rstrip("/") + f"/ws?tab={tab_id}&path=/"
    ws = websocket.create_connection(url, timeout=10, origin=client.origin,
                                     cookie=f"{COOKIE}={client.session_id}",
                                     enable_multithread=True)
    sock = Socket(ws)
    client.sockets.append(sock)
    sock.recv_until(lambda m: m["type"] == "render")
    return sock


def test_a_tab_back_before_its_old_socket_closed_went_away_and_came_back_in_order(
    make_app: Callable[..., stgo.App], serve: Callable[..., Server],
) -> None:
    """A reload keeps the tab's ID; its new socket may come before the old
    one's close is read.  The hooks still see the tab leave, then come back,
    and the late close of the old socket adds nothing."""
    app = make_app()
    hooks = Recorder(app)
    server = serve(app)
    alice = Client(server.url)
    old = open_tab(alice, "tab-reloaded-1")
    wait_until(lambda: hooks.kinds("tab-reloaded-1") == ["connect"])
    new = open_tab(alice, "tab-reloaded-1")  # the old socket is still open
    wait_until(lambda: hooks.kinds("tab-reloaded-1") == ["connect", "disconnect", "connect"])
    assert app.online() == {"sessions": 1, "tabs": 1}
    old.close()
    new.close()
    wait_until(lambda: hooks.kinds("tab-reloaded-1")[-1:] == ["disconnect"])
    assert hooks.kinds("tab-reloaded-1") == ["connect", "disconnect", "connect", "disconnect"]
    assert app.online() == {"sessions": 0, "tabs": 0}
    alice.close()


def test_connect_and_disconnect_once_per_tab_event_in_order(
    make_app: Callable[..., stgo.App], serve: Callable[..., Server],
) -> None:
    app = make_app()
    seen = app.text("", key="seen")
    hooks = Recorder(app)

    @app.on_connect
    def greet(session: stgo.Session, tab: stgo.BrowserTab[Any]) -> None:
        seen.set_text(f"hello {tab.id}")  # pushed, as a callback's change is

    server = serve(app)
    alice = Client(server.url)
    first = open_tab(alice, "tab-one-1")
    wait_until(lambda: hooks.kinds("tab-one-1") == ["connect"])
    first.recv_until(lambda m: m["type"] == "patch" and "hello tab-one-1" in str(m))
    assert app.online() == {"sessions": 1, "tabs": 1}

    # A second tab of the same browser, and another browser.
    second = open_tab(alice, "tab-two-2")
    bob = Client(server.url)
    open_tab(bob, "tab-bob-3")
    wait_until(lambda: len(hooks.events) == 3)
    assert app.online() == {"sessions": 2, "tabs": 3}

    # The tab drops and reconnects (same tab id): went away, came back, in order.
    first.close()
    wait_until(lambda: hooks.kinds("tab-one-1") == ["connect", "disconnect"])
    assert app.online() == {"sessions": 2, "tabs": 2}
    again = open_tab(alice, "tab-one-1")
    wait_until(lambda: hooks.kinds("tab-one-1") == ["connect", "disconnect", "connect"])
    second.close()
    again.close()
    wait_until(lambda: hooks.kinds("tab-two-2") == ["connect", "disconnect"]
               and hooks.kinds("tab-one-1")[-1] == "disconnect")
    assert app.online() == {"sessions": 1, "tabs": 1}
    assert {sid for _, t, sid in hooks.events if t != "tab-bob-3"} == {alice.session_id}
    assert all(name.startswith("stgo-worker") for name in hooks.threads)
    # The server stops: the last tab's disconnect hook runs too.
    server.stop()
    wait_until(lambda: hooks.kinds("tab-bob-3") == ["connect", "disconnect"])
    assert app.online() == {"sessions": 0, "tabs": 0}
    alice.close()
    bob.close()


def test_a_raising_presence_hook_is_logged_and_the_others_run(
    make_app: Callable[..., stgo.App], serve: Callable[..., Server],
) -> None:
    app = make_app()

    @app.on_connect
    def broken(session: stgo.Session, tab: stgo.BrowserTab[Any]) -> None:
        raise RuntimeError("no database")

    hooks = Recorder(app)
    server = serve(app)
    client = Client(server.url)
    open_tab(client, "tab-raise-1")
    wait_until(lambda: hooks.kinds("tab-raise-1") == ["connect"])
    client.close()
    assert app.failures.count("on_connect hook test_a_raising_presence_hook_is_logged_and_"
                              "the_others_run.<locals>.broken", RuntimeError) == 1
    with pytest.raises(stgo.WidgetError, match="session, tab"):
        app.on_disconnect(lambda session: None)  # type: ignore[arg-type, misc]


def test_online_counts_the_tabs_of_every_process_on_one_redis(
    redis_server: RedisServer, make_app: Callable[..., stgo.App],
) -> None:
    here, there = make_app(store=redis_server.url), make_app(store=redis_server.url)
    servers = [Server(here, "127.0.0.1", 0), Server(there, "127.0.0.1", 0)]
    clients: list[Client] = []
    try:
        for server in servers:
            server.start()
        on_here, on_there = servers
        alice = Client(on_here.url)
        clients.append(alice)
        open_tab(alice, "tab-here-1")
        assert here.online() == {"sessions": 1, "tabs": 1}  # exact at once, here
        # The same browser's session on the other process, and one more browser there.
        also, carol = Client(on_there.url), Client(on_there.url)
        clients += [also, carol]
        also.session_id = alice.session_id
        open_tab(also, "tab-there-2")
        open_tab(carol, "tab-there-3")
        for app in (here, there):
            wait_until(lambda app=app: app.online() == {"sessions": 2, "tabs": 3}, timeout=10)
        on_there.stop()  # a clean stop drops its record at once
        wait_until(lambda: here.online() == {"sessions": 1, "tabs": 1}, timeout=10)
    finally:
        for client in clients:
            client.close()
        for server in servers:
            server.stop()


def test_a_tab_that_moves_to_another_process_goes_away_there_first(
    redis_server: RedisServer, make_app: Callable[..., stgo.App],
) -> None:
    here, there = make_app(store=redis_server.url), make_app(store=redis_server.url)
    on_here, on_there = Recorder(here), Recorder(there)
    servers = [Server(here, "127.0.0.1", 0), Server(there, "127.0.0.1", 0)]
    clients: list[Client] = []
    try:
        for server in servers:
            server.start()
        alice = Client(servers[0].url)
        clients.append(alice)
        old = open_tab(alice, "tab-moving-1")
        wait_until(lambda: on_here.kinds("tab-moving-1") == ["connect"])
        # Its socket to "here" still looks open (a half-open TCP connection,
        # a proxy that moved it) when the tab reconnects to "there".
        moved = Client(servers[1].url)
        moved.session_id = alice.session_id
        clients.append(moved)
        open_tab(moved, "tab-moving-1")
        wait_until(lambda: on_there.kinds("tab-moving-1") == ["disconnect", "connect"])
        assert here.online() == there.online() == {"sessions": 1, "tabs": 1}
        # "here" notices the close later: the disconnect ran already, not twice.
        old.close()
        wait_until(lambda: here.metrics.get("stgo_presence_moved_total") == 1)
        assert here.online() == there.online() == {"sessions": 1, "tabs": 1}
        assert on_here.kinds("tab-moving-1") == ["connect"]
        assert on_there.kinds("tab-moving-1") == ["disconnect", "connect"]
    finally:
        for client in clients:
            client.close()
        for server in servers:
            server.stop()
