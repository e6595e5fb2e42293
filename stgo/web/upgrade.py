"""The ``/ws`` upgrade: its checks (handshake, Origin, cookie, limits), then the
connection handed to the App's I/O loop with its session and tab."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import parse_qsl

from werkzeug.wrappers import Request, Response

from ..core.hub import Hub
from ..core.manager import SessionManager
from ..core.session import Session
from ..core.tabs import BrowserTab, TabRegistry, clean_query
from ..errors import StoreError, StoreUnavailableError
from ..ids import is_valid_session_id, redact
from ..limits import ConnectionLimiter, LogOnce
from ..metrics import Metrics
from ..transport.ioloop import IOLoop
from ..transport.pool import WorkerPool
from ..transport.ws import Connection
from ..transport.wsio import take_over
from .cookies import Cookies
from .hosts import Hosts
from .page import Site
from .refusals import Refusals

if TYPE_CHECKING:
    from collections.abc import Iterable

    from _typeshed.wsgi import StartResponse, WSGIEnvironment

__all__ = ["Upgrade", "SocketOptions", "Loops", "FrameHandlers"]

log = logging.getLogger("stgo")

#: Where a session's queue of events runs (a worker pool's ``submit``), or
#: ``None``: on the thread that reads the frames.
Runner = Callable[[Callable[[], None]], None]


def _store_unavailable(environ: WSGIEnvironment, start_response: StartResponse
                       ) -> Iterable[bytes]:
    """The answer to a handshake while the session store does not answer."""
    return Response("unavailable: the session store does not answer\n", status=503,
                    mimetype="text/plain", headers={"Retry-After": "5"})(environ, start_response)


class SocketOptions(Protocol):
    """The app's settings for each WebSocket (the App is one; see its options)."""

    @property
    def max_message_size(self) -> int: ...

    @property
    def ping_interval(self) -> float: ...

    @property
    def send_timeout(self) -> float: ...

    @property
    def max_queued(self) -> int: ...

    @property
    def max_queued_bytes(self) -> int: ...


class Loops(Protocol):
    """The app's I/O loop and event threads (the App is one: a forked
    process gets new ones, so they are asked for each connection)."""

    @property
    def io(self) -> IOLoop: ...

    @property
    def workers(self) -> WorkerPool: ...


class FrameHandlers(Protocol):
    """Makes the handler of one connection's frames (a :class:`~stgo.dispatch.Dispatcher`)."""

    def __call__(self, session: Session, conn: Connection, client: str = "",
                 run: Runner | None = None) -> Callable[[str | bytes], None]: ...


class Upgrade:
    """Answers ``/ws``: refuses a bad upgrade, else serves the connection.

    :param sessions: the live sessions, found by the cookie.
    :param site: the app's pages (a tab's page).
    :param tabs: the browser tabs of every session.
    :param hub: connections and pushes.
    :param open_page: runs the ``on_open`` hooks of the page a tab shows.
    :param handlers: makes each connection's frame handler.
    :param loops: the I/O loop and the event threads.
    :param options: each connection's limits and timeouts.
    :param limits: open WebSockets, in all and per address.
    """

    def __init__(self, *, hosts: Hosts, cookies: Cookies, refusals: Refusals,
                 sessions: SessionManager, site: Site, tabs: TabRegistry[Session], hub: Hub,
                 open_page: Callable[[BrowserTab[Session]], None], handlers: FrameHandlers,
                 loops: Loops, options: SocketOptions, limits: ConnectionLimiter,
                 metrics: Metrics, suspicious: LogOnce) -> None:
        self._hosts = hosts
        self._cookies = cookies
        self._refusals = refusals
        self._sessions = sessions
        self._site = site
        self._tabs = tabs
        self._hub = hub
        self._open_page = open_page
        self._handlers = handlers
        self._loops = loops
        self._options = options
        self._limits = limits
        self._metrics = metrics
        self._suspicious = suspicious
        self._lock = threading.Lock()
        self._said_fallback = False  # logged once: tabs hold threads on this server

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse
                 ) -> Iterable[bytes]:
        request = Request(environ)
        upgrade = request.headers.get("Upgrade", "").lower()
        if upgrade != "websocket" or request.method != "GET":
            response = Response(
                "this endpoint speaks WebSocket only\n", status=426, mimetype="text/plain",
                headers={"Upgrade": "websocket", "Connection": "Upgrade"},
            )
            return response(environ, start_response)
        # Check the handshake headers ourselves: wsproto raises on a bad one
        # (no key, wrong version) inside Connection(), which became a 500.
        bad = bad_handshake(request)
        if bad is not None:
            status, why = bad
            return Response(
                f"bad WebSocket handshake: {why}\n", status=status, mimetype="text/plain",
                headers={"Sec-WebSocket-Version": "13"} if status == 426 else {},
            )(environ, start_response)
        try:
            session, refusal = self._session_of(request)
        except StoreUnavailableError:
            return _store_unavailable(environ, start_response)
        if session is None:
            if refusal == "origin not allowed":
                self._refusals.origin_refused(request, request.headers.get("Origin"),
                                              "a WebSocket upgrade")
            else:
                self._refusals.refused(request, refusal)
            return Response(f"forbidden: {refusal}\n", status=403, mimetype="text/plain")(
                environ, start_response
            )
        address = self._hosts.client_address(request)
        tab = self.open_tab(request, session)
        full = self._limits.acquire(address)
        if full is not None:
            self._refusals.refused(request, full)
            return Response(f"unavailable: {full}\n", status=503, mimetype="text/plain",
                            headers={"Retry-After": "10"})(environ, start_response)
        try:
            # Before the handshake (it writes the record's activity): a store
            # that does not answer is a 503 the client retries, not a socket
            # that opens and is then served by nobody.
            session.attach()
        except StoreUnavailableError:
            self._limits.release(address)
            return _store_unavailable(environ, start_response)
        except BaseException:
            self._limits.release(address)
            raise
        # Nothing of the request is needed for the connection's life (a tab
        # may stay open for days): hold no reference to it meanwhile.
        del request
        self.serve_connection(dict(environ), session, address, tab)
        return finished(environ)

    def _session_of(self, request: Request) -> tuple[Session | None, str]:
        """The live session the upgrade's cookie names, or ``None`` and why not.

        The socket belongs to the cookie's session, and to nothing the URL
        says: the ID never has to be readable by the page.  A browser sends
        the cookie with a same-origin handshake (``SameSite=Lax``), and the
        ``Origin`` check keeps other sites' pages out, cookie or not.
        """
        origin = request.headers.get("Origin")
        if origin is not None and not self._hosts.origin_allowed(request, origin):
            return None, "origin not allowed"
        claimed = self._cookies.claimed_id(request)
        if not claimed:
            return None, "no session cookie"
        if not is_valid_session_id(claimed):
            return None, "malformed session cookie"
        session = self._sessions.get(claimed)
        if session is None:
            return None, "unknown or expired session cookie"
        return session, ""

    def open_tab(self, request: Request, session: Session) -> BrowserTab[Session]:
        """The tab a WebSocket handshake names (``ws?tab=..&path=..&query=..``)."""
        path = request.args.get("path", "/")
        if not path.startswith("/") or len(path) > 2048:
            path = "/"
        page = self._site.get_page(path)
        if page is not None:
            path = page.path
        elif path != "/":
            path = "/" + path.strip("/")
        raw = request.args.get("query", "")[:8192]
        query = clean_query(dict(parse_qsl(raw, keep_blank_values=True)))
        info = self._cookies.request_info(request)
        return self._tabs.open(session, request.args.get("tab"), path=path, query=query,
                               request=info)

    def serve_connection(self, environ: dict[str, Any], session: Session,
                         address: str = "?", tab: BrowserTab[Session] | None = None) -> None:
        """Accept the upgrade and hand the connection to the App's I/O loop.

        The connection releases *address*'s slot in the connection limits
        (taken by the caller) and detaches from *session* (attached by the
        caller) when it ends.

        Returns as soon as the page is queued, and this thread goes back to
        the server.  On a server whose socket cannot be taken over (see
        :func:`~stgo.transport.wsio.take_over`), the connection is served on this
        thread until it ends instead (said once in the log).
        """
        options, hub, limits = self._options, self._hub, self._limits
        try:
            conn = Connection(
                environ, max_message_size=options.max_message_size,
                ping_interval=options.ping_interval, send_timeout=options.send_timeout,
                max_queued=options.max_queued, max_queued_bytes=options.max_queued_bytes,
                clock=self._loops.io.clock,
            )
        except BaseException:
            limits.release(address)  # the connection's slot, taken for it
            with contextlib.suppress(StoreError):  # the handshake's error is the one to tell
                session.detach()
            raise
        taken = take_over(environ, conn.sock)
        if taken is not None:
            conn.own(taken)
        server = environ.get("SERVER_SOFTWARE", "this server")
        del environ  # the handshake is done: no copy of it for the connection's life
        if tab is not None:
            self._tabs.bind(tab, conn)
            with hub.batch(origin=session, conn=conn):
                self._open_page(tab)
        hub.register(session, conn)
        self._metrics.inc("stgo_connections_opened_total")
        log.debug("connection opened for %s", redact(session.id))

        def closed() -> None:
            # Told first: whoever sees the connection gone sees why, too.
            if conn.dropped_reason:
                self._metrics.inc("stgo_dropped_clients_total")
                log.warning("dropped a client of %s: %s", redact(session.id), conn.dropped_reason)
            if conn.too_big:
                self._metrics.inc("stgo_refused_total", "oversize")
                self._suspicious.warn(address, "oversize message", "closed 1009")
            hub.unregister(session, conn)
            self._tabs.unbind(conn)
            session.detach()
            limits.release(address)

        conn.on_closed = closed
        try:
            hub.full_update(session, conn)
        except Exception:
            # A widget that cannot render: tell this client and keep the
            # connection (escaping, it became a 500 written into the
            # upgraded socket, for every page load until fixed).
            log.exception("rendering the page failed for %s", redact(session.id))
            hub.send_error(session, "the server could not draw this page", conn=conn)
        if taken is not None:
            io = self._loops.io
            conn.on_message = self._handlers(session, conn, address, run=io.defer)
            # Off the loop: a store that answers over the network may wait.
            conn.on_closed = lambda: self._loops.workers.submit(closed)
            io.add(conn)
            return
        with self._lock:
            said, self._said_fallback = self._said_fallback, True
        if not said:
            log.warning("%s: cannot take over the socket of a WebSocket; serving each "
                        "open tab on its own thread instead (see docs/deployment.md)", server)
        conn.serve(self._handlers(session, conn, address))


def bad_handshake(request: Request) -> tuple[int, str] | None:
    """Why an upgrade request is not a valid WebSocket handshake (status, reason), or ``None``.

    The same rules wsproto applies (RFC 6455 section 4.2.1), checked before the upgrade.
    """
    tokens = {t.strip().lower() for t in request.headers.get("Connection", "").split(",")}
    if "upgrade" not in tokens:
        return 400, "missing 'Connection: Upgrade'"
    version = request.headers.get("Sec-WebSocket-Version", "").strip()
    if version != "13":
        return (426 if version else 400), "Sec-WebSocket-Version must be 13"
    if not request.headers.get("Sec-WebSocket-Key", "").strip():
        return 400, "missing Sec-WebSocket-Key"
    return None


def finished(environ: WSGIEnvironment) -> Iterable[bytes]:
    """End the WSGI call after a WebSocket without writing an HTTP response.

    The socket now belongs to the WebSocket (the I/O loop took it over, or
    this thread served it to its end); each server needs its own way of
    hearing "nothing more to write".
    """
    if "gunicorn.socket" in environ:
        raise StopIteration()
    if "werkzeug.socket" in environ:
        # Werkzeug treats ConnectionError as "client went away": no bytes
        # after the close frame, no traceback.
        raise ConnectionError("WebSocket closed")
    return []
