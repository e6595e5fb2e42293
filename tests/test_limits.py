"""Limits over real sockets: sessions, connections (total and per address), event
rate, and the absolute session lifetime.  Each limit refuses the party over it with
a clear answer and a counter, while everybody else carries on."""

from __future__ import annotations

import contextlib
import http.client
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest
import websocket

import stgo
from stgo import App
from stgo.ids import new_session_id
from stgo.server import Server

from .helpers import COOKIE, Client, Socket, request, wait_until, ws_status
from .hostile import Listener, http_from, ws_from

Serve = Callable[..., Server]
MakeClient = Callable[[Server], Client]


def counting_app(**kwargs: Any) -> App:
    """A button that counts clicks in the clicker's session."""
    app = App(title="Limits", **kwargs)
    mine = app.button("Mine", key="mine")

    @mine.on_click
    def clicked(session: stgo.Session, event: str, value: Any) -> None:
        session.increment("clicks")

    return app


def round_trip(sock: Socket, app: App, timeout: float = 5.0) -> None:
    """One click and its acknowledgement."""
    seq = sock.event(app.widget("mine").id)
    assert sock.ack(seq, timeout)["type"] == "patch"


# -- sessions -----------------------------------------------------------------------------------


def test_max_sessions_gives_a_new_visitor_a_503_page_and_evicts_no_activated_session(
    serve: Serve, client_for: MakeClient
) -> None:
    app = counting_app(max_sessions=3)
    server = serve(app)
    regulars = [client_for(server) for _ in range(3)]
    tabs = [client.connect() for client in regulars]  # activated: never evicted
    ids = sorted(c.session_id or "" for c in regulars)

    late = request(server.url, "/")
    assert late.status == 503
    assert "This app is full" in late.body and "try again" in late.body
    assert late.headers["Content-Type"].startswith("text/html")
    assert late.headers["Retry-After"] and late.headers["Cache-Control"] == "no-store"
    assert not late.cookies()
    forged = request(server.url, "/", {"Cookie": f"{COOKIE}={new_session_id()}"})
    assert forged.status == 503 and not forged.cookies()
    assert sorted(app.sessions.ids()) == ids  # nobody evicted, nothing created
    assert app.metrics.get("stgo_refused_total", "max_sessions") == 2

    # Everybody already in is served as before.
    for client in regulars:
        before = client.session_id
        assert client.get("/").status == 200 and client.session_id == before
    round_trip(tabs[0], app)
    # A place frees up: the next visitor gets in.
    app.sessions.delete(ids[0])
    assert request(server.url, "/").status == 200
    assert len(app.sessions) == 3


FLOOD = 2_000


def test_a_flood_of_cookieless_page_loads_does_not_lock_out_a_real_visitor(
    serve: Serve, client_for: MakeClient
) -> None:
    """Finding 5 of issue 10: 2,000 cookieless ``GET /`` (the per-address limit off,
    as for a botnet's many addresses) go through a pool of 50, 40 times over; a
    real visitor still gets a page and a working WebSocket, and the sessions
    already activated are all kept."""
    app = counting_app(max_sessions=50, new_session_rate=None)
    ended: list[str] = []
    app.on_session_end(lambda session, reason: ended.append(reason))
    server = serve(app)
    regulars = [client_for(server) for _ in range(10)]
    tabs = [client.connect() for client in regulars]
    kept = {c.session_id for c in regulars}

    parts = urlsplit(server.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        for _ in range(FLOOD):  # keep-alive: the flood is quick
            conn.request("GET", "/")
            resp = conn.getresponse()
            resp.read()
            assert resp.status == 200  # never a 503: a pending session made room
    finally:
        conn.close()
    assert len(app.sessions) == 50
    assert kept <= set(app.sessions.ids())  # no activated session evicted
    assert app.sessions.pending_count() == 40
    assert ended.count("evicted") == FLOOD - 40 and set(ended) == {"evicted"}

    visitor = client_for(server)
    page = visitor.get("/")
    assert page.status == 200 and visitor.session_id
    round_trip(visitor.connect(), app)
    assert app.sessions.get(visitor.session_id).activated  # type: ignore[union-attr]
    for tab in tabs:
        round_trip(tab, app)
    # The flood's sessions go first, the visitor's activated one stays.
    for _ in range(100):
        assert request(server.url, "/").status == 200
    assert visitor.session_id in app.sessions.ids()


def test_new_sessions_are_rate_limited_per_address_and_others_still_get_in(
    serve: Serve, client_for: MakeClient
) -> None:
    app = counting_app(new_session_rate=0.001, new_session_burst=20)
    server = serve(app)
    made = [http_from(server.url, source="127.0.0.2") for _ in range(20)]
    assert all(r.status == 200 and r.cookies() for r in made)
    over = http_from(server.url, source="127.0.0.2")
    assert over.status == 429 and not over.cookies()
    assert "Too many new sessions" in over.body and over.headers["Retry-After"]
    assert len(app.sessions) == 20
    assert app.metrics.get("stgo_refused_total", "new_session_rate") == 1
    # Another address is not affected, and its visitor gets a working page.
    visitor = client_for(server)
    assert visitor.get("/").status == 200
    round_trip(visitor.connect(), app)
    # A session the limited address already has is still served (no new one).
    cookie = made[0].cookies()[0].split(";")[0]
    again = http_from(server.url, source="127.0.0.2", headers={"Cookie": cookie})
    assert again.status == 200 and not again.cookies()


def test_behind_a_trusted_proxy_the_rate_limit_is_per_address_the_proxy_saw(
    serve: Serve, client_for: MakeClient
) -> None:
    app = counting_app(trust_proxy=True, new_session_rate=0.001, new_session_burst=3)
    server = serve(app)

    def via_proxy(client: str) -> int:
        # What nginx sends: the client's claim first, the address it saw last.
        return request(server.url, "/", {"X-Forwarded-For": f"6.6.6.6, {client}"}).status

    assert [via_proxy("203.0.113.7") for _ in range(4)] == [200, 200, 200, 429]
    assert via_proxy("198.51.100.9") == 200  # another client behind the same proxy


# -- connections --------------------------------------------------------------------------------


def test_max_connections_refuses_before_the_upgrade_and_a_closed_one_frees_its_slot(
    serve: Serve, client_for: MakeClient
) -> None:
    app = counting_app(max_connections=2, max_connections_per_address=None)
    server = serve(app)
    a, b, c = (client_for(server) for _ in range(3))
    first, second = a.connect(), b.connect()
    c.get("/")
    query, cookie = "", f"{COOKIE}={c.session_id}"
    assert ws_status(server.url, query, cookie=cookie) == 503
    assert ws_status(server.url, query, cookie=cookie) == 503
    assert app.metrics.get("stgo_refused_total", "max_connections") == 2
    assert len(app.hub) == 2 and app.connection_limits.total == 2
    # The connections already open work as before.
    round_trip(first, app)
    round_trip(second, app)
    # One closes: its slot is free for the next.
    first.close()
    wait_until(lambda: app.connection_limits.total == 1)
    third = c.connect()
    round_trip(third, app)
    assert ws_status(server.url, cookie=f"{COOKIE}={a.session_id}") == 503


def test_max_connections_per_address_leaves_other_addresses_alone(
    serve: Serve, client_for: MakeClient
) -> None:
    app = counting_app(max_connections_per_address=2)
    server = serve(app)
    browser = client_for(server)
    tabs = [browser.connect(), browser.connect()]
    sid = browser.session_id or ""
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        ws_from(server.url, sid)
    assert refused.value.status_code == 503
    assert b"too many connections from this address" in (refused.value.resp_body or b"")
    assert app.metrics.get("stgo_refused_total", "max_connections_per_address") == 1

    # Someone at another address connects, and everybody's round trips work.
    elsewhere = http_from(server.url, "/", source="127.0.0.2")
    other_sid = elsewhere.cookies()[0].split(";")[0].split("=", 1)[1]
    other = Listener(ws_from(server.url, other_sid, source="127.0.0.2"))
    try:
        other.wait_for(lambda m: m["type"] == "render")
        other.send_event(app.widget("mine").id, 1)
        assert other.wait_for(lambda m: m.get("ack") == 1)["type"] == "patch"
        for tab in tabs:
            round_trip(tab, app)
        # A tab of the first address closes: that address may open one again.
        tabs[0].close()
        wait_until(lambda: app.connection_limits.total == 2)
        round_trip(browser.connect(), app)
    finally:
        other.close()


@pytest.mark.parametrize("trust_proxy", [True, False])
def test_behind_a_trusted_proxy_the_per_address_limit_counts_the_forwarded_address(
    serve: Serve, client_for: MakeClient, trust_proxy: bool
) -> None:
    # Every connection comes from the proxy (127.0.0.1 here); X-Forwarded-For
    # ends with the address the proxy saw, which only a trusted proxy may tell.
    app = counting_app(trust_proxy=trust_proxy, max_connections_per_address=1)
    server = serve(app)
    browser = client_for(server)
    browser.get("/")
    query, cookie = "", f"{COOKIE}={browser.session_id}"

    def via_proxy(chain: str) -> websocket.WebSocket | int:
        try:
            return websocket.create_connection(
                f"ws://127.0.0.1:{server.port}/ws{query}", cookie=cookie, timeout=10,
                origin=browser.origin, header=[f"X-Forwarded-For: {chain}"],
            )
        except websocket.WebSocketBadStatusException as exc:
            return int(exc.status_code)

    first = via_proxy("203.0.113.7")
    assert isinstance(first, websocket.WebSocket)
    try:
        # Another user behind the same proxy; the first entry is the client's
        # own claim (spoofable), the last is the proxy's.
        second = via_proxy("203.0.113.7, 198.51.100.2")
        if trust_proxy:
            assert isinstance(second, websocket.WebSocket)
            second.close()
            # The same user again, whatever it claims at the front of the chain.
            assert via_proxy("198.51.100.99, 203.0.113.7") == 503
        else:
            assert second == 503  # the proxy's own address: one slot for everybody
    finally:
        first.close()


# -- event rate ---------------------------------------------------------------------------------


def test_an_event_flood_is_refused_past_the_burst_then_closed_1008_and_others_carry_on(
    serve: Serve, client_for: MakeClient
) -> None:
    burst = 20
    app = counting_app(event_rate=2.0, event_burst=burst)
    server = serve(app)
    flooder, calm = client_for(server), client_for(server)
    flood, steady = flooder.connect(), calm.connect()
    mine = app.widget("mine").id

    def send_flood() -> None:
        with contextlib.suppress(OSError, websocket.WebSocketException):  # closed under us
            for _ in range(1000):
                flood.event(mine)

    sender = threading.Thread(target=send_flood)
    sender.start()
    try:
        for _ in range(3):  # another session's round trips go through during the flood
            round_trip(steady, app, timeout=2)
        assert flood.recv_close(10) == 1008
    finally:
        sender.join(10)

    served = [m for m in flood.messages if m["type"] == "patch" and "ack" in m]
    refused = [m for m in flood.messages if m["type"] == "error"]
    session = app.sessions.get(flooder.session_id)
    assert session is not None  # the connection is closed, the session lives on
    # The burst went through (plus what the steady rate refilled meanwhile).
    assert burst <= len(served) <= burst + 3
    assert session.get("clicks") == len(served)
    assert refused and all("too many events" in m["message"] for m in refused)
    # Closed once the client kept going after burst refusals: the rest of the
    # flood was never dispatched.
    count = app.metrics.get("stgo_refused_total", "rate_limit")
    assert burst < count <= 2 * burst + 5, count
    assert app.metrics.get("stgo_errors_total", "rate_limited") == count
    calm_session = app.sessions.get(calm.session_id)
    assert calm_session is not None and calm_session.get("clicks") == 3
    # The flooder may come back (a reload); its socket is served again.
    flooder.connect()


# -- session lifetime ---------------------------------------------------------------------------


def test_session_max_age_ends_an_active_session_with_an_open_tab(
    serve: Serve, client_for: MakeClient
) -> None:
    now = [1_800_000_000.0]
    app = counting_app(session_max_age=60.0, clock=lambda: now[0])
    ended: list[tuple[str, str]] = []
    app.on_session_end(lambda s, reason: ended.append((s.id, reason)))
    server = serve(app)
    veteran, newcomer = client_for(server), client_for(server)
    tab = veteran.connect()
    now[0] += 30
    late_tab = newcomer.connect()
    old, young = veteran.session_id or "", newcomer.session_id or ""
    now[0] += 29
    round_trip(tab, app)  # busy all along: 59 s old, active a moment ago
    now[0] += 2
    round_trip(tab, app)  # 61 s old: an event does not extend a lifetime

    assert app.sessions.cleanup_expired() == 1
    assert ended == [(old, "max_age")]
    assert tab.recv_close() == 1001
    assert tab.messages[-1]["type"] == "expired"
    assert veteran.get("/").status == 200 and veteran.session_id != old
    round_trip(late_tab, app)  # the younger session carries on

    # Without a cleanup pass, the next request past the lifetime ends it too.
    now[0] += 30
    page = request(server.url, "/", {"Cookie": f"{COOKIE}={young}"})
    assert page.cookies() and young not in page.cookies()[0]
    assert ended[-1] == (young, "max_age")
    assert late_tab.recv_close() == 1001
    assert app.metrics.get("stgo_sessions_ended_total", "max_age") == 2


def test_the_per_address_rate_limiter_keeps_a_bucket_per_address_and_bounded_memory() -> None:
    from stgo.limits import AddressRateLimiter

    from .helpers import FakeClock

    clock = FakeClock(0.0)
    limiter = AddressRateLimiter(1.0, 2, max_addresses=3, clock=clock)
    assert [limiter.allow("a") for _ in range(3)] == [True, True, False]
    assert limiter.allow("b")  # another address has its own bucket
    clock.advance(1.0)
    assert limiter.allow("a") and not limiter.allow("a")  # refilled at the rate
    for name in "cdefg":
        limiter.allow(name)
    assert len(limiter) == 3  # the least recently seen forgotten


def test_log_once_with_a_rate_says_each_key_once_and_few_new_ones_a_minute(
    caplog: pytest.LogCaptureFixture,
) -> None:
    import logging

    from stgo.limits import LogOnce

    from .helpers import FakeClock

    caplog.set_level(logging.WARNING, logger="stgo-test")
    clock = FakeClock(0.0)
    said = LogOnce(logging.getLogger("stgo-test"), rate=0.2, burst=3, clock=clock)
    assert said.once(("a", "x"), "pair %s", "a") and not said.once(("a", "x"), "pair %s", "a")
    # A flood of new keys (any client may send any Origin): the burst, then nothing.
    assert [said.once((str(n), "x"), "pair %s", n) for n in range(5)] == [
        True, True, False, False, False]
    clock.advance(5.0)  # one more at the rate; a key not said before may be said now
    assert said.once(("3", "x"), "pair %s", 3) and not said.once(("4", "x"), "pair %s", 4)
    assert [r.getMessage() for r in caplog.records] == ["pair a", "pair 0", "pair 1", "pair 3"]


def test_upload_limits_are_checked_and_bound_a_body_s_time() -> None:
    limits = stgo.UploadLimits(min_rate=1000.0, grace=2.0)
    assert limits.body_seconds(5000) == 7.0
    assert stgo.UploadLimits(min_rate=None).body_seconds(5000) is None
    for bad in ({"max_staged": 0}, {"max_session_bytes": -1}, {"max_bodies": True},
                {"min_rate": 0.0}, {"grace": -1.0}):
        with pytest.raises(stgo.ConfigurationError, match="UploadLimits"):
            stgo.UploadLimits(**bad)  # type: ignore[arg-type]
