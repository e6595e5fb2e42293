"""The WebSocket endpoint over real sockets: the upgrade checks and the message loop."""

from __future__ import annotations

import contextlib
import http.client
import logging
import socket
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlsplit

import pytest

import stgo
from stgo import App
from stgo.ids import new_session_id
from stgo.server import Server

from .helpers import COOKIE, Client, handler_threads, request, wait_until, ws_status

Serve = Callable[[App], Server]
MakeClient = Callable[[Server], Client]


def ws_app(**kwargs: Any) -> App:
    app = App(title="WS", **kwargs)
    app.title("WS")
    button = app.button("Go", key="go")
    app.text_input("Name", key="name", max_chars=10)
    clicks: list[str] = []
    app.clicks = clicks  # type: ignore[attr-defined]

    @button.on_click
    def clicked(session: stgo.Session, event: str, value: Any) -> None:
        clicks.append(session.id)

    @app.on_session_start
    def setup(session: stgo.Session) -> None:
        session.text("only for you", key="private")

    return app


# -- the upgrade ----------------------------------------------------------------------------


def test_first_message_is_a_full_render(serve: Serve, client_for: MakeClient) -> None:
    app = ws_app()
    client = client_for(serve(app))
    sock = client.connect(wait_render=False)
    first = sock.recv()
    assert first["type"] == "render"
    assert first["v"] == 1
    assert first["title"] == "WS"
    roots = first["roots"]
    assert set(roots) == {"global", "sidebar", "session"}
    assert app.widget("go").id in roots["global"]
    assert "only for you" in roots["session"]
    session = app.sessions.get(client.session_id)
    assert session is not None and session.connections == 1


def test_cross_origin_upgrade_is_refused(serve: Serve, client_for: MakeClient) -> None:
    app = ws_app()
    server = serve(app)
    client = client_for(server)
    client.get("/")
    query = ""
    cookie = f"{COOKIE}={client.session_id}"
    assert ws_status(server.url, query, origin="http://evil.example", cookie=cookie) == 403
    # Same host, other port: another origin.
    port = urlsplit(server.url).port
    other = f"http://127.0.0.1:{(port or 0) + 1}"
    assert ws_status(server.url, query, origin=other, cookie=cookie) == 403
    assert ws_status(server.url, query, origin=client.origin, cookie=cookie) == 101


def test_allowed_origins_may_connect(serve: Serve, client_for: MakeClient) -> None:
    server = serve(ws_app(allowed_origins=["https://app.example/"]))
    client = client_for(server)
    client.get("/")
    query = ""
    cookie = f"{COOKIE}={client.session_id}"
    assert ws_status(server.url, query, origin="https://app.example", cookie=cookie) == 101
    assert ws_status(server.url, query, origin="https://evil.example", cookie=cookie) == 403


@pytest.mark.parametrize("trust_proxy", [True, False])
def test_origin_behind_a_proxy(serve: Serve, client_for: MakeClient, trust_proxy: bool) -> None:
    server = serve(ws_app(trust_proxy=trust_proxy))
    client = client_for(server)
    client.get("/")
    query = ""
    # Over HTTPS the cookie is __Host-prefixed (see test_http); send both names.
    cookie = f"{COOKIE}={client.session_id}; __Host-{COOKIE}={client.session_id}"
    forwarded = ["X-Forwarded-Proto: https", "X-Forwarded-Host: app.example"]
    status = ws_status(server.url, query, origin="https://app.example", cookie=cookie,
                       headers=forwarded)
    # Only a trusted proxy may say what the page's public origin is.
    assert status == (101 if trust_proxy else 403)


def test_a_refused_origin_is_logged_with_what_came_and_what_was_expected_once_per_pair(
    serve: Serve, client_for: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    # A proxy that drops the port from Host (nginx's $host) refuses every
    # WebSocket: the log must say which Origin came and which one was expected.
    caplog.set_level(logging.WARNING, logger="stgo")
    server = serve(ws_app(allowed_origins=["https://extra.example"]))
    client = client_for(server)
    client.get("/")
    cookie = f"{COOKIE}={client.session_id}"
    page = client.origin  # http://127.0.0.1:PORT
    for origin in ["http://127.0.0.1:8630"] * 3 + ["http://evil.example"] * 2:
        assert ws_status(server.url, origin=origin, cookie=cookie) == 403
    assert ws_status(server.url, origin=page, cookie=cookie) == 101  # the check stays strict

    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("refused ")]
    assert len(lines) == 2, lines  # once per (received, expected) pair
    port, evil = lines
    assert port.startswith("refused a WebSocket upgrade from 127.0.0.1: ")
    assert "'http://127.0.0.1:8630'" in port and f"{page!r}" in port
    assert "https://extra.example" in port and "$http_host" in port
    assert "'http://evil.example'" in evil and f"{page!r}" in evil


def test_the_socket_belongs_to_the_cookies_session_never_to_the_url(
    serve: Serve, client_for: MakeClient
) -> None:
    app = ws_app()
    server = serve(app)
    alice, bob = client_for(server), client_for(server)
    alice.get("/")
    bob.get("/")
    a, b = alice.session_id or "", bob.session_id or ""
    forged = new_session_id()
    # A stolen ID without the cookie (in the URL, the old protocol's way) opens nothing.
    refused = {
        "no cookie": ("", None),
        "the ID in the URL, no cookie": (f"session={quote(a)}", None),
        "another cookie name": (f"session={quote(a)}", f"session={a}"),
        "malformed": ("", f"{COOKIE}=session_1_x"),
        "empty": ("", f"{COOKIE}="),
        "forged": ("", f"{COOKIE}={forged}"),
    }
    for name, (query, cookie) in refused.items():
        assert ws_status(server.url, query, cookie=cookie) == 403, name
    assert len(app.hub) == 0
    # The cookie decides, whatever the URL claims.
    tab = alice.connect(wait_render=False)
    tab.recv_until(lambda m: m["type"] == "render")
    session_a = app.sessions.get(a)
    assert session_a is not None and session_a.connections == 1
    assert ws_status(server.url, f"session={quote(b)}", cookie=f"{COOKIE}={a}") == 101
    assert sorted(app.sessions.ids()) == sorted([a, b])  # nothing created or ended


def test_ended_session_cannot_connect(serve: Serve, client_for: MakeClient) -> None:
    app = ws_app()
    server = serve(app)
    client = client_for(server)
    client.get("/")
    sid = client.session_id or ""
    app.sessions.delete(sid)
    assert ws_status(server.url, cookie=f"{COOKIE}={sid}") == 403


def test_plain_get_to_ws_is_426(serve: Serve) -> None:
    server = serve(ws_app())
    resp = request(server.url, "/ws")
    assert resp.status == 426
    assert resp.headers["Upgrade"].lower() == "websocket"
    resp = request(server.url, "/ws", method="POST")
    assert 400 <= resp.status < 500


@pytest.mark.parametrize(
    "drop",
    ["Sec-WebSocket-Key", "Sec-WebSocket-Version", "Connection"],
)
def test_broken_handshake_is_4xx_not_500(
    serve: Serve, client_for: MakeClient, drop: str
) -> None:
    app = ws_app()
    server = serve(app)
    client = client_for(server)
    client.get("/")
    sid = client.session_id or ""
    headers = {
        "Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Origin": client.origin,
        "Cookie": f"{COOKIE}={sid}",
    }
    del headers[drop]
    parts = urlsplit(server.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request("GET", "/ws", headers=headers)
        status = conn.getresponse().status
    finally:
        conn.close()
    assert 400 <= status < 500
    # The session is fine and can still connect properly.
    client.connect()


# -- messages ------------------------------------------------------------------------------


def test_oversized_message_closes_1009_and_the_server_carries_on(
    serve: Serve, client_for: MakeClient
) -> None:
    app = ws_app()
    server = serve(app)
    client = client_for(server)
    sock = client.connect()
    # Read on another thread while sending: the server closes mid-message,
    # and its close frame must be read before our send fails on the reset.
    result: dict[str, int | None] = {}
    reader = threading.Thread(target=lambda: result.update(code=sock.recv_close(10)))
    reader.start()
    with contextlib.suppress(OSError):  # the server may hang up mid-send
        sock.ws.send("x" * (2 << 20))
    reader.join(15)
    assert result == {"code": 1009}
    # The session survives, and the server serves others.
    wait_until(lambda: len(app.hub) == 0)
    again = client.connect()
    seq = again.event(app.widget("go").id)
    assert again.ack(seq)["type"] == "patch"
    other = client_for(server).connect()
    assert other.messages[0]["type"] == "render"
    assert len(app.sessions) == 2


def test_message_just_under_the_limit_is_accepted(serve: Serve, client_for: MakeClient) -> None:
    app = ws_app(max_message_size=4096)
    client = client_for(serve(app))
    sock = client.connect()
    seq = sock.event(app.widget("go").id, value="y" * 3900)
    assert sock.ack(seq)["type"] == "patch"


@pytest.mark.parametrize(
    "raw",
    ["{not json", "[1, 2]", '"text"', "null", '{"type": "nope"}', '{"v": 2, "type": "event"}',
     '{"type": "event"}', '{"type": "event", "widget": "x", "event": ""}', "[" * 100_000],
)
def test_malformed_message_gets_an_error_and_the_connection_survives(
    serve: Serve, client_for: MakeClient, raw: str
) -> None:
    app = ws_app()
    client = client_for(serve(app))
    sock = client.connect()
    sock.ws.send(raw)
    error = sock.recv_until(lambda m: m["type"] == "error")
    assert error["message"]
    seq = sock.event(app.widget("go").id)
    assert sock.ack(seq)["type"] == "patch"
    assert app.clicks == [client.session_id]  # type: ignore[attr-defined]


def test_binary_garbage_gets_an_error(serve: Serve, client_for: MakeClient) -> None:
    app = ws_app()
    client = client_for(serve(app))
    sock = client.connect()
    sock.ws.send_binary(b"\xff\xfe\x00garbage")
    assert "UTF-8" in sock.recv_until(lambda m: m["type"] == "error")["message"]
    seq = sock.event(app.widget("go").id)
    assert sock.ack(seq)["type"] == "patch"


def test_unknown_widget_is_an_error(serve: Serve, client_for: MakeClient) -> None:
    app = ws_app()
    client = client_for(serve(app))
    sock = client.connect()
    seq = sock.event("w000000000000")
    reply = sock.ack(seq)
    assert reply["type"] == "error"
    assert "unknown widget" in reply["message"]
    assert app.clicks == []  # type: ignore[attr-defined]


def test_unknown_event_is_an_error(serve: Serve, client_for: MakeClient) -> None:
    app = ws_app()
    client = client_for(serve(app))
    sock = client.connect()
    seq = sock.event(app.widget("go").id, "change", "x")
    reply = sock.ack(seq)
    assert reply["type"] == "error"
    assert app.clicks == []  # type: ignore[attr-defined]


@pytest.mark.parametrize("value", [5, None, ["a"], {"a": 1}, "much too long"])
def test_wrong_value_type_is_an_error_and_state_is_unchanged(
    serve: Serve, client_for: MakeClient, value: Any
) -> None:
    app = ws_app()
    client = client_for(serve(app))
    sock = client.connect()
    name = app.widget("name")
    seq = sock.event(name.id, "change", value)
    reply = sock.ack(seq)
    assert reply["type"] == "error"
    assert "name" in reply["message"]
    session = app.sessions.get(client.session_id)
    assert session is not None and not session.has("name")
    # A good value goes through and lands in the session's state.
    seq = sock.event(name.id, "change", "Ada")
    assert sock.ack(seq)["type"] == "patch"
    assert session.get("name") == "Ada"


def test_large_message_reaches_a_slow_reader_intact(
    serve: Serve, client_for: MakeClient
) -> None:
    app = ws_app()
    board = app.text("start", key="board")
    other = app.text("other", key="other")
    client = client_for(serve(app))
    # A small receive buffer, and a message bigger than Linux's largest send
    # buffer (tcp_wmem max, 4 MB by default): one write cannot hand it all to
    # the kernel, and a short write must not cut the message.
    sock = client.connect(sockopt=((socket.SOL_SOCKET, socket.SO_RCVBUF, 4096),))
    big = "y" * 5_000_000
    board.set_text(big)
    # Another widget: a newer change to the same one may replace the waiting message.
    other.set_text("after the big one")
    msg = sock.recv_until(lambda m: m["type"] == "patch", timeout=20)
    assert f"<p>{big}</p>" in msg["ops"][0]["html"]
    after = sock.recv_until(lambda m: m["type"] == "patch")
    assert "after the big one" in after["ops"][0]["html"]


def test_resync_sends_a_full_render(serve: Serve, client_for: MakeClient) -> None:
    app = ws_app()
    client = client_for(serve(app))
    sock = client.connect()
    sock.send_json({"v": 1, "type": "resync"})
    msg = sock.recv()
    assert msg["type"] == "render"
    assert "only for you" in msg["roots"]["session"]


def test_closing_the_socket_detaches_the_session(serve: Serve, client_for: MakeClient) -> None:
    app = ws_app()
    client = client_for(serve(app))
    sock = client.connect()
    session = app.sessions.get(client.session_id)
    assert session is not None and session.connections == 1
    sock.close()
    wait_until(lambda: session.connections == 0 and len(app.hub) == 0)
    assert not session.ended


def test_server_initiated_close_ends_the_tcp_connection(
    serve: Serve, client_for: MakeClient
) -> None:
    app = ws_app()
    server = serve(app)
    client = client_for(server)
    sock = client.connect()
    app.sessions.delete(client.session_id or "")
    assert sock.recv_close(hang_up=False) == 1001
    # After our answering close frame the server hangs up, and never reads
    # the WebSocket stream as HTTP again (no "400 Bad request" written into it).
    assert sock.wait_eof() == b""
    wait_until(lambda: len(app.hub) == 0)


def test_client_initiated_close_ends_the_tcp_connection(
    serve: Serve, client_for: MakeClient
) -> None:
    app = ws_app()
    server = serve(app)
    client = client_for(server)
    sock = client.connect()
    sock.ws.send_close()
    rest = sock.wait_eof()
    assert rest.startswith(b"\x88")  # the server's answering close frame, then EOF
    assert b"HTTP/" not in rest
    wait_until(lambda: len(app.hub) == 0)


def test_an_open_tab_costs_no_thread(serve: Serve, client_for: MakeClient) -> None:
    # After the handshake the WSGI thread hands the socket to the App's I/O
    # loop and goes back to the server: three open tabs, two threads in all
    # (the pool thread leading the loop, and its watcher).
    server = serve(ws_app())
    browsers = [client_for(server) for _ in range(3)]
    for browser in browsers:
        browser.get("/")
    wait_until(lambda: handler_threads() == 0)
    before = threading.active_count()
    socks = [browser.connect() for browser in browsers]
    wait_until(lambda: handler_threads() == 0)
    assert threading.active_count() == before + 2
    assert sum(t.name.startswith("stgo-worker-") for t in threading.enumerate()) == 1
    assert sum(t.name == "stgo-watch" for t in threading.enumerate()) == 1
    # And the tabs are live: a click on each is answered.
    app = server.app
    for sock in socks:
        sock.ack(sock.event(app.widget("go").id))
