"""One WebSocket connection: a bounded outbox, driven by an I/O loop.

A connection costs no thread of its own.  After the handshake the socket is
non-blocking and a :class:`~stgo.transport.ioloop.Reactor` (the App's I/O loop, or the
WSGI thread itself where the server's socket cannot be taken over) calls
:meth:`Connection.on_readable`, :meth:`Connection.on_writable` and
:meth:`Connection.on_timer`: it reads frames (stgo's
:class:`~stgo.transport.wsio.FrameReader`, then wsproto through
:class:`~stgo.transport.wsproto_server.ServerProtocol`), answers pings and
closes, pings the client and judges its pongs, and writes what waits.

:meth:`Connection.send` never blocks: when nothing is waiting it writes the
frame at once from the calling thread, as far as the socket takes it (a
broadcast to 1,000 tabs then wakes nobody); what the socket does not take,
and everything after it, waits in the outbox for the loop.  The outbox is
bounded in messages and in bytes, so a client that stops reading is dropped
instead of filling the server's memory, and a client whose output is backed
up is not read from until it drains (its own input waits in the kernel, and
TCP slows it down).
"""

from __future__ import annotations

import contextlib
import enum
import logging
import os
import socket
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any

from ..config import MAX_QUEUED_BYTES
from ..protocol import CLOSE_NORMAL, CLOSE_POLICY, OutKey
from .ioloop import Reactor
from .outbox import Outbox
from .wsio import FrameReader, text_frame
from .wsproto_server import ServerProtocol, socket_of

__all__ = ["Connection", "ConnectionState", "MAX_QUEUED_BYTES", "CLOSE_LINGER"]

log = logging.getLogger("stgo")


# Bytes read from the socket at a time.
_RECEIVE_BYTES = 16384

# Outbox messages become frames only while fewer bytes than this are on their
# way to the socket: the rest keep waiting in the outbox, where a newer update
# of the same widget still replaces an older one.
_LOW_WATER = 64 * 1024

# Bytes handed to the socket per write call.
_WRITE_BYTES = 1 << 20

#: Seconds a finished connection waits for the client's answering close frame.
CLOSE_LINGER = 2.0

_WOULD_BLOCK = (BlockingIOError, InterruptedError, ssl.SSLWantReadError, ssl.SSLWantWriteError)


class ConnectionState(enum.Enum):
    """Where a connection is in its life."""

    OPEN = "open"
    CLOSING = "closing"
    CLOSED = "closed"


class Connection:
    """A server-side WebSocket with a bounded, thread-safe outbox.

    :param environ: the WSGI environ of the upgrade request.
    :param max_message_size: largest client message in bytes; bigger closes 1009.
    :param ping_interval: seconds between pings; a client that misses a pong
        is closed.  Must be > 0.
    :param send_timeout: seconds the client may leave waiting output
        unread (no byte taken by its socket) before it is dropped.
    :param max_queued: messages that may wait in the outbox; past that the
        client is too slow and is dropped.
    :param max_queued_bytes: bytes that may wait for the client (outbox and
        frames on their way); past that it is dropped.  One message bigger
        than this still goes out when nothing else waits.
    :param clock: monotonic seconds, for pings, the send timeout and the
        close linger; the loop that serves the connection must use the same
        one (injectable for tests: see :class:`~stgo.transport.ioloop.IOLoop`).
    """

    def __init__(
        self,
        environ: dict[str, Any],
        *,
        max_message_size: int,
        ping_interval: float,
        send_timeout: float = 10.0,
        max_queued: int = 1000,
        max_queued_bytes: int = MAX_QUEUED_BYTES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lock = threading.Lock()
        # Messages waiting to become frames (guarded by the lock).
        self._outbox = Outbox(max_queued, max_queued_bytes)
        # Frames on their way to the socket, in order; the first is partly
        # written (``_offset`` bytes of it).
        self._chunks: list[bytes] = []
        self._offset = 0
        self._chunk_bytes = 0
        # A thread is writing to the socket (a direct send, or the loop);
        # others queue meanwhile, to keep order.
        self._writing = False
        # The loop has been told there is something to write.
        self._kicked = False
        self._max_message_size = max_message_size
        self._max_queued_bytes = max_queued_bytes
        self._ping_interval = ping_interval
        self._send_timeout = send_timeout
        self._close_request: tuple[int, str] | None = None
        self._close_sent = False
        self.state = ConnectionState.OPEN
        self.dropped_reason: str | None = None
        #: Called with each client message, on the loop's thread.
        self.on_message: Callable[[str | bytes], None] = _ignore
        #: Called once the connection is over and its socket released.
        self.on_closed: Callable[[], None] | None = None
        #: The reactor's note of this connection's timer (the reactor's business).
        self.timer_due: float | None = None
        self._reactor: Reactor | None = None
        self._clock = clock
        self._next_ping = clock() + ping_interval
        # When waiting output last made no progress (send timeout), and how
        # long we still wait for the client's answering close.
        self._stalled_since: float | None = None
        self._linger_until: float | None = None
        self._read_paused = False
        self._ended = False
        self._released = False
        self._owned = False
        # Compression off: strip the client's offer, so that wsproto never
        # negotiates permessage-deflate (CPU and memory per connection, and a
        # known side channel for secrets in the same stream).
        clean = {k: v for k, v in environ.items() if k != "HTTP_SEC_WEBSOCKET_EXTENSIONS"}
        sock, self.mode = socket_of(clean)
        self._ws = ServerProtocol(max_message_size)
        answer = self._ws.handshake(clean)
        del clean
        sock.sendall(answer)  # still a blocking socket (see _prepare)
        self._sock: socket.socket = sock
        self._direct = False
        # Text and pong frames, nearly all a client sends, are read by stgo
        # itself until a frame it leaves to wsproto (which from then on
        # reads everything).
        self._reader = FrameReader(max_message_size)
        self._prepare()

    def _prepare(self) -> None:
        sock = self._sock
        with contextlib.suppress(OSError):  # the socket may already be gone
            sock.setblocking(False)
            # Direct sends from other threads: only on a plain socket (a TLS
            # one must not be read and written by two threads at once).
            self._direct = type(sock) is socket.socket and os.name == "posix"
            # Pushes are small writes, often two in a row (a broadcast, then
            # the ack): with Nagle on, the second waits for the client's
            # delayed ACK (40 ms on Linux).
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    @property
    def sock(self) -> socket.socket:
        """The connection's socket (to take it over from the server: :meth:`own`)."""
        return self._sock

    def own(self, sock: socket.socket) -> None:
        """Use *sock* (the same connection, detached from the WSGI server)
        from now on, and close it at the end."""
        self._sock = sock
        self._owned = True
        self._prepare()

    def fileno(self) -> int:
        return self._sock.fileno()

    # -- any thread ------------------------------------------------------------------

    @property
    def open(self) -> bool:
        """Whether messages can still be queued."""
        return self.state is ConnectionState.OPEN

    @property
    def queued_bytes(self) -> int:
        """Bytes waiting for this client (its outbox and frames on their way)."""
        with self._lock:
            return self._outbox.bytes + self._chunk_bytes - self._offset

    def send(self, text: str, key: OutKey | None = None) -> bool:
        """Send or queue *text*; return ``False`` if the connection is closing.

        Never blocks on the network: with nothing waiting, the frame is
        written at once as far as the socket takes it, and the loop sends
        the rest.  A full outbox closes the connection (the client is not
        reading) with 1008.

        :param key: ``(op, widget_id, draw)`` when *text* is one op on one
            widget (:data:`~stgo.protocol.OutKey`), or
            :data:`~stgo.protocol.RENDER_KEY` for a full render: a newer
            message of the same op and widget replaces one that waits, an
            older one is dropped (see :mod:`stgo.transport.outbox`).
        """
        with self._lock:
            if self.state is not ConnectionState.OPEN:
                return False
            if self._outbox.merge(text, key):
                return True
            reactor = self._reactor
            if not (self._direct and not self._outbox and not self._chunks
                    and not self._writing) or (
                    reactor is not None and reactor.batching == threading.get_ident()):
                return self._queue(text, key)
            self._writing = True
        return self._send_now(text)

    @property
    def render_waiting(self) -> bool:
        """Whether a full render waits in the outbox."""
        with self._lock:
            return self._outbox.render_waiting

    def _queue(self, text: str, key: OutKey | None) -> bool:
        # Called with the lock held.
        if not self._outbox.add(text, key, self._chunk_bytes - self._offset):
            self._drop("outbox full")
            return False
        self._kick()
        return True

    def _kick(self) -> None:
        # Called with the condition held: tell the loop there is work.
        if not self._kicked and self._reactor is not None:
            self._kicked = True
            self._reactor.notify(self)

    def _send_now(self, text: str) -> bool:
        """Write *text* from this thread without waiting on the network (we
        hold the writing turn); leave what the socket does not take to the loop."""
        frame = text_frame(text)
        failed = False
        try:
            n = self._sock.send(frame)
        except _WOULD_BLOCK:
            n = 0
        except OSError:
            n, failed = 0, True  # the client is gone; the loop sees it too
        with self._lock:
            self._writing = False
            if n < len(frame) and not failed:
                # First in line: whatever joined meanwhile came after it.
                self._chunks.insert(0, frame[n:] if n else frame)
                self._chunk_bytes += len(frame) - n
                if self._stalled_since is None:
                    self._stalled_since = self._clock()
            if failed or self._chunks or self._outbox or self._close_request is not None:
                self._kick()
        return not failed

    def close(self, code: int = CLOSE_NORMAL, reason: str = "", final: str | None = None) -> None:
        """Send *final* (if any) after what waits, then close with *code*."""
        with self._lock:
            if self.state is not ConnectionState.OPEN:
                return
            if final is not None:
                self._outbox.add_final(final)
            self.state = ConnectionState.CLOSING
            self._close_request = (code, reason)
            self._kick()

    def _drop(self, reason: str) -> None:
        # Called with the condition held: the client does not keep up.  What
        # waits is thrown away (it is what fills the memory); the close goes
        # after the frames already on their way.
        self.state = ConnectionState.CLOSING
        self._close_request = (CLOSE_POLICY, "client too slow")
        self.dropped_reason = self.dropped_reason or reason
        self._outbox.clear()
        self._kick()

    def _append(self, data: bytes) -> None:
        # The protocol's own frames (pongs, pings, closes), on the loop's thread.
        with self._lock:
            if self.state is ConnectionState.CLOSED or not data:
                return
            self._chunks.append(data)
            self._chunk_bytes += len(data)

    # -- the loop's thread ---------------------------------------------------------------

    def attached(self, reactor: Reactor) -> None:
        """*reactor* serves this connection from now on."""
        with self._lock:
            self._reactor = reactor
            self._kicked = False

    @property
    def finished(self) -> bool:
        """Whether the connection is over (the loop then forgets and releases it)."""
        return self._ended

    @property
    def wants_read(self) -> bool:
        return not self._ended and not self._read_paused

    @property
    def wants_write(self) -> bool:
        with self._lock:
            return bool(self._chunks) and not self._writing

    @property
    def deadline(self) -> float | None:
        """When :meth:`on_timer` is due next."""
        due = self._linger_until
        if due is None and self._ws.connected:
            due = self._next_ping
        with self._lock:
            stalled = self._stalled_since if self._chunks else None
        if stalled is not None:
            give_up = stalled + self._send_timeout
            due = give_up if due is None else min(due, give_up)
        return due

    def on_readable(self) -> None:
        """Take what the client sent: messages go to :attr:`on_message`; pings
        and a close are answered (by
        :class:`~stgo.transport.wsproto_server.ServerProtocol`, after
        :class:`~stgo.transport.wsio.FrameReader` for the common ones)."""
        try:
            data = self._sock.recv(_RECEIVE_BYTES)
            pending = getattr(self._sock, "pending", None)
            while pending is not None and pending():
                # TLS: decrypted bytes the selector cannot see.
                data += self._sock.recv(_RECEIVE_BYTES)
        except _WOULD_BLOCK:
            return
        except OSError:
            data = b""
        ws = self._ws
        if not data:
            ws.connected = False
            self._end()
            return
        if not ws.connected:
            self._reader.active = False  # lingering after our close: wsproto's
        data, pong = self._reader.feed(data, ws.messages)
        if pong:
            ws.pong_received = True
        if data:
            # (Lingering for the client's answer to our close: it is taken.)
            answer = ws.receive(data)
            if answer:
                self._append(answer)
        # Stop handing on messages once a close is requested (abuse, a full
        # outbox): a client flooding faster than we dispatch would otherwise
        # keep the close waiting.
        while ws.messages and self.state is ConnectionState.OPEN:
            self.on_message(ws.messages.pop(0))
        if not ws.connected:
            with self._lock:
                if self.state is ConnectionState.OPEN:
                    self.state = ConnectionState.CLOSING
        self.on_writable()

    def on_writable(self) -> None:
        """Write what waits, as far as the socket takes it; then close if asked."""
        with self._lock:
            self._kicked = False
            if self._writing or self._ended:
                return
            self._writing = True
        failed = False
        progressed = False
        try:
            while True:
                texts: list[str] = []
                close: tuple[int, str] | None = None
                with self._lock:
                    # Frames as soon as little is on its way (what waits in the
                    # outbox can still merge), or before the count bound is hit.
                    if (self._chunk_bytes - self._offset < _LOW_WATER
                            or self._outbox.pressing):
                        if self._outbox:
                            texts = self._outbox.take()
                        elif self._close_request is not None and not self._close_sent:
                            close, self._close_sent = self._close_request, True
                    head = self._chunks[0] if self._chunks else None
                    start = self._offset
                if texts:
                    data = b"".join([text_frame(t) for t in texts])
                    texts.clear()  # a sent page render must not live on while we wait
                    self._append(data)
                    continue
                if close is not None:
                    self._append(self._ws.close(close[0], close[1]))
                    continue
                if head is None:
                    break
                try:
                    n = self._sock.send(memoryview(head)[start:start + _WRITE_BYTES])
                except _WOULD_BLOCK:
                    n = 0
                except OSError:
                    failed = True
                    break
                with self._lock:
                    if n:
                        progressed = True
                        self._offset += n
                        if self._offset >= len(self._chunks[0]):
                            self._chunk_bytes -= len(self._chunks.pop(0))
                            self._offset = 0
                if n == 0:
                    break
        finally:
            with self._lock:
                self._writing = False
                if not self._chunks:
                    self._stalled_since = None
                elif progressed or self._stalled_since is None:
                    self._stalled_since = self._clock()
                drained = not self._chunks
                queued = self._outbox.bytes + self._chunk_bytes - self._offset
        if failed:
            self._ws.connected = False
            self._end()
            return
        # Backed up: stop reading this client until most of it is out.
        if queued > self._max_queued_bytes // 2:
            self._read_paused = True
        elif queued <= self._max_queued_bytes // 4:
            self._read_paused = False
        if drained and (self._close_sent or not self._ws.connected):
            if self._ws.closing:
                # Our close went out: give the client a moment to answer it.
                self._read_paused = False
                if self._linger_until is None:
                    self._linger_until = self._clock() + CLOSE_LINGER
            else:
                self._end()

    def on_timer(self, now: float) -> None:
        """Drop a client that leaves output unread; end a linger; ping."""
        with self._lock:
            stalled = self._stalled_since if self._chunks else None
        if stalled is not None and now >= stalled + self._send_timeout:
            self.dropped_reason = self.dropped_reason or "send timed out"
            self._end()
            return
        if self._linger_until is not None and now >= self._linger_until:
            self._end()
            return
        ws = self._ws
        if not ws.connected or now < self._next_ping:
            return
        self._next_ping = max(now, self._next_ping) + self._ping_interval
        if self._read_paused:
            return  # its pong may wait unread behind its other input
        if not ws.pong_received:
            # As simple-websocket's reader did: 1008 without telling why.
            self.dropped_reason = self.dropped_reason or "no answer to ping"
            with self._lock:
                if self.state is ConnectionState.OPEN:
                    self.state = ConnectionState.CLOSING
                self._close_sent = True
            self._append(ws.close(CLOSE_POLICY, "Ping/Pong timeout"))
        else:
            self._append(ws.ping())
        self.on_writable()

    def _end(self) -> None:
        self._ended = True
        with self._lock:
            if self.state is ConnectionState.OPEN:
                self.state = ConnectionState.CLOSING

    def abort(self, why: str) -> None:
        """End at once, without a closing handshake (the loop is going away)."""
        log.debug("connection aborted: %s", why)
        self._ended = True
        self.release()

    def release(self) -> None:
        """Let go of the socket (once) and tell :attr:`on_closed`."""
        with self._lock:
            if self._released:
                return
            self._released = True
            self.state = ConnectionState.CLOSED
            self._ended = True
            writing = self._writing
        # No thread may touch the socket once it is closed: its number is
        # reused.  A direct send never blocks, so this wait is short.
        while writing:
            time.sleep(0.001)
            with self._lock:
                writing = self._writing
        with self._lock:
            self._outbox.clear()
            self._chunks.clear()
            self._chunk_bytes = self._offset = 0
            self._reactor = None
        with contextlib.suppress(OSError):
            if self._owned:
                self._sock.close()
            else:
                # The server closes it: shut it down so that it reads a
                # clean end of stream instead of our client's frames.
                self._sock.shutdown(socket.SHUT_RDWR)
        callback, self.on_closed = self.on_closed, None
        if callback is not None:
            try:
                callback()
            except Exception:
                log.exception("cleaning up a connection failed")

    def serve(self, on_message: Callable[[str | bytes], None]) -> None:
        """Run the connection on this thread until it ends (thread-per-connection)."""
        self.on_message = on_message
        Reactor(clock=self._clock).serve_one(self)

    @property
    def awaiting_pong(self) -> bool:
        """Whether a ping went out whose answer has not been read yet."""
        return not self._ws.pong_received

    @property
    def too_big(self) -> bool:
        """Whether the client was closed (1009) for a message over the size limit."""
        return self._ws.too_big

    @property
    def close_code(self) -> int | None:
        """The close code the client sent, if it closed."""
        return int(self._ws.close_code)


def _ignore(data: str | bytes) -> None:
    pass
