"""Live fuzzing: thousands of random and malformed frames and messages over real
WebSockets.  The server must survive all of it, answer each message with a
well-formed reply or close the connection with a protocol close code, never
raise anywhere, and keep serving a second session with exactly the right state.

Two sources of input:

- a seeded generator of frames (bytes, text, JSON, near-messages with real and
  foreign widget IDs, deep nesting, huge numbers, fragmented messages, control
  characters, partial UTF-8) and of protocol violations built by hand;
- the Hypothesis strategies of tests/test_protocol.py (which test ``decode``
  alone), here sent over a live socket.
"""

from __future__ import annotations

import json
import logging
import random
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import websocket
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import stgo
from stgo import App
from stgo.server import Server

from .helpers import Client, Socket, request
from .hostile import OP_BINARY, OP_CLOSE, OP_CONT, OP_PING, OP_TEXT, frame
from .test_protocol import json_values, near_messages

Serve = Callable[..., Server]
MakeClient = Callable[[Server], Client]

SERVER_TYPES = {"render", "patch", "error", "expired", "cookie"}


class FuzzApp(App):
    """Every kind of input widget, a shared counter, and a private counter per session."""

    def __init__(self) -> None:
        super().__init__(title="Fuzz", max_message_size=64 * 1024)
        self.total = 0
        self._lock = threading.Lock()
        self.go = self.button("Go", key="go", on_click=self.count)
        self.text_input("Name", key="name", max_chars=20)
        self.text_area("Area", key="area")
        self.number_input("Number", key="num", min_value=0, max_value=100, step=1)
        self.number_input("Float", key="flt", min_value=-1.0, max_value=1.0, step=0.25)
        self.slider("Slider", 0, 10, key="slider")
        self.selectbox("Pick", ["a", "b", "c"], key="pick")
        self.radio("Radio", [1, 2, 3], key="radio")
        self.checkbox("Tick", key="tick")
        self.on_session_start(self.setup)

    def count(self, session: stgo.Session, event: str, value: Any) -> None:
        with self._lock:
            self.total += 1

    def setup(self, session: stgo.Session) -> None:
        session.set("mine", 0)
        session.text("mine: 0", key="mine_text")
        session.button("Mine", key="mine", on_click=self.mine)

    def mine(self, session: stgo.Session, event: str, value: Any) -> None:
        n = session.increment("mine")
        session.widget("mine_text").set_text(f"mine: {n}")


@dataclass
class Observer:
    """The second session: clicks its own button now and then, checks each answer."""

    sock: Socket
    app: FuzzApp
    session: stgo.Session
    clicks: int = 0
    seen: list[dict[str, Any]] = field(default_factory=list)

    def click(self) -> None:
        seq = self.sock.event(self.session.widget("mine").id)
        reply = self.sock.ack(seq)
        self.clicks += 1
        assert reply["type"] == "patch", reply
        assert f"mine: {self.clicks}" in json.dumps(reply)


@pytest.fixture
def fuzz_setup(
    serve: Serve, client_for: MakeClient, caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[FuzzApp, Server, Client, Observer]]:
    caplog.set_level(logging.WARNING)
    # What each frame does, not the budget that closes a client sending
    # malformed ones by the hundred (tests/test_ioloop.py has that one).
    monkeypatch.setattr(stgo.core.dispatch, "_BAD_MESSAGE_ABUSE", 10**9)
    app = FuzzApp()
    server = serve(app)
    fuzzer, watcher = client_for(server), client_for(server)
    fuzzer.get("/")
    sock = watcher.connect()
    session = app.sessions.get(watcher.session_id)
    assert session is not None
    observer = Observer(sock, app, session)
    yield app, server, fuzzer, observer
    # The verdict, whatever was sent: the server is alive and well ...
    assert request(server.url, "/health").json()["status"] == "ok"
    observer.click()
    assert session.get("mine") == observer.clicks  # nobody else's event ran in it
    assert not [m for m in sock.messages if m["type"] == "error"]
    # ... and nothing raised inside it (a logged exception is an unexpected one).
    broken = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not broken, [r.getMessage() for r in broken]
    assert app.metrics.get("stgo_errors_total", "server") == 0


# -- the generator ------------------------------------------------------------------------------


def random_json(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(9 if depth < 4 else 6)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.choice([0, -1, 1, 2**31, 2**53, 2**64, -(2**63), 10**30, rng.randrange(999)])
    if kind == 3:
        return rng.choice([0.5, -0.0, 1e308, -1e-308, 3.14159, float(rng.random())])
    if kind in (4, 5):
        return random_text(rng)
    if kind == 6:
        return [random_json(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {random_text(rng, 8): random_json(rng, depth + 1) for _ in range(rng.randrange(4))}


def random_text(rng: random.Random, most: int = 40) -> str:
    alphabet = ("abc xyz<>&\"'\\/\x00\x01\x07\x1b\x7f\u2028\u202e\ufeff\ufffd\u00e9"
                "\U0001f600{}[]:,")
    return "".join(rng.choice(alphabet) for _ in range(rng.randrange(most)))


def widget_ids(app: FuzzApp, fuzzer: stgo.Session, observer: stgo.Session) -> list[str]:
    """Real IDs (global, the fuzzer's own), the observer's (foreign), and made-up ones."""
    ids = [w.id for top in app.global_widgets() for w in top.walk()]
    ids += [w.id for w in fuzzer.widgets] + [w.id for w in observer.widgets]
    return ids + ["w000000000000", "", "x" * 300, "../mine", "go"]


def random_event(rng: random.Random, ids: list[str]) -> dict[str, Any]:
    msg: dict[str, Any] = {"v": 1, "type": "event", "widget": rng.choice(ids),
                           "event": rng.choice(["click", "change", "submit", "", "x" * 60]),
                           "value": random_json(rng), "seq": rng.randrange(1, 2**53)}
    for key in rng.sample(sorted(msg), rng.randrange(3)):  # break a field or two
        msg[key] = rng.choice([None, random_json(rng), -1, 2**60, "1", 1.5, [], {}])
    return msg


def number_literals(rng: random.Random, widget: str) -> str:
    literal = rng.choice(["1e999", "-1e999", "NaN", "Infinity", "-0", "1" * 5000, "0.1e-400",
                          "123456789012345678901234567890", "1E+2", "0x10", "01"])
    return (f'{{"v":1,"type":"event","widget":"{widget}","event":"change",'
            f'"value":{literal},"seq":{rng.randrange(1, 1000)}}}')


def deep_nesting(rng: random.Random) -> str:
    n = rng.choice([31, 32, 33, 64, 1000, 10_000])
    value = "[" * n + "]" * n if rng.random() < 0.5 else '{"a":' * n + "1" + "}" * n
    return f'{{"v":1,"type":"event","widget":"w","event":"change","value":{value}}}'


# Hand-built frames that break RFC 6455, and what the server must answer (close codes).
def violations(rng: random.Random) -> list[tuple[str, bytes, set[int | None]]]:
    event = json.dumps({"v": 1, "type": "resync"}).encode()
    return [
        ("unmasked", frame(OP_TEXT, event, mask=False), {1002}),
        ("rsv bits", frame(OP_TEXT, event, rsv=rng.randrange(1, 8)), {1002}),
        ("reserved opcode", frame(rng.choice([3, 7, 0xB, 0xF]), b"x"), {1002}),
        ("continuation first", frame(OP_CONT, event), {1002}),
        ("long ping", frame(OP_PING, b"p" * 126), {1002}),
        ("fragmented ping", frame(OP_PING, b"p", fin=False), {1002}),
        ("bad UTF-8", frame(OP_TEXT, b'{"v":1,"type":"\xff\xfe"}'), {1007}),
        ("cut UTF-8", frame(OP_TEXT, b'"abc\xe2\x82'), {1007}),
        ("close code 999", frame(OP_CLOSE, b"\x03\xe7"), {1002}),
        ("one-byte close", frame(OP_CLOSE, b"\x03"), {1002}),
        ("text inside text", frame(OP_TEXT, b"[", fin=False) + frame(OP_TEXT, b"]"), {1002}),
        ("huge declared length", frame(OP_BINARY, b"\x00" * 10, declared_length=1 << 62),
         {1009, None}),
    ]


def answered(sock: Socket, seq: int, timeout: float = 5.0) -> int | str:
    """Wait for the ack of *seq*; return ``"ok"``, or the close code if the server hung up."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        assert left > 0, "the server neither answered nor closed"
        sock.ws.settimeout(left)
        try:
            opcode, data = sock.ws.recv_data(control_frame=True)
        except (websocket.WebSocketConnectionClosedException, ConnectionError):
            return "None"
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            return int.from_bytes(data[:2], "big") if len(data) >= 2 else "None"
        if opcode != websocket.ABNF.OPCODE_TEXT:
            continue
        msg = json.loads(data)  # every server message is well-formed JSON ...
        assert msg.get("v") == 1 and msg.get("type") in SERVER_TYPES, msg  # ... of a known type
        sock.messages.append(msg)
        if msg.get("ack") == seq:
            return "ok"


def test_thousands_of_random_and_malformed_frames(
    fuzz_setup: tuple[FuzzApp, Server, Client, Observer]
) -> None:
    app, server, fuzzer, observer = fuzz_setup
    rng = random.Random(20261124)
    fuzz_session = app.sessions.get(fuzzer.session_id)
    assert fuzz_session is not None
    ids = widget_ids(app, fuzz_session, observer.session)
    mine = fuzz_session.widget("mine").id
    foreign_ids = [w.id for top in observer.session.widgets for w in top.walk()]
    sock = fuzzer.connect()
    sent = closes = 0
    for batch in range(250):
        # 20 messages back to back, then a sentinel event that must be answered.
        foreign: list[int] = []
        for _ in range(20):
            kind = rng.randrange(9)
            if kind == 8:  # a well-formed event on the observer's own widgets
                foreign.append(10**12 + sent)
                sock.send_json({"v": 1, "type": "event", "widget": rng.choice(foreign_ids),
                                "event": rng.choice(["click", "change"]), "value": "x",
                                "seq": foreign[-1]})
            if kind == 0:
                sock.ws.send_binary(rng.randbytes(rng.randrange(300)))
            elif kind == 1:
                sock.ws.send(random_text(rng, 200))
            elif kind == 2:
                sock.ws.send(json.dumps(random_json(rng)))
            elif kind in (3, 4):
                sock.ws.send(json.dumps(random_event(rng, ids)))
            elif kind == 5:
                sock.ws.send(number_literals(rng, rng.choice(ids)))
            elif kind == 6:
                sock.ws.send(deep_nesting(rng))
            else:  # one valid event, split over several frames
                text = json.dumps({"v": 1, "type": "event", "widget": mine, "event": "click",
                                   "seq": 0}).encode()
                cut = sorted(rng.sample(range(1, len(text)), 3))
                parts = [text[i:j] for i, j in zip([0, *cut], [*cut, len(text)], strict=True)]
                sock.ws.sock.sendall(frame(OP_TEXT, parts[0], fin=False) + b"".join(
                    frame(OP_CONT, p, fin=k == len(parts) - 2) for k, p in enumerate(parts[1:])))
            sent += 1
        seq = sock.event(mine)
        outcome = answered(sock, seq)
        if outcome == "ok":
            replies = {m["ack"]: m for m in sock.messages if m.get("ack") in foreign}
            for n in foreign:  # another session's widget: unknown here, whatever the event
                assert replies[n]["type"] == "error", replies[n]
                assert "unknown widget" in replies[n]["message"]
        else:
            assert outcome in {1008, 1009, "None"}, outcome
            closes += 1
            sock.close()
            sock = fuzzer.connect()
        if batch % 10 == 0:
            observer.click()

    # Protocol violations, each on a fresh connection of the same session.
    for name, data, codes in violations(rng) * 4:
        sock.close()
        sock = fuzzer.connect()
        sock.ws.sock.sendall(data)
        sent += 1
        if name == "huge declared length":
            sock.ws.sock.shutdown(socket.SHUT_RDWR)  # give up mid-frame, like a dead client
            continue
        code = sock.recv_close(5)
        assert code in codes, (name, code)
        observer.click()
    sock.close()

    # No stall: every batch was answered or closed within answered()'s bound.
    assert sent >= 5000
    assert fuzz_session.get("mine", 0) > 0  # the valid fragmented events got through
    assert not fuzz_session.ended and closes < 10


@settings(max_examples=400, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_hypothesis_documents_over_a_live_socket(
    fuzz_setup: tuple[FuzzApp, Server, Client, Observer], data: st.DataObject
) -> None:
    app, server, fuzzer, observer = fuzz_setup
    fuzz_session = app.sessions.get(fuzzer.session_id)
    assert fuzz_session is not None
    if not fuzzer.sockets or not fuzzer.sockets[-1].ws.connected:
        fuzzer.connect()
    sock = fuzzer.sockets[-1]
    ids = widget_ids(app, fuzz_session, observer.session)
    real_events = st.fixed_dictionaries({
        "v": st.just(1), "type": st.just("event"), "widget": st.sampled_from(ids),
        "event": st.sampled_from(["click", "change"]), "value": json_values,
        "seq": st.integers(0, 2**53 - 1),
    })
    doc = data.draw(json_values | near_messages | real_events)
    as_bytes = data.draw(st.booleans())
    text = json.dumps(doc)
    if as_bytes:
        sock.ws.send_binary(text.encode())
    else:
        sock.ws.send(text)
    seq = sock.event(fuzz_session.widget("mine").id)
    outcome = answered(sock, seq)
    if outcome != "ok":
        assert outcome in {1008, 1009, "None"}, outcome
        sock.close()
        fuzzer.connect()
    if fuzz_session.get("mine") % 50 == 0:
        observer.click()
