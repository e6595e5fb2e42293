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
from stgo.cluster.rotation import ROTATION_TOKEN_TTL
from stgo.ids import is_valid_session_id, new_session_id, redact
from stgo.protocol import CLOSE_MOVED, CLOSE_ROTATED
from stgo.server import Server
from stgo.store import MemoryStore

from .helpers import COOKIE, Client, Socket, request, session_cookie, wait_until, ws_status
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


def log_in(tab: Socket, app: Accounts) -> tuple[dict[str, Any], int | None]:
    """Click "Log in" on *tab*; return the cookie message and the close code that follows."""
    before = len(app.rotations)
    tab.event(app.login.id)
    code = tab.recv_close()
    # The close may overtake the end of the handler (it runs on a pool thread).
    wait_until(lambda: len(app.rotations) > before)
    cookies = [m for m in tab.messages if m["type"] == "cookie"]
    assert len(cookies) == 1, tab.messages
    return cookies[0], code


def redeem(server: Server, token: str, *, origin: str | None = None,
           method: str = "POST") -> Any:
    headers = {"Origin": origin or server.url.rstrip("/")}
    return request(server.url, f"/session/rotate?token={quote(token)}", headers, method=method)


def trade(server: Server, cookie: dict[str, Any]) -> str:
    """Trade a cookie message's token as the browser does; return the new session ID."""
    got = redeem(server, cookie["token"])
    assert got.status == 204
    return session_cookie(got.cookies())[0]


# -- rotation ----------------------------------------------------------------------------------


def test_rotation_closes_every_tab_and_only_the_rotating_one_gets_a_token(
    serve: Serve, client_for: MakeClient
) -> None:
    app = Accounts()
    server = serve(app)
    browser, bystander = client_for(server), client_for(server)
    tab, other_tab = browser.connect(), browser.connect()
    old = browser.session_id or ""
    # Someone who holds the pre-login ID (planted, or a tab opened earlier).
    attacker = client_for(server)
    attacker.session_id = old
    planted = attacker.connect()
    witness = bystander.connect()
    seq = tab.event(app.notes.id, "change", "my notes")
    tab.ack(seq)

    cookie, code = log_in(tab, app)
    # The close may overtake the end of the handler (it runs on a pool thread).
    [new] = wait_until(lambda: list(app.rotations))
    assert is_valid_session_id(new) and new != old
    # The rotating tab: a token and nothing else, then the rotation close.
    assert set(cookie) == {"v", "type", "token"} and len(cookie["token"]) >= 32
    assert code == CLOSE_ROTATED
    # Every other connection of the session is cut off too, with no token.
    assert other_tab.recv_close() == CLOSE_ROTATED
    assert planted.recv_close() == CLOSE_ROTATED
    for sock in (tab, other_tab, planted):
        assert new not in repr(sock.messages)
    for sock in (other_tab, planted):
        assert not [m for m in sock.messages if m["type"] == "cookie"]
        assert cookie["token"] not in repr(sock.messages)
    session = app.sessions.get(new)
    assert session is not None and session.id == new
    wait_until(lambda: session.connections == 0)
    assert app.ended == []  # rotation is not an end

    # The old cookie is worthless: no socket, and the page makes a fresh session.
    attacker.sockets.clear()
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        attacker.connect()
    assert refused.value.status_code == 403
    page = request(server.url, "/", {"Cookie": f"{COOKIE}={old}"})
    fresh, _ = session_cookie(page.cookies())
    assert fresh not in (old, new)
    assert "signed out" in page.body and "signed in as alice" not in page.body

    # The browser trades its token for the new cookie and lands on the session.
    assert trade(server, cookie) == new
    browser.session_id = new
    back = browser.connect(wait_render=False)
    render = back.recv_until(lambda m: m["type"] == "render")
    assert "signed in as alice" in repr(render)
    assert session.get("notes") == "my notes" and session.get("user") == "alice"
    seq = back.event(app.notes.id, "change", "still typing")
    assert back.ack(seq)["type"] == "patch"
    assert session.get("notes") == "still typing"
    assert sorted(app.sessions.ids()) == sorted([new, fresh, bystander.session_id or ""])

    # Nothing of it reached another session.
    seq = witness.event(app.notes.id, "change", "bob")
    witness.ack(seq)
    assert not [m for m in witness.messages if m["type"] == "cookie"]
    assert new not in repr(witness.messages) and cookie["token"] not in repr(witness.messages)


def test_rotation_token_sets_the_new_cookie_once(serve: Serve, client_for: MakeClient) -> None:
    now = [1_800_000_000.0]
    app = Accounts(clock=lambda: now[0])
    server = serve(app)
    browser = client_for(server)
    first, _ = log_in(browser.connect(), app)
    second, _ = log_in(browser.connect(session=app.rotations[-1]), app)  # a second rotation
    assert app.rotations[0] != app.rotations[1]
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
    sid, header = session_cookie(got.cookies())
    assert sid == app.rotations[-1]
    attrs = [a.strip().lower() for a in header.split(";")[1:]]
    assert "httponly" in attrs and "samesite=lax" in attrs and "path=/" in attrs
    assert not any(a.startswith(("expires", "max-age")) or a == "secure" for a in attrs)
    assert got.headers["Cache-Control"] == "no-store"
    # Once only.
    assert redeem(server, token).status == 403

    # A token not traded in time is dead too.
    third, _ = log_in(browser.connect(session=sid), app)
    now[0] += ROTATION_TOKEN_TTL + 1
    assert redeem(server, third["token"]).status == 403
    refused = app.metrics.get("stgo_refused_total", "rotation_token")
    assert refused == 5  # the older token, unknown, empty, used, stale (origin counts apart)
    assert app.metrics.get("stgo_refused_total", "origin") == 1


def test_rotation_without_an_event_closes_every_tab_and_sends_no_token(
    serve: Serve, client_for: MakeClient
) -> None:
    app = Accounts()
    server = serve(app)
    browser = client_for(server)
    tab = browser.connect()
    old = browser.session_id or ""
    session = app.sessions.get(old)
    assert session is not None
    new = app.rotate_session(session)  # from outside any callback (a background job)
    assert tab.recv_close() == CLOSE_MOVED
    assert not [m for m in tab.messages if m["type"] == "cookie"]
    assert new not in repr(tab.messages)
    assert app.sessions.get(old) is None and app.sessions.get(new) is session
    assert ws_status(server.url, cookie=f"{COOKIE}={old}") == 403
    fresh, _ = session_cookie(request(server.url, "/", {"Cookie": f"{COOKIE}={old}"}).cookies())
    assert fresh not in (old, new)


class TokenStore(MemoryStore):
    """A store that says it is shared: rotation keeps its tokens here, by hash."""

    shared = True

    def __init__(self) -> None:
        super().__init__()
        self.tokens: dict[str, str] = {}

    def put_token(self, token_hash: str, new_id: str, ttl: float) -> None:
        self.tokens[token_hash] = new_id

    def take_token(self, token_hash: str) -> str | None:
        return self.tokens.pop(token_hash, None)


def test_a_shared_store_keeps_the_rotation_tokens_whatever_its_class(
    serve: Serve, client_for: MakeClient
) -> None:
    # Rotation asks the store's capability (Store.shared), not whether it is Redis.
    store = TokenStore()
    app = Accounts(store=store)
    server = serve(app)
    cookie, _ = log_in(client_for(server).connect(), app)
    assert list(store.tokens.values()) == [app.rotations[-1]]
    assert cookie["token"] not in repr(store.tokens)  # kept by its hash only
    assert trade(server, cookie) == app.rotations[-1]
    assert store.tokens == {}
    assert redeem(server, cookie["token"]).status == 403  # once


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
    token = cookie["token"]
    new = trade(server, cookie)
    # Refused requests put real IDs in logged request lines.
    assert ws_status(server.url, f"session={quote(old)}", cookie=f"{COOKIE}={old}") == 403
    assert ws_status(server.url, f"session={quote(new)}") == 403  # no cookie: refused
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
        assert ws_status(server.url, origin="http://evil.example",
                         cookie=f"{COOKIE}={sid}") == 403
        assert ws_status(server.url, cookie=f"{COOKIE}={forged}") == 403
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
        "127.0.0.1: bad rotation token": 1,
        "127.0.0.1: oversize message": 1,
        "127.0.0.1: event rate limit": 1,
        "127.0.0.2: malformed session cookie": 1,
    }
    # Logged once, but every refusal is counted.
    assert app.metrics.get("stgo_refused_total", "forged_cookie") == 4
    assert app.metrics.get("stgo_refused_total", "unknown_cookie") == 6
    assert app.metrics.get("stgo_refused_total", "origin") == 3
    assert app.metrics.get("stgo_refused_total", "rate_limit") >= 4
    assert sid not in caplog.text and forged not in caplog.text


# -- transport --------------------------------------------------------------------------------


def test_the_page_is_not_cached_nor_leaked_by_referrer(serve: Serve) -> None:
    # The page carries no session ID now, but it shows the user's data.
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
        f"ws://127.0.0.1:{server.port}/ws", cookie=f"{COOKIE}={sid}",
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
