"""The built-in server: Werkzeug's threaded WSGI server with graceful shutdown."""

from __future__ import annotations

import logging
import re
import signal
import socket
import sys
import threading
import time
from types import FrameType
from typing import TYPE_CHECKING, Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from .ids import redact
from .ws import CLOSE_LINGER

if TYPE_CHECKING:
    from .app import App

__all__ = ["serve", "Server", "RequestHandler"]

log = logging.getLogger("stgo")

# Secrets that travel in URLs: the session ID (``/ws?session=``) and the
# one-time rotation token (``session/rotate?token=``).
_SECRET_IN_URL = re.compile(r"((?:session|token)=)([^&\s\"]+)")

#: Seconds a silent TCP client may hold a handler thread (see :class:`Server`).
HANDLER_TIMEOUT = 30.0


def scrub(text: str) -> str:
    """Replace session IDs and rotation tokens in a request line by their keyed hash."""
    return _SECRET_IN_URL.sub(lambda m: m.group(1) + redact(m.group(2)), text)


class RequestHandler(WSGIRequestHandler):
    """Werkzeug's handler, with two changes for a long-running app server.

    - a socket timeout, so a TCP client that connects and says nothing (or
      leaves a keep-alive connection idle) frees its thread; a WebSocket sets
      its own timeout after the upgrade, so live connections are spared;
    - access-log lines with the session ID in ``/ws?session=`` replaced by a
      keyed hash.
    """

    #: Seconds a silent client may hold a handler thread (``Server(handler_timeout=)``).
    timeout = HANDLER_TIMEOUT

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        self.requestline = scrub(self.requestline)
        super().log_request(code, size)

    def log(self, type: str, message: str, *args: Any) -> None:
        super().log(type, scrub(message % args) if args else scrub(message))


class Server:
    """A running server for *app*; :meth:`stop` ends it gracefully.

    :param port: ``0`` picks a free port; read the chosen one from :attr:`port`.
    :param handler_timeout: seconds a connection may stay silent before its
        request is read (30); a TCP client that connects and sends nothing
        then frees its thread.  A WebSocket has its own timeouts once upgraded.
    """

    def __init__(self, app: App, host: str = "127.0.0.1", port: int = 8501, *,
                 handler_timeout: float = HANDLER_TIMEOUT) -> None:
        self.app = app

        class Handler(RequestHandler):
            # A subclass per server: the setting stays with this server.
            timeout = handler_timeout

        self._server: BaseWSGIServer = make_server(
            host, port, app, threaded=True, request_handler=Handler
        )
        # make_server(threaded=True) gives a ThreadedWSGIServer, whose handler
        # threads are already daemons (so a stuck client cannot block exit).
        self._thread: threading.Thread | None = None
        self._stopped = threading.Event()

    @property
    def host(self) -> str:
        return str(self._server.server_address[0])

    @property
    def port(self) -> int:
        return int(self._server.server_port)

    @property
    def url(self) -> str:
        host = self.host if ":" not in self.host else f"[{self.host}]"
        return f"http://{host}:{self.port}/"

    def start(self) -> None:
        """Start serving in a background thread."""
        self.app.start()
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.2},
            name="stgo-server", daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        """Close every WebSocket (1001), end every session (``shutdown``), stop
        the cleanup thread, and close the listening socket.  Idempotent."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        self.app.stop()
        # The close frames are written by the connections' own (daemon)
        # threads: give them a bounded moment, or the process may exit first
        # and clients see a dropped socket instead of 1001.
        deadline = time.monotonic() + CLOSE_LINGER + 1.0
        while len(self.app.hub) and time.monotonic() < deadline:
            time.sleep(0.01)
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(5)

    def wait(self) -> None:
        """Block until :meth:`stop` was called."""
        while not self._stopped.wait(0.5):
            pass


def serve(app: App, host: str = "127.0.0.1", port: int = 8501, *, reload: bool = False,
          url_file: Any = None, handler_timeout: float = HANDLER_TIMEOUT) -> None:
    """Serve *app* until SIGINT or SIGTERM, then stop gracefully.

    Prints one line with the URL once listening (the only ``print`` in stgo).

    :param handler_timeout: see :class:`Server` (30 s).
    """
    if reload:
        _serve_reloading(app, host, port)
        return
    server = Server(app, host, port, handler_timeout=handler_timeout)
    stop_requested = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop_requested.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        server.start()
        print(f"stgo: serving {app.page_title!r} at {server.url}", file=url_file or sys.stdout,
              flush=True)
        while not stop_requested.wait(0.5):
            pass
        log.info("stopping: closing connections and ending sessions")
    finally:
        server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _serve_reloading(app: App, host: str, port: int) -> None:
    from werkzeug.serving import is_running_from_reloader, run_simple

    if is_running_from_reloader():
        app.start()
    elif port == 0:
        # The reloader's child serves a socket the parent binds; pick the
        # port here so that the URL line names the real one.
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            probe.bind((host, 0))
            port = probe.getsockname()[1]
    display = f"http://{host}:{port}/"
    if not is_running_from_reloader():
        print(f"stgo: serving {app.page_title!r} at {display} (reloading on change)", flush=True)
    try:
        run_simple(host, port, app, threaded=True, use_reloader=True,
                   request_handler=RequestHandler)
    finally:
        app.stop()
