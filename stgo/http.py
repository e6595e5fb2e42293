"""HTTP endpoints: the page (and its cookie), /health, /static, and the /ws upgrade."""

from __future__ import annotations

import gzip
import ipaddress
import json
import logging
import mimetypes
import re
import threading
import time
from collections.abc import Callable
from importlib import resources
from typing import TYPE_CHECKING, Any
from urllib.parse import quote as url_quote

from werkzeug.wrappers import Request, Response

from . import __version__
from .core.dispatch import Dispatcher
from .core.session import Session
from .core.tabs import BrowserTab, Headers, RequestInfo, clean_query
from .errors import CapacityError
from .ids import is_valid_session_id, redact
from .limits import LogOnce
from .page import base_href, render_error_page, render_page
from .store import StoreUnavailable
from .transfers import refusal
from .widgets.charts import plotly_js_path
from .ws import Connection
from .wsio import take_over

if TYPE_CHECKING:
    from collections.abc import Iterable

    from _typeshed.wsgi import StartResponse, WSGIEnvironment

    from .app import App

__all__ = ["Endpoints", "StoreHealth", "HEALTH_BUDGET", "COOKIE_NAME", "SECURE_COOKIE_NAME",
           "PREFIXED_COOKIE_NAME"]

log = logging.getLogger("stgo")

#: The session cookie's name over plain HTTP.
COOKIE_NAME = "stgo_session"
#: Its name over HTTPS at the root of a host: the ``__Host-`` prefix makes the
#: browser refuse it unless it is ``Secure``, ``Path=/`` and has no ``Domain``,
#: so a sibling subdomain cannot plant (toss) one.
SECURE_COOKIE_NAME = "__Host-" + COOKIE_NAME
#: Its name over HTTPS under a path prefix, where ``__Host-`` (``Path=/``
#: only) would make apps on one host share one cookie: ``__Secure-`` still
#: needs ``Secure`` and is still refused from plain HTTP.
PREFIXED_COOKIE_NAME = "__Secure-" + COOKIE_NAME

# A path prefix a proxy may name (X-Forwarded-Prefix): segments of URL-safe
# characters, no "." or ".." segment.
_PREFIX = re.compile(r"^(?:/(?!\.\.?(?:/|$))[A-Za-z0-9._~!$&'()*+,;=:@%-]+)+$")

# Refusal reasons (as logged) and their label in stgo_refused_total.
_REFUSAL_LABELS = {
    "malformed session cookie": "forged_cookie",
    "unknown or expired session cookie": "unknown_cookie",
    "max_sessions": "max_sessions",
    "too many new sessions": "new_session_rate",
    "origin not allowed": "origin",
    "bad rotation token": "rotation_token",
    "no session cookie": "no_cookie",
    "host not allowed": "host",
    "too many connections": "max_connections",
    "too many connections from this address": "max_connections_per_address",
}


#: Seconds ``/health`` waits at most for the store's answer.
HEALTH_BUDGET = 0.5


class StoreHealth:
    """Whether the store answers, for ``/health``, never waiting past *budget*.

    The check (*probe*, which may block for the store's whole timeout) runs
    on a thread of its own, one at a time: asks that come while it runs
    share it.  An ask waits for it at most until it has run *budget*
    seconds, then says "not healthy"; the check goes on meanwhile (one
    thread, however many ask), and the next ask after it ends starts another.
    """

    def __init__(self, probe: Callable[[], bool], *, budget: float = HEALTH_BUDGET,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._probe = probe
        self._budget = budget
        self._clock = clock
        self._lock = threading.Lock()
        self._healthy = False
        self._running: tuple[float, threading.Event] | None = None  # since, done

    def healthy(self) -> bool:
        """What the running check finds within the budget; ``False`` past it."""
        with self._lock:
            now = self._clock()
            if self._running is None:
                self._running = (now, threading.Event())
                threading.Thread(target=self._check, args=(self._running[1],),
                                 name="stgo-health", daemon=True).start()
            since, done = self._running
        if not done.wait(max(0.0, since + self._budget - now)):
            return False
        with self._lock:
            return self._healthy

    def _check(self, done: threading.Event) -> None:
        try:
            healthy = bool(self._probe())
        except Exception:
            log.exception("the store's health check raised")
            healthy = False
        with self._lock:
            self._healthy, self._running = healthy, None
        done.set()


class Endpoints:
    """Routes a request to the page, health, static files or the WebSocket."""

    def __init__(self, app: App) -> None:
        self.app = app
        self._static = resources.files("stgo") / "static"
        self._vendor_lock = threading.Lock()
        self._plotly: tuple[bytes, bytes] | None = None
        self._lock = threading.Lock()
        self._said_fallback = False  # logged once: tabs hold threads on this server
        self._health = StoreHealth(lambda: self.app.store.healthy())
        # A refused Origin, said once per (Origin, expected) pair, a few a
        # minute at most: any client may send any Origin.
        self._origin_log = LogOnce(log, 1024, rate=0.2, burst=10)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "") or ""
        request = Request(environ)
        if path != "/health" and not self.host_allowed(request):
            # DNS rebinding: a foreign name pointed at this server.
            self.refused(request, "host not allowed")
            bad = Response(
                "bad request: host not allowed; name it in App(allowed_hosts=[...]) or "
                "--allowed-hosts (on loopback only localhost, 127.0.0.1 and [::1] are "
                "served by default)\n",
                status=400, mimetype="text/plain", headers={"X-Content-Type-Options": "nosniff"})
            return bad(environ, start_response)
        if path == "/ws":
            del request
            return self.websocket(environ, start_response)
        if path == "":
            # Mounted under a prefix and asked without the trailing slash:
            # redirect so that the page's relative URLs resolve under the prefix.
            response = Response(status=308, headers={"Location": request.root_url})
        elif path == "/session/rotate":
            response = self.rotate(request)
        elif path in ("/upload", "/download"):
            response = self.transfer(request, path)
        elif path.startswith("/download/") and request.method in ("GET", "HEAD"):
            response = self.app.transfers.download(
                request, self.current_session(request), path[len("/download/"):])
        elif request.method not in ("GET", "HEAD"):
            response = Response("method not allowed\n", status=405, headers={"Allow": "GET, HEAD"})
        elif path == "/" or self._is_page_path(path):
            response = self.page(request)
        elif path == "/health":
            body = self.health()
            response = Response(body, mimetype="application/json")
            response.headers["Cache-Control"] = "no-store"
        elif path == "/static/vendor/plotly.min.js":
            response = self.vendor_plotly(request)
        elif path.startswith("/static/"):
            response = self.static(path[len("/static/"):])
        elif path == "/metrics" and self.app.metrics_enabled:
            response = Response(self.app.metrics.render(),
                                mimetype="text/plain; version=0.0.4")
            response.headers["Cache-Control"] = "no-store"
        elif path.startswith(("/static", "/session", "/ws", "/metrics", "/health")):
            response = Response("not found\n", status=404, mimetype="text/plain")
        else:
            response = self.not_found(request)
        return response(environ, start_response)

    def health(self) -> str:
        """``/health``: ``ok``, or ``degraded`` while the store does not answer.

        Within :data:`HEALTH_BUDGET` seconds whatever the store does (a
        probe's timeout must not take a Redis hiccup for a dead process):
        see :class:`StoreHealth`.  No session count: anybody may ask, and it
        tells how busy we are.
        """
        if self.app.store.persistent and not self._health.healthy():
            return json.dumps({"status": "degraded", "store": "unavailable"})
        return json.dumps({"status": "ok"})

    def _is_page_path(self, path: str) -> bool:
        return self.app.get_page(path) is not None

    def not_found(self, request: Request) -> Response:
        """A path that is no page: a 404 page for a person, with a way home."""
        home = base_href(request.path)
        html = render_error_page(404, "Page not found",
                                 f"There is no page at {request.path}.", home=home)
        response = Response(html, status=404, mimetype="text/html",
                            headers={"Cache-Control": "no-store"})
        self.protect_document(response)
        return response

    # -- helpers --------------------------------------------------------------------------

    def forwarded(self, request: Request, name: str) -> str | None:
        """What the trusted proxy says about *name* (``for``, ``proto``, ``host``).

        The entry the proxy added: the *last* of ``X-Forwarded-For`` (or
        ``-Proto``, ``-Host``), or of RFC 7239 ``Forwarded`` when those are
        absent.  Earlier entries come from the client and prove nothing.
        ``None`` without ``trust_proxy``, or when the proxy said nothing.
        """
        if not self.app.trust_proxy:
            return None
        legacy = request.headers.get(f"X-Forwarded-{name.capitalize()}", "")
        if legacy.strip():
            return legacy.split(",")[-1].strip() or None
        standard = request.headers.get("Forwarded", "")
        if not standard.strip():
            return None
        for pair in standard.split(",")[-1].split(";"):
            key, _, value = pair.partition("=")
            if key.strip().lower() == name:
                value = value.strip().strip('"')
                if name == "for" and value.startswith("["):
                    value = value[1:].split("]", 1)[0]  # "[2001:db8::1]:4711"
                return value or None
        return None

    def _is_https(self, request: Request) -> bool:
        proto = self.forwarded(request, "proto")
        if proto is not None:
            return proto.lower() == "https"
        return request.scheme == "https"

    def _host(self, request: Request) -> str:
        """The page's public host (and port), as the browser asked for it."""
        return self.forwarded(request, "host") or request.host

    def _origin(self, request: Request) -> str:
        return f"{'https' if self._is_https(request) else 'http'}://{self._host(request)}"

    def host_allowed(self, request: Request) -> bool:
        """Whether the request's host is one of :attr:`App.allowed_hosts`."""
        allowed = self.app.effective_allowed_hosts()
        if allowed is None:
            return True
        name = host_name(self._host(request))
        return any(name == a or (a.startswith(".") and (name.endswith(a) or name == a[1:]))
                   for a in allowed)

    def prefix(self, request: Request) -> str:
        """The app's public path prefix (``""`` at the root of its host): the
        mount's ``SCRIPT_NAME``, under what a trusted proxy says it stripped
        (``X-Forwarded-Prefix: /app``; a value that is no plain path is ignored)."""
        root = request.script_root or ""
        said = (self.forwarded(request, "prefix") or "").rstrip("/")
        if said and len(said) <= 1024 and _PREFIX.match(said):
            return said + root
        return root

    def _cookie_path(self, request: Request) -> str:
        # The prefix, so that two apps on one host keep a cookie each.
        return self.prefix(request) + "/"

    def cookie_name(self, request: Request) -> str:
        """The session cookie's name for *request*: ``__Host-`` or ``__Secure-``
        prefixed over HTTPS (see :data:`SECURE_COOKIE_NAME`), plain over HTTP.

        Only that name is read: over HTTPS an unprefixed cookie (which any
        sibling subdomain or plain-HTTP page could set) is ignored.
        """
        if not self._is_https(request):
            return COOKIE_NAME
        return PREFIXED_COOKIE_NAME if self.prefix(request) else SECURE_COOKIE_NAME

    def claimed_id(self, request: Request) -> str | None:
        """The session ID the request's cookie claims (unchecked), if any."""
        return request.cookies.get(self.cookie_name(request))

    # -- the page -----------------------------------------------------------------------------

    def current_session(self, request: Request) -> Session | None:
        """The live session named by the request's cookie, if any."""
        return self.app.sessions.get(self.claimed_id(request))

    def page(self, request: Request) -> Response:
        try:
            return self._page(request)
        except StoreUnavailable:
            log.warning("page load failed: the session store is unavailable")
            html = render_error_page(503, "Temporarily unavailable",
                                     "The app cannot reach its data right now. "
                                     "Please try again in a moment.")
            return Response(html, status=503, mimetype="text/html",
                            headers={"Retry-After": "5", "Cache-Control": "no-store"})

    def _page(self, request: Request) -> Response:
        session = self.current_session(request)
        fresh = session is None
        if session is None:
            if request.method == "HEAD":
                # A probe (a load balancer, a link checker): no session for it.
                return Response(mimetype="text/html", headers={"Cache-Control": "no-store"})
            claimed = self.claimed_id(request)
            if claimed:
                why = "malformed" if not is_valid_session_id(claimed) else "unknown or expired"
                self.refused(request, f"{why} session cookie")
            limits = self.app.new_session_limits
            if limits is not None and not limits.allow(self.client_address(request)):
                self.refused(request, "too many new sessions")
                html = render_error_page(429, "Too many new sessions",
                                         "Too many visits came from your address just now. "
                                         "Please try again in a minute.")
                return Response(html, status=429, mimetype="text/html",
                                headers={"Retry-After": "60", "Cache-Control": "no-store"})
            try:
                # Pending until its first WebSocket: a page load alone (anyone
                # can make one) gets a session that lapses fast and is the
                # first to go when the pool is full.
                session = self.app.sessions.create(limit=self.app.max_sessions, pending=True)
            except CapacityError:
                self.refused(request, "max_sessions")
                html = render_error_page(503, "This app is full",
                                         "Too many people are using it right now. "
                                         "Please try again in a few minutes.")
                full = Response(html, status=503, mimetype="text/html",
                                headers={"Retry-After": "60", "Cache-Control": "no-store"})
                self.protect_document(full)
                return full
        session.touch()
        session.request = self.request_info(request)
        path = request.path or "/"
        status, page = self.app.resolve(path, session)
        roots = self.app.render_roots(session, page.path if page is not None else path)
        html = render_page(self.app.title_of(path), roots, version=__version__,
                           path=page.path if page is not None else "/",
                           base=base_href(path), status=status)
        response = Response(html, status=status, mimetype="text/html")
        self.protect_document(response)
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        if fresh or self.claimed_id(request) != session.id:
            self.set_cookie(request, response, session.id)
        return response

    def request_info(self, request: Request) -> RequestInfo:
        """What app code may read of *request* (``session.request``): never the
        session cookie, neither in ``cookies`` nor as a ``Cookie`` header."""
        ours = {COOKIE_NAME, SECURE_COOKIE_NAME, PREFIXED_COOKIE_NAME}
        headers = Headers([(k, v) for k, v in request.headers.items()
                           if k.lower() != "cookie"])
        cookies = {k: v for k, v in request.cookies.items() if k not in ours}
        url = request.base_url
        if self.app.trust_proxy:  # the URL the browser asked for, through the proxy
            path = url_quote(request.path, safe="/:@!$&'()*+,;=%~")
            url = self._origin(request) + self.prefix(request) + path
        return RequestInfo(headers, cookies, self.client_address(request), url)

    def open_tab(self, request: Request, session: Session) -> BrowserTab[Session]:
        """The tab a WebSocket handshake names (``ws?tab=..&path=..&query=..``)."""
        from urllib.parse import parse_qsl

        path = request.args.get("path", "/")
        if not path.startswith("/") or len(path) > 2048:
            path = "/"
        page = self.app.get_page(path)
        if page is not None:
            path = page.path
        elif path != "/":
            path = "/" + path.strip("/")
        raw = request.args.get("query", "")[:8192]
        query = clean_query(dict(parse_qsl(raw, keep_blank_values=True)))
        info = self.request_info(request)
        return self.app.tab_registry.open(session, request.args.get("tab"), path=path, query=query,
                                  request=info)

    def protect_document(self, response: Response) -> None:
        """Headers for an HTML document: its content policy, and no framing by
        other origins (``X-Frame-Options`` for browsers without CSP's
        ``frame-ancestors``, which wins where both are known)."""
        policy = self.app.content_security_policy
        if policy:
            response.headers["Content-Security-Policy"] = policy
        response.headers["X-Frame-Options"] = "SAMEORIGIN"

    def refused(self, request: Request, reason: str) -> None:
        """Count a refusal and warn about it (once per client and reason)."""
        self.app.metrics.inc("stgo_refused_total", _REFUSAL_LABELS.get(reason, "other"))
        self.app.suspicious.warn(self.client_address(request), reason)

    def origin_refused(self, request: Request, origin: str | None, what: str) -> None:
        """Count a request refused for its ``Origin``, and say which Origin
        came and which were expected (once per pair, a few a minute at most):
        behind a proxy that drops the port from ``Host`` they differ only there."""
        self.refused(request, "origin not allowed")  # counted, and once per client
        page = self._origin(request)[:200]
        extra = sorted(self.app.allowed_origins)
        got = "none" if origin is None else repr(origin[:200])
        self._origin_log.once(
            (got, page, *extra),
            "refused %s from %s: its Origin %s is not the page's origin %r (from the "
            "request's Host%s) nor in allowed_origins %s. Behind a proxy, pass the "
            "browser's Host with its port (nginx: proxy_set_header Host $http_host;), "
            "or list the public origin in App(allowed_origins=...); see docs/deployment.md",
            what, self.client_address(request), got, page,
            " and X-Forwarded-Proto/-Host" if self.app.trust_proxy else "", extra or "[]")

    def client_address(self, request: Request) -> str:
        """The client's address, for the per-address limit and the logs.

        Behind a trusted proxy every request comes from the proxy, which
        would make the per-address limit one limit for everybody: take the
        address the proxy saw instead, the last ``X-Forwarded-For`` entry (the
        one it added; earlier entries come from the client and prove nothing).
        """
        return self.forwarded(request, "for") or request.remote_addr or "?"

    def rotate(self, request: Request) -> Response:
        """``POST session/rotate?token=...``: trade a rotation token for the new cookie."""
        if request.method != "POST":
            return Response("method not allowed\n", status=405, headers={"Allow": "POST"})
        origin = request.headers.get("Origin")
        if origin is not None and not self._origin_allowed(request, origin):
            self.origin_refused(request, origin, "a session rotation")
            return Response("forbidden\n", status=403, mimetype="text/plain")
        new_id = self.app.redeem_rotation(request.args.get("token", ""))
        if new_id is None:
            self.refused(request, "bad rotation token")
            return Response("forbidden: unknown or used token\n", status=403, mimetype="text/plain")
        response = Response(status=204, headers={"Cache-Control": "no-store"})
        self.set_cookie(request, response, new_id)
        return response

    def transfer(self, request: Request, path: str) -> Response:
        """``POST upload`` and ``POST download``: Origin and cookie first, then the widget."""
        if request.method != "POST":
            return Response("method not allowed\n", status=405, headers={"Allow": "POST"})
        # A browser always sends Origin on a POST from a script; without one
        # (or from another site) the request is not from our page.
        origin = request.headers.get("Origin")
        if origin is None or not self._origin_allowed(request, origin):
            self.origin_refused(request, origin, f"a POST to {path[1:]}")
            return refusal(403, "forbidden: this request must come from the app's own page")
        session = self.current_session(request)
        if session is None:
            self.refused(request, "unknown or expired session cookie")
            return refusal(403, "your session has expired: reload the page")
        session.touch()
        if path == "/upload":
            return self.app.transfers.upload(request, session)
        return self.app.transfers.begin_download(request, session)

    def _origin_allowed(self, request: Request, origin: str) -> bool:
        origin = origin.rstrip("/")
        return origin == self._origin(request) or origin in self.app.allowed_origins

    def set_cookie(self, request: Request, response: Response, session_id: str) -> None:
        """Issue the session cookie: a browser-session cookie, HttpOnly, Lax."""
        response.set_cookie(
            self.cookie_name(request), session_id, path=self._cookie_path(request),
            httponly=True, samesite="Lax", secure=self._is_https(request),
        )

    def static(self, name: str) -> Response:
        parts = name.split("/")
        if not name or any(p in ("", ".", "..") or "\\" in p for p in parts):
            return Response("not found\n", status=404, mimetype="text/plain")
        target = self._static.joinpath(*parts)
        if not target.is_file():
            return Response("not found\n", status=404, mimetype="text/plain")
        mime = mimetypes.guess_type(parts[-1])[0] or "application/octet-stream"
        response = Response(target.read_bytes(), mimetype=mime)
        response.headers["Cache-Control"] = "public, max-age=3600"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    def vendor_plotly(self, request: Request) -> Response:
        """plotly.js from the installed plotly package, read once and kept (gzipped too)."""
        with self._vendor_lock:
            if self._plotly is None:
                path = plotly_js_path()
                if path is None:
                    return Response(
                        "plotly is not installed: pip install 'stgo[charts]'\n", status=404,
                        mimetype="text/plain")
                raw = path.read_bytes()
                self._plotly = (raw, gzip.compress(raw, 6))
            raw, packed = self._plotly
        response = Response(mimetype="text/javascript")
        if "gzip" in request.headers.get("Accept-Encoding", ""):
            response.set_data(packed)
            response.headers["Content-Encoding"] = "gzip"
        else:
            response.set_data(raw)
        response.headers["Vary"] = "Accept-Encoding"
        response.headers["Cache-Control"] = "public, max-age=86400"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    # -- the WebSocket -------------------------------------------------------------------

    def websocket(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
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
        bad = _bad_handshake(request)
        if bad is not None:
            status, why = bad
            return Response(
                f"bad WebSocket handshake: {why}\n", status=status, mimetype="text/plain",
                headers={"Sec-WebSocket-Version": "13"} if status == 426 else {},
            )(environ, start_response)
        try:
            session, refusal = self._session_of(request)
        except StoreUnavailable:
            return Response("unavailable: the session store does not answer\n", status=503,
                            mimetype="text/plain",
                            headers={"Retry-After": "5"})(environ, start_response)
        if session is None:
            if refusal == "origin not allowed":
                self.origin_refused(request, request.headers.get("Origin"), "a WebSocket upgrade")
            else:
                self.refused(request, refusal)
            return Response(f"forbidden: {refusal}\n", status=403, mimetype="text/plain")(
                environ, start_response
            )
        address = self.client_address(request)
        tab = self.open_tab(request, session)
        full = self.app.connection_limits.acquire(address)
        if full is not None:
            self.refused(request, full)
            return Response(f"unavailable: {full}\n", status=503, mimetype="text/plain",
                            headers={"Retry-After": "10"})(environ, start_response)
        # Nothing of the request is needed for the connection's life (a tab
        # may stay open for days): hold no reference to it meanwhile.
        del request
        self.serve_connection(dict(environ), session, address, tab)
        return _finished(environ)

    def _session_of(self, request: Request) -> tuple[Session | None, str]:
        """The live session the upgrade's cookie names, or ``None`` and why not.

        The socket belongs to the cookie's session, and to nothing the URL
        says: the ID never has to be readable by the page.  A browser sends
        the cookie with a same-origin handshake (``SameSite=Lax``), and the
        ``Origin`` check keeps other sites' pages out, cookie or not.
        """
        origin = request.headers.get("Origin")
        if origin is not None and not self._origin_allowed(request, origin):
            return None, "origin not allowed"
        claimed = self.claimed_id(request)
        if not claimed:
            return None, "no session cookie"
        if not is_valid_session_id(claimed):
            return None, "malformed session cookie"
        session = self.app.sessions.get(claimed)
        if session is None:
            return None, "unknown or expired session cookie"
        return session, ""

    def serve_connection(self, environ: dict[str, Any], session: Session,
                         address: str = "?", tab: BrowserTab[Session] | None = None) -> None:
        """Accept the upgrade and hand the connection to the App's I/O loop.

        The connection releases *address*'s slot in ``app.connection_limits``
        (taken by the caller) when it ends.

        Returns as soon as the page is queued, and this thread goes back to
        the server.  On a server whose socket cannot be taken over (see
        :func:`~stgo.wsio.take_over`), the connection is served on this
        thread until it ends instead (said once in the log).
        """
        app = self.app
        try:
            conn = Connection(
                environ, max_message_size=app.max_message_size,
                ping_interval=app.ping_interval, send_timeout=app.send_timeout,
                max_queued=app.max_queued, max_queued_bytes=app.max_queued_bytes,
            )
        except BaseException:
            app.connection_limits.release(address)  # the connection's slot, taken for it
            raise
        taken = take_over(environ, conn.sock)
        if taken is not None:
            conn.own(taken)
        server = environ.get("SERVER_SOFTWARE", "this server")
        del environ  # the handshake is done: no copy of it for the connection's life
        session.attach()
        if tab is not None:
            app.tab_registry.bind(tab, conn)
            with app.hub.batch(origin=session, conn=conn):
                app.open_page(tab)
        app.hub.register(session, conn)
        app.metrics.inc("stgo_connections_opened_total")
        log.debug("connection opened for %s", redact(session.id))

        def closed() -> None:
            # Told first: whoever sees the connection gone sees why, too.
            if conn.dropped_reason:
                app.metrics.inc("stgo_dropped_clients_total")
                log.warning("dropped a client of %s: %s", redact(session.id), conn.dropped_reason)
            if conn.too_big:
                app.metrics.inc("stgo_refused_total", "oversize")
                app.suspicious.warn(address, "oversize message", "closed 1009")
            app.hub.unregister(session, conn)
            app.tab_registry.unbind(conn)
            session.detach()
            app.connection_limits.release(address)

        conn.on_closed = closed
        try:
            app.hub.full_update(session, conn)
        except Exception:
            # A widget that cannot render: tell this client and keep the
            # connection (escaping, it became a 500 written into the
            # upgraded socket, for every page load until fixed).
            log.exception("rendering the page failed for %s", redact(session.id))
            app.hub.send_error(session, "the server could not draw this page", conn=conn)
        if taken is not None:
            conn.on_message = Dispatcher(app, session, conn, address, run=app.io.defer)
            # Off the loop: a store that answers over the network may wait.
            conn.on_closed = lambda: app.workers.submit(closed)
            app.io.add(conn)
            return
        with self._lock:
            said, self._said_fallback = self._said_fallback, True
        if not said:
            log.warning("%s: cannot take over the socket of a WebSocket; serving each "
                        "open tab on its own thread instead (see docs/deployment.md)", server)
        conn.serve(Dispatcher(app, session, conn, address))


def host_name(host: str) -> str:
    """The name in a ``Host`` value, lower-cased, without port or brackets:
    ``"[::1]:8501"`` is ``"::1"``, ``"Example.COM.:80"`` is ``"example.com"``."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    if host.count(":") > 1:  # a bare IPv6 address
        return host
    return host.split(":", 1)[0].rstrip(".")


def is_loopback(host: str) -> bool:
    """Whether *host* (a name or address to listen on) is this machine only."""
    name = host_name(host)
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _bad_handshake(request: Request) -> tuple[int, str] | None:
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


def _finished(environ: WSGIEnvironment) -> Iterable[bytes]:
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

