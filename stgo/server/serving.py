"""The built-in server: Werkzeug's threaded WSGI server with graceful shutdown.

It serves anything that is :class:`Servable` (the App is): it never imports
the App, which imports it only inside :meth:`App.run <stgo.App.run>`.
"""

from __future__ import annotations

import contextlib
import logging
import selectors
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sized
from types import FrameType
from typing import TYPE_CHECKING, Any, Protocol

from werkzeug.serving import ThreadedWSGIServer

from ..transport.ws import CLOSE_LINGER
from .binding import listen
from .handler import HANDLER_TIMEOUT, HEAD_TIMEOUT, RequestHandler
from .headgate import IDLE_TIMEOUT, HeadGate

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

    from .reload import Reloadable

__all__ = ["serve", "Server", "Servable", "RequestHandler", "listen", "HEAD_TIMEOUT"]

log = logging.getLogger("stgo")


class Servable(Protocol):
    """What the server needs of the app it serves (the App is one): a WSGI
    callable that it tells where it listens, starts and stops."""

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse
                 ) -> Iterable[bytes]: ...

    def listening_on(self, host: str) -> None: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...

    @property
    def hub(self) -> Sized:
        """The open connections (how many: ``len``)."""

    @property
    def page_title(self) -> str: ...


class _GatedServer(ThreadedWSGIServer):
    """Werkzeug's threaded server, with a :class:`HeadGate` before the threads.

    It serves the listening socket *fd* (Werkzeug keeps a duplicate of it);
    *shared*: other processes accept on it too. Its handler threads are
    daemons (so a stuck client cannot block exit).
    """

    def __init__(self, host: str, port: int, app: Servable, handler: type[RequestHandler],
                 head_timeout: float, fd: int, shared: bool, idle_timeout: float) -> None:
        super().__init__(host, port, app, handler, fd=fd)
        if shared:
            # A socket shared with other processes (``--workers``): all of
            # them wake for each connection and one wins the accept; blocking,
            # the losers would wait in accept() and could not shut down.
            self.socket.setblocking(False)
        self._heads: dict[socket.socket, bytes] = {}
        self._heads_lock = threading.Lock()
        self.gate = HeadGate(head_timeout, self._start_handler, idle_timeout)

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, address = super().get_request()
        # From a shared (non-blocking) listener, BSDs make the connection
        # non-blocking too; its handler expects a blocking socket.
        sock.setblocking(True)
        return sock, address

    def process_request(self, request: Any, client_address: Any) -> None:
        self.gate.admit(request, client_address)

    def _start_handler(self, sock: socket.socket, address: Any, head: bytes) -> None:
        with self._heads_lock:
            self._heads[sock] = head
        try:
            super().process_request(sock, address)
        except Exception:  # no thread to be had: drop this one, keep serving
            log.exception("could not start a handler thread")
            self.take_head(sock)
            sock.close()

    def take_head(self, sock: socket.socket) -> bytes:
        """What the gate read of *sock* before its handler started (once)."""
        with self._heads_lock:
            return self._heads.pop(sock, b"")

    def server_close(self) -> None:
        # Werkzeug calls this in its __init__ too, given an fd: before the gate.
        gate: HeadGate | None = getattr(self, "gate", None)
        if gate is not None:
            gate.close()
        super().server_close()


class Server:
    """A running server for *app*; :meth:`stop` ends it gracefully.

    :param port: ``0`` picks a free port; read the chosen one from :attr:`port`.
    :param handler_timeout: seconds a connection may stay silent once its
        handler thread runs (30), reading a request body, say.  A WebSocket
        has its own timeouts once upgraded.
    :param head_timeout: seconds a client has to send a whole request head
        (10), from connecting (or from its previous response, on a keep-alive
        connection); past it the connection is closed (408).  Until its head
        is in, a connection waits on one shared thread, not its own.
    :param idle_timeout: seconds a new connection that sends nothing is kept
        (90; at least *head_timeout*): a browser's spare one, which the
        browser closes itself (see :class:`~stgo.server.headgate.HeadGate`).
    :param fd: a listening socket to serve instead of binding *host*:*port*
        (one that ``stgo run --workers`` shares between its workers).
    :raises OSError: without *fd*, *host*:*port* cannot be bound (taken, say).
    """

    def __init__(self, app: Servable, host: str = "127.0.0.1", port: int = 8501, *,
                 handler_timeout: float = HANDLER_TIMEOUT,
                 head_timeout: float = HEAD_TIMEOUT, idle_timeout: float = IDLE_TIMEOUT,
                 fd: int | None = None) -> None:
        self.app = app

        class Handler(RequestHandler):
            # A subclass per server: the settings stay with this server.
            timeout = handler_timeout

        Handler.head_timeout = head_timeout
        app.listening_on(host)
        if fd is None:
            with listen(host, port) as own:
                self._server = _GatedServer(host, port, app, Handler, head_timeout,
                                            own.fileno(), shared=False, idle_timeout=idle_timeout)
        else:
            self._server = _GatedServer(host, port, app, Handler, head_timeout, fd, shared=True,
                                        idle_timeout=idle_timeout)
        self._thread: threading.Thread | None = None
        self._stopped = threading.Event()

    @property
    def waiting_heads(self) -> int:
        """Connections accepted whose request head is not in yet (no thread each)."""
        return len(self._server.gate)

    @property
    def host(self) -> str:
        return str(self._server.server_address[0])

    @property
    def port(self) -> int:
        # Not ``server_port``: Werkzeug given an ``fd`` never binds, which sets it.
        return int(self._server.server_address[1])

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
        if self._thread is not None:
            # shutdown() waits for serve_forever(): only once it was started
            # (app.start() may have refused to start, say without its store).
            self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(5)

    def wait(self) -> None:
        """Block until :meth:`stop` was called."""
        while not self._stopped.wait(0.5):
            pass


def serve(app: Reloadable, host: str = "127.0.0.1", port: int = 8501, *, reload: bool = False,
          url_file: Any = None, handler_timeout: float = HANDLER_TIMEOUT,
          head_timeout: float = HEAD_TIMEOUT, fd: int | None = None,
          on_ready: Callable[[Server], None] | None = None) -> None:
    """Serve *app* until SIGINT or SIGTERM, then stop gracefully.

    Prints one line with the URL once listening, or instead calls *on_ready*
    with the running :class:`Server` (a worker of ``stgo run --workers``,
    whose supervisor prints the line once for all).

    :param handler_timeout: see :class:`Server` (30 s).
    :param head_timeout: see :class:`Server` (10 s).
    :param fd: see :class:`Server`.
    """
    if reload:
        from .reload import serve_reloading

        serve_reloading(app, host, port)
        return
    server = Server(app, host, port, handler_timeout=handler_timeout, head_timeout=head_timeout,
                    fd=fd)
    # The handler only notes the signal: it runs on the main thread between
    # two of its bytecodes, and a lock it took (Event.set takes one) could be
    # the one the interrupted code holds, for ever.  The byte the interpreter
    # writes to the wake-up socket ends the wait below at once.
    stop = _StopFlag()
    wake_r, wake_w = socket.socketpair()
    wake_r.setblocking(False)
    wake_w.setblocking(False)
    previous_fd = signal.set_wakeup_fd(wake_w.fileno())
    previous = {sig: signal.signal(sig, stop.note) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        server.start()
        if on_ready is not None:
            on_ready(server)
        else:
            print(f"stgo: serving {app.page_title!r} at {server.url}",
                  file=url_file or sys.stdout, flush=True)
        with selectors.DefaultSelector() as selector:
            selector.register(wake_r, selectors.EVENT_READ)
            while not stop.requested:
                selector.select(0.5)
                with contextlib.suppress(OSError):
                    while wake_r.recv(4096):
                        pass
        log.info("stopping: closing connections and ending sessions")
    finally:
        # More signals meanwhile only note again: the stop is not interrupted.
        server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        signal.set_wakeup_fd(previous_fd)
        wake_r.close()
        wake_w.close()


class _StopFlag:
    """What a signal handler may do safely: set an attribute (no lock)."""

    def __init__(self) -> None:
        self.requested = False

    def note(self, signum: int, frame: FrameType | None) -> None:
        self.requested = True


