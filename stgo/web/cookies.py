"""The session cookie: its name, reading it, issuing it, and keeping it from app code."""

from __future__ import annotations

from urllib.parse import quote as url_quote

from werkzeug.wrappers import Request, Response

from ..core.tabs import Headers, RequestInfo
from .hosts import Hosts

__all__ = ["Cookies", "COOKIE_NAME", "SECURE_COOKIE_NAME", "PREFIXED_COOKIE_NAME"]

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

_OURS = frozenset({COOKIE_NAME, SECURE_COOKIE_NAME, PREFIXED_COOKIE_NAME})


class Cookies:
    """The session cookie of requests read through *hosts*."""

    def __init__(self, hosts: Hosts) -> None:
        self._hosts = hosts

    def name(self, request: Request) -> str:
        """The session cookie's name for *request*: ``__Host-`` or ``__Secure-``
        prefixed over HTTPS (see :data:`SECURE_COOKIE_NAME`), plain over HTTP.

        Only that name is read: over HTTPS an unprefixed cookie (which any
        sibling subdomain or plain-HTTP page could set) is ignored.
        """
        if not self._hosts.is_https(request):
            return COOKIE_NAME
        return PREFIXED_COOKIE_NAME if self._hosts.prefix(request) else SECURE_COOKIE_NAME

    def claimed_id(self, request: Request) -> str | None:
        """The session ID the request's cookie claims (unchecked), if any."""
        return request.cookies.get(self.name(request))

    def issue(self, request: Request, response: Response, session_id: str) -> None:
        """Issue the session cookie: a browser-session cookie, HttpOnly, Lax."""
        response.set_cookie(
            # The path is the prefix, so that two apps on one host keep a cookie each.
            self.name(request), session_id, path=self._hosts.prefix(request) + "/",
            httponly=True, samesite="Lax", secure=self._hosts.is_https(request),
        )

    def request_info(self, request: Request) -> RequestInfo:
        """What app code may read of *request* (``session.request``): never the
        session cookie, neither in ``cookies`` nor as a ``Cookie`` header."""
        hosts = self._hosts
        headers = Headers([(k, v) for k, v in request.headers.items()
                           if k.lower() != "cookie"])
        cookies = {k: v for k, v in request.cookies.items() if k not in _OURS}
        url = request.base_url
        if hosts.trust_proxy:  # the URL the browser asked for, through the proxy
            path = url_quote(request.path, safe="/:@!$&'()*+,;=%~")
            url = hosts.origin(request) + hosts.prefix(request) + path
        return RequestInfo(headers, cookies, hosts.client_address(request), url)
