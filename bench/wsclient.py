"""A minimal WebSocket client on raw sockets, for driving many connections.

websocket-client is fine for one connection; for a thousand, one thread with
a selector and a few microseconds per message keeps the client from being the
bottleneck on a two-core machine.  Frames we send are masked with a zero key
(allowed by RFC 6455: the server unmasks, the payload is unchanged), so
sending costs one ``sendall`` of pre-built bytes.
"""

from __future__ import annotations

import base64
import contextlib
import os
import socket
import struct

__all__ = ["WSClient", "text_frame", "HandshakeError"]

_MASK0 = b"\x00\x00\x00\x00"


class HandshakeError(RuntimeError):
    """The server did not answer the upgrade with 101."""


def text_frame(payload: bytes | str) -> bytes:
    """One masked (zero key) text frame carrying *payload*."""
    data = payload.encode() if isinstance(payload, str) else payload
    n = len(data)
    if n < 126:
        head = struct.pack("!BB", 0x81, 0x80 | n)
    elif n < 1 << 16:
        head = struct.pack("!BBH", 0x81, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", 0x81, 0x80 | 127, n)
    return head + _MASK0 + data


def _control(opcode: int, payload: bytes = b"") -> bytes:
    return struct.pack("!BB", 0x80 | opcode, 0x80 | len(payload)) + _MASK0 + payload


class WSClient:
    """One client connection.  Blocking connect; then either blocking
    :meth:`recv` or non-blocking :meth:`feed` from a selector loop.

    :param host: server host.
    :param port: server port.
    :param path: request path, query included (``/ws?session=...``).
    :param cookie: ``Cookie`` header value, if any.
    :param origin: ``Origin`` header value, if any.
    :param timeout: seconds for connect and handshake.
    """

    __slots__ = ("sock", "_buf", "_frag", "closed", "tag")

    def __init__(self, host: str, port: int, path: str = "/", *, cookie: str | None = None,
                 origin: str | None = None, timeout: float = 30.0) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [
            f"GET {path} HTTP/1.1", f"Host: {host}:{port}", "Upgrade: websocket",
            "Connection: Upgrade", f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13",
        ]
        if cookie:
            lines.append(f"Cookie: {cookie}")
        if origin:
            lines.append(f"Origin: {origin}")
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise HandshakeError(f"connection closed during handshake: {head[:200]!r}")
            head += chunk
        head, _, rest = head.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 101"):
            raise HandshakeError(head.split(b"\r\n", 1)[0].decode(errors="replace"))
        self._buf = bytearray(rest)
        self._frag = bytearray()
        self.closed = False
        self.tag: object = None

    @classmethod
    def session_path(cls, session_id: str) -> str:
        """The stgo WebSocket path (the cookie names the session, not the path)."""
        return "/ws"

    def fileno(self) -> int:
        return self.sock.fileno()

    def send_text(self, payload: bytes | str) -> None:
        """Send one text message."""
        self.sock.sendall(text_frame(payload))

    def send_frame(self, frame: bytes) -> None:
        """Send pre-built frame bytes (see :func:`text_frame`)."""
        self.sock.sendall(frame)

    def feed(self, data: bytes) -> list[bytes]:
        """Take bytes read from the socket; return the complete messages in them.

        Answers pings; marks :attr:`closed` on a close frame.
        """
        buf = self._buf
        buf += data
        out: list[bytes] = []
        while True:
            n = len(buf)
            if n < 2:
                break
            b0, b1 = buf[0], buf[1]
            length = b1 & 0x7F
            pos = 2
            if length == 126:
                if n < 4:
                    break
                length = (buf[2] << 8) | buf[3]
                pos = 4
            elif length == 127:
                if n < 10:
                    break
                length = struct.unpack_from("!Q", buf, 2)[0]
                pos = 10
            end = pos + length
            if n < end:
                break
            payload = bytes(buf[pos:end])
            del buf[:end]
            opcode = b0 & 0x0F
            if opcode in (1, 2, 0):
                if b0 & 0x80:
                    if self._frag:
                        self._frag += payload
                        payload = bytes(self._frag)
                        self._frag.clear()
                    out.append(payload)
                else:
                    self._frag += payload
            elif opcode == 9:
                self.sock.sendall(_control(0xA, payload))
            elif opcode == 8:
                self.closed = True
        return out

    def recv(self) -> bytes:
        """Block until one whole message arrives and return it (extra ones are lost:
        use only where the server sends one message per request)."""
        while True:
            msgs = self.feed(b"")
            if msgs:
                return msgs[0]
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("server closed the connection")
            msgs = self.feed(chunk)
            if msgs:
                if len(msgs) > 1:
                    # Keep the rest for the next call: put their frames back.
                    for extra in reversed(msgs[1:]):
                        self._buf[:0] = _server_frame(extra)
                return msgs[0]

    def close(self) -> None:
        """Send a close frame and close the socket (no waiting for the answer)."""
        with contextlib.suppress(OSError):
            self.sock.sendall(_control(0x8, struct.pack("!H", 1000)))
        self.sock.close()
        self.closed = True


def _server_frame(payload: bytes) -> bytes:
    n = len(payload)
    if n < 126:
        return struct.pack("!BB", 0x81, n) + payload
    if n < 1 << 16:
        return struct.pack("!BBH", 0x81, 126, n) + payload
    return struct.pack("!BBQ", 0x81, 127, n) + payload
