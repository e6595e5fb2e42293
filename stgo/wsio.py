"""Socket plumbing under :mod:`stgo.ws`: waking, polling, whole writes, frames.

:class:`~stgo.ws.Connection` runs simple-websocket's protocol handling on its
own thread; these small pieces replace the parts of simple-websocket that
assume a reader thread of their own, and write frames from any thread without
tearing them.
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import struct
import threading
from typing import Any

__all__ = ["InputFlag", "NoReader", "Waker", "Poller", "WholeWrites", "text_frame"]


class InputFlag:
    """simple-websocket's "input arrived" event, as a plain flag.

    Our own thread reads the socket and only ever asks ``receive(timeout=0)``,
    so this needs no lock or condition (``threading.Event`` costs about 1 KB
    per connection).
    """

    __slots__ = ("_flag",)

    def __init__(self) -> None:
        self._flag = False

    def set(self) -> None:
        self._flag = True

    def clear(self) -> None:
        self._flag = False

    def is_set(self) -> bool:
        return self._flag

    def wait(self, timeout: float | None = None) -> bool:
        if timeout != 0:
            raise RuntimeError("stgo reads a connection with receive(timeout=0) only")
        return self._flag


class NoReader:
    """Stands in for simple-websocket's reader thread: never started, as the
    connection's own thread reads (:meth:`Connection.serve`)."""

    __slots__ = ("name",)

    def __init__(self, **kwargs: Any) -> None:
        self.name = "stgo-ws-reader"

    def start(self) -> None:
        pass


class Waker:
    """A descriptor that wakes the serving thread out of its wait for input:
    an eventfd where there is one (Linux), else a socket pair."""

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


class Poller:
    """Waits until the socket has input or the waker fires (poll, where it
    exists: ``select`` cannot watch descriptors numbered past 1023)."""

    __slots__ = ("_poll", "_sock", "_waker")

    def __init__(self, sock: socket.socket, waker: Waker) -> None:
        self._sock, self._waker = sock, waker
        self._poll: Any = None
        if hasattr(select, "poll"):
            self._poll = select.poll()
            self._poll.register(sock.fileno(), select.POLLIN)
            self._poll.register(waker.fileno(), select.POLLIN)

    def wait(self, timeout: float) -> tuple[bool, bool]:
        """Wait up to *timeout* seconds; return (socket readable, woken)."""
        timeout = max(0.0, timeout)
        if self._poll is None:  # pragma: no cover - Windows
            fds = [self._sock.fileno(), self._waker.fileno()]
            r, _, _ = select.select(fds, [], [], timeout)
            return fds[0] in r, fds[1] in r
        sock_fd = self._sock.fileno()
        readable = woken = False
        for fd, _ in self._poll.poll(int(timeout * 1000 + 0.999)):
            if fd == sock_fd:
                readable = True  # data, or an error or hang-up that recv reports
            else:
                woken = True
        return readable, woken


class WholeWrites:
    """The socket as simple-websocket sees it: every ``send`` is a locked ``sendall``.

    simple-websocket writes with ``sock.send`` and ignores a short count.  With
    a send timeout set the socket is non-blocking underneath, so a message
    bigger than the free buffer space (a large render to a slow reader) was cut
    short and the stream corrupted.  Direct sends from other threads write
    too, so the lock keeps their frames and ours (pings, the answer to a
    close) whole.  Everything else is the socket's own.
    """

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._lock = threading.Lock()

    def send(self, data: bytes) -> int:
        with self._lock:
            self._sock.sendall(data)  # the timeout bounds the whole write
        return len(data)

    def try_send(self, data: bytes) -> tuple[bool, bytes | None]:
        """Write what the socket takes now, without waiting (any thread).

        :returns: ``(False, None)`` when another thread is writing (nothing
            sent); ``(True, None)`` when all went; ``(True, rest)`` when only
            part went: the lock then stays held, and :meth:`send_held` (or
            :meth:`release`) must follow.
        :raises OSError: the connection failed (the lock is released).
        """
        if not self._lock.acquire(blocking=False):
            return False, None
        try:
            fd = self._sock.fileno()  # -1 once closed; close() takes the lock
            if fd < 0:
                raise OSError("socket closed")
            try:
                n = os.write(fd, data)  # the descriptor is non-blocking
            except BlockingIOError:
                n = 0
        except BaseException:
            self._lock.release()
            raise
        if n == len(data):
            self._lock.release()
            return True, None
        return True, data[n:]

    def send_held(self, data: bytes) -> None:
        """Send the rest of a partial :meth:`try_send`, then release the lock."""
        try:
            self._sock.sendall(data)
        finally:
            self._lock.release()

    def release(self) -> None:
        """Give up the lock a partial :meth:`try_send` kept."""
        self._lock.release()

    def close(self) -> None:
        # Under the lock: a direct send reads the descriptor's number, which
        # the system reuses once it is closed.
        with self._lock:
            self._sock.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


def text_frame(text: str) -> bytes:
    """One unmasked, final text frame (RFC 6455 section 5.2) carrying *text*."""
    data = text.encode("utf-8")
    n = len(data)
    if n < 126:
        return bytes((0x81, n)) + data
    if n < 65536:
        return struct.pack("!BBH", 0x81, 126, n) + data
    return struct.pack("!BBQ", 0x81, 127, n) + data
