"""Correctness under load (not timed): many sessions at once, nothing lost, nothing leaked.

- 200 concurrent sessions x 50 events over real WebSockets: every session's own
  counter ends at exactly 50, the shared counter at 10,000, and no session's
  private text ever reaches another session, in any message or page;
- a real ``python -m stgo run`` with 50 busy clients stops on SIGTERM with
  exit status 0 within 5 s, and every session ends exactly once.

The 200 clients are driven from one thread with :mod:`selectors` over raw
sockets (frames built and parsed by hand), so that the test measures the
server, not 200 client threads fighting it for the GIL.
"""

from __future__ import annotations

import json
import re
import secrets
import selectors
import signal
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import stgo
from stgo import App
from stgo.server import Server

from .helpers import Client, ServerProcess, request, stgo_run, wait_until
from .hostile import OP_CLOSE, OP_PING, OP_PONG, OP_TEXT, frame, raw_upgrade

Serve = Callable[..., Server]

SESSIONS, EVENTS = 200, 50
TOKEN = re.compile(rb"tok-[0-9a-f]{16}")


class LoadApp(App):
    """A shared counter everybody sees live, and a private one per session whose
    text carries a token unique to that session."""

    def __init__(self) -> None:
        # Every session comes from 127.0.0.1, faster than a person: no per-address limit.
        # The clients answer pings only while the test reads them, and setting up
        # 200 sessions on a busy 2-core machine can outlast two ping intervals:
        # dropping idle clients is test_slow_clients' subject, not this test's.
        super().__init__(title="Load", new_session_rate=None, ping_interval=600.0)
        self.total = self.metric("Clicks by everyone", 0, key="total")
        self.on_session_start(self.setup)

    def setup(self, session: stgo.Session) -> None:
        token = f"tok-{secrets.token_hex(8)}"
        session.set("token", token)
        session.set("mine", 0)
        session.text(f"{token} clicked 0 times", key="mine_text")
        session.button("Mine", key="mine", on_click=self.clicked)

    def clicked(self, session: stgo.Session, event: str, value: Any) -> None:
        mine = session.increment("mine")
        session.widget("mine_text").set_text(f"{session.get('token')} clicked {mine} times")
        self.total.increment()


@dataclass
class LoadClient:
    """One raw WebSocket: what came in, the highest ack, whether a resync came back."""

    session_id: str
    token: bytes
    sock: socket.socket
    buffer: bytearray = field(default_factory=bytearray)
    texts: list[bytes] = field(default_factory=list)
    acked: int = 0
    renders: int = 0
    closed: bool = False

    def feed(self, data: bytes) -> None:
        self.buffer += data
        while True:
            got = _one_frame(self.buffer)
            if got is None:
                return
            opcode, payload, used = got
            del self.buffer[:used]
            if opcode == OP_TEXT:
                self.texts.append(payload)
                if b'"ack":' in payload:
                    self.acked = max(self.acked, int(json.loads(payload)["ack"]))
                if payload.startswith(b'{"v":1,"type":"render"'):
                    self.renders += 1
            elif opcode == OP_PING:
                self.sock.sendall(frame(OP_PONG, payload))
            elif opcode == OP_CLOSE:
                self.closed = True

    def send(self, data: bytes) -> None:
        self.sock.setblocking(True)
        self.sock.sendall(data)
        self.sock.setblocking(False)


def _one_frame(buf: bytearray) -> tuple[int, bytes, int] | None:
    """The first complete (unmasked) frame in *buf*: opcode, payload, bytes used."""
    if len(buf) < 2:
        return None
    opcode, length, at = buf[0] & 0x0F, buf[1] & 0x7F, 2
    if length == 126:
        if len(buf) < 4:
            return None
        (length,) = struct.unpack_from("!H", buf, 2)
        at = 4
    elif length == 127:
        if len(buf) < 10:
            return None
        (length,) = struct.unpack_from("!Q", buf, 2)
        at = 10
    if len(buf) < at + length:
        return None
    return opcode, bytes(buf[at:at + length]), at + length


def pump(clients: list[LoadClient], done: Callable[[LoadClient], bool], timeout: float) -> None:
    """Read every socket until *done* holds for every client."""
    selector = selectors.DefaultSelector()
    waiting = {c.sock: c for c in clients if not done(c)}
    for sock in waiting:
        selector.register(sock, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    try:
        while waiting:
            left = deadline - time.monotonic()
            assert left > 0, f"{len(waiting)} clients unfinished, e.g. acked " \
                             f"{next(iter(waiting.values())).acked}"
            for key, _ in selector.select(min(left, 1.0)):
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                client = waiting[sock]
                try:
                    data = sock.recv(1 << 20)
                except BlockingIOError:
                    continue
                assert data, f"the server closed {client.session_id[:20]}..."
                client.feed(data)
                assert not client.closed
                if done(client):
                    selector.unregister(sock)
                    del waiting[sock]
    finally:
        selector.close()


def test_200_sessions_x_50_events_stay_exact_and_isolated(serve: Serve) -> None:
    app = LoadApp()
    server = serve(app)
    clients: list[LoadClient] = []
    try:
        for _ in range(SESSIONS):
            page = request(server.url, "/")
            sid = page.cookies()[0].split(";")[0].split("=", 1)[1]
            session = app.sessions.get(sid)
            assert session is not None
            token = session.get("token")
            # The page itself shows this session's token and no other.
            assert set(TOKEN.findall(page.body.encode())) == {token.encode()}
            status, sock, rest = raw_upgrade(server.url, sid)
            assert status == 101
            sock.setblocking(False)
            client = LoadClient(sid, token.encode(), sock)
            client.feed(rest)
            clients.append(client)
        pump(clients, lambda c: c.renders >= 1, timeout=30)

        # Every session fires its 50 clicks at once, all sessions together.
        began = time.monotonic()
        for client in clients:
            session = app.sessions.get(client.session_id)
            assert session is not None
            mine = session.widget("mine").id
            client.send(b"".join(
                frame(OP_TEXT, json.dumps({"v": 1, "type": "event", "widget": mine,
                                           "event": "click", "seq": seq}).encode())
                for seq in range(1, EVENTS + 1)
            ))
        pump(clients, lambda c: c.acked >= EVENTS, timeout=60)
        elapsed = time.monotonic() - began

        # Then each asks for its whole page again: the final state as it sees it.
        for client in clients:
            client.send(frame(OP_TEXT, b'{"v":1,"type":"resync"}'))
        pump(clients, lambda c: c.renders >= 2, timeout=30)
    finally:
        for client in clients:
            client.sock.close()

    assert app.total.value == SESSIONS * EVENTS
    for client in clients:
        session = app.sessions.get(client.session_id)
        assert session is not None and session.get("mine") == EVENTS
        final = json.loads(client.texts[-1])
        assert final["type"] == "render"
        assert f"{client.token.decode()} clicked {EVENTS} times" in final["roots"]["session"]
        assert f">{SESSIONS * EVENTS}<" in final["roots"]["global"]
        # No other session's token in anything this client ever received.
        seen = set(TOKEN.findall(b"\n".join(client.texts)))
        assert seen == {client.token}, f"foreign tokens: {seen - {client.token}}"
    assert app.metrics.get("stgo_events_total") == SESSIONS * EVENTS
    assert app.metrics.get("stgo_dropped_clients_total") == 0
    print(f"{SESSIONS * EVENTS} events from {SESSIONS} sessions in {elapsed:.1f} s")


# -- graceful shutdown under load -------------------------------------------------------------

RECORDER = str(Path(__file__).parent / "apps" / "recorder.py")


def test_sigterm_under_load_exits_0_by_itself_and_ends_every_session_once(
    tmp_path: Path,
) -> None:
    record = tmp_path / "ended.txt"
    proc: ServerProcess = stgo_run(RECORDER, env={"STGO_TEST_RECORD": str(record)})
    clients: list[Client] = []
    stop = threading.Event()
    busy: list[threading.Thread] = []
    try:
        url = proc.wait_url()
        sockets = []
        for _ in range(50):
            client = Client(url)
            clients.append(client)
            sockets.append(client.connect())
        idle = [Client(url) for _ in range(10)]  # sessions without a connection
        for client in idle:
            client.get("/")

        clicks = [0]
        lock = threading.Lock()

        def click(sock: Any) -> None:
            # Click as fast as the answers come, until the server goes away.
            roots = sock.messages[0]["roots"]["global"]
            widget = re.search(r'id="(w[0-9a-f]+)" data-key="click"', roots).group(1)
            try:
                while not stop.is_set():
                    sock.ack(sock.event(widget), timeout=10)
                    with lock:
                        clicks[0] += 1
            except Exception:
                pass  # closed by the shutdown: the end of this tab

        busy = [threading.Thread(target=click, args=(s,), name="test-clicker") for s in sockets]
        for t in busy:
            t.start()
        # SIGTERM lands mid-traffic: once every tab is clicking away.
        wait_until(lambda: clicks[0] >= 500, timeout=20)
        proc.signal(signal.SIGTERM)
        # It ends by itself, not held by the busy tabs (the bound only keeps
        # a failed test from hanging).
        assert proc.wait(10) == 0
    finally:
        stop.set()
        for t in busy:
            t.join(15)
        for client in clients:
            for sock in client.sockets:
                sock.ws.shutdown()  # closed by the server already: release ours
        proc.kill()
    lines = record.read_text(encoding="utf-8").splitlines()
    ended = [line.split() for line in lines]
    expected = sorted(c.session_id or "" for c in [*clients, *idle])
    assert sorted(sid for sid, _ in ended) == expected  # every session, each exactly once
    assert {reason for _, reason in ended} == {"shutdown"}
    assert "Traceback" not in proc.output()
    # Each busy tab saw its socket end; none was left hanging.
    assert all(not t.is_alive() for t in busy)
