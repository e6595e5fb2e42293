"""The request head's deadline: slow clients (slow loris) hold no thread.

:class:`HeadGate` holds each new connection on one shared thread until its
request head is in (then hands it to a handler thread with what it read);
:class:`HeadReader` keeps the deadline on the handler's thread, for a head
too long for the gate and for each next request of a keep-alive connection.
"""

from __future__ import annotations

import contextlib
import io
import selectors
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

__all__ = ["HeadGate", "HeadReader", "IDLE_TIMEOUT", "MAX_SILENT"]

# A head longer than this goes to a handler thread anyway, which refuses it
# (http.server answers 414 or 431 past 64 KiB per line).
_MAX_HEAD_BYTES = 65536 + 1024

#: Seconds a connection that has sent nothing is kept (see :class:`HeadGate`):
#: past Chromium's own 60 s for a connection it opened and has not used.
IDLE_TIMEOUT = 90.0
#: Connections that have sent nothing kept at most; past it the oldest is closed.
MAX_SILENT = 512

_TIMED_OUT = b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"


def _head_complete(data: bytes) -> bool:
    # http.server ends the head at an empty line, "\r\n" or a bare "\n".
    return b"\n\r\n" in data or b"\n\n" in data


class HeadReader(io.RawIOBase):
    """The handler's socket reader: first what the gate already read, then
    the socket; while :attr:`deadline` is set, no read waits past it."""

    def __init__(self, sock: socket.socket, prefix: bytes, timeout: float | None) -> None:
        super().__init__()
        self._sock = sock
        self._prefix = prefix
        self._timeout = timeout
        #: ``time.monotonic()`` by which the request head must be in, or ``None``.
        self.deadline: float | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._prefix:
            n = min(len(buffer), len(self._prefix))
            buffer[:n] = self._prefix[:n]
            self._prefix = self._prefix[n:]
            return n
        if self.deadline is None:
            return self._sock.recv_into(buffer)
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the request head took too long")
        self._sock.settimeout(left if self._timeout is None else min(left, self._timeout))
        try:
            return self._sock.recv_into(buffer)
        finally:
            self._sock.settimeout(self._timeout)


class HeadGate:
    """Holds new connections, on one thread, until their request head is in.

    A thread per connection from the moment of ``accept`` lets 200 clients
    that send a byte at a time (slow loris) hold 200 threads; here they hold
    a file descriptor and a small buffer each, and are closed (408) *timeout*
    seconds after their first byte at the latest.  One that sends nothing is
    closed without an answer after *idle_timeout*: a browser's spare
    connection, opened ahead of use, which the browser keeps for a while
    (Chromium: 60 s unused) and closes itself.  Closed by us first, it fails
    the request the browser then gives it (the page's script or stylesheet,
    under load: ``ERR_SOCKET_NOT_CONNECTED``), so the browser must be the one
    that closes it.  They cost a file descriptor each, so at most
    :data:`MAX_SILENT` are kept (the oldest closed first).  A connection whose
    head is in goes on to a handler thread with what was read.
    """

    def __init__(self, timeout: float, dispatch: Callable[[socket.socket, Any, bytes], None],
                 idle_timeout: float | None = None) -> None:
        self._timeout = timeout
        self._idle_timeout = max(timeout, IDLE_TIMEOUT if idle_timeout is None else idle_timeout)
        self._dispatch = dispatch
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._selector.register(self._wake_r, selectors.EVENT_READ)
        self._lock = threading.Lock()
        self._arrivals: list[tuple[socket.socket, Any]] = []
        self._closed = False
        # Owned by the gate's thread: socket -> [address, bytes so far, deadline].
        self._waiting: dict[socket.socket, list[Any]] = {}
        self._thread = threading.Thread(target=self._run, name="stgo-head-gate", daemon=True)
        self._thread.start()

    def __len__(self) -> int:
        return len(self._waiting)

    def admit(self, sock: socket.socket, address: Any) -> None:
        """Take a freshly accepted connection (called by the accepting thread)."""
        with self._lock:
            if self._closed:
                sock.close()
                return
            self._arrivals.append((sock, address))
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")

    def close(self) -> None:
        """Stop, closing every connection still waiting for its head."""
        with self._lock:
            self._closed = True
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")
        self._thread.join(5)

    def _run(self) -> None:
        try:
            while True:
                waits = [entry[2] for entry in self._waiting.values()]
                wait = max(0.0, min(waits) - time.monotonic()) if waits else None
                for key, _ in self._selector.select(wait):
                    if key.fileobj is self._wake_r:
                        if self._take_arrivals():
                            return
                    else:
                        self._read(key.fileobj)  # type: ignore[arg-type]
                now = time.monotonic()
                for sock in [s for s, e in self._waiting.items() if e[2] <= now]:
                    began = bool(self._waiting[sock][1])
                    self._forget(sock)
                    if began:
                        _refuse(sock)  # a head begun and not finished: 408
                    else:
                        # Never asked anything: a browser's spare connection,
                        # opened ahead of use.  Closed quietly (as nginx does),
                        # a 408 there would meet the request it is then given
                        # and show as that page's answer.
                        sock.close()
        finally:
            with self._lock:
                self._closed = True
                arrivals, self._arrivals = self._arrivals, []
            for sock in [*self._waiting, *(s for s, _ in arrivals)]:
                sock.close()
            self._waiting.clear()
            self._selector.close()
            self._wake_r.close()
            self._wake_w.close()

    def _take_arrivals(self) -> bool:
        """Register new connections; return whether the gate is closing."""
        with contextlib.suppress(OSError):
            while self._wake_r.recv(4096):
                pass
        with self._lock:
            arrivals, self._arrivals = self._arrivals, []
            closed = self._closed
        deadline = time.monotonic() + self._idle_timeout
        for sock, address in arrivals:
            self._waiting[sock] = [address, b"", deadline]
            self._selector.register(sock, selectors.EVENT_READ)
        if len(self._waiting) > MAX_SILENT:
            silent = [s for s, e in self._waiting.items() if not e[1]]  # oldest first
            for sock in silent[:max(0, len(silent) - MAX_SILENT)]:
                self._forget(sock)
                sock.close()
        return closed

    def _read(self, sock: socket.socket) -> None:
        entry = self._waiting[sock]
        try:
            data = sock.recv(16384, socket.MSG_DONTWAIT)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._forget(sock)
            sock.close()
            return
        if not entry[1]:  # its first bytes: the head's own deadline
            entry[2] = min(entry[2], time.monotonic() + self._timeout)
        entry[1] += data
        if _head_complete(entry[1]) or len(entry[1]) > _MAX_HEAD_BYTES:
            self._forget(sock)
            self._dispatch(sock, entry[0], entry[1])

    def _forget(self, sock: socket.socket) -> None:
        del self._waiting[sock]
        self._selector.unregister(sock)


def _refuse(sock: socket.socket) -> None:
    """Answer 408 and close, without waiting on the client."""
    with contextlib.suppress(OSError):
        sock.send(_TIMED_OUT, socket.MSG_DONTWAIT)
        # Take what the client sent meanwhile: closing with unread input
        # resets the connection, which may cost the client our answer.
        while sock.recv(65536, socket.MSG_DONTWAIT):
            pass
    sock.close()


