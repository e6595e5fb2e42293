"""Slow and dead clients over real sockets: each is dropped (or freed) in bounded
time, and nobody else waits for it.

- a reader that stops reading while pushes go out: ``send_timeout``;
- the same, flooded with distinct messages: the outbox bound ``max_queued``;
- a client that ignores pings: ``ping_interval``;
- TCP clients that say nothing, or send their request head a byte at a time
  (slow loris): they wait on one shared thread, and ``Server(head_timeout=)``
  closes them.
"""

from __future__ import annotations

import contextlib
import logging
import selectors
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from stgo.server import Server, headgate
from stgo.transport.ws import CLOSE_LINGER

from .helpers import Client, FakeClock, handler_threads, wait_until
from .hostile import OP_PING, Listener, close_code, parse_frames, raw_upgrade, read_to_eof, ws_from
from .test_limits import counting_app, round_trip

Serve = Callable[..., Server]
MakeClient = Callable[[Server], Client]

# A receive buffer this small (the kernel makes it ~4 KB) fills after one message.
SMALL_RCVBUF = ((socket.SOL_SOCKET, socket.SO_RCVBUF, 4096),)


def drop_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == "stgo" and r.getMessage().startswith("dropped a client")]


def test_a_reader_that_stops_is_dropped_at_the_send_timeout(
    serve: Serve, client_for: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="stgo")
    # The transport's clock moves only when the test says so: however slow
    # the machine, the stuck client is dropped exactly when its output has
    # waited send_timeout, and not before.
    send_timeout = 1.0
    clock = FakeClock(1000.0)
    app = counting_app(send_timeout=send_timeout)
    app.io.clock = clock
    server = serve(app)
    stuck_browser, healthy_browser = client_for(server), client_for(server)
    stuck_browser.connect(sockopt=SMALL_RCVBUF)  # reads its first render, then never again
    healthy = healthy_browser.connect()
    stuck_session = app.sessions.get(stuck_browser.session_id)
    assert stuck_session is not None
    stuck = _conn(app, stuck_browser)
    blob = stuck_session.text("", key="blob")  # pushed to the stuck client only

    # With the clock stopped the stuck client is never dropped, so a push
    # that waited for its socket would wait forever: each push returns, and
    # the healthy tab is served all through the stall.
    for pushes in range(5):
        blob.set_text(f"{pushes} " + "x" * 1_000_000)  # only queues: never waits on a socket
        round_trip(healthy, app, timeout=5.0)
    assert stuck.queued_bytes > 0 and stuck.open  # its output waits, unread

    _tick(app, clock, send_timeout * 0.9)
    round_trip(healthy, app, timeout=5.0)  # the loop has run its timers since
    assert app.hub.connections(stuck_session), "dropped before the send timeout"
    _tick(app, clock, send_timeout * 0.2)
    wait_until(lambda: not app.hub.connections(stuck_session))

    assert not stuck_session.ended  # only the connection goes; a reload reconnects
    assert app.metrics.get("stgo_dropped_clients_total") == 1
    lines = drop_lines(caplog)
    assert len(lines) == 1 and lines[0].endswith(": send timed out")
    assert stuck_session.id not in lines[0]


def test_distinct_messages_for_a_stuck_client_stop_at_the_outbox_bound(
    serve: Serve, client_for: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="stgo")
    max_queued = 16
    app = counting_app(send_timeout=2.0, max_queued=max_queued)
    server = serve(app)
    stuck_browser, healthy_browser = client_for(server), client_for(server)
    stuck_browser.connect(sockopt=SMALL_RCVBUF)
    healthy = healthy_browser.connect()
    stuck_session = app.sessions.get(stuck_browser.session_id)
    assert stuck_session is not None
    # Messages that cannot replace each other (not one widget's update).
    size = 512 * 1024
    pad = "x" * size
    accepted = sum(
        app.hub.send_to_session(stuck_session, {"type": "notice", "n": i, "pad": pad})
        for i in range(200)
    )
    # Past the bound, messages are refused.  What was accepted: what the
    # kernel's send buffer took (it grows to a few MB), one batch on its way
    # to the socket, and one full outbox waiting behind it.
    in_kernel = (6 << 20) // size
    assert max_queued <= accepted <= 2 * max_queued + in_kernel, accepted
    round_trip(healthy, app, timeout=1.0)
    wait_until(lambda: not app.hub.connections(stuck_session), timeout=2.0 + 3)
    lines = drop_lines(caplog)
    assert len(lines) == 1 and lines[0].endswith(": outbox full")
    assert app.metrics.get("stgo_dropped_clients_total") == 1


def test_a_client_that_ignores_pings_is_closed(
    serve: Serve, client_for: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="stgo")
    # The test moves the transport's clock: a ping is due only when it says
    # so, and the healthy client, a thread of this busy process, is never
    # judged before the server has read its answer (with real intervals a
    # loaded machine once made it miss one).
    interval = 10.0
    clock = FakeClock(1000.0)
    app = counting_app(ping_interval=interval)
    app.io.clock = clock
    server = serve(app)
    ignorer, healthy = client_for(server), client_for(server)
    ignorer.get("/")
    healthy.get("/")
    listener = Listener(ws_from(server.url, healthy.session_id or ""))  # answers pings
    try:
        listener.wait_for(lambda m: m["type"] == "render")
        status, raw, head = raw_upgrade(server.url, ignorer.session_id or "")
        assert status == 101
        answers, quiet = (_conn(app, client) for client in (healthy, ignorer))
        _tick(app, clock, interval, answers, quiet)  # both pinged
        wait_until(lambda: not answers.awaiting_pong)  # its answer was read
        assert quiet.awaiting_pong and quiet.open
        # Never read, never answered: at the next ping the server hangs up.
        _tick(app, clock, interval, answers, quiet)
        assert not quiet.open and len(app.hub) == 2  # closing: waits for the client's close
        _tick(app, clock, CLOSE_LINGER)  # which never comes: the linger ends
        wait_until(lambda: len(app.hub) == 1)
        frames = parse_frames(head + read_to_eof(raw, 5))
        raw.close()
        assert OP_PING in [opcode for opcode, _ in frames]
        assert close_code(frames) == 1008
        # The healthy client, which answers, outlives every ping.
        for _ in range(3):
            wait_until(lambda: not answers.awaiting_pong)
            _tick(app, clock, interval, answers)
        listener.send_event(app.widget("mine").id, 1)
        assert listener.wait_for(lambda m: m.get("ack") == 1)["type"] == "patch"
        assert not listener.closed.is_set() and answers.open
    finally:
        listener.close()
    lines = drop_lines(caplog)
    assert len(lines) == 1 and lines[0].endswith(": no answer to ping")
    assert app.metrics.get("stgo_dropped_clients_total") == 1
    session = app.sessions.get(ignorer.session_id)
    assert session is not None and not session.ended


def _conn(app: Any, client: Client) -> Any:
    """The server's connection of *client*'s (only) tab, once the loop serves it."""
    session = app.sessions.get(client.session_id or "")
    wait_until(lambda: len(app.hub.connections(session)) == 1)
    conn = app.hub.connections(session)[0]
    wait_until(lambda: conn.deadline is not None)  # the loop has adopted it
    return conn


def _tick(app: Any, clock: FakeClock, seconds: float, *conns: Any) -> None:
    """Move the transport's clock on by *seconds* and wait until the loop
    has run the timers of *conns* that came due (each judges the answer to
    its last ping, then pings again: its next deadline is in the future)."""
    clock.advance(seconds)
    app.io.wake()
    for conn in conns:
        wait_until(lambda conn=conn: not conn.open or conn.deadline > clock())


def test_a_connection_that_never_asked_is_closed_quietly_after_the_idle_timeout(
    serve: Serve, client_for: MakeClient
) -> None:
    """A browser opens spare connections ahead of use, and closes those it
    has no use for (Chromium: after 10 s). One that sent nothing is kept past
    the head deadline, so that the browser closes it, not the server at the
    moment the browser sends its request on it; then it is closed without a
    408, which would otherwise meet such a request and show as its answer."""
    server = serve(counting_app(), head_timeout=0.5, idle_timeout=4.0)
    idle = socket.create_connection((server.host, server.port), timeout=10)
    begun = socket.create_connection((server.host, server.port), timeout=10)
    late = socket.create_connection((server.host, server.port), timeout=10)
    try:
        begun.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")  # never finished
        wait_until(lambda: server.waiting_heads == 3)
        assert read_to_eof(begun, 10).startswith(b"HTTP/1.1 408")
        assert server.waiting_heads == 2  # the silent ones outlive the head deadline
        late.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")  # a request at last
        assert read_to_eof(late, 10).startswith(b"HTTP/1.1 200")
        assert read_to_eof(idle, 10) == b""  # at the idle timeout: closed, nothing said
        assert server.waiting_heads == 0
    finally:
        for s in (idle, begun, late):
            s.close()


def test_past_max_silent_connections_the_oldest_silent_one_is_closed(
    serve: Serve, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(headgate, "MAX_SILENT", 2)
    server = serve(counting_app(), head_timeout=5.0, idle_timeout=30.0)
    socks = [socket.create_connection((server.host, server.port), timeout=10)]
    try:
        socks[0].sendall(b"GET / HTTP/1.1\r\n")  # begun: not silent, not counted
        for _ in range(3):
            socks.append(socket.create_connection((server.host, server.port), timeout=10))
            wait_until(lambda: server.waiting_heads == min(len(socks), 3))
        assert read_to_eof(socks[1], 10) == b""  # the oldest silent one, closed quietly
        assert server.waiting_heads == 3
        socks[3].sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")  # the others served
        assert read_to_eof(socks[3], 10).startswith(b"HTTP/1.1 200")
    finally:
        for s in socks:
            s.close()


def test_slow_loris_holds_no_thread_and_is_cut_at_the_head_deadline(
    serve: Serve, client_for: MakeClient
) -> None:
    head_timeout = 2.0
    app = counting_app()
    server = serve(app, head_timeout=head_timeout)
    baseline = handler_threads()
    slow: list[socket.socket] = []
    stop = threading.Event()

    def trickle() -> None:
        # A byte at a time to each, forever: a head that never ends.
        head = b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 10_000
        i = 0
        while not stop.is_set():
            for s in list(slow):
                with contextlib.suppress(OSError):
                    s.send(head[i:i + 1])
            i = min(i + 1, len(head) - 1)
            stop.wait(0.05)

    try:
        for _ in range(2):
            # In steps of 100, each accepted before the next: past the listen
            # backlog (128) the kernel drops SYNs, and connect() retries after 1 s.
            for _ in range(100):
                slow.append(socket.create_connection((server.host, server.port), timeout=5))
            wait_until(lambda: server.waiting_heads >= len(slow))
        # A head too long for the gate goes on to a thread, with the deadline.
        big = socket.create_connection((server.host, server.port), timeout=5)
        big.sendall(b"GET / HTTP/1.1\r\n" + b"".join(
            b"X-Pad-%d: %s\r\n" % (i, b"p" * 1000) for i in range(70)))
        began = time.monotonic()
        feeder = threading.Thread(target=trickle, daemon=True)
        feeder.start()
        wait_until(lambda: handler_threads() >= baseline + 1)  # big's thread
        slow.append(big)

        # A normal visitor is served at once, and the 200 hold no thread each.
        client = client_for(server)
        sock = client.connect()
        round_trip(sock, app, timeout=1.0)
        assert server.waiting_heads == 200
        assert handler_threads() < baseline + 10
        sock.close()

        # Each is closed by the server at the deadline, bytes still coming.
        selector = selectors.DefaultSelector()
        for s in slow:
            selector.register(s, selectors.EVENT_READ)
        open_ = set(slow)
        answers: list[bytes] = []
        deadline = began + 2 * head_timeout + 10
        while open_ and time.monotonic() < deadline:
            for key, _ in selector.select(timeout=0.2):
                s = key.fileobj
                assert isinstance(s, socket.socket)
                try:
                    data = s.recv(4096, socket.MSG_DONTWAIT)
                except BlockingIOError:
                    continue
                except ConnectionResetError:
                    data = b""
                if data:
                    answers.append(data)
                else:
                    selector.unregister(s)
                    open_.discard(s)
        selector.close()
        assert not open_, f"{len(open_)} slow connections still open"
        # The gate answers 408; past it, the handler's deadline just hangs up.
        assert len(answers) == 200 and all(a.startswith(b"HTTP/1.1 408") for a in answers)
        assert server.waiting_heads == 0
        wait_until(lambda: handler_threads() <= baseline, timeout=5)
    finally:
        stop.set()
        for s in slow:
            s.close()


def test_a_stuck_client_holds_no_more_than_the_byte_bound(
    serve: Serve, client_for: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="stgo")
    bound = 256 * 1024
    app = counting_app(send_timeout=2.0, max_queued_bytes=bound)
    server = serve(app)
    stuck_browser, healthy_browser = client_for(server), client_for(server)
    stuck_browser.connect(sockopt=SMALL_RCVBUF)
    healthy = healthy_browser.connect()
    stuck_session = app.sessions.get(stuck_browser.session_id)
    assert stuck_session is not None
    (conn,) = app.hub.connections(stuck_session)
    pad = "x" * 20_000
    peak = 0
    accepted = 0
    for i in range(2000):  # 40 MB of distinct messages, far past what the kernel buffers
        accepted += app.hub.send_to_session(stuck_session, {"type": "notice", "n": i, "pad": pad})
        peak = max(peak, conn.queued_bytes)
    # Never more than the bound waits for it (plus the message that crossed it).
    assert peak <= bound + len(pad) + 100, peak
    assert accepted < 2000
    round_trip(healthy, app, timeout=1.0)
    wait_until(lambda: not app.hub.connections(stuck_session), timeout=2.0 + 3)
    lines = drop_lines(caplog)
    assert len(lines) == 1 and lines[0].endswith(": outbox full")
