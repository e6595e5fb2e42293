"""Pushed partial updates over real sockets: isolation, fan-out, tabs, threads, expiry."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import stgo
from stgo import App
from stgo.server import Server

from .helpers import Client, FakeClock, Socket, request, wait_until

Serve = Callable[[App], Server]
MakeClient = Callable[[Server], Client]


class Counter(App):
    """A small app: a global text and button, a per-session input, button and text."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(title="Push", **kwargs)
        self.shared_text = self.text("Clicks by everyone: 0", key="total")
        self.go = self.button("Go", key="go")
        self.boom = self.button("Boom", key="boom")
        self.name = self.text_input("Name", key="name")
        self.total = 0
        self.ended: list[tuple[str, str]] = []
        self.go.on_click(self.clicked)
        self.boom.on_click(self.explode)
        self.on_session_start(self.setup)
        self.on_session_end(lambda s, reason: self.ended.append((s.id, reason)))

    def setup(self, session: stgo.Session) -> None:
        session.set("mine", 0)
        session.text("You clicked 0 times", key="mine_text")
        session.button("Mine", key="mine_button", on_click=self.mine_clicked)

    def clicked(self, session: stgo.Session, event: str, value: Any) -> None:
        self.total += 1
        self.shared_text.set_text(f"Clicks by everyone: {self.total}")

    def mine_clicked(self, session: stgo.Session, event: str, value: Any) -> None:
        mine = session.increment("mine")
        session.widget("mine_text").set_text(f"You clicked {mine} times")

    def explode(self, session: stgo.Session, event: str, value: Any) -> None:
        raise ValueError("boom in the callback")


def ops_of(msg: dict[str, Any]) -> list[dict[str, Any]]:
    return list(msg.get("ops", ())) if msg["type"] == "patch" else []


def has_op(sock: Socket, widget_id: str, op: str = "update") -> Callable[[dict[str, Any]], bool]:
    return lambda m: any(o["op"] == op and o.get("id") == widget_id for o in ops_of(m))


def settle(sock: Socket, app: Counter) -> list[dict[str, Any]]:
    """Round-trip one harmless event on *sock*; return every message received until its ack.

    Whatever the server queued for this socket before the event is in the list
    (a connection's messages are delivered in order).
    """
    start = len(sock.messages)
    seq = sock.event(app.name.id, "change", f"settle-{time.monotonic_ns()}")
    sock.ack(seq)
    return sock.messages[start:]


@pytest.fixture
def app_and_server(serve: Serve) -> Iterator[tuple[Counter, Server]]:
    app = Counter()
    yield app, serve(app)


# -- isolation --------------------------------------------------------------------------------


def test_values_of_two_sessions_are_isolated(
    app_and_server: tuple[Counter, Server], client_for: MakeClient
) -> None:
    app, server = app_and_server
    alice, bob = client_for(server), client_for(server)
    a, b = alice.connect(), bob.connect()
    seq = a.event(app.name.id, "change", "alice's secret")
    reply = a.ack(seq)
    assert reply["type"] == "patch"
    sa = app.sessions.get(alice.session_id)
    sb = app.sessions.get(bob.session_id)
    assert sa is not None and sb is not None
    assert sa.get("name") == "alice's secret"
    assert sb.get("name") is None
    seen_by_bob = settle(b, app)
    assert "alice's secret" not in repr(seen_by_bob)
    assert "alice&#x27;s secret" not in repr(seen_by_bob)
    assert "alice&#x27;s secret" not in bob.get("/").body
    assert "alice&#x27;s secret" in alice.get("/").body


def test_session_widgets_are_private(
    app_and_server: tuple[Counter, Server], client_for: MakeClient
) -> None:
    app, server = app_and_server
    alice, bob = client_for(server), client_for(server)
    a, b = alice.connect(), bob.connect()
    sa = app.sessions.get(alice.session_id)
    sb = app.sessions.get(bob.session_id)
    assert sa is not None and sb is not None
    alice_button = sa.widget("mine_button").id
    assert alice_button != sb.widget("mine_button").id
    assert alice_button in a.messages[0]["roots"]["session"]
    assert alice_button not in repr(b.messages[0])
    # Alice clicks her own button: only her text changes.
    seq = a.event(alice_button)
    reply = a.ack(seq)
    assert any("You clicked 1 times" in o.get("html", "") for o in ops_of(reply))
    assert "You clicked 1" not in repr(settle(b, app))
    # Bob sends Alice's widget ID: refused, and Alice's state is untouched.
    seq = b.event(alice_button)
    refused = b.ack(seq)
    assert refused["type"] == "error"
    assert "unknown widget" in refused["message"]
    assert sa.get("mine") == 1 and sb.get("mine") == 0
    assert "You clicked" not in repr(settle(a, app)[:-1])


def test_global_change_reaches_every_session(
    app_and_server: tuple[Counter, Server], client_for: MakeClient
) -> None:
    app, server = app_and_server
    socks = [client_for(server).connect() for _ in range(3)]
    seq = socks[0].event(app.go.id)
    reply = socks[0].ack(seq)
    assert any("Clicks by everyone: 1" in o["html"] for o in ops_of(reply))
    for sock in socks[1:]:
        msg = sock.recv_until(has_op(sock, app.shared_text.id))
        assert "ack" not in msg
        assert "Clicks by everyone: 1" in ops_of(msg)[0]["html"]
    # A new visitor sees the new value in the page itself.
    assert "Clicks by everyone: 1" in client_for(server).get("/").body


def test_both_tabs_of_a_session_are_updated(
    app_and_server: tuple[Counter, Server], client_for: MakeClient
) -> None:
    app, server = app_and_server
    browser = client_for(server)
    tab1, tab2 = browser.connect(), browser.connect()
    other = client_for(server).connect()
    session = app.sessions.get(browser.session_id)
    assert session is not None and session.connections == 2
    mine_text = session.widget("mine_text").id
    seq = tab1.event(session.widget("mine_button").id)
    tab1.ack(seq)
    msg = tab2.recv_until(has_op(tab2, mine_text))
    assert "ack" not in msg  # the ack goes to the tab that sent the event only
    assert "You clicked 1 times" in repr(msg)
    # An input typed in one tab shows in the other, as a value op.
    seq = tab2.event(app.name.id, "change", "typed in tab 2")
    tab2.ack(seq)
    value = tab1.recv_until(has_op(tab1, app.name.id, "value"))
    assert ops_of(value)[0]["value"] == "typed in tab 2"
    assert "typed in tab 2" not in repr(settle(other, app))


def test_raising_callback_reaches_only_its_user(
    app_and_server: tuple[Counter, Server], client_for: MakeClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    app, server = app_and_server
    alice, bob = client_for(server), client_for(server)
    a, b = alice.connect(), bob.connect()
    seq = a.event(app.boom.id)
    error = a.ack(seq)
    assert error["type"] == "error"
    # The user gets an id, not the exception's text; the log has both.
    found = re.fullmatch(r"Something went wrong \(error ([0-9a-f]{6})\)", error["message"])
    assert found, error["message"]
    logged = [r for r in caplog.records if found.group(1) in r.getMessage()]
    assert logged and logged[0].exc_info is not None
    assert "boom in the callback" in str(logged[0].exc_info[1])
    assert not any(m["type"] == "error" for m in settle(b, app))
    # Alice's connection and the server carry on.
    seq = a.event(app.go.id)
    assert a.ack(seq)["type"] == "patch"
    assert request(server.url, "/health").json()["status"] == "ok"
    assert app.sessions.get(alice.session_id) is not None


class Fragile(stgo.Text):
    """A widget whose drawing fails once told to (a bug in a custom widget)."""

    broken = False

    def render_body(self, state: Any) -> str:
        if self.broken:
            raise RuntimeError("cannot draw")
        return super().render_body(state)


def test_failing_render_reaches_only_its_user_and_the_connection_survives(
    serve: Serve, client_for: MakeClient
) -> None:
    app = Counter()
    fragile = app.add_widget(Fragile("fine", key="fragile"))
    breaker = app.button("Break", key="break")

    @breaker.on_click
    def break_it(session: stgo.Session, event: str, value: Any) -> None:
        assert isinstance(fragile, Fragile)
        fragile.broken = True
        fragile.set_text("now broken")

    server = serve(app)
    alice, bob = client_for(server), client_for(server)
    a, b = alice.connect(), bob.connect()
    seq = a.event(breaker.id)
    error = a.ack(seq)
    assert error["type"] == "error"
    assert not any(m["type"] == "error" for m in settle(b, app))
    # Alice's connection still works, and nothing but WebSocket frames reached it.
    assert fragile.broken
    fragile.broken = False
    seq = a.event(app.go.id)
    assert a.ack(seq)["type"] == "patch"
    assert len(app.sessions) == 2


def test_page_that_cannot_render_gives_an_error_not_a_dead_socket(
    serve: Serve, client_for: MakeClient
) -> None:
    app = Counter()
    fragile = Fragile("fine", key="fragile")
    app.add_widget(fragile)
    server = serve(app)
    client = client_for(server)
    client.get("/")
    fragile.broken = True
    sock = client.connect(wait_render=False)
    assert sock.recv()["type"] == "error"
    seq = sock.event(app.name.id, "change", "still here")
    assert sock.ack(seq)["type"] == "patch"


def test_background_thread_change_is_pushed(
    app_and_server: tuple[Counter, Server], client_for: MakeClient
) -> None:
    app, server = app_and_server
    socks = [client_for(server).connect() for _ in range(2)]

    def job() -> None:
        app.shared_text.set_text("set by a thread")

    worker = threading.Thread(target=job)
    worker.start()
    worker.join()
    for sock in socks:
        msg = sock.recv_until(has_op(sock, app.shared_text.id))
        assert "set by a thread" in ops_of(msg)[0]["html"]


def test_batch_from_a_thread_is_one_message(
    app_and_server: tuple[Counter, Server], client_for: MakeClient
) -> None:
    app, server = app_and_server
    sock = client_for(server).connect()

    def job() -> None:
        with app.batch():
            app.shared_text.set_text("one")
            app.go.set_label("two")

    worker = threading.Thread(target=job)
    worker.start()
    worker.join()
    msg = sock.recv_until(lambda m: m["type"] == "patch")
    assert {o["id"] for o in ops_of(msg)} == {app.shared_text.id, app.go.id}


def test_session_set_pushes_a_value_op_to_that_session_only(
    app_and_server: tuple[Counter, Server], client_for: MakeClient
) -> None:
    app, server = app_and_server
    alice, bob = client_for(server), client_for(server)
    a, b = alice.connect(), bob.connect()
    session = app.sessions.get(alice.session_id)
    assert session is not None
    worker = threading.Thread(target=lambda: session.set("name", "set on the server"))
    worker.start()
    worker.join()
    msg = a.recv_until(has_op(a, app.name.id, "value"))
    assert ops_of(msg) == [{"op": "value", "id": app.name.id, "value": "set on the server"}]
    assert "set on the server" not in repr(settle(b, app))


def test_hub_api_reaches_the_right_connections(
    app_and_server: tuple[Counter, Server], client_for: MakeClient
) -> None:
    app, server = app_and_server
    alice, bob = client_for(server), client_for(server)
    a1, a2, b = alice.connect(), alice.connect(), bob.connect()
    sa = app.sessions.get(alice.session_id)
    assert sa is not None
    hub = app.hub
    assert hub.broadcast({"type": "notice", "text": "to all"}) == 3
    for sock in (a1, a2, b):
        assert sock.recv_until(lambda m: m["type"] == "notice")["text"] == "to all"
    assert hub.send_to_session(sa, {"type": "notice", "text": "to alice"}) == 2
    for sock in (a1, a2):
        assert sock.recv_until(lambda m: m["type"] == "notice")["text"] == "to alice"
    hub.send_error(sa, "only alice sees this")
    for sock in (a1, a2):
        assert sock.recv_until(lambda m: m["type"] == "error")["message"] == \
            "only alice sees this"
    sa.widget("mine_text").set_text("changed quietly")  # pushed as usual...
    hub.partial_update(sa, [sa.widget("mine_text")])    # ...and once more on request
    hub.full_update(sa)
    for sock in (a1, a2):
        render = sock.recv_until(lambda m: m["type"] == "render")
        assert "changed quietly" in render["roots"]["session"]
    seen_by_bob = settle(b, app)
    assert not any(m["type"] in ("notice", "error", "render") for m in seen_by_bob)
    assert "alice" not in repr(seen_by_bob) and "quietly" not in repr(seen_by_bob)


# -- ordering and parallelism -----------------------------------------------------------------


def test_events_of_one_session_run_in_order_one_at_a_time(
    serve: Serve, client_for: MakeClient
) -> None:
    app = App(title="Order")
    box = app.text_input("Box", key="box")
    lock = threading.Lock()
    running = [0]
    overlap = [0]
    seen: list[str] = []

    @box.on_change
    def changed(session: stgo.Session, event: str, value: Any) -> None:
        with lock:
            running[0] += 1
            overlap[0] = max(overlap[0], running[0])
        time.sleep(0.001)  # widen the window in which a second event could overlap
        with lock:
            seen.append(value)
            running[0] -= 1

    server = serve(app)
    browser = client_for(server)
    tabs = [browser.connect(), browser.connect()]
    per_tab = 40

    def send(index: int) -> None:
        for i in range(per_tab):
            tabs[index].event(box.id, "change", f"{index}-{i:03d}")

    senders = [threading.Thread(target=send, args=(i,)) for i in range(2)]
    for t in senders:
        t.start()
    for t in senders:
        t.join()
    for tab in tabs:
        for seq in range(1, per_tab + 1):
            tab.ack(seq)
    assert len(seen) == 2 * per_tab
    assert overlap[0] == 1
    for index in range(2):
        mine = [v for v in seen if v.startswith(f"{index}-")]
        assert mine == sorted(mine) and len(mine) == per_tab


def test_a_slow_session_does_not_block_another(serve: Serve, client_for: MakeClient) -> None:
    app = App(title="Parallel")
    slow = app.button("Slow", key="slow")
    fast = app.button("Fast", key="fast")
    gate, entered = threading.Event(), threading.Event()

    @slow.on_click
    def wait_for_gate(session: stgo.Session, event: str, value: Any) -> None:
        entered.set()
        gate.wait(10)

    server = serve(app)
    try:
        a, b = client_for(server).connect(), client_for(server).connect()
        slow_seq = a.event(slow.id)
        assert entered.wait(5)
        seq = b.event(fast.id)
        assert b.ack(seq, timeout=5)["type"] == "patch"
        assert not gate.is_set()
    finally:
        gate.set()
    assert a.ack(slow_seq)["type"] == "patch"


def test_a_client_that_stops_reading_is_dropped_without_slowing_others(
    serve: Serve, client_for: MakeClient
) -> None:
    # The transport's clock stands still until the end: the stuck client
    # cannot be dropped meanwhile, so a push that waited for its socket would
    # wait forever and the reader would miss its round.
    send_timeout = 0.5
    clock = FakeClock(1000.0)
    app = App(title="Slow reader", send_timeout=send_timeout, max_queued=8)
    app.io.clock = clock
    board = app.text("start", key="board")
    server = serve(app)
    stuck_browser, reader_browser = client_for(server), client_for(server)
    stuck = stuck_browser.connect()  # never reads again
    reader = reader_browser.connect()
    stuck_session = app.sessions.get(stuck_browser.session_id)
    assert stuck_session is not None
    rounds, blob = 200, "x" * 65536  # 13 MB: more than the socket buffers hold
    for i in range(rounds):
        board.set_text(f"{i} {blob}")  # only queues: never waits for a socket
        # Paced by the healthy reader, so only the stuck client falls behind.
        mark = f"<p>{i} x"
        reader.recv_until(lambda m, mark=mark: any(mark in o.get("html", "") for o in ops_of(m)),
                          timeout=10)
    (waiting,) = app.hub.connections(stuck_session)
    assert waiting.queued_bytes > 0  # it fell behind, and every push went on
    clock.advance(send_timeout)
    app.io.wake()
    wait_until(lambda: not app.hub.connections(stuck_session), timeout=10)
    assert not stuck_session.ended  # its session lives on; a reload reconnects
    stuck.close()


# -- expiry ------------------------------------------------------------------------------------


def test_strict_idle_expiry_tells_the_open_tab_and_closes_it(
    serve: Serve, client_for: MakeClient
) -> None:
    app = Counter(strict_idle=True, session_timeout=60.0)
    server = serve(app)
    browser = client_for(server)
    tab1, tab2 = browser.connect(), browser.connect()
    bystander = client_for(server)
    other = bystander.connect()
    sid = browser.session_id
    # Keep the bystander fresh: only the browser's session is idle long enough.
    other_session = app.sessions.get(bystander.session_id)
    assert other_session is not None
    later = time.time() + 120
    other_session.touch(later)
    assert app.sessions.cleanup_expired(now=later + 1) == 1
    for tab in (tab1, tab2):
        assert tab.recv_close() == 1001
        assert {"v": 1, "type": "expired", "message": "session expired"} in tab.messages
    assert app.ended == [(sid, "timeout")]
    # The others carry on, and the old cookie gets a fresh session.
    seq = other.event(app.go.id)
    assert other.ack(seq)["type"] == "patch"
    browser.get("/")
    assert browser.session_id != sid


def test_open_tab_keeps_its_session_without_strict_idle(
    app_and_server: tuple[Counter, Server], client_for: MakeClient
) -> None:
    app, server = app_and_server
    open_tab, closed = client_for(server), client_for(server)
    sock = open_tab.connect()
    closed.connect().close()
    closed_session = app.sessions.get(closed.session_id)
    assert closed_session is not None
    wait_until(lambda: closed_session.connections == 0)
    assert app.sessions.cleanup_expired(now=time.time() + 10_000) == 1
    assert app.ended == [(closed.session_id, "timeout")]
    seq = sock.event(app.go.id)
    assert sock.ack(seq)["type"] == "patch"


def test_deleted_session_tells_its_tab(
    app_and_server: tuple[Counter, Server], client_for: MakeClient
) -> None:
    app, server = app_and_server
    browser = client_for(server)
    sock = browser.connect()
    assert app.sessions.delete(browser.session_id or "")
    assert sock.recv_close() == 1001
    assert sock.messages[-1]["type"] == "expired"
    assert app.ended == [(browser.session_id, "deleted")]
    wait_until(lambda: len(app.hub) == 0)


class _Tab:
    """A tab that keeps what it is sent (the hub's edge)."""

    def __init__(self) -> None:
        self.ops: list[dict[str, Any]] = []

    def send(self, text: str, key: object = None) -> bool:
        import json

        self.ops.extend(json.loads(text).get("ops", ()))
        return True

    def close(self, code: int = 1000, reason: str = "", final: str | None = None) -> None:
        pass


def _two_tabs(app: Counter) -> tuple[stgo.Session, _Tab, _Tab]:
    clicker, other = app.sessions.create(), app.sessions.create()
    mine, theirs = _Tab(), _Tab()
    app.hub.register(clicker, mine)  # type: ignore[arg-type]
    app.hub.register(other, theirs)  # type: ignore[arg-type]
    return clicker, mine, theirs


def test_held_redraws_of_a_shared_widget_reach_the_others_once_at_the_release() -> None:
    # What the I/O loop does around a turn's events: 3 clicks on a shared
    # text, the clicker sees each, everybody else the last one, once.
    app = Counter()
    clicker, mine, theirs = _two_tabs(app)
    app.hub.hold()
    for seq in (1, 2, 3):
        with app.hub.batch(origin=clicker, conn=mine, ack=seq):  # type: ignore[arg-type]
            app.clicked(clicker, "click", True)
    assert [op.get("id") for op in mine.ops].count(app.shared_text.id) == 3
    assert theirs.ops == []
    app.hub.release()
    updates = [op for op in theirs.ops if op.get("id") == app.shared_text.id]
    assert len(updates) == 1 and "Clicks by everyone: 3" in updates[0]["html"]
    app.hub.release()  # nothing more is held
    assert len(theirs.ops) == 1


def test_an_insert_is_not_held_back_and_drops_what_was_held_of_its_widget() -> None:
    app = Counter()
    clicker, mine, theirs = _two_tabs(app)
    app.hub.hold()
    with app.hub.batch(origin=clicker, conn=mine, ack=1):  # type: ignore[arg-type]
        app.clicked(clicker, "click", True)
    with app.hub.batch(origin=clicker, conn=mine, ack=2):  # type: ignore[arg-type]
        app.text("new for all", key="late")
        app.clicked(clicker, "click", True)
    inserted = [op for op in theirs.ops if op["op"] == "insert"]
    assert len(inserted) == 1 and "new for all" in inserted[0]["html"]
    assert any(op.get("id") == app.shared_text.id and "Clicks by everyone: 2" in op["html"]
               for op in theirs.ops)
    seen = len(theirs.ops)
    app.hub.release()
    assert len(theirs.ops) == seen  # it went out with the insert, fresh
