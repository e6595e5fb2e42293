"""Session takeover defences over real sockets: ID rotation, the cookie exchange, logs.

Rotation (``app.rotate_session``) is what an app calls when a session's
privilege changes (login, logout): the old ID must be dead at once everywhere,
the session (state, widgets, open tabs) must live on under the new ID, and the
browser must get the new ``HttpOnly`` cookie through a one-time token.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import websocket

import stgo
from stgo import App
from stgo.app import ROTATION_TOKEN_TTL
from stgo.ids import is_valid_session_id, new_session_id, redact
from stgo.server import Server

from .helpers import COOKIE, Client, Socket, request, wait_until, ws_status
from .hostile import http_from

Serve = Callable[..., Server]
MakeClient = Callable[[Server], Client]


class Accounts(App):
    """Log in rotates the session's ID, like examples/login.py."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(title="Accounts", **kwargs)
        self.login = self.button("Log in", key="login")
        self.notes = self.text_input("Notes", key="notes")
        self.rotations: list[str] = []
        self.ended: list[tuple[str, str]] = []
        self.login.on_click(self.log_in)
        self.on_session_start(lambda s: s.text("signed out", key="who"))
        self.on_session_end(lambda s, reason: self.ended.append((s.id, reason)))

    def log_in(self, session: stgo.Session, event: str, value: Any) -> None:
        session.set("user", "alice")
        session.widget("who").set_text("signed in as alice")
        self.rotations.append(self.rotate_session(session))


def cookie_of(set_cookies: list[str]) -> tuple[str, str]:
    """The session ID and the whole ``Set-Cookie`` header for it."""
    for header in set_cookies:
        m = re.match(rf"{COOKIE}=([^;]*)", header)
        if m:
            return m.group(1), header
    raise AssertionError(f"no {COOKIE} cookie in {set_cookies}")


def log_in(tab: Socket, app: Accounts) -> tuple[dict[str, Any], dict[str, Any]]:
    """Click "Log in" on *tab*; return the cookie message and the event's ack."""
    seq = tab.event(app.login.id)
    cookie = tab.recv_until(lambda m: m["type"] == "cookie")
    return cookie, tab.ack(seq)


def redeem(server: Server, token: str, *, origin: str | None = None,
           method: str = "POST") -> Any:
    headers = {"Origin": origin or server.url.rstrip("/")}
    return request(server.url, f"/session/rotate?token={quote(token)}", headers, method=method)


# -- rotation ----------------------------------------------------------------------------------


def test_rotation_kills_the_old_id_everywhere_and_the_session_moves(
    serve: Serve, client_for: MakeClient
) -> None:
    app = Accounts()
    server = serve(app)
    browser, bystander = client_for(server), client_for(server)
    tab, other = browser.connect(), bystander.connect()
    old = browser.session_id or ""
    seq = tab.event(app.notes.id, "change", "my notes")
    tab.ack(seq)

    cookie, ack = log_in(tab, app)
    new = cookie["session"]
    assert app.rotations == [new]
    assert is_valid_session_id(new) and new != old
    assert cookie["token"] and len(cookie["token"]) >= 32
    assert "signed in as alice" in repr(ack)

    # The session itself moved: same object, state, widgets, open connection.
    session = app.sessions.get(new)
    assert session is not None and session.id == new
    assert app.sessions.get(old) is None
    assert session.get("notes") == "my notes" and session.get("user") == "alice"
    assert session.connections == 1 and len(app.hub.connections(session)) == 1
    seq = tab.event(app.notes.id, "change", "still typing")
    assert tab.ack(seq)["type"] == "patch"
    assert session.get("notes") == "still typing"
    assert app.ended == []  # rotation is not an end

    # The old ID is refused at once: WebSocket 403, and the page makes a new session.
    assert ws_status(server.url, f"session={quote(old)}", cookie=f"{COOKIE}={old}") == 403
    page = request(server.url, "/", {"Cookie": f"{COOKIE}={old}"})
    fresh, _ = cookie_of(page.cookies())
    assert fresh not in (old, new)
    assert "signed out" in page.body and "signed in as alice" not in page.body
    assert sorted(app.sessions.ids()) == sorted([new, fresh, bystander.session_id or ""])

    # The new ID is the session's, for a browser holding the new cookie.
    page = request(server.url, "/", {"Cookie": f"{COOKIE}={new}"})
    assert "signed in as alice" in page.body and not page.cookies()
    assert ws_status(server.url, f"session={quote(new)}", cookie=f"{COOKIE}={new}") == 101

    # Nothing of it reached another session.
    seq = other.event(app.notes.id, "change", "bob")
    other.ack(seq)
    assert not [m for m in other.messages if m["type"] == "cookie"]
    assert new not in repr(other.messages) and cookie["token"] not in repr(other.messages)


def test_rotation_token_sets_the_new_cookie_once(serve: Serve, client_for: MakeClient) -> None:
    now = [1_800_000_000.0]
    app = Accounts(clock=lambda: now[0])
    server = serve(app)
    browser = client_for(server)
    tab = browser.connect()
    first, _ = log_in(tab, app)
    second, _ = log_in(tab, app)  # logs in again: a second rotation
    assert first["session"] != second["session"] == app.rotations[-1]
    token = second["token"]

    # Attempts that must not spend the token.
    assert redeem(server, first["token"]).status == 403  # an older rotation's: dead
    got = redeem(server, token, method="GET")
    assert got.status == 405 and got.headers["Allow"] == "POST"
    assert redeem(server, token, origin="http://evil.example").status == 403
    assert redeem(server, "x" * 43).status == 403
    assert redeem(server, "").status == 403

    # The real exchange: 204 and the new cookie, with the session cookie's attributes.
    got = redeem(server, token)
    assert got.status == 204
    sid, header = cookie_of(got.cookies())
    assert sid == second["session"]
    attrs = [a.strip().lower() for a in header.split(";")[1:]]
    assert "httponly" in attrs and "samesite=lax" in attrs and "path=/" in attrs
    assert not any(a.startswith(("expires", "max-age")) or a == "secure" for a in attrs)
    assert got.headers["Cache-Control"] == "no-store"
    # Once only.
    assert redeem(server, token).status == 403

    # A token not traded in time is dead too.
    third, _ = log_in(tab, app)
    now[0] += ROTATION_TOKEN_TTL + 1
    assert redeem(server, third["token"]).status == 403
    refused = app.metrics.get("stgo_refused_total", "rotation_token")
    assert refused == 5  # the older token, unknown, empty, used, stale (origin counts apart)
    assert app.metrics.get("stgo_refused_total", "origin") == 1


def test_every_open_tab_gets_its_own_token(serve: Serve, client_for: MakeClient) -> None:
    app = Accounts()
    server = serve(app)
    browser = client_for(server)
    tab1, tab2 = browser.connect(), browser.connect()
    cookie1, _ = log_in(tab1, app)
    cookie2 = tab2.recv_until(lambda m: m["type"] == "cookie")
    assert cookie1["session"] == cookie2["session"] == app.rotations[0]
    assert cookie1["token"] != cookie2["token"]
    # Each tab trades its own (a shared token would refuse the second tab).
    for cookie in (cookie1, cookie2):
        got = redeem(server, cookie["token"])
        assert got.status == 204
        assert cookie_of(got.cookies())[0] == cookie["session"]
    # Both tabs still live on the rotated session.
    session = app.sessions.get(cookie1["session"])
    assert session is not None and session.connections == 2


def test_rotation_without_an_open_tab_still_kills_the_old_id(serve: Serve) -> None:
    app = Accounts()
    server = serve(app)
    page = request(server.url, "/")
    old, _ = cookie_of(page.cookies())
    session = app.sessions.get(old)
    assert session is not None
    new = app.rotate_session(session)  # from outside any callback (a background job)
    assert app.sessions.get(old) is None and app.sessions.get(new) is session
    fresh, _ = cookie_of(request(server.url, "/", {"Cookie": f"{COOKIE}={old}"}).cookies())
    assert fresh not in (old, new)


# -- logs ------------------------------------------------------------------------------------


def _random_part(session_id: str) -> str:
    return session_id[len("session_"):].split("_", 1)[1]


def test_session_ids_and_tokens_reach_the_logs_only_as_keyed_hashes(
    serve: Serve, client_for: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # stgo's debug lines and werkzeug's access log
    app = Accounts()
    server = serve(app)
    browser, other = client_for(server), client_for(server)
    tab = browser.connect()
    other.get("/")
    old = browser.session_id or ""
    cookie, _ = log_in(tab, app)
    new, token = cookie["session"], cookie["token"]
    assert redeem(server, token).status == 204
    # Refused requests put real IDs in logged request lines.
    assert ws_status(server.url, f"session={quote(old)}", cookie=f"{COOKIE}={old}") == 403
    assert ws_status(server.url, f"session={quote(new)}",
                     cookie=f"{COOKIE}={other.session_id}") == 403
    request(server.url, "/", {"Cookie": f"{COOKIE}={old}"})
    tab.close()
    wait_until(lambda: len(app.hub) == 0)
    app.sessions.delete(new)

    text = caplog.text
    assert f"rotated to {redact(new)}" in text and f"session {redact(old)} rotated" in text
    assert "session=sid:" in text and "token=sid:" in text  # the access log, scrubbed
    for secret in (old, new, other.session_id or ""):
        assert secret not in text
        assert _random_part(secret) not in text
    assert token not in text


def test_suspicious_inputs_are_logged_once_per_client_with_the_reason(
    serve: Serve, client_for: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="stgo")
    app = App(title="Suspicious", event_rate=1.0, event_burst=3, max_message_size=4096)
    go = app.button("Go", key="go")
    server = serve(app)
    browser = client_for(server)
    tab = browser.connect()
    sid = browser.session_id or ""
    forged = new_session_id()  # the right shape, never issued
    for _ in range(3):
        request(server.url, "/", {"Cookie": f"{COOKIE}=session_1_x"})
        request(server.url, "/", {"Cookie": f"{COOKIE}={forged}"})
        assert ws_status(server.url, f"session={quote(sid)}", origin="http://evil.example",
                         cookie=f"{COOKIE}={sid}") == 403
        assert ws_status(server.url, f"session={quote(forged)}",
                         cookie=f"{COOKIE}={forged}") == 403
        assert redeem(server, "made-up").status == 403
    for _ in range(2):
        big = browser.connect()
        big.ws.send("x" * 5000)
        assert big.recv_close() == 1009
    for _ in range(10):  # past the burst: refused, then closed
        tab.event(go.id)
    assert tab.recv_close() == 1008
    # Another address is another client: its own line.
    http_from(server.url, "/", source="127.0.0.2", headers={"Cookie": f"{COOKIE}=session_1_x"})
    wait_until(lambda: app.metrics.get("stgo_refused_total", "oversize") == 2)

    # "suspicious client ADDRESS: REASON (DETAIL)", counted by (address, reason).
    seen: dict[str, int] = {}
    for record in caplog.records:
        message = record.getMessage()
        if record.name == "stgo" and message.startswith("suspicious client "):
            who = message[len("suspicious client "):].split(" (", 1)[0]
            seen[who] = seen.get(who, 0) + 1
    assert seen == {
        "127.0.0.1: malformed session cookie": 1,
        "127.0.0.1: unknown or expired session cookie": 1,
        "127.0.0.1: origin not allowed": 1,
        "127.0.0.1: unknown or expired session": 1,
        "127.0.0.1: bad rotation token": 1,
        "127.0.0.1: oversize message": 1,
        "127.0.0.1: event rate limit": 1,
        "127.0.0.2: malformed session cookie": 1,
    }
    # Logged once, but every refusal is counted.
    assert app.metrics.get("stgo_refused_total", "forged_cookie") == 4
    assert app.metrics.get("stgo_refused_total", "unknown_cookie") == 3
    assert app.metrics.get("stgo_refused_total", "origin") == 3
    assert app.metrics.get("stgo_refused_total", "rate_limit") >= 4
    assert sid not in caplog.text and forged not in caplog.text


# -- transport --------------------------------------------------------------------------------


def test_the_page_is_not_cached_nor_leaked_by_referrer(serve: Serve) -> None:
    # The page carries the session ID (for the WebSocket URL).
    page = request(serve(Accounts()).url, "/")
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["Referrer-Policy"] == "same-origin"
    assert page.headers["X-Content-Type-Options"] == "nosniff"


def test_websocket_compression_is_never_negotiated(serve: Serve, client_for: MakeClient) -> None:
    # permessage-deflate costs memory per connection and is a side channel
    # (CRIME/BREACH-like) for secrets sent in the same stream.
    server = serve(Accounts())
    client = client_for(server)
    client.get("/")
    sid = client.session_id or ""
    ws = websocket.create_connection(
        f"ws://127.0.0.1:{server.port}/ws?session={quote(sid)}", cookie=f"{COOKIE}={sid}",
        origin=client.origin, timeout=10,
        header=["Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits"],
    )
    try:
        assert ws.getstatus() == 101
        assert "sec-websocket-extensions" not in {k.lower() for k in ws.getheaders()}
        assert json.loads(ws.recv())["type"] == "render"  # plain, uncompressed frames
    finally:
        ws.close()


# -- the documentation -------------------------------------------------------------------------


def test_security_doc_names_only_tests_that_exist() -> None:
    # docs/security.md maps each defence to the tests that prove it: a renamed
    # or deleted test must not leave it pointing at nothing.
    root = Path(__file__).resolve().parent.parent
    doc = (root / "docs" / "security.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`(tests/[\w/]+\.py)::(\w+)`", doc))
    assert len(named) >= 40
    for path, name in sorted(named):
        source = (root / path).read_text(encoding="utf-8")
        assert re.search(rf"^def {name}\(", source, re.M), f"{path}::{name} does not exist"
