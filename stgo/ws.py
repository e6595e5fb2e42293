"""One WebSocket connection: a bounded outbox and the loop that serves it.

Each connection costs one thread: the WSGI handler thread that accepted it.
It reads the socket (simple-websocket's handshake and frame handling, without
its reader thread), answers pings and closes, runs the connection's events and
writes whatever has to wait.  :meth:`Connection.send` never blocks on the
network: when nothing is waiting it writes the frame at once, from the calling
thread, without waiting (a broadcast to 1,000 tabs then wakes no thread at
all); what the socket does not take, and everything after it, goes to the
outbox, which the serving thread drains and which is bounded, so a client that
stops reading is dropped instead of blocking anyone.
"""

from __future__ import annotations

import contextlib
import enum
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

import simple_websocket
from wsproto.connection import ConnectionState as _WSState
from wsproto.events import Ping
from wsproto.frame_protocol import CloseReason
from wsproto.utilities import LocalProtocolError

from .wsio import InputFlag, NoReader, Poller, Waker, WholeWrites, text_frame

__all__ = [
    "Connection", "Outlet", "ConnectionState", "CLOSE_GOING_AWAY", "CLOSE_POLICY", "CLOSE_TOO_BIG",
]

log = logging.getLogger("stgo")

CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001
CLOSE_POLICY = 1008
CLOSE_TOO_BIG = 1009
CLOSE_TRY_AGAIN = 1013

# The close code simple-websocket keeps when no close frame came from the client.
_NO_STATUS_RCVD = 1005

# Bytes read from the socket at a time.
_RECEIVE_BYTES = 16384

# Reads at most, before judging a pong, to catch up with input that piled up.
_CATCH_UP_READS = 64

#: Seconds a finished connection waits for the client's answering close frame.
CLOSE_LINGER = 2.0


class Outlet(Protocol):
    """What the hub and the dispatcher need of a connection (a test double has it too)."""

    def send(self, text: str, key: tuple[str, str] | None = None) -> bool: ...

    def close(self, code: int = CLOSE_NORMAL, reason: str = "", final: str | None = None) -> None:
        ...


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
    :param send_timeout: seconds one socket write may block before the client
        is considered dead and dropped.
    :param max_queued: messages that may wait in the outbox; past that the
        client is too slow and is dropped.
    """

    def __init__(
        self,
        environ: dict[str, Any],
        *,
        max_message_size: int,
        ping_interval: float,
        send_timeout: float = 10.0,
        max_queued: int = 1000,
    ) -> None:
        self._cond = threading.Condition(threading.Lock())
        # Entries are [key, text] lists so that a waiting one can be replaced.
        # A list, not a deque: it is always drained whole, and an empty deque
        # costs ~600 bytes per connection.
        self._outbox: list[list[Any]] = []
        self._latest: dict[tuple[str, str], list[Any]] = {}
        self._max_message_size = max_message_size
        self._max_queued = max_queued
        self._close_request: tuple[int, str] | None = None
        # A thread is writing frames right now (a direct send, or the serving
        # thread draining the outbox); others queue meanwhile, to keep order.
        self._writing = False
        # The serving thread waits for a direct send to end before it writes.
        self._awaiting_writer = False
        # What a direct send left unsent; the write lock stays held for it
        # until the serving thread has sent it.
        self._handoff: bytes | None = None
        # The serving thread waits for input; queuing something must wake it.
        self._sleeping = False
        self._ping_interval = ping_interval
        self.state = ConnectionState.OPEN
        self.dropped_reason: str | None = None
        # Compression off: strip the client's offer, so that wsproto never
        # negotiates permessage-deflate (CPU and memory per connection, and a
        # known side channel for secrets in the same stream).
        clean = {k: v for k, v in environ.items() if k != "HTTP_SEC_WEBSOCKET_EXTENSIONS"}
        self._ws = simple_websocket.Server.accept(
            clean,
            ping_interval=ping_interval,
            max_message_size=max_message_size,
            event_class=InputFlag,
            thread_class=NoReader,
        )
        clean.clear()  # the handshake is done; simple-websocket keeps the dict
        self.mode: str = self._ws.mode
        raw = self._raw = self._ws.sock
        self._waker = Waker()
        self._sock = self._ws.sock = WholeWrites(raw)
        # Direct sends write the descriptor without waiting: only for a plain
        # socket (not TLS, not a green one) in non-blocking mode, on POSIX.
        self._direct = False
        with contextlib.suppress(OSError):  # the socket may already be gone
            raw.settimeout(send_timeout)
            self._direct = os.name == "posix" and type(raw) is socket.socket \
                and raw.gettimeout() is not None
            # Pushes are small writes, often two in a row (a broadcast, then
            # the ack): with Nagle on, the second waits for the client's
            # delayed ACK (40 ms on Linux).
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _wake(self) -> None:
        # Called with the condition held.
        if self._sleeping:
            self._sleeping = False
            self._waker.wake()

    # -- any thread ------------------------------------------------------------------

    @property
    def open(self) -> bool:
        """Whether messages can still be queued."""
        return self.state is ConnectionState.OPEN

    def send(self, text: str, key: tuple[str, str] | None = None) -> bool:
        """Send or queue *text*; return ``False`` if the connection is closing.

        Never blocks on the network: with nothing waiting, the frame is
        written at once as far as the socket takes it without waiting, and
        the serving thread sends the rest.  A full outbox closes the
        connection (the client is not reading) with 1008.

        :param key: ``(op, widget_id)`` when *text* is one op on one widget.
            A newer message with the same key, arriving while the older one
            still waits, replaces it: a background loop that moves a progress
            bar 10,000 times queues one message per widget, not 10,000.
        """
        with self._cond:
            if self.state is not ConnectionState.OPEN:
                return False
            if key is not None:
                waiting = self._latest.get(key)
                if waiting is not None:
                    waiting[1] = text
                    return True
            if (self._direct and not self._outbox and not self._writing
                    and self._handoff is None):
                self._writing = True
            else:
                return self._queue(text, key)
        return self._send_now(text)

    def _queue(self, text: str, key: tuple[str, str] | None) -> bool:
        # Called with the condition held.
        if len(self._outbox) >= self._max_queued:
            self._request_close(CLOSE_POLICY, "client too slow", "outbox full")
            return False
        entry = [key, text]
        self._outbox.append(entry)
        if key is None:
            # A message on many widgets: nothing queued before it may be
            # replaced any more, or an older state would land after it.
            self._latest.clear()
        else:
            self._latest[key] = entry
            if key[0] == "update":
                # A redraw carries the value; a later value op must follow it.
                self._latest.pop(("value", key[1]), None)
        self._wake()
        return True

    def _send_now(self, text: str) -> bool:
        """Write *text* from this thread without waiting on the network (we
        hold the writing turn); hand what the socket does not take to the
        serving thread."""
        sent = True
        try:
            taken, rest = self._sock.try_send(text_frame(text))
        except OSError:
            # The client is gone; the reader and the serving thread see it too.
            taken, rest, sent = True, None, False
        with self._cond:
            self._writing = False
            if not taken:
                # The serving thread holds the socket (a pong): the text goes
                # first in line, before whatever was queued meanwhile.
                self._outbox.insert(0, [None, text])
            elif rest is not None:
                if self.state is ConnectionState.CLOSED:
                    self._sock.release()
                else:
                    self._handoff = rest
            if not taken or rest is not None:
                self._wake()
            if self._awaiting_writer:
                self._cond.notify()
        return sent

    def close(self, code: int = CLOSE_NORMAL, reason: str = "", final: str | None = None) -> None:
        """Ask the serving thread to send *final* (if any), then close with *code*."""
        with self._cond:
            if self.state is not ConnectionState.OPEN:
                return
            if final is not None:
                self._outbox.append([None, final])
            self._request_close(code, reason, None)

    def _request_close(self, code: int, reason: str, dropped: str | None) -> None:
        # Called with the condition held.
        self.state = ConnectionState.CLOSING
        self._close_request = (code, reason)
        self.dropped_reason = dropped
        self._wake()

    # -- the serving thread ------------------------------------------------------------

    def serve(self, on_message: Callable[[str | bytes], None],
              idle: float | None = None) -> None:
        """Run the connection until it closes: read the socket, write what
        waits, ping, and hand each incoming message to *on_message* (on this
        thread), in order.

        :param idle: longest wait for input, in seconds, before looking again;
            ``None`` (default) waits until the next ping is due: whatever
            needs this thread (queued messages, a close) wakes it.
        """
        ws = self._ws
        poller = Poller(self._raw, self._waker)
        next_ping = time.monotonic() + self._ping_interval
        try:
            while True:
                with self._cond:
                    busy = bool(self._outbox or self._handoff is not None
                                or self._close_request is not None or ws.input_buffer)
                    self._sleeping = not busy
                wait = 0.0 if busy else next_ping - time.monotonic()
                if idle is not None:
                    wait = min(wait, idle)
                readable, woken = poller.wait(wait)
                with self._cond:
                    self._sleeping = False
                    # Our turn to write: what waits, then whatever reading
                    # answers (pongs, a close) and our pings.
                    self._await_direct_send()
                    handoff, self._handoff = self._handoff, None
                    out = [text for _, text in self._outbox]
                    self._outbox.clear()
                    self._latest.clear()
                    close = self._close_request
                    self._writing = True
                try:
                    if woken:
                        self._waker.drain()
                    if handoff is not None:
                        self._sock.send_held(handoff)
                    if out:
                        self._write(out)
                        out.clear()  # a sent page render must not live on while we wait
                    if close is not None:
                        self._finish(*close)
                        return
                    if readable:
                        self._read()
                    if ws.connected and time.monotonic() >= next_ping:
                        # The pong may wait behind other input (a long
                        # handler kept us from reading): take it all first.
                        for _ in range(_CATCH_UP_READS):
                            if not ws.connected or not poller.wait(0)[0]:
                                break
                            self._read()
                        if ws.connected:
                            next_ping = self._ping(next_ping)
                finally:
                    with self._cond:
                        self._writing = False
                if not ws.connected:
                    if self._missed_pong():
                        self.dropped_reason = "no answer to ping"
                    return
                # Stop draining once a close is requested (abuse, a full
                # outbox): a client flooding faster than we dispatch would
                # otherwise keep this loop, and the close, waiting forever.
                while self._close_request is None:
                    data = ws.receive(timeout=0)
                    if data is None:
                        break
                    on_message(data)
        except (simple_websocket.ConnectionClosed, OSError) as exc:
            if isinstance(exc, (socket.timeout, TimeoutError)):
                # Keep the first reason: a full outbox is why we were
                # waiting on this write at all.
                self.dropped_reason = self.dropped_reason or "send timed out"
            log.debug("connection ended: %s", type(exc).__name__)
        finally:
            with self._cond:
                self.state = ConnectionState.CLOSED
                # No thread may touch the socket once we return: the server
                # then closes the descriptor, and its number is reused.
                self._await_direct_send()
                handoff, self._handoff = self._handoff, None
                self._outbox.clear()
                self._latest.clear()
            if handoff is not None:
                self._sock.release()
            self._release_socket(poller)
            self._waker.close()

    def _read(self) -> None:
        """Take what the client sent: messages go to ``input_buffer``; pings and
        a close are answered (simple-websocket's own handling of frames)."""
        ws = self._ws
        try:
            data = self._raw.recv(_RECEIVE_BYTES)
            if not data:
                raise OSError("the client closed the connection")
            ws.ws.receive_data(data)
            ws.connected = ws._handle_events()
        except (OSError, LocalProtocolError):
            ws.connected = False

    def _ping(self, due: float) -> float:
        """Ping the client, or close it (1008) if the last ping got no pong,
        as simple-websocket's reader did; return when the next one is due."""
        ws = self._ws
        if not ws.pong_received:
            with contextlib.suppress(simple_websocket.ConnectionClosed, OSError):
                ws.close(reason=CloseReason.POLICY_VIOLATION, message="Ping/Pong timeout")
            ws.connected = False
            return due
        ws.pong_received = False
        self._sock.send(ws.ws.send(Ping()))
        return max(time.monotonic(), due) + self._ping_interval

    def _await_direct_send(self) -> None:
        # Called with the condition held; a direct send never blocks, so this is short.
        while self._writing:
            self._awaiting_writer = True
            self._cond.wait(0.1)
        self._awaiting_writer = False

    def _write(self, texts: list[str]) -> None:
        """Send *texts* as text frames in one write.

        The frames are built here rather than by wsproto: a server's frames
        are not masked and no extension is ever negotiated (see
        ``__init__``), so a frame is a 2-10 byte header and the UTF-8 text,
        and a burst of messages costs one system call.
        """
        ws = self._ws
        if not ws.connected:
            raise simple_websocket.ConnectionClosed(ws.close_reason, ws.close_message)
        ws.sock.send(b"".join([text_frame(t) for t in texts]))

    def _release_socket(self, poller: Poller) -> None:
        """Finish the closing handshake (bounded), then shut the socket down.

        The WSGI server still believes it holds a keep-alive HTTP connection and
        reads the socket again once we return: it would parse the client's
        answering close frame as a request line (and write a 400 into the
        WebSocket).  Reading that answer here first, then shutting the socket
        down, gives the server a clean end of stream.
        """
        ws = self._ws
        # Only when our close frame went out: after a failed write, or once
        # the client's close was answered, there is nothing to wait for.
        deadline = time.monotonic() + CLOSE_LINGER
        while ws.ws.state is _WSState.LOCAL_CLOSING:
            left = deadline - time.monotonic()
            if left <= 0 or not poller.wait(left)[0]:
                break
            try:
                data = self._raw.recv(_RECEIVE_BYTES)
            except OSError:
                break
            if not data:
                break
            ws.ws.receive_data(data)
            with contextlib.suppress(LocalProtocolError):
                for _ in ws.ws.events():
                    pass
        with contextlib.suppress(OSError):
            self._raw.shutdown(socket.SHUT_RDWR)

    def _missed_pong(self) -> bool:
        """Whether we closed the client for an unanswered ping.

        It closes (1008) without telling why; what tells it: we asked for no
        close, the client sent none (1005), no oversize message, and the last
        ping still waits for its pong.
        """
        ws = self._ws
        return (self._close_request is None and not ws.pong_received
                and ws.close_reason == _NO_STATUS_RCVD and not self.too_big)

    def _finish(self, code: int, reason: str) -> None:
        with contextlib.suppress(simple_websocket.ConnectionClosed, OSError):
            self._ws.close(code, reason)

    @property
    def too_big(self) -> bool:
        """Whether the client was closed (1009) for a message over the size limit."""
        return bool(self._ws.incoming_message_len > self._max_message_size)

    @property
    def close_code(self) -> int | None:
        """The close code the client sent, if it closed."""
        code = getattr(self._ws, "close_reason", None)
        return int(code) if code is not None else None


