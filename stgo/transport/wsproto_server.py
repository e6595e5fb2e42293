"""One server-side WebSocket's protocol state, on wsproto's public API.

:class:`ServerProtocol` does the handshake of a WSGI upgrade request and
turns what the client sends into messages and the bytes to answer with
(pongs, the close reply, a close for a message over the limit).  It owns no
thread and writes nothing after the handshake: the connection
(:class:`~stgo.transport.ws.Connection`) queues what it returns.  This is
what simple-websocket's ``Server`` did for stgo, without its reader thread
and without reaching into its internals.
"""

from __future__ import annotations

import contextlib
import socket
from typing import Any

from wsproto import ConnectionType, WSConnection
from wsproto.connection import ConnectionState
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Ping,
    Pong,
    Request,
    TextMessage,
)
from wsproto.extensions import PerMessageDeflate
from wsproto.frame_protocol import CloseReason
from wsproto.utilities import LocalProtocolError

__all__ = ["ServerProtocol", "socket_of"]


def socket_of(environ: dict[str, Any]) -> tuple[socket.socket, str]:
    """The upgraded request's socket and the server it came from:
    ``"werkzeug"``, ``"gunicorn"``, ``"eventlet"`` or ``"gevent"`` (where
    each server leaves it in the environ, as simple-websocket finds it).

    :raises RuntimeError: the environ holds no socket.
    """
    if "werkzeug.socket" in environ:
        return environ["werkzeug.socket"], "werkzeug"
    if "gunicorn.socket" in environ:
        return environ["gunicorn.socket"], "gunicorn"
    if "eventlet.input" in environ:  # pragma: no cover - not installed here
        return environ["eventlet.input"].get_socket(), "eventlet"
    if str(environ.get("SERVER_SOFTWARE", "")).startswith("gevent"):  # pragma: no cover
        wsgi_input = environ["wsgi.input"]
        if not hasattr(wsgi_input, "raw") and hasattr(wsgi_input, "rfile"):
            wsgi_input = wsgi_input.rfile
        if hasattr(wsgi_input, "raw"):
            sock = wsgi_input.raw._sock  # gevent's own layout (there is no public way)
            with contextlib.suppress(NotImplementedError):
                sock = sock.dup()
            return sock, "gevent"
    raise RuntimeError("Cannot obtain socket from WSGI environment.")


class ServerProtocol:
    """wsproto's server side of one WebSocket, after the handshake.

    :param max_message_size: largest client message in bytes; a bigger one
        is answered with a 1009 close.
    """

    __slots__ = ("_ws", "_max_message_size", "_incoming", "_incoming_len", "connected",
                 "pong_received", "close_code", "messages")

    def __init__(self, max_message_size: int) -> None:
        self._ws = WSConnection(ConnectionType.SERVER)
        self._max_message_size = max_message_size
        self._incoming: str | bytes | bytearray | None = None
        self._incoming_len = 0
        #: Whether the connection is open (no close sent or received).
        self.connected = False
        #: Whether the last ping was answered (a pong came since).
        self.pong_received = True
        #: The close code the client sent (1005 until one comes).
        self.close_code: int = CloseReason.NO_STATUS_RCVD
        #: Whole messages received, oldest first (the caller takes them).
        self.messages: list[str | bytes] = []

    def handshake(self, environ: dict[str, Any]) -> bytes:
        """Accept the upgrade request in *environ* (its ``HTTP_*`` headers);
        return the response to write.

        :raises ConnectionError: the request is not a WebSocket handshake.
        """
        head = b"GET / HTTP/1.1\r\n"
        for key, value in environ.items():
            if key.startswith("HTTP_"):
                name = "-".join([part.capitalize() for part in key[5:].split("_")])
                head += f"{name}: {value}\r\n".encode()
        self._ws.receive_data(head + b"\r\n")
        out = b""
        for event in self._ws.events():
            if isinstance(event, Request):
                out += self._ws.send(AcceptConnection(extensions=[PerMessageDeflate()]))
                self.connected = True
        if not self.connected:
            raise ConnectionError("not a WebSocket handshake")
        return out

    @property
    def closing(self) -> bool:
        """Whether our close went out and the client's answer has not come."""
        return self._ws.state is ConnectionState.LOCAL_CLOSING

    @property
    def too_big(self) -> bool:
        """Whether a message over the size limit ended the connection."""
        return self._incoming_len > self._max_message_size

    def receive(self, data: bytes) -> bytes:
        """Take *data* from the client: whole messages join :attr:`messages`;
        return what to answer (pongs, the close reply or a 1009 close).

        After the connection is closed, what comes (the client's answer to
        our close) is read and dropped.
        """
        try:
            self._ws.receive_data(data)
            if not self.connected:
                for _ in self._ws.events():
                    pass
                return b""
            return self._handle_events()
        except LocalProtocolError:
            self.connected = False
            return b""

    def _handle_events(self) -> bytes:
        out = b""
        for event in self._ws.events():
            try:
                if isinstance(event, CloseConnection):
                    out += self._ws.send(event.response())
                    self.close_code = event.code
                    self.connected = False
                elif isinstance(event, Ping):
                    out += self._ws.send(event.response())
                elif isinstance(event, Pong):
                    self.pong_received = True
                elif isinstance(event, (TextMessage, BytesMessage)):
                    self._incoming_len += len(event.data)
                    if self._incoming_len > self._max_message_size:
                        out += self._ws.send(CloseConnection(
                            CloseReason.MESSAGE_TOO_BIG, "Message is too big"))
                        self.connected = False
                        break
                    self._collect(event)
            except LocalProtocolError:
                out = b""
                self.connected = False
        return out

    def _collect(self, event: TextMessage | BytesMessage) -> None:
        # A message in several frames is gathered in a bytearray.
        part = event.data
        incoming = self._incoming
        if incoming is None:
            incoming = part
        elif isinstance(incoming, bytearray):
            incoming += part.encode() if isinstance(part, str) else part
        elif isinstance(incoming, str):
            incoming = bytearray((incoming + part).encode() if isinstance(part, str)
                                 else incoming.encode() + part)
        else:
            incoming = bytearray(incoming + (part.encode() if isinstance(part, str) else part))
        if not event.message_finished:
            self._incoming = incoming
            return
        if isinstance(incoming, bytearray):
            whole: str | bytes = (incoming.decode() if isinstance(event, TextMessage)
                                  else bytes(incoming))
        else:
            whole = incoming
        self.messages.append(whole)
        self._incoming = None
        self._incoming_len = 0

    def ping(self) -> bytes:
        """A ping to send (its pong sets :attr:`pong_received`)."""
        self.pong_received = False
        return self._ws.send(Ping())

    def close(self, code: int, reason: str = "") -> bytes:
        """The close frame to send (nothing if already closed)."""
        if not self.connected:
            return b""
        self.connected = False
        return self._ws.send(CloseConnection(code, reason))
