"""Clients that misbehave on purpose: raw WebSocket frames, raw handshakes, other addresses.

The friendly clients are in :mod:`tests.helpers`; these are for the tests of
the defences (security, limits, slow clients, fuzzing).  Everything runs over
real sockets on the loopback interface: Linux accepts any ``127.x.y.z`` as a
source address, which lets one test play several client addresses.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import os
import socket
import struct
import threading
import time
from queue import Empty, Queue
from typing import Any
from urllib.parse import urlsplit

import websocket  # websocket-client

from .helpers import COOKIE, Response

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


def connect_from(url: str, source: str = "127.0.0.1", timeout: float = 10.0) -> socket.socket:
    """A TCP connection to the server of *url*, from the local address *source*."""
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=timeout,
                                    source_address=(source, 0))
    return sock


def http_from(url: str, path: str = "/", *, source: str = "127.0.0.1", method: str = "GET",
              headers: dict[str, str] | None = None) -> Response:
    """One HTTP request from the address *source*."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10,
                                      source_address=(source, 0))
    try:
        conn.request(method, path, headers=headers or {})
        resp = conn.getresponse()
        return Response(resp.status, resp.headers, resp.read().decode("utf-8", "replace"))
    finally:
        conn.close()


def ws_from(url: str, session_id: str, *, source: str = "127.0.0.1",
            origin: str | None = None) -> websocket.WebSocket:
    """A websocket-client connection to ``/ws`` from the address *source*.

    :raises websocket.WebSocketBadStatusException: the upgrade was refused.
    """
    parts = urlsplit(url)
    sock = connect_from(url, source)
    try:
        return websocket.create_connection(
            f"ws://{parts.netloc}/ws", timeout=10, socket=sock,
            origin=origin or f"http://{parts.netloc}", cookie=f"{COOKIE}={session_id}",
            enable_multithread=True,
        )
    except Exception:
        sock.close()
        raise


def raw_upgrade(url: str, session_id: str, *, source: str = "127.0.0.1",
                rcvbuf: int | None = None) -> tuple[int, socket.socket, bytes]:
    """Do the WebSocket handshake by hand; return (status, socket, bytes after the headers).

    The socket then answers nothing by itself (no pongs, no close replies):
    whatever the test does not send is never sent.
    """
    parts = urlsplit(url)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.settimeout(10)
    sock.bind((source, 0))
    sock.connect((parts.hostname, parts.port))
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [
        "GET /ws HTTP/1.1",
        f"Host: {parts.netloc}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key}",
        "Sec-WebSocket-Version: 13",
        f"Origin: http://{parts.netloc}",
        f"Cookie: {COOKIE}={session_id}",
    ]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1]) if head else 0
    return status, sock, rest


def frame(opcode: int, payload: bytes = b"", *, fin: bool = True, mask: bool = True,
          rsv: int = 0, declared_length: int | None = None) -> bytes:
    """One client frame, built by hand (so it can be as wrong as wanted).

    :param rsv: the three reserved bits (0-7), which must be 0.
    :param declared_length: a length to claim instead of the payload's own.
    """
    first = (0x80 if fin else 0) | ((rsv & 7) << 4) | (opcode & 0xF)
    length = len(payload) if declared_length is None else declared_length
    mask_bit = 0x80 if mask else 0
    if length < 126:
        head = struct.pack("!BB", first, mask_bit | length)
    elif length < 1 << 16:
        head = struct.pack("!BBH", first, mask_bit | 126, length)
    else:
        head = struct.pack("!BBQ", first, mask_bit | 127, length)
    if not mask:
        return head + payload
    key = os.urandom(4)
    masked = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return head + key + masked


def parse_frames(data: bytes) -> list[tuple[int, bytes]]:
    """Split server frames (unmasked) into (opcode, payload); a cut-off tail is ignored."""
    frames = []
    i = 0
    while i + 2 <= len(data):
        opcode, length = data[i] & 0x0F, data[i + 1] & 0x7F
        i += 2
        if length == 126:
            if i + 2 > len(data):
                break
            (length,) = struct.unpack("!H", data[i:i + 2])
            i += 2
        elif length == 127:
            if i + 8 > len(data):
                break
            (length,) = struct.unpack("!Q", data[i:i + 8])
            i += 8
        if i + length > len(data):
            break
        frames.append((opcode, data[i:i + length]))
        i += length
    return frames


def read_to_eof(sock: socket.socket, timeout: float) -> bytes:
    """Everything the server sends until it closes the connection.

    :raises AssertionError: the connection stayed open for *timeout* seconds.
    """
    sock.settimeout(timeout)
    data = b""
    deadline = time.monotonic() + timeout
    try:
        while True:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            chunk = sock.recv(65536)
            if not chunk:
                return data
            data += chunk
    except ConnectionResetError:
        return data
    except TimeoutError:
        raise AssertionError(f"the server kept the connection open for {timeout} s") from None


def close_code(frames: list[tuple[int, bytes]]) -> int | None:
    """The status code of the first close frame among *frames*, if any."""
    for opcode, payload in frames:
        if opcode == OP_CLOSE:
            return struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
    return None


class Listener:
    """Reads a websocket-client connection on its own thread, as a browser tab does.

    Reading all the time also answers the server's pings (websocket-client
    replies while it reads).  Messages land in :attr:`inbox`.
    """

    def __init__(self, ws: websocket.WebSocket) -> None:
        self.ws = ws
        self.inbox: Queue[dict[str, Any]] = Queue()
        self.closed = threading.Event()
        self._thread = threading.Thread(target=self._run, name="test-listener", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        self.ws.settimeout(None)
        try:
            while True:
                raw = self.ws.recv()
                if not raw:
                    break
                self.inbox.put(json.loads(raw))
        except Exception:  # closed under us: that is the end of the tab
            pass
        finally:
            self.closed.set()

    def send_event(self, widget: str, seq: int, event: str = "click", value: Any = None) -> None:
        self.ws.send(json.dumps({"v": 1, "type": "event", "widget": widget, "event": event,
                                 "value": value, "seq": seq}))

    def wait_for(self, predicate: Any, timeout: float = 5.0) -> dict[str, Any]:
        """The next message matching *predicate* (others are skipped)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no matching message within {timeout} s")
            try:
                msg = self.inbox.get(timeout=left)
            except Empty:
                continue
            if predicate(msg):
                return msg

    def close(self) -> None:
        """Send a close frame, let the reader take the answer, then hang up."""
        with contextlib.suppress(Exception):
            self.ws.send_close()
        self._thread.join(5)
        with contextlib.suppress(Exception):
            self.ws.shutdown()
