"""The sign-in routes under the app's prefix, and the sign-in on page loads
behind an authenticating proxy:

``GET auth/login?next=/path``
    (OIDC) a ``state``, ``nonce`` and PKCE verifier kept in the session,
    then off to the provider.  ``next`` must be a page of this app.
``GET auth/callback?code=...&state=...``
    the ``state`` taken back from the session (once), the code traded, the
    ID token verified, the session signed in (a new ID, its new cookie on
    this response), back to ``next``.
``POST auth/logout``
    (from the app's own page: ``Origin`` checked) signed out, back home.

Every failure is a page that says what happened and a log line, never a
traceback; nothing is signed in.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import urllib.parse
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

from ..core.identity import User
from ..errors import SignInError
from ..web.page import render_error_page
from .identity import Identity
from .oidc import OIDC
from .proxy import ProxyAuth

if TYPE_CHECKING:
    from ..core.session import Session
    from ..web.endpoints import Endpoints

__all__ = ["AuthFlow", "PENDING_KEY", "safe_next"]

log = logging.getLogger("stgo")

#: The session-state key of the sign-ins under way (reserved).
PENDING_KEY = "_stgo_signin"
#: Sign-ins under way one session keeps at most (tabs that each began one).
MAX_PENDING = 4
#: Seconds a sign-in may take at the provider.
PENDING_TTL = 600.0


def safe_next(value: str | None, is_page: Callable[[str], bool]) -> str | None:
    """*value* if it is a path of this app (``/`` or one of its pages, with
    an optional query), ``"/"`` if empty, else ``None`` (no open redirect)."""
    if not value:
        return "/"
    if (len(value) > 2048 or not value.startswith("/") or value.startswith("//")
            or "\\" in value or any(ord(c) < 0x20 or ord(c) == 0x7F for c in value)):
        return None
    parts = urllib.parse.urlsplit(value)
    if parts.scheme or parts.netloc or parts.fragment:
        return None
    if parts.path != "/" and not is_page(parts.path):
        return None
    return value


def _state_key(state: str) -> str:
    # The pending sign-in is found by the state's hash: the state itself is
    # never stored, and a lookup compares no secret byte by byte.
    return hashlib.sha256(state.encode("utf-8", "replace")).hexdigest()


class AuthFlow:
    """The routes of ``auth=`` (the endpoints call it; see the module).

    :param auth: an :class:`~stgo.auth.oidc.OIDC` or :class:`~stgo.auth.proxy.ProxyAuth`.
    :param identity: signs sessions in and out.
    :param is_page: whether a path is a page of the app (``next``).
    """

    def __init__(self, auth: OIDC | ProxyAuth, identity: Identity,
                 is_page: Callable[[str], bool]) -> None:
        self.auth = auth
        self._identity = identity
        self._is_page = is_page

    # -- for the endpoints ---------------------------------------------------------------------

    def view(self, action: str, request: Request, web: Endpoints) -> Response:
        """The response of route ``auth/<action>``; never raises."""
        try:
            if action == "login":
                return self.login(request, web)
            if action == "callback":
                return self.callback(request, web)
            return self.logout(request, web)
        except SignInError as exc:
            log.warning("sign-in refused for %s: %s", web.hosts.client_address(request),
                        exc.detail)
            return self._page(web, request, exc.status, exc.title, str(exc))
        except Exception:
            log.exception("sign-in failed for %s", web.hosts.client_address(request))
            return self._page(web, request, 500, "Sign-in failed",
                              "Something went wrong while signing you in. Please try again.")

    def sign_in_redirect(self, request: Request, path: str, web: Endpoints) -> Response | None:
        """Where an anonymous visitor of a page for signed-in users goes:
        the sign-in, with that page as ``next`` (behind a proxy, ``None``:
        the proxy signs people in, a 403 page says they are not)."""
        if isinstance(self.auth, ProxyAuth):
            return None
        target = path + (f"?{request.query_string.decode('latin-1')}"
                         if request.query_string else "")
        location = (web.hosts.prefix(request) + "/auth/login?next="
                    + urllib.parse.quote(target, safe="/"))
        return Response(status=302, headers={"Location": location,
                                             "Cache-Control": "no-store"})

    def on_page(self, request: Request, session: Session) -> None:
        """A page load: behind an authenticating proxy, follow its header."""
        auth = self.auth
        if not isinstance(auth, ProxyAuth):
            return
        said = request.headers.get(auth.user_header, "").strip()
        user = session.user
        if not said:
            if user is not None:
                self._identity.sign_out(session, "logout", cookie_follows=True)
            return
        if user is not None and user.id == said:
            return
        try:
            email = request.headers.get(auth.email_header) if auth.email_header else None
            name = request.headers.get(auth.name_header) if auth.name_header else None
            who = User(id=said, email=email or None, name=name or None,
                       claims={"sub": said, **({"email": email} if email else {})})
        except ValueError:
            log.warning("proxy sign-in refused: header %s is no user id", auth.user_header)
            return
        self._identity.sign_in(session, who, cookie_follows=True)

    # -- the routes ----------------------------------------------------------------------------

    def _page(self, web: Endpoints, request: Request, status: int, title: str,
              message: str) -> Response:
        home = web.hosts.prefix(request) + "/"
        response = Response(render_error_page(status, title, message, home=home),
                            status=status, mimetype="text/html",
                            headers={"Cache-Control": "no-store"})
        web.protect_document(response)
        return response

    def _back_to(self, request: Request, web: Endpoints, target: str,
                 session: Session | None) -> Response:
        response = Response(status=303, headers={
            "Location": web.hosts.prefix(request) + target, "Cache-Control": "no-store"})
        if session is not None and web.cookies.claimed_id(request) != session.id:
            web.cookies.issue(request, response, session.id)
        return response

    def _next_from(self, request: Request, web: Endpoints) -> str | None:
        if "next" in request.args:
            return safe_next(request.args.get("next"), self._is_page)
        # A sign-in button is a plain link: the page it was on comes as the
        # Referer (same origin only, by the page's Referrer-Policy).
        referer = request.headers.get("Referer", "")
        root = web.hosts.origin(request) + web.hosts.prefix(request)
        if referer.startswith(root + "/"):
            return safe_next(referer[len(root):].split("#", 1)[0], self._is_page) or "/"
        return "/"

    def login(self, request: Request, web: Endpoints) -> Response:
        """``GET auth/login?next=/path``."""
        target = self._next_from(request, web)
        if target is None:
            web.refused(request, "sign-in next is not a page of this app")
            raise SignInError(400, "Not a page of this app",
                              "The page to return to after signing in is not part of this "
                              "app, so the sign-in was not started.",
                              "login refused: next is not a path of this app")
        auth = self.auth
        session = web.current_session(request)
        if isinstance(auth, ProxyAuth) or (session is not None and session.user is not None):
            return self._back_to(request, web, target, session)  # the proxy signs in
        made = session is None
        if session is None:
            created = web.new_session(request)
            if isinstance(created, Response):
                return created
            session = created
        # A sign-in under way keeps its session as an open tab would.
        session.attach()
        session.detach()
        state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        verifier = secrets.token_urlsafe(48)
        redirect_uri = auth.redirect_uri or (
            web.hosts.origin(request) + web.hosts.prefix(request) + "/auth/callback")
        location = auth.authorize_url(redirect_uri, state, nonce, verifier)
        now = self._identity.clock()
        entry = {"nonce": nonce, "verifier": verifier, "next": target,
                 "redirect_uri": redirect_uri, "at": now}

        def add(pending: Any) -> dict[str, Any]:
            kept = {k: v for k, v in (pending if isinstance(pending, dict) else {}).items()
                    if isinstance(v, dict) and now - float(v.get("at", 0)) < PENDING_TTL}
            while len(kept) >= MAX_PENDING:
                kept.pop(min(kept, key=lambda k: float(kept[k].get("at", 0))))
            kept[_state_key(state)] = entry
            return kept

        session.update(PENDING_KEY, add, None)
        response = Response(status=302, headers={"Location": location,
                                                 "Cache-Control": "no-store"})
        if made or web.cookies.claimed_id(request) != session.id:
            web.cookies.issue(request, response, session.id)
        return response

    def _take_pending(self, session: Session, state: str) -> dict[str, Any] | None:
        """The sign-in under way with *state*, taken out (once: a replay finds none)."""
        key = _state_key(state)
        taken: list[dict[str, Any]] = []

        def take(pending: Any) -> dict[str, Any]:
            taken.clear()
            kept = dict(pending) if isinstance(pending, dict) else {}
            entry = kept.pop(key, None)
            if isinstance(entry, dict):
                taken.append(entry)
            return kept

        session.update(PENDING_KEY, take, None)
        if not taken:
            return None
        entry = taken[0]
        if self._identity.clock() - float(entry.get("at", 0)) >= PENDING_TTL:
            return None
        return entry

    def callback(self, request: Request, web: Endpoints) -> Response:
        """``GET auth/callback``: back from the provider."""
        auth = self.auth
        if not isinstance(auth, OIDC):
            return self._back_to(request, web, "/", None)
        session = web.current_session(request)
        state = request.args.get("state", "")
        pending = self._take_pending(session, state) if session is not None and state else None
        error = request.args.get("error")
        if error is not None:
            # Nothing is signed in either way: said even when the provider
            # sent no state back (some do not with an error).
            if error == "access_denied":
                raise SignInError(403, "Sign-in cancelled",
                                  "You did not allow this app to sign you in, so you are "
                                  "not signed in.", "provider says access_denied")
            raise SignInError(400, "Sign-in failed",
                              "The sign-in service could not sign you in. Please try again.",
                              f"provider says {error[:64]!r}")
        if pending is None:
            web.refused(request, "sign-in callback with an unknown or used state")
            raise SignInError(
                400, "Sign-in link not valid",
                "This sign-in could not be matched to one started in this browser (it was "
                "already used, took too long, or was started elsewhere). Please sign in again.",
                "callback refused: unknown, used or expired state"
                + ("" if session is not None else " (no session cookie)"))
        assert session is not None
        code = request.args.get("code", "")
        if not code or len(code) > 4096:
            raise SignInError(400, "Sign-in failed", "The sign-in service sent no code.",
                              "callback without a code")
        tokens = auth.exchange(code, str(pending["redirect_uri"]), str(pending["verifier"]))
        claims = auth.verify(tokens["id_token"], str(pending["nonce"]))
        access = tokens.get("access_token")
        if auth.userinfo and isinstance(access, str):
            extra = auth.fetch_userinfo(access, claims["sub"])
            claims = {**extra, **claims}  # the verified token's claims win
        # The tokens are dropped here: none is kept, in the page, a cookie or the store.
        del tokens, access
        email, name = claims.get("email"), claims.get("name")
        user = User(id=str(claims["sub"]), email=email if isinstance(email, str) else None,
                    name=name if isinstance(name, str) else None, claims=_plain(claims))
        self._identity.sign_in(session, user, cookie_follows=True)
        return self._back_to(request, web, str(pending["next"]), session)

    def logout(self, request: Request, web: Endpoints) -> Response:
        """``POST auth/logout`` (``everywhere=1``: every session of the user)."""
        if request.method != "POST":
            return Response("method not allowed\n", status=405, headers={"Allow": "POST"})
        origin = request.headers.get("Origin")
        if origin is None or not web.hosts.origin_allowed(request, origin):
            web.refused(request, "sign-out not from the app's own page")
            raise SignInError(403, "Sign-out refused",
                              "Sign out from the app's own page.",
                              f"logout refused: Origin {origin!r}")
        session = web.current_session(request)
        if session is not None:
            everywhere = request.form.get("everywhere") in ("1", "true", "on")
            user = self._identity.sign_out(session, "everywhere" if everywhere else "logout",
                                           cookie_follows=True)
            if user is not None and everywhere:
                self._identity.end_user_sessions(user.id, reason="everywhere")
        return self._back_to(request, web, "/", session)


def _plain(claims: dict[str, Any]) -> dict[str, Any]:
    """The claims the codec can keep (JSON values, which they are)."""
    return {str(k): v for k, v in claims.items()
            if isinstance(v, (str, int, float, bool, list, dict)) or v is None}
