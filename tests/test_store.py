"""The store: app.state in memory and in Redis, session records in a real Redis
(atomic creation, claims, rotation), the codec at set(), forged records, and a
Redis that pauses or restarts under a live server."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import websocket

import stgo
from stgo import App, SessionManager
from stgo.server import Server
from stgo.store import CodecError, MemoryStore, StoreError, open_store
from stgo.store.redis import RedisStore
from stgo.testing import AppTester

from .helpers import COOKIE, Client, FakeClock, request, wait_until
from .services import RedisServer, free_port

# -- app.state in memory (the default) ----------------------------------------------------------


def test_app_state_in_memory_keeps_any_value_and_counts_exactly_across_threads() -> None:
    app = App(title="State")
    assert isinstance(app.store, MemoryStore) and not app.store.persistent
    assert not app.store.shared  # tokens and events stay in this process
    marker = object()
    app.state.set("thing", marker)  # any Python value in memory
    assert app.state.get("thing") is marker and app.state.has("thing") and "thing" in app.state
    assert app.state.get("missing", 5) == 5
    threads = [threading.Thread(target=lambda: [app.state.increment("n") for _ in range(500)])
               for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert app.state["n"] == 4000
    assert app.state.update("n", lambda old: old * 2) == 8000
    assert set(app.state.items()) == {"thing", "n"}
    assert app.state.delete("thing") and not app.state.delete("thing")


def test_store_urls_are_checked() -> None:
    assert isinstance(open_store("memory"), MemoryStore)
    for bad in ("mysql://x", "redis://", "redis://host:notaport/0", "nonsense"):
        with pytest.raises(StoreError):
            open_store(bad)


def test_an_unreachable_redis_is_a_clear_error_at_start() -> None:
    app = App(title="x", store=f"redis://127.0.0.1:{free_port()}/0")
    with pytest.raises(StoreError, match="cannot reach Redis at redis://127.0.0.1"):
        app.start()


# -- Redis ------------------------------------------------------------------------------------


@pytest.fixture
def store(redis_server: RedisServer) -> Iterator[RedisStore]:
    s = RedisStore(redis_server.url)
    s.open()
    yield s
    s.close()


def test_app_state_in_redis_is_atomic_between_two_apps(
    redis_server: RedisServer, make_app: Callable[..., App]
) -> None:
    one, two = (make_app(title="a", store=redis_server.url) for _ in range(2))
    assert one.store.persistent and one.store.shared  # any process trades a rotation token

    def bump(app: App) -> None:
        for _ in range(100):
            app.state.increment("total")
            app.state.update("list", lambda old: [*old, 1], [])

    threads = [threading.Thread(target=bump, args=(app,)) for app in (one, two) * 5]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert one.state.get("total") == two.state.get("total") == 1000
    assert len(two.state.get("list")) == 1000
    one.state.set("when", (1, b"x"))
    assert two.state.get("when") == (1, b"x")
    with pytest.raises(CodecError, match="'bad'.*object"):
        one.state.set("bad", object())
    assert not two.state.has("bad")


def test_session_state_lives_in_redis_and_survives_a_new_manager(store: RedisStore) -> None:
    clock = FakeClock()
    first = SessionManager(clock=clock, store=store)
    started: list[str] = []
    first.on_session_start(lambda s: started.append(s.id))
    s = first.create()
    s.set("n", 1)
    s.increment("n", 2)
    s.set("t", (1, 2))
    with pytest.raises(CodecError, match="'obj'"):
        s.set("obj", threading.Lock())
    assert not s.has("obj") and s.items() == {"n": 3, "t": (1, 2)}
    first.stop()  # a persistent store: nothing ends

    second = SessionManager(clock=clock, store=store)
    restored: list[str] = []
    second.on_session_restore(lambda session: restored.append(session.id))
    ended: list[tuple[str, Any]] = []
    second.on_session_end(lambda session, reason: ended.append((reason, session.get("n"))))
    back = second.get(s.id)
    assert back is not None and back is not s and back.get("n") == 3
    assert restored == [s.id] and started == [s.id]
    assert len(second) == 1 and second.ids() == [s.id]
    assert second.delete(s.id) and ended == [("deleted", 3)]
    assert second.get(s.id) is None and store.session_count() == 0


def test_expiry_between_two_managers_ends_each_session_exactly_once(store: RedisStore) -> None:
    clock = FakeClock()
    managers = [SessionManager(session_timeout=10, clock=clock, store=store) for _ in range(2)]
    ended: list[tuple[int, str, str]] = []
    for i, m in enumerate(managers):
        m.on_session_end(lambda session, reason, i=i: ended.append((i, session.id, reason)))
    made = [managers[n % 2].create() for n in range(20)]
    for s in made:
        s.set("v", 1)
    busy = managers[1].get(made[0].id)
    assert busy is not None
    busy.attach()  # an open tab in the *other* process keeps it
    clock.advance(11)
    done = threading.Barrier(2)
    results: list[int] = []

    def clean(m: SessionManager) -> None:
        done.wait()
        results.append(m.cleanup_expired())

    threads = [threading.Thread(target=clean, args=(m,)) for m in managers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sum(results) == 19
    ids = [sid for _, sid, _ in ended]
    assert sorted(ids) == sorted(s.id for s in made[1:]) and len(set(ids)) == 19
    assert {reason for _, _, reason in ended} == {"timeout"}
    assert store.session_ids() == [made[0].id]


def test_max_sessions_counts_the_store_and_evicts_pending_first(store: RedisStore) -> None:
    from stgo.errors import CapacityError

    m1, m2 = SessionManager(store=store), SessionManager(store=store)
    ended: list[str] = []
    m1.on_session_end(lambda s, r: ended.append(r))
    m2.on_session_end(lambda s, r: ended.append(r))
    active = m1.create(limit=2, pending=True)
    active.attach()
    waiting = m2.create(limit=2, pending=True)
    newcomer = m1.create(limit=2, pending=True)
    assert ended == ["evicted"] and waiting.id not in store.session_ids()
    newcomer.attach()
    with pytest.raises(CapacityError):
        m2.create(limit=2)
    assert sorted(store.session_ids()) == sorted([active.id, newcomer.id])


def test_creating_a_session_is_done_once_when_the_call_is_sent_again(store: RedisStore) -> None:
    # redis-py sends a call again once when its answer times out (a busy
    # machine): the record the first one made is the second one's, not a
    # duplicate (which became a 500 page); another record of that ID is refused.
    from stgo.errors import StoreError
    from stgo.ids import new_session_id

    sid, now = new_session_id(), time.time()
    assert store.create_session(sid, now, limit=5, pending=True)
    assert store.create_session(sid, now, limit=5, pending=True)
    assert store.session_ids().count(sid) == 1
    with pytest.raises(StoreError, match="already in the store"):
        store.create_session(sid, now + 1.0)


def test_rotation_with_the_store_refuses_the_old_id_in_every_process(
    redis_server: RedisServer, make_app: Callable[..., App]
) -> None:
    a, b = (make_app(title=t, store=redis_server.url) for t in "ab")
    s = a.sessions.create()
    s.set("who", "alice")
    seen_by_b = b.sessions.get(s.id)
    assert seen_by_b is not None and seen_by_b.get("who") == "alice"
    old = s.id
    new = a.rotate_session(s)
    assert a.sessions.get(old) is None and b.sessions.get(old) is None
    again = b.sessions.get(new)
    assert again is not None and again.get("who") == "alice"


def test_an_undecodable_value_drops_that_key_with_a_warning_not_the_session(
    store: RedisStore, caplog: pytest.LogCaptureFixture
) -> None:
    m = SessionManager(store=store)
    s = m.create()
    s.set("good", 1)
    s.set("bad", 2)
    raw = store._link.client()
    raw.hset(f"{store.prefix}d:{s.id}", "bad", '{"$pickle": ["AAAA", "00"]}')
    raw.hset(f"{store.prefix}d:{s.id}", "junk", b"\xff\x00not json")
    with caplog.at_level(logging.WARNING, logger="stgo"):
        assert s.items() == {"good": 1}
        assert s.get("bad", "default") == "default"
    assert "dropped key 'bad'" in caplog.text and "dropped key 'junk'" in caplog.text
    assert s.id not in caplog.text



@pytest.mark.parametrize("corrupt", ["bad times", "no times", "wrong type"])
def test_a_corrupt_record_in_the_expiry_index_ends_alone_and_expiry_goes_on(
    store: RedisStore, caplog: pytest.LogCaptureFixture, corrupt: str
) -> None:
    clock = FakeClock()
    m = SessionManager(session_timeout=10, clock=clock, store=store)
    ended: list[tuple[str, str]] = []
    m.on_session_end(lambda session, reason: ended.append((session.id, reason)))
    bad, expired = m.create(), m.create()
    expired.set("n", 1)
    raw = store._link.client()
    meta = f"{store.prefix}m:{bad.id}"
    if corrupt == "bad times":
        raw.hset(meta, "a", "yesterday")
    elif corrupt == "no times":
        raw.hdel(meta, "a", "c")
    else:
        raw.delete(meta)
        raw.set(meta, "not a hash")
    raw.zadd(f"{store.prefix}idle", {bad.id: 0})  # first in the index: looked at first
    clock.advance(11)
    with caplog.at_level(logging.WARNING, logger="stgo"):
        assert m.cleanup_expired() == 2
    assert sorted(ended) == sorted([(bad.id, "timeout"), (expired.id, "timeout")])
    assert store.session_ids() == [] and not raw.exists(meta)
    assert "bad times" in caplog.text and bad.id not in caplog.text
    assert m.cleanup_expired() == 0  # nothing left behind to trip on


def test_a_value_nested_too_deep_is_refused_at_set_and_never_breaks_a_page(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    from stgo.store.codec import MAX_DEPTH

    app = App(title="Deep", store=redis_server.url, new_session_rate=None)

    @app.session_page
    def page(session: stgo.Session) -> None:
        session.text(f"motd: {app.state.get('motd', 'none')}", key="motd")

    deep: Any = []
    for _ in range(MAX_DEPTH + 1):
        deep = [deep]
    with pytest.raises(CodecError, match=rf"cannot store 'motd'.*deeper than {MAX_DEPTH}"):
        app.state.set("motd", deep)
    server = Server(app, "127.0.0.1", 0)
    server.start()
    try:
        first = Client(server.url)
        first.get("/")
        session = app.sessions.get(first.session_id or "")
        assert session is not None
        with pytest.raises(CodecError, match="cannot store 'tree'"):
            session.set("tree", deep)
        # A deep value already in the store (forged, or written by other code)
        # is undecodable: dropped with a warning, the page drawn without it.
        store = app.store
        assert isinstance(store, RedisStore)
        deep = "[" * 100_000 + "]" * 100_000
        store._link.client().hset(store._layout.hash("app"), "motd", deep)
        with caplog.at_level(logging.WARNING, logger="stgo"):
            for client in (Client(server.url), Client(server.url), first):
                page = client.get("/")
                assert page.status == 200 and "motd: none" in page.body
        assert "dropped key 'motd'" in caplog.text
    finally:
        server.stop()
        app.stop()


def session_page_app(url: str) -> App:
    app = App(title="Restart", store=url, new_session_rate=None)
    shared = app.metric("Everybody", 0, key="total")
    button = app.button("Click", key="click")

    @app.session_page
    def page(session: stgo.Session) -> None:
        session.text(f"mine: {session.get('mine', 0)}", key="mine_text")

    @button.on_click
    def clicked(session: stgo.Session, event: str, value: Any) -> None:
        mine = session.increment("mine")
        session.widget("mine_text").set_text(f"mine: {mine}")
        shared.set_value(app.state.increment("total"))

    return app


def test_a_forged_session_record_never_crashes_a_page(redis_server: RedisServer) -> None:
    app = session_page_app(redis_server.url)
    server = Server(app, "127.0.0.1", 0)
    server.start()
    try:
        client = Client(server.url)
        assert client.get("/").status == 200
        sid = client.session_id
        raw = app.store._link.client()  # type: ignore[attr-defined]
        raw.hset(f"stgo:d:{sid}", "mine", "{not json")
        raw.hset(f"stgo:m:{sid}", "a", "yesterday")  # bad times: the record is ignored
        page = request(server.url, "/", {"Cookie": f"{COOKIE}={sid}"})
        assert page.status == 200 and page.cookies()  # a fresh session instead
        other = Client(server.url)
        assert other.get("/").status == 200 and "mine: 0" in other.get("/").body
    finally:
        server.stop()


def test_redis_paused_or_restarted_the_server_lives_says_degraded_and_recovers(
    redis_server: RedisServer,
) -> None:
    app = session_page_app(redis_server.url)
    app.store.timeout = 0.5  # type: ignore[attr-defined]
    server = Server(app, "127.0.0.1", 0)
    server.start()
    client, fresh, late = Client(server.url), Client(server.url), Client(server.url)
    try:
        tab = client.connect()
        seq = tab.event(app.widget("click").id)
        tab.ack(seq)
        assert request(server.url, "/health").json()["status"] == "ok"
        assert late.get("/").status == 200  # a page, its socket to come

        redis_server.pause()
        health = request(server.url, "/health")
        assert health.status == 200 and health.json()["status"] == "degraded"
        page = request(server.url, "/")
        assert page.status == 503 and "Temporarily unavailable" in page.body
        # The socket's handshake writes the session's activity: refused with a
        # 503 the client retries, not opened and then served by nobody.
        with pytest.raises(websocket.WebSocketBadStatusException) as refused:
            late.connect(wait_render=False)
        assert refused.value.status_code == 503
        redis_server.resume()
        wait_until(lambda: request(server.url, "/health").json()["status"] == "ok", 10)
        assert client.get("/").status == 200 and "mine: 1" in client.get("/").body
        late.connect()  # and now it opens, the refused one not counted
        session = app.sessions.get(late.session_id or "")
        assert session is not None and session.connections == 1 and session.activated

        redis_server.restart()  # everything in it is gone (no persistence)
        wait_until(lambda: request(server.url, "/health").json()["status"] == "ok", 10)
        assert fresh.get("/").status == 200
        round_trip = fresh.connect()
        seq = round_trip.event(app.widget("click").id)
        assert round_trip.ack(seq)["type"] == "patch"
    finally:
        for browser in (client, fresh, late):
            browser.close()
        server.stop()


def test_a_store_failing_as_a_socket_attaches_is_a_503_and_counts_no_connection(
    redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The handshake writes the session's activity (here: its activation) to
    # the store; failing, it is a 503 the client retries, never an open socket
    # that nobody serves (its exception, after the 101, became a 500 in it).
    from stgo.errors import StoreUnavailableError

    app = session_page_app(redis_server.url)
    server = Server(app, "127.0.0.1", 0)
    server.start()
    browser = Client(server.url)
    real = app.store.touch_session

    def failing(*args: Any, **kwargs: Any) -> None:
        raise StoreUnavailableError("Redis is unavailable: a test's")

    try:
        assert browser.get("/").status == 200
        monkeypatch.setattr(app.store, "touch_session", failing)
        with pytest.raises(websocket.WebSocketBadStatusException) as refused:
            browser.connect(wait_render=False)
        assert refused.value.status_code == 503
        monkeypatch.setattr(app.store, "touch_session", real)
        browser.connect()
        session = app.sessions.get(browser.session_id or "")
        assert session is not None and session.connections == 1 and session.activated
    finally:
        browser.close()
        server.stop()


def test_health_answers_within_a_second_while_redis_is_paused(redis_server: RedisServer) -> None:
    # A probe's timeout (Kubernetes': 1 s) must not see a Redis hiccup as a
    # dead process: /health answers "degraded" at once, from what a check
    # made off the request's thread found, and "ok" once Redis is back.
    app = session_page_app(redis_server.url)  # the store's default timeouts (2 s a call)
    server = Server(app, "127.0.0.1", 0)
    server.start()
    client = Client(server.url)
    try:
        tab = client.connect()
        assert request(server.url, "/health").json() == {"status": "ok"}
        redis_server.pause()
        try:
            tab.event(app.widget("click").id)  # a tab waits on the paused Redis meanwhile
            for _ in range(3):
                started = time.monotonic()
                health = request(server.url, "/health")
                took = time.monotonic() - started
                assert health.status == 200 and health.json()["status"] == "degraded"
                assert took < 0.9, f"/health took {took:.2f} s"  # the deadline, with margin
        finally:
            redis_server.resume()
        wait_until(lambda: request(server.url, "/health").json()["status"] == "ok", 10)
    finally:
        client.close()
        server.stop()


def test_a_session_ended_by_another_process_tells_the_tabs_here(
    redis_server: RedisServer, make_app: Callable[..., App]
) -> None:
    here = session_page_app(redis_server.url)
    elsewhere = make_app(title="elsewhere", store=redis_server.url)
    ended_here: list[str] = []
    here.on_session_end(lambda session, reason: ended_here.append(reason))
    server = Server(here, "127.0.0.1", 0)
    server.start()
    client = Client(server.url)
    try:
        tab = client.connect()
        assert elsewhere.sessions.delete(client.session_id or "")
        here.sessions.cleanup_expired()  # the next pass here finds the record gone
        assert tab.recv_until(lambda m: m["type"] == "expired")
        assert ended_here == []  # the other process ran the end hooks
    finally:
        client.close()
        server.stop()


def test_a_replaced_upload_outlives_the_event_that_replaced_it(
    redis_server: RedisServer, store: RedisStore, make_app: Callable[..., App]
) -> None:
    # Until the event's writes are in Redis, the stored state still names the
    # old file: another process reading it meanwhile must find its bytes.
    app = make_app(title="files", store=redis_server.url)
    up = app.file_uploader("File", key="up")
    during: list[bytes | None] = []

    @up.on_change
    def changed(session: Any, event: str, value: Any) -> None:
        if old is not None:
            during.append(store.read_blob(old.ref, 0, 3))

    old = None
    with AppTester(app) as tester:
        tab = tester.new_session()
        tab.upload("File", "a.txt", b"first")
        old = tab.value("up")
        assert store.read_blob(old.ref, 0, 3) == b"fir"
        tab.upload("File", "b.txt", b"second")
        assert during == [b"fir"]  # read by "another process" while the event ran
        assert store.read_blob(old.ref, 0, 3) is None  # gone once the writes were in
        assert tab.value("up").getvalue() == b"second"
