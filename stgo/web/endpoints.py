"""HTTP endpoints: a table of routes (a :class:`werkzeug.routing.Map`) to the
page (and its cookie), ``/health``, ``/static``, ``/metrics``, uploads and
downloads, session rotation, and the ``/ws`` upgrade."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from werkzeug.exceptions import MethodNotAllowed
from werkzeug.routing import BaseConverter, Map, Rule
from werkzeug.wrappers import Request, Response

from ..core.hub import Hub
from ..core.identity import signed_in
from ..core.manager import SessionManager
from ..core.session import Session
from ..core.tabs import BrowserTab, TabRegistry, clean_query
from ..core.tabvalues import drawing
from ..errors import CapacityError, StoreUnavailableError
from ..ids import is_valid_session_id
from ..limits import AddressRateLimiter, ConnectionLimiter, LogOnce
from ..metrics import Metrics
from ..strings import strings
from ..widgets.vega import VEGA_SCRIPTS
from .assets import Assets
from .client import VERSION as CLIENT_VERSION
from .components import component_response
from .cookies import Cookies
from .health import Health, HealthProbe
from .hosts import HostPolicy, Hosts
from .media import media_response
from .page import Site, base_href, render_error_page, render_page
from .refusals import Refusals
from .transfers import Transfers, refusal
from .upgrade import FrameHandlers, Loops, SocketOptions, Upgrade

if TYPE_CHECKING:
    from collections.abc import Iterable

    from _typeshed.wsgi import StartResponse, WSGIEnvironment

__all__ = ["Endpoints", "Settings"]

log = logging.getLogger("stgo")

# Paths the server keeps for itself: a path under one that is no route is a
# plain 404, not the app's 404 page.
_RESERVED = ("/static", "/session", "/ws", "/metrics", "/health", "/auth")

# What werkzeug would read as another path ("health" and "//health" both
# as "/health"): such a path is routed as this one, which only the
# catch-all matches (it may still be a page).
_ELSEWHERE = "/-"


class _Rest(BaseConverter):
    """The rest of the path, as is: empty, slashes and dots included (the
    endpoint checks it)."""

    regex = ".*"
    part_isolating = False


def _routes() -> Map:
    """The routes: a path is matched exactly (no slash merged or added), any
    method reaches an endpoint that has none listed (it answers 405 itself)."""
    get = ["GET", "HEAD"]
    return Map([
        Rule("/ws", endpoint="websocket"),
        Rule("/session/rotate", endpoint="rotate"),
        Rule("/upload", endpoint="upload"),
        Rule("/download", endpoint="begin_download"),
        Rule("/download/media/<rest:ref>", endpoint="media", methods=get),
        Rule("/download/<rest:token>", endpoint="download", methods=get),
        Rule("/", endpoint="page", methods=get),
        Rule("/health", endpoint="health", methods=get),
        Rule("/static/vendor/plotly.min.js", endpoint="plotly", methods=get),
        Rule("/static/vendor/vega.js", endpoint="vega", methods=get),
        Rule("/static/components/<rest:ref>", endpoint="component", methods=get),
        Rule("/static/<rest:name>", endpoint="static", methods=get),
        Rule("/metrics", endpoint="metrics", methods=get),
        Rule("/auth/<any(login, callback, logout):action>", endpoint="auth"),
        Rule("/<rest:path>", endpoint="other", methods=get),
    ], converters={"rest": _Rest}, merge_slashes=False, redirect_defaults=False)


class AuthRoutes(Protocol):
    """The sign-in routes and checks of ``App(auth=...)`` (:mod:`stgo.auth.flow`)."""

    def view(self, action: str, request: Request, web: Endpoints) -> Response:
        """The response of ``auth/<action>`` (login, callback, logout)."""

    def sign_in_redirect(self, request: Request, path: str, web: Endpoints) -> Response | None:
        """Send an anonymous visitor of a page for signed-in users to sign in
        (``None``: nowhere to send them, a 403 page)."""

    def on_page(self, request: Request, session: Session) -> None:
        """A page load of *session* (an authenticating proxy's header is read)."""


class Settings(HostPolicy, SocketOptions, Protocol):
    """The app's options the endpoints read (the App is one), on each request."""

    @property
    def content_security_policy(self) -> str | None:
        """The page's ``Content-Security-Policy`` (``None``: none)."""

    @property
    def metrics_enabled(self) -> bool:
        """Whether ``/metrics`` is served."""

    @property
    def max_sessions(self) -> int | None:
        """Live sessions at most (``None``: no limit)."""


class Endpoints:
    """The WSGI application of one App: routes a request to its endpoint.

    Built by the App, which hands it what it needs:

    :param settings: the App's options (hosts, origins, proxy, limits, CSP).
    :param site: the App's pages.
    :param sessions: the live sessions.
    :param transfers: uploads and download links.
    :param store: the store, asked by ``/health``.
    :param redeem_rotation: trades a rotation token for the session's new ID (once).
    :param new_session_limits: new sessions per client address (``None``: no limit).
    :param connection_limits: open WebSockets, in all and per address.
    :param metrics: counters (and ``/metrics``).
    :param suspicious: warns once per (client, reason).
    :param tabs, hub, open_page, handlers, loops: what a WebSocket is served
        with (see :class:`~stgo.web.upgrade.Upgrade`).
    """

    def __init__(self, *, settings: Settings, site: Site, sessions: SessionManager,
                 transfers: Transfers, store: HealthProbe,
                 redeem_rotation: Callable[[str], str | None],
                 new_session_limits: AddressRateLimiter | None,
                 connection_limits: ConnectionLimiter, metrics: Metrics, suspicious: LogOnce,
                 tabs: TabRegistry[Session], hub: Hub,
                 open_page: Callable[[BrowserTab[Session]], None],
                 handlers: FrameHandlers, loops: Loops) -> None:
        self._settings = settings
        self._site = site
        self._sessions = sessions
        self._transfers = transfers
        self._redeem_rotation = redeem_rotation
        self._new_session_limits = new_session_limits
        self._metrics = metrics
        #: The request as the browser made it, through a trusted proxy.
        self.hosts = Hosts(settings)
        #: The session cookie.
        self.cookies = Cookies(self.hosts)
        self._refusals = Refusals(self.hosts, metrics, suspicious)
        self._assets = Assets()
        self._health = Health(store)
        #: The ``/ws`` endpoint.
        self.upgrade = Upgrade(
            hosts=self.hosts, cookies=self.cookies, refusals=self._refusals,
            sessions=sessions, site=site, tabs=tabs, hub=hub, open_page=open_page,
            handlers=handlers, loops=loops, options=settings, limits=connection_limits,
            metrics=metrics, suspicious=suspicious)
        self._urls = _routes().bind("localhost")
        #: The sign-in routes (``App(auth=...)``), or ``None``: they are 404s.
        self.auth: AuthRoutes | None = None
        # Each route's view, given the request and the route's values.
        self._views: dict[str, Callable[..., Response]] = {
            "rotate": self.rotate,
            "upload": lambda request: self.transfer(request, "/upload"),
            "begin_download": lambda request: self.transfer(request, "/download"),
            "download": lambda request, token: self._transfers.download(
                request, self.current_session(request), token),
            "media": lambda request, ref: media_response(
                request, self.current_session(request), ref, self._transfers.find),
            "page": self.page,
            "health": lambda request: self.health(),
            "plotly": self._assets.plotly,
            "vega": self._assets.vega,
            "component": lambda request, ref: component_response(ref),
            "static": self._assets.static,
            "metrics": lambda request: self.metrics(),
            "auth": self.auth_view,
            "other": self.other,
        }

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "") or ""
        request = Request(environ)
        if path != "/health" and not self.hosts.allowed(request):
            # DNS rebinding: a foreign name pointed at this server.
            self._refusals.refused(request, "host not allowed")
            bad = Response(
                "bad request: host not allowed; name it in App(allowed_hosts=[...]) or "
                "--allowed-hosts (on loopback only localhost, 127.0.0.1 and [::1] are "
                "served by default)\n",
                status=400, mimetype="text/plain", headers={"X-Content-Type-Options": "nosniff"})
            return bad(environ, start_response)
        if path == "":
            # Mounted under a prefix and asked without the trailing slash:
            # redirect so that the page's relative URLs resolve under the prefix.
            return Response(status=308, headers={"Location": request.root_url})(
                environ, start_response)
        routed = path if path.startswith("/") and not path.startswith("//") else _ELSEWHERE
        try:
            endpoint, values = self._urls.match(routed, request.method)
        except MethodNotAllowed:
            response = Response("method not allowed\n", status=405, headers={"Allow": "GET, HEAD"})
            return response(environ, start_response)
        if endpoint == "websocket":
            del request
            return self.upgrade(environ, start_response)
        if endpoint == "other":
            values = {"path": path}
        response = self._views[endpoint](request, **values)
        return response(environ, start_response)

    # -- the page -----------------------------------------------------------------------------

    def current_session(self, request: Request) -> Session | None:
        """The live session named by the request's cookie, if any."""
        return self._sessions.get(self.cookies.claimed_id(request))

    def other(self, request: Request, path: str) -> Response:
        """A path of no route: a page of the app, else a 404 (plain under
        the server's own paths, a page for a person elsewhere)."""
        if self._site.get_page(path) is not None:
            return self.page(request)
        if path.startswith(_RESERVED):
            return Response("not found\n", status=404, mimetype="text/plain")
        return self.not_found(request)

    def not_found(self, request: Request) -> Response:
        """A path that is no page: a 404 page for a person, with a way home."""
        home = base_href(request.path)
        language = self._site.look.language
        say = strings(language)
        html = render_error_page(404, say["not_found_title"],
                                 say["not_found"].replace("{path}", request.path), home=home,
                                 language=language)
        response = Response(html, status=404, mimetype="text/html",
                            headers={"Cache-Control": "no-store"})
        self.protect_document(response)
        return response

    def page(self, request: Request) -> Response:
        """The page (and the session cookie of a new visitor)."""
        try:
            return self._page(request)
        except StoreUnavailableError:
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
            claimed = self.cookies.claimed_id(request)
            if claimed:
                why = "malformed" if not is_valid_session_id(claimed) else "unknown or expired"
                self._refusals.refused(request, f"{why} session cookie")
            limits = self._new_session_limits
            if limits is not None and not limits.allow(self.hosts.client_address(request)):
                self._refusals.refused(request, "too many new sessions")
                html = render_error_page(429, "Too many new sessions",
                                         "Too many visits came from your address just now. "
                                         "Please try again in a minute.")
                return Response(html, status=429, mimetype="text/html",
                                headers={"Retry-After": "60", "Cache-Control": "no-store"})
            try:
                # Pending until its first WebSocket: a page load alone (anyone
                # can make one) gets a session that lapses fast and is the
                # first to go when the pool is full.
                session = self._sessions.create(limit=self._settings.max_sessions, pending=True)
            except CapacityError:
                self._refusals.refused(request, "max_sessions")
                html = render_error_page(503, "This app is full",
                                         "Too many people are using it right now. "
                                         "Please try again in a few minutes.")
                full = Response(html, status=503, mimetype="text/html",
                                headers={"Retry-After": "60", "Cache-Control": "no-store"})
                self.protect_document(full)
                return full
        session.touch()
        session.request = self.cookies.request_info(request)
        path = request.path or "/"
        if self.auth is not None:
            self.auth.on_page(request, session)
        status, page = self._site.resolve(path, session)
        if (status == 403 and self.auth is not None and page is not None
                and getattr(page, "access", None) is signed_in and session.user is None):
            away = self.auth.sign_in_redirect(request, page.path, self)
            if away is not None:
                if fresh or self.cookies.claimed_id(request) != session.id:
                    self.cookies.issue(request, away, session.id)  # the sign-in's session
                return away
        # The tab is not known before its socket opens: inputs bound to the URL
        # (bind="query") show its query already, the others the session's value.
        with drawing(session, None, clean_query(dict(request.args.items()))):
            roots = self._site.render_roots(session, page.path if page is not None else path)
        html = render_page(self._site.title_of(path), roots, version=CLIENT_VERSION,
                           path=page.path if page is not None else "/",
                           base=base_href(path), status=status, look=self._site.look)
        if VEGA_SCRIPTS in html:
            self._assets.warm_vega()  # asked for in a moment: make it meanwhile
        response = Response(html, status=status, mimetype="text/html")
        self.protect_document(response)
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        if fresh or self.cookies.claimed_id(request) != session.id:
            self.cookies.issue(request, response, session.id)
        return response

    def protect_document(self, response: Response) -> None:
        """Headers for an HTML document: its content policy, and no framing by
        other origins (``X-Frame-Options`` for browsers without CSP's
        ``frame-ancestors``, which wins where both are known)."""
        policy = self._settings.content_security_policy
        if policy:
            response.headers["Content-Security-Policy"] = policy
        response.headers["X-Frame-Options"] = "SAMEORIGIN"

    # -- signing in (App(auth=...): stgo.auth) --------------------------------------------------

    def auth_view(self, request: Request, action: str) -> Response:
        """``auth/login``, ``auth/callback``, ``POST auth/logout`` (404 without ``auth=``)."""
        if self.auth is None:
            return self.not_found(request)
        return self.auth.view(action, request, self)

    def new_session(self, request: Request) -> Session | Response:
        """A new (pending) session for *request*, or the page refusing it
        (too many from its address, or the app is full)."""
        limits = self._new_session_limits
        if limits is not None and not limits.allow(self.hosts.client_address(request)):
            self._refusals.refused(request, "too many new sessions")
            return Response(render_error_page(429, "Too many new sessions",
                                              "Please try again in a minute."),
                            status=429, mimetype="text/html", headers={"Retry-After": "60"})
        try:
            return self._sessions.create(limit=self._settings.max_sessions, pending=True)
        except CapacityError:
            self._refusals.refused(request, "max_sessions")
            return Response(render_error_page(503, "This app is full",
                                              "Please try again in a few minutes."),
                            status=503, mimetype="text/html", headers={"Retry-After": "60"})

    def refused(self, request: Request, why: str) -> None:
        """Count and log (once) a refused request."""
        self._refusals.refused(request, why)

    # -- the server's own ------------------------------------------------------------------------

    def health(self) -> Response:
        """``GET /health`` (see :meth:`~stgo.web.health.Health.body`)."""
        response = Response(self._health.body(), mimetype="application/json")
        response.headers["Cache-Control"] = "no-store"
        return response

    def metrics(self) -> Response:
        """``GET /metrics``: the counters, if the App serves them (else 404)."""
        if not self._settings.metrics_enabled:
            return Response("not found\n", status=404, mimetype="text/plain")
        response = Response(self._metrics.render(), mimetype="text/plain; version=0.0.4")
        response.headers["Cache-Control"] = "no-store"
        return response

    def rotate(self, request: Request) -> Response:
        """``POST session/rotate?token=...``: trade a rotation token for the new cookie."""
        if request.method != "POST":
            return Response("method not allowed\n", status=405, headers={"Allow": "POST"})
        origin = request.headers.get("Origin")
        if origin is not None and not self.hosts.origin_allowed(request, origin):
            self._refusals.origin_refused(request, origin, "a session rotation")
            return Response("forbidden\n", status=403, mimetype="text/plain")
        new_id = self._redeem_rotation(request.args.get("token", ""))
        if new_id is None:
            self._refusals.refused(request, "bad rotation token")
            return Response("forbidden: unknown or used token\n", status=403, mimetype="text/plain")
        response = Response(status=204, headers={"Cache-Control": "no-store"})
        self.cookies.issue(request, response, new_id)
        return response

    def transfer(self, request: Request, path: str) -> Response:
        """``POST upload`` and ``POST download``: Origin and cookie first, then the widget."""
        if request.method != "POST":
            return Response("method not allowed\n", status=405, headers={"Allow": "POST"})
        # A browser always sends Origin on a POST from a script; without one
        # (or from another site) the request is not from our page.
        origin = request.headers.get("Origin")
        if origin is None or not self.hosts.origin_allowed(request, origin):
            self._refusals.origin_refused(request, origin, f"a POST to {path[1:]}")
            return refusal(403, "forbidden: this request must come from the app's own page")
        session = self.current_session(request)
        if session is None:
            self._refusals.refused(request, "unknown or expired session cookie")
            return refusal(403, "your session has expired: reload the page")
        session.touch()
        if path == "/upload":
            return self._transfers.upload(request, session)
        return self._transfers.begin_download(request, session)
