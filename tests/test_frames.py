"""stgo's own reading of a client's common frames (:mod:`stgo.transport.wsio`:
``read_frames`` and a connection's ``FrameReader``).

The loop reads masked text and pong frames itself (holding the start of one
that has not all come) and hands the first frame it does not take, with
everything after it, to wsproto.  Whatever the bytes and however the socket
cuts them, a connection must see exactly what wsproto alone would have made
of them: the same messages, the same pongs, the same protocol error.  The
reference here is wsproto's frame parser, as simple-websocket drives it
(fragments joined into one message).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from wsproto.frame_protocol import FrameProtocol, Opcode, ParseFailed

from stgo.server import Server
from stgo.transport.wsio import FrameReader, read_frames

from .helpers import Client, wait_until
from .hostile import OP_BINARY, OP_CLOSE, OP_CONT, OP_PING, OP_PONG, OP_TEXT, frame
from .test_limits import counting_app

Serve = Callable[..., Server]
MakeClient = Callable[[Server], Client]

LIMIT = 1000


@dataclass
class Seen:
    """What a connection made of the bytes: messages, pongs, and whether it failed."""

    messages: list[str | bytes] = field(default_factory=list)
    pongs: int = 0
    failed: bool = False
    closed: bool = False


class Reference:
    """wsproto's parser alone, joining fragments as simple-websocket does."""

    def __init__(self) -> None:
        self.proto = FrameProtocol(client=False, extensions=[])
        self.parts: list[str | bytes] = []
        self.seen = Seen()

    def feed(self, data: bytes) -> None:
        if self.seen.failed or self.seen.closed:
            return
        self.proto.receive_bytes(data)
        try:
            for f in self.proto.received_frames():
                if f.opcode is Opcode.PONG:
                    self.seen.pongs += 1
                elif f.opcode is Opcode.CLOSE:
                    self.seen.closed = True
                    return
                elif f.opcode is not Opcode.PING:
                    self.parts.append(f.payload)
                    if f.message_finished:
                        joined = self.parts[0][:0].join(self.parts)  # type: ignore[arg-type]
                        self.parts.clear()
                        if len(joined) > LIMIT:  # simple-websocket's max_message_size
                            self.seen.failed = True
                            return
                        self.seen.messages.append(joined)
        except ParseFailed:
            self.seen.failed = True


class Reader(Reference):
    """A connection's way: its FrameReader first, wsproto for what that leaves."""

    def __init__(self) -> None:
        super().__init__()
        self.frames = FrameReader(LIMIT)

    def feed(self, data: bytes) -> None:
        messages: list[str] = []
        rest, pong = self.frames.feed(data, messages)
        self.seen.messages.extend(messages)
        self.seen.pongs += pong  # one counted per call at most: compare booleans below
        if rest:
            super().feed(rest)


def _frames_of(*frames: bytes) -> bytes:
    return b"".join(frames)


def text(s: str, **kw: object) -> bytes:
    return frame(OP_TEXT, s.encode(), **kw)  # type: ignore[arg-type]


def test_whole_text_frames_are_read_in_one_call() -> None:
    event = json.dumps({"v": 1, "type": "event", "widget": "w1", "event": "click", "seq": 1})
    long = "é" * 300  # 600 bytes: the 16-bit length form
    data = _frames_of(text(event), text(""), text(long), frame(OP_PONG, b"hi"))
    messages: list[str] = []
    assert read_frames(data, LIMIT, messages) == (len(data), True, True)
    assert messages == [event, "", long]


@pytest.mark.parametrize("other", [
    frame(OP_PING, b"x"),
    frame(OP_CLOSE, b"\x03\xe8"),
    frame(OP_BINARY, b"\x00\x01"),
    frame(OP_TEXT, b"part", fin=False),
    frame(OP_CONT, b"rest"),
    frame(OP_TEXT, b"reserved bit", rsv=4),
    frame(OP_TEXT, b"unmasked", mask=False),
    frame(OP_TEXT, b"\xff\xfe not UTF-8"),
    frame(OP_TEXT, b"x" * (LIMIT + 1)),
    frame(OP_PONG, b"p" * 126),  # a control frame over 125 bytes: a protocol error
    # The 16-bit length form for a payload that fits in 7 bits: wsproto's call.
    b"\x81\xfe\x00\x05" + b"\x00" * 4 + b"hello",
])
def test_reading_stops_at_a_frame_it_leaves_to_wsproto(other: bytes) -> None:
    first = text("first")
    messages: list[str] = []
    taken, _, ours = read_frames(first + other + text("after"), LIMIT, messages)
    assert (taken, ours, messages) == (len(first), False, ["first"])


@pytest.mark.parametrize("cut", [1, 2, 3, 4, 5, 6, 7, 10, 100])
def test_a_frame_cut_short_waits_for_its_rest(cut: int) -> None:
    first, second = text("first"), text("x" * 200)  # the 16-bit length form
    messages: list[str] = []
    assert read_frames(first + second[:cut], LIMIT, messages) == (len(first), False, True)
    assert messages == ["first"]
    reader = FrameReader(LIMIT)
    assert reader.feed(first + second[:cut], messages) == (b"", False)
    assert reader.feed(second[cut:] + frame(OP_PONG), messages) == (b"", True)
    assert messages == ["first", "first", "x" * 200] and reader.active


def test_a_big_message_in_many_pieces_is_read_once_whole() -> None:
    body = "y" * 60_000
    data = text(body)
    reader, messages = FrameReader(100_000), []
    for i in range(0, len(data), 1000):
        assert reader.feed(data[i:i + 1000], messages) == (b"", False)
    assert messages == [body] and reader.active


_payloads = st.one_of(
    st.text(max_size=40).map(str.encode),
    st.binary(max_size=40),  # often not UTF-8
    st.integers(120, 140).map(lambda n: b"y" * n),  # around the 126-byte length form
    st.just(b"z" * (LIMIT + 5)),
)


@st.composite
def client_frames(draw: st.DrawFn) -> bytes:
    opcode = draw(st.sampled_from([OP_TEXT] * 6 + [OP_PONG] * 2 + [OP_PING, OP_BINARY, OP_CONT,
                                                                      OP_CLOSE]))
    payload = draw(_payloads)
    if opcode in (OP_PING, OP_PONG, OP_CLOSE):
        payload = payload[:draw(st.sampled_from([125, 126]))]
    return frame(opcode, payload, fin=draw(st.booleans()) or draw(st.booleans()),
                 mask=draw(st.integers(0, 19)) > 0, rsv=draw(st.sampled_from([0] * 19 + [1])))


@settings(max_examples=400, deadline=None)
@given(st.lists(client_frames(), max_size=8), st.lists(st.integers(0, 3000), max_size=3))
def test_any_bytes_cut_anywhere_read_as_wsproto_reads_them(
    frames: list[bytes], cuts: list[int]
) -> None:
    data = b"".join(frames)
    bounds = [0, *sorted(min(c, len(data)) for c in cuts), len(data)]
    chunks = [data[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]
    reference, reader = Reference(), Reader()
    for chunk in chunks:
        reference.feed(chunk)
        reader.feed(chunk)
    assert reader.seen.messages == reference.seen.messages
    assert reader.seen.failed == reference.seen.failed
    assert reader.seen.closed == reference.seen.closed
    assert bool(reader.seen.pongs) == bool(reference.seen.pongs)


def test_a_live_connection_reads_cut_frames_then_hands_over_and_keeps_serving(
    serve: Serve, client_for: MakeClient
) -> None:
    """Over a real socket: whole frames, a frame cut in two TCP writes (still
    read by stgo), then a ping (wsproto reads on), each answered."""
    app = counting_app()
    server = serve(app)
    browser = client_for(server)
    tab = browser.connect()
    session = app.sessions.get(browser.session_id)
    assert session is not None
    (conn,) = app.hub.connections(session)
    widget = app.widget("mine").id
    raw = tab.ws.sock
    tab.ws.settimeout(5)

    def click(seq: int) -> bytes:
        return text(json.dumps({"v": 1, "type": "event", "widget": widget, "event": "click",
                                "value": None, "seq": seq}))

    def answers(acks: set[int], pong: bytes = b"") -> None:
        got, heard = set(), b""
        while got != acks or heard != pong:
            msg = tab.ws.recv_frame()
            if msg.opcode == OP_PONG:
                heard = msg.data
            elif msg.opcode == OP_TEXT:
                body = json.loads(msg.data)
                assert body["type"] != "error", body
                if body.get("ack") is not None:
                    got.add(body["ack"])

    raw.sendall(click(1) + click(2))  # two whole frames in one write
    answers({1, 2})
    third = click(3)
    raw.sendall(third[:7])
    wait_until(lambda: conn._reader._held is not None)  # its start waits for the rest
    raw.sendall(third[7:] + click(4))
    answers({3, 4})
    assert conn._reader.active
    raw.sendall(frame(OP_PING, b"are you there") + click(5))
    answers({5}, b"are you there")
    assert not conn._reader.active  # wsproto reads on, and still serves
    raw.sendall(click(6))
    answers({6})
    assert session.get("clicks") == 6
