"""The App's side of sign-in: :class:`AuthApp`, a base of :class:`stgo.App`
(the buttons, the hooks, ending and erasing users), and the wiring that
builds the identity service and the routes when the App has ``auth=``.

It does not import :mod:`stgo.app`: what it needs of the App is named by
:class:`AuthHost`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from ..errors import ConfigurationError
from ..widgets.base import Widget, check_callback
from .flow import AuthFlow
from .identity import Identity, LoginHook, LogoutHook
from .oidc import OIDC
from .proxy import ProxyAuth
from .userstate import UserState
from .widgets import LoginButton, LogoutButton

if TYPE_CHECKING:
    from ..cluster.relay import Relay
    from ..cluster.rotation import Rotations
    from ..config import Settings
    from ..core.hooks import SessionHooks
    from ..core.hub import Hub
    from ..core.manager import SessionManager
    from ..core.pages import Page
    from ..store.base import Store
    from ..web.endpoints import Endpoints

__all__ = ["AuthApp", "AuthHost"]


class AuthHost(Protocol):
    """What the wiring reads of the App."""

    settings: Settings
    sessions: SessionManager
    hub: Hub
    store: Store
    _rotations: Rotations
    _hooks: SessionHooks
    _relay: Relay | None
    _endpoints: Endpoints

    def get_page(self, path: str) -> Page | None: ...


class AuthApp:
    """Sign-in for the App (``App(auth=stgo.OIDC(...))``: see docs/auth.md)."""

    #: The identity service, or ``None`` without ``auth=``.
    _identity: Identity | None = None
    #: The sign-in routes, or ``None``.
    _auth_flow: AuthFlow | None = None

    def _add(self, widget: Widget) -> Widget:  # pragma: no cover - the App's
        raise NotImplementedError

    def _setup_auth(self: Any, auth: OIDC | ProxyAuth | None) -> None:
        """Build the identity service and the routes for *auth* (the App's
        ``__init__`` calls this once its parts exist)."""
        if auth is None:
            return
        host: AuthHost = self
        if not isinstance(auth, (OIDC, ProxyAuth)):
            raise ConfigurationError(
                f"auth must be stgo.OIDC(...) or stgo.ProxyAuth(...), got {auth!r}")
        if isinstance(auth, ProxyAuth) and not host.settings.trust_proxy:
            raise ConfigurationError(
                "auth=stgo.ProxyAuth(...) trusts a header anybody could send: it needs "
                "App(trust_proxy=True), behind a proxy that is the only way in and sets "
                f"{auth.user_header} itself")
        settings = host.settings
        identity = Identity(
            sessions=host.sessions, hub=host.hub, store=host.store, rotations=host._rotations,
            redraw=host._hooks.redraw, relay=host._relay,
            login_max_age=settings.login_max_age, user_state_ttl=settings.user_state_ttl)
        if isinstance(auth, OIDC):
            auth.clock = host.sessions.clock
        flow = AuthFlow(auth, identity, lambda path: host.get_page(path) is not None)
        self._identity = identity
        self._auth_flow = flow
        host._endpoints.auth = flow

    def _need_identity(self, what: str) -> Identity:
        if self._identity is None:
            raise ConfigurationError(f"{what} needs sign-in: stgo.App(auth=stgo.OIDC(...))")
        return self._identity

    # -- widgets ----------------------------------------------------------------------------

    def login_button(self, label: str = "Sign in", *, key: str | None = None) -> LoginButton:
        """A "Sign in" button: to the provider and back to this page.
        Shown only to sessions nobody is signed in to."""
        self._need_identity("app.login_button")
        button = LoginButton(label, key=key)
        self._add(button)
        return button

    def logout_button(self, label: str = "Sign out", *, everywhere: bool = False,
                      key: str | None = None) -> LogoutButton:
        """A "Sign out" button, shown only to signed-in sessions.

        :param everywhere: also end every other session of the user, on
            every process (their tabs are told at once).
        """
        self._need_identity("app.logout_button")
        button = LogoutButton(label, everywhere=everywhere, key=key)
        self._add(button)
        return button

    # -- hooks --------------------------------------------------------------------------------

    def on_login(self, fn: LoginHook) -> LoginHook:
        """Register ``fn(session, user)``, run after each sign-in (the
        session has its new ID); usable as a decorator."""
        check_callback(fn, ("session", "user"), "an on_login hook")
        self._need_identity("app.on_login").login_hooks.append(fn)
        return fn

    def on_logout(self, fn: LogoutHook) -> LogoutHook:
        """Register ``fn(session, user, reason)``, run when a sign-in ends:
        *reason* is ``"logout"``, ``"everywhere"``, ``"expired"``
        (``login_max_age``) or ``"ended"`` (the session ended otherwise)."""
        check_callback(fn, ("session", "user", "reason"), "an on_logout hook")
        self._need_identity("app.on_logout").logout_hooks.append(fn)
        return fn

    # -- users ----------------------------------------------------------------------------------

    def end_user_sessions(self, user_id: str) -> int:
        """End every session signed in as *user_id*, on every process:
        their tabs are told at once and their cookies refused from now on.
        Return how many sessions ended."""
        return self._need_identity("app.end_user_sessions").end_user_sessions(user_id)

    def erase_user(self, user_id: str) -> int:
        """Forget *user_id* (GDPR-style): their ``user_state`` erased and
        every session of theirs ended.  Return how many sessions ended."""
        return self._need_identity("app.erase_user").erase_user(user_id)

    def user_state_of(self, user_id: str) -> UserState:
        """The ``user_state`` of *user_id*, from outside their sessions (a
        background job, an admin page): changes reach their open sessions."""
        return self._need_identity("app.user_state_of").state_of(user_id)
