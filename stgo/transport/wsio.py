"""Socket plumbing under :mod:`stgo.transport.ws`: waking, taking a socket over, frames.

:class:`~stgo.transport.ws.Connection` runs wsproto's protocol handling on an
I/O loop; these small pieces wake the loop, take the socket from the WSGI
server, and read and write the common frames faster than wsproto's general
machinery.
"""

from __future__ import annotations

import contextlib
import os
import socket
import struct
from typing import Any

__all__ = [
    "Waker", "TAKE_OVER", "take_over", "text_frame", "read_frames",
    "FrameReader", "BODY_DEADLINE",
]


class Waker:
    """A descriptor that wakes the I/O loop out of its wait: an eventfd where
    there is one (Linux), else a socket pair."""

    __slots__ = ("_fd", "_pair")

    def __init__(self) -> None:
        self._pair: tuple[socket.socket, socket.socket] | None = None
        if hasattr(os, "eventfd"):
            self._fd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        else:  # pragma: no cover - not Linux
            self._pair = socket.socketpair()
            for end in self._pair:
                end.setblocking(False)
            self._fd = self._pair[0].fileno()

    def fileno(self) -> int:
        return self._fd

    def wake(self) -> None:
        with contextlib.suppress(OSError):  # already pending, or closed
            if self._pair is None:
                os.eventfd_write(self._fd, 1)
            else:  # pragma: no cover
                self._pair[1].send(b"\0")

    def drain(self) -> None:
        with contextlib.suppress(OSError):
            if self._pair is None:
                os.eventfd_read(self._fd)
            else:  # pragma: no cover
                self._pair[0].recv(4096)

    def close(self) -> None:
        if self._pair is None:
            os.close(self._fd)
        else:  # pragma: no cover
            for end in self._pair:
                end.close()


#: The WSGI environ key of a callable by which a server lets the app take the
#: request's socket over (stgo's :class:`~stgo.server.handler.RequestHandler` sets it).
TAKE_OVER = "stgo.take_over"

#: The WSGI environ key of ``fn(seconds)``, by which a server lets the app
#: bound the time left to read the request's body (a slow upload): a read
#: past it fails as a timeout.  Set by stgo's own server only.
BODY_DEADLINE = "stgo.body_deadline"


def take_over(environ: dict[str, Any], sock: socket.socket) -> socket.socket | None:
    """Detach the upgraded connection's socket from the WSGI server, if that is safe.

    Returns a new socket object for the same connection, which the server
    no longer reaches (its own object is detached: closing or shutting it
    down does nothing), or ``None`` where the socket cannot be taken over:

    - Werkzeug's server with stgo's request handler (which stops reading
      the connection once told);
    - gunicorn's ``sync`` and ``gthread`` workers, which close the request's
      socket (``gunicorn.socket``) when the call ends and read it no more;
    - not a plain socket (TLS, a green socket of gevent or eventlet): no.
    """
    if sock.__class__ is not socket.socket:
        return None
    hand_over = environ.get(TAKE_OVER)
    if callable(hand_over) and environ.get("werkzeug.socket") is sock:
        hand_over()
    elif environ.get("gunicorn.socket") is not sock:
        return None
    try:
        return socket.socket(fileno=sock.detach())
    except OSError:
        return None


# The last small message framed, and its frame: one shared push goes to
# every tab as the same str, framed once (a tuple: swapped atomically).
_last_framed: tuple[str, bytes] = ("", b"\x81\x00")
_CACHED_FRAME_BYTES = 16384


def text_frame(text: str) -> bytes:
    """One unmasked, final text frame (RFC 6455 section 5.2) carrying *text*."""
    global _last_framed
    last = _last_framed
    if last[0] is text:
        return last[1]
    data = text.encode("utf-8")
    n = len(data)
    if n < 126:
        frame = bytes((0x81, n)) + data
    elif n < 65536:
        frame = struct.pack("!BBH", 0x81, 126, n) + data
    else:
        return struct.pack("!BBQ", 0x81, 127, n) + data
    if n <= _CACHED_FRAME_BYTES:
        _last_framed = (text, frame)
    return frame


_PONG = 0x8A  # FIN + pong
_TEXT = 0x81  # FIN + text


def read_frames(data: bytes | bytearray, limit: int,
                messages: list[str | bytes]) -> tuple[int, bool, bool]:
    """Read the whole, masked text and pong frames at the start of *data*.

    A client's traffic is nearly all such frames, and taking them here costs
    a tenth of wsproto's general machinery.  Each text frame's message is
    appended to *messages*.  Stops at the first frame that is anything else
    (a close, a ping, a fragment, reserved bits, a binary message, a payload
    over *limit* bytes or not UTF-8), whose bytes the caller hands, with all
    after them, to wsproto, which knows the whole protocol and its errors;
    or at a frame not all in *data* yet.

    :returns: ``(offset, pong, ours)``: the bytes taken; whether a pong was
        among them; and whether what is left (if anything) is the start of a
        frame this reads once the rest has come (else: one for wsproto).
    """
    at, end, pong = 0, len(data), False
    while end - at >= 2:
        first, second = data[at], data[at + 1]
        n = second & 0x7F
        if second < 0x80 or not (first == _TEXT or (first == _PONG and n < 126)):
            return at, pong, False  # unmasked (a protocol error), or not ours to read
        head = at + 2
        if n == 126:
            if end - head < 2:
                break
            n = (data[head] << 8) | data[head + 1]
            if n < 126:
                return at, pong, False  # a longer form than needed: wsproto refuses it
            head += 2
        elif n == 127:
            return at, pong, False
        if n > limit:
            return at, pong, False
        start = head + 4
        if start + n > end:
            break
        if n:
            key = data[head:start] * ((n >> 2) + 1)
            payload = (int.from_bytes(data[start:start + n], "little")
                       ^ int.from_bytes(key[:n], "little")).to_bytes(n, "little")
        else:
            payload = b""
        if first == _PONG:
            pong = True
        else:
            try:
                messages.append(payload.decode("utf-8"))
            except UnicodeDecodeError:
                return at, pong, False
        at = start + n
    return at, pong, True


class FrameReader:
    """A connection's reading of its client's frames ahead of wsproto.

    :func:`read_frames` takes the frames it can; the start of one of its
    frames that has not all come waits here for the rest (a frame cut by a
    proxy or a big message in pieces does not end it).  From the first frame
    it leaves, everything, that frame first, is wsproto's.
    """

    __slots__ = ("limit", "active", "_held")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        #: Whether it still reads (else every byte goes to wsproto).
        self.active = True
        self._held: bytearray | None = None

    def feed(self, data: bytes, messages: list[str | bytes]) -> tuple[bytes, bool]:
        """Read what it can of *data*, appending each message to *messages*.

        :returns: ``(rest, pong)``: the bytes for wsproto, and whether a pong came.
        """
        held, self._held = self._held, None
        buf: bytes | bytearray = data
        if held is not None:  # the rest of a frame: read on from its start
            held += data
            buf = held
        if not self.active:
            return bytes(buf), False
        taken, pong, ours = read_frames(buf, self.limit, messages)
        if not ours:
            self.active = False
            return bytes(buf[taken:]), pong
        if taken < len(buf):
            # Kept as it is while a big frame comes in pieces: no copy.
            self._held = held if taken == 0 and held is not None else bytearray(buf[taken:])
        return b"", pong
