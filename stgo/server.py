"""The built-in server: Werkzeug's threaded WSGI server with graceful shutdown."""

from __future__ import annotations

import contextlib
import io
import logging
import re
import selectors
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING, Any

from werkzeug.serving import (
    LISTEN_QUEUE,
    ThreadedWSGIServer,
    WSGIRequestHandler,
    get_sockaddr,
    select_address_family,
)

from .ids import redact
from .transport.ws import CLOSE_LINGER
from .transport.wsio import BODY_DEADLINE, TAKE_OVER

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

    from .app import App

__all__ = ["serve", "Server", "RequestHandler", "listen", "HEAD_TIMEOUT"]

log = logging.getLogger("stgo")

# Secrets that travel in URLs: the one-time rotation token
# (``session/rotate?token=``), and a session ID that an old client (or a
# prober) still puts in ``/ws?session=`` although the server ignores it.
_SECRET_IN_URL = re.compile(r"((?:session|token)=)([^&\s\"]+)")

#: Seconds a silent TCP client may hold a handler thread (see :class:`Server`).
HANDLER_TIMEOUT = 30.0

#: Seconds a client has to send a whole request head (see :class:`Server`).
HEAD_TIMEOUT = 10.0

# A head longer than this goes to a handler thread anyway, which refuses it
# (http.server answers 414 or 431 past 64 KiB per line).
_MAX_HEAD_BYTES = 65536 + 1024

_TIMED_OUT = b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"


def scrub(text: str) -> str:
    """Replace session IDs and rotation tokens in a request line by their keyed hash."""
    return _SECRET_IN_URL.sub(lambda m: m.group(1) + redact(m.group(2)), text)


def _head_complete(data: bytes) -> bool:
    # http.server ends the head at an empty line, "\r\n" or a bare "\n".
    return b"\n\r\n" in data or b"\n\n" in data


class _HeadReader(io.RawIOBase):
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

    _head: _HeadReader | None = None

    def setup(self) -> None:
        super().setup()
        take = getattr(self.server, "take_head", None)
        prefix: bytes = take(self.connection) if take is not None else b""
        self._head = _HeadReader(self.connection, prefix, self.timeout)
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
        # An upload's body must be in by then (see stgo.transfers): a client
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


class _HeadGate:
    """Holds new connections, on one thread, until their request head is in.

    A thread per connection from the moment of ``accept`` lets 200 clients
    that send a byte at a time (slow loris) hold 200 threads; here they hold
    a file descriptor and a small buffer each, and are closed (408) at the
    deadline.  A connection whose head is in goes on to a handler thread with
    what was read.
    """

    def __init__(self, timeout: float, dispatch: Callable[[socket.socket, Any, bytes], None]
                 ) -> None:
        self._timeout = timeout
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
                    self._forget(sock)
                    _refuse(sock)
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
        deadline = time.monotonic() + self._timeout
        for sock, address in arrivals:
            self._waiting[sock] = [address, b"", deadline]
            self._selector.register(sock, selectors.EVENT_READ)
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


def listen(host: str, port: int) -> socket.socket:
    """A listening socket on *host*:*port*, bound as Werkzeug binds its own.

    Every server binds through this (a lone one, ``--workers``' supervisor,
    the reloader's port check): a port that is taken raises :class:`OSError`
    for the caller to report, where Werkzeug would print its own message and
    exit the process.
    """
    family = select_address_family(host, port)
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(get_sockaddr(host, port, family))
        sock.listen(LISTEN_QUEUE)
    except BaseException:
        sock.close()
        raise
    return sock


def reloader_port(host: str, port: int) -> int:
    """*port* (for ``0``, one the system picks) once it could be bound: the
    check before Werkzeug's reloader binds it itself.

    :raises OSError: it cannot be bound (taken, say).
    """
    with listen(host, port) as probe:
        return int(probe.getsockname()[1])


class _GatedServer(ThreadedWSGIServer):
    """Werkzeug's threaded server, with a :class:`_HeadGate` before the threads.

    It serves the listening socket *fd* (Werkzeug keeps a duplicate of it);
    *shared*: other processes accept on it too. Its handler threads are
    daemons (so a stuck client cannot block exit).
    """

    def __init__(self, host: str, port: int, app: App, handler: type[RequestHandler],
                 head_timeout: float, fd: int, shared: bool) -> None:
        super().__init__(host, port, app, handler, fd=fd)
        if shared:
            # A socket shared with other processes (``--workers``): all of
            # them wake for each connection and one wins the accept; blocking,
            # the losers would wait in accept() and could not shut down.
            self.socket.setblocking(False)
        self._heads: dict[socket.socket, bytes] = {}
        self._heads_lock = threading.Lock()
        self.gate = _HeadGate(head_timeout, self._start_handler)

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
        gate: _HeadGate | None = getattr(self, "gate", None)
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
    :param fd: a listening socket to serve instead of binding *host*:*port*
        (one that ``stgo run --workers`` shares between its workers).
    :raises OSError: without *fd*, *host*:*port* cannot be bound (taken, say).
    """

    def __init__(self, app: App, host: str = "127.0.0.1", port: int = 8501, *,
                 handler_timeout: float = HANDLER_TIMEOUT,
                 head_timeout: float = HEAD_TIMEOUT, fd: int | None = None) -> None:
        self.app = app

        class Handler(RequestHandler):
            # A subclass per server: the settings stay with this server.
            timeout = handler_timeout

        Handler.head_timeout = head_timeout
        app.listening_on(host)
        if fd is None:
            with listen(host, port) as own:
                self._server = _GatedServer(host, port, app, Handler, head_timeout,
                                            own.fileno(), shared=False)
        else:
            self._server = _GatedServer(host, port, app, Handler, head_timeout, fd, shared=True)
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


def serve(app: App, host: str = "127.0.0.1", port: int = 8501, *, reload: bool = False,
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
        _serve_reloading(app, host, port)
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


def _serve_reloading(app: App, host: str, port: int) -> None:
    from werkzeug.serving import is_running_from_reloader, run_simple

    from .devstore import dev_store_from_env, prepare_dev_store

    app.listening_on(host)
    child = is_running_from_reloader()
    # A persistent store (Redis) keeps the sessions across restarts itself.
    store = dev_store_from_env() if child and not app.store.persistent else None
    if child:
        if store is not None:
            store.load(app)
        app.start()
    else:
        # The children share one file of sessions (see stgo.devstore).
        prepare_dev_store()
        # The reloader's child serves a socket the parent binds: a port that
        # is taken fails here, and port 0 is picked here so that the URL line
        # names the real one.
        port = reloader_port(host, port)
    display = f"http://{host}:{port}/"
    if not child:
        print(f"stgo: serving {app.page_title!r} at {display} (reloading on change)", flush=True)
    restarting = False
    try:
        run_simple(host, port, app, threaded=True, use_reloader=True,
                   request_handler=RequestHandler)
    except SystemExit as exc:
        # Werkzeug's reloader leaves a child with status 3 to restart it.
        restarting = child and exc.code == 3
        raise
    finally:
        if restarting and store is not None:
            _hand_over(app, store)
        else:
            app.stop()


def _hand_over(app: App, store: Any) -> None:
    """A child restarted for an edit: keep the sessions for the next one
    instead of ending them, and tell the tabs to reconnect (1012)."""
    try:
        store.save(app)
    except Exception:
        log.exception("--reload: could not keep the sessions")
        app.stop()
        return
    app.hub.close_all(1012, "server restarting")
    app.sessions.stop(end_sessions=False)
    app._handed_over()
    deadline = time.monotonic() + CLOSE_LINGER + 1.0
    while len(app.hub) and time.monotonic() < deadline:
        time.sleep(0.01)
