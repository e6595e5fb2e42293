"""The request handler of stgo's server: Werkzeug's, made fit to run for long."""

from __future__ import annotations

import io
import re
import time
from typing import TYPE_CHECKING, Any

from werkzeug.serving import WSGIRequestHandler

from ..ids import redact
from ..transport.wsio import BODY_DEADLINE, TAKE_OVER
from .headgate import HeadReader

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

__all__ = ["RequestHandler", "scrub", "HANDLER_TIMEOUT", "HEAD_TIMEOUT"]

# Secrets that travel in URLs: the one-time rotation token
# (``session/rotate?token=``), and a session ID that an old client (or a
# prober) still puts in ``/ws?session=`` although the server ignores it.
_SECRET_IN_URL = re.compile(r"((?:session|token)=)([^&\s\"]+)")

#: Seconds a silent TCP client may hold a handler thread (see :class:`Server`).
HANDLER_TIMEOUT = 30.0

#: Seconds a client has to send a whole request head (see :class:`Server`).
HEAD_TIMEOUT = 10.0


def scrub(text: str) -> str:
    """Replace session IDs and rotation tokens in a request line by their keyed hash."""
    return _SECRET_IN_URL.sub(lambda m: m.group(1) + redact(m.group(2)), text)


class RequestHandler(WSGIRequestHandler):
    """Werkzeug's handler, with changes for a long-running app server.

    - a socket timeout, so a TCP client that connects and says nothing (or
      leaves a keep-alive connection idle) frees its thread; a WebSocket sets
      its own timeout after the upgrade, so live connections are spared;
    - a deadline for the whole request head (:attr:`head_timeout`), so that
      a client sending a byte at a time cannot hold the thread for long;
    - no version in the ``Server`` header;
    - access-log lines with rotation tokens (``session/rotate?token=``)
      replaced by a keyed hash.
    """

    #: Seconds a silent client may hold a handler thread (``Server(handler_timeout=)``).
    timeout = HANDLER_TIMEOUT
    #: Seconds for a whole request head, keep-alive wait included (``Server(head_timeout=)``).
    head_timeout = HEAD_TIMEOUT

    _head: HeadReader | None = None

    def setup(self) -> None:
        super().setup()
        take = getattr(self.server, "take_head", None)
        prefix: bytes = take(self.connection) if take is not None else b""
        self._head = HeadReader(self.connection, prefix, self.timeout)
        self.rfile = io.BufferedReader(self._head)

    def handle_one_request(self) -> None:
        if self._head is not None:
            self._head.deadline = time.monotonic() + self.head_timeout
        super().handle_one_request()

    def parse_request(self) -> bool:
        ok = bool(super().parse_request())
        if self._head is not None:
            self._head.deadline = None  # the head is in; the body has its own timeout
        return ok

    def version_string(self) -> str:
        # No versions to look up vulnerabilities by.
        return "stgo"

    def make_environ(self) -> WSGIEnvironment:
        environ = super().make_environ()
        environ[TAKE_OVER] = self._hand_over
        environ[BODY_DEADLINE] = self._body_deadline
        return environ

    def _body_deadline(self, seconds: float) -> None:
        # An upload's body must be in by then (see stgo.web.transfers): a client
        # that trickles it frees its thread.
        if self._head is not None:
            self._head.deadline = time.monotonic() + seconds

    def _hand_over(self) -> None:
        # The app took the socket (an upgraded WebSocket): read no further
        # request from it.
        self.close_connection = True

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        self.requestline = scrub(self.requestline)
        super().log_request(code, size)

    def log(self, type: str, message: str, *args: Any) -> None:
        super().log(type, scrub(message % args) if args else scrub(message))
