"""Browser tabs: what is per tab inside a session (its page, URL query, state).

A session spans every tab of one browser (one cookie), but a URL is per tab.
A :class:`BrowserTab` lives as long as the tab keeps reconnecting or
reloading (the client names its tab with a random token kept in its
``sessionStorage``, which is per tab and survives a reload); the App's
:class:`TabRegistry` maps open connections to their tab.  A tab's ID is *not*
a secret and is never the session ID: it only tells one tab of a session
from another.
"""

from __future__ import annotations

import re
import secrets
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from .request import Headers, RequestInfo

if TYPE_CHECKING:
    from ..protocol import Outlet

__all__ = ["BrowserTab", "TabRegistry", "RequestInfo", "TabState", "Headers",
           "TAB_ID_PATTERN", "MAX_TABS_PER_SESSION"]

# The session a tab belongs to (a :class:`~stgo.core.session.Session`; this module
# does not import it: the session knows its tabs, not the other way round).
S = TypeVar("S")

#: What a client-made tab ID may look like.
TAB_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{8,64}$")

#: Tabs remembered per session; the oldest closed one is forgotten past it.
MAX_TABS_PER_SESSION = 32

# Query strings a client may hand us: this many parameters, this long each.
_MAX_PARAMS = 64
_MAX_PARAM_LEN = 2048


def clean_query(query: object) -> dict[str, str]:
    """A client's query mapping as we keep it: strings to strings, bounded.

    Anything else (a number, a list) is turned into text; past the limits
    the extra parameters are dropped.
    """
    if not isinstance(query, dict):
        return {}
    clean: dict[str, str] = {}
    for name, value in list(query.items())[:_MAX_PARAMS]:
        if not isinstance(name, str) or not name or len(name) > _MAX_PARAM_LEN:
            continue
        text = value if isinstance(value, str) else ("" if value is None else str(value))
        clean[name] = text[:_MAX_PARAM_LEN]
    return clean


class TabState:
    """Per-tab state: the ``get``/``set`` of a session, for one tab only.

    Thread-safe.  It is not pushed anywhere: show it through widgets.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._data: dict[str, Any] = {}

    def get(self, key: str, default: Any = None) -> Any:
        """The value under *key*, or *default*."""
        with self._lock:
            return self._data.get(key, default)

    def set(self, key: str, value: Any) -> None:
        """Store *value* under *key* for this tab."""
        with self._lock:
            self._data[key] = value

    def delete(self, key: str) -> bool:
        """Remove *key*; return whether it was there."""
        with self._lock:
            return self._data.pop(key, None) is not None

    def has(self, key: str) -> bool:
        """Whether *key* is set."""
        with self._lock:
            return key in self._data

    def items(self) -> dict[str, Any]:
        """A shallow copy of the tab's state."""
        with self._lock:
            return dict(self._data)

    def __getitem__(self, key: str) -> Any:
        with self._lock:
            return self._data[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.set(key, value)

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._data


#: ``navigator(tab, path, query, push)``: move a tab (the App's), see :meth:`BrowserTab.navigate`.
Navigator = Callable[["BrowserTab[S]", "str | None", "dict[str, str] | None", bool], None]


class BrowserTab(Generic[S]):
    """One browser tab of a session: its page, its URL query and its own state.

    Get the tab whose event is being handled with ``session.tab`` (inside a
    callback), or every open tab with ``session.open_tabs``.

    :param tab_id: the client's random tab token (not a secret; never the
        session ID).
    :param path: the page the tab shows (``"/"``, ``"/reports"``).
    :param query: its URL query parameters.
    :param request: the WebSocket handshake's :class:`RequestInfo`.
    """

    def __init__(self, tab_id: str, session: S, path: str = "/",
                 query: Mapping[str, str] | None = None,
                 request: RequestInfo | None = None) -> None:
        self.id = tab_id
        self.session = session
        self._lock = threading.Lock()
        self._path = path
        self._query: dict[str, str] = dict(query or {})
        self.request = request or RequestInfo()
        #: This tab's own state (a draft, a scroll position): invisible to other tabs.
        self.state = TabState()
        self._conn: Outlet | None = None
        # The page whose live changes this tab gets: its path once it was
        # drawn there with its session's leave (access=), None before that
        # or when refused.  Decided per draw, not per push (see Router.page_of).
        self._granted: str | None = None
        # Set by the App: sends a URL or page change to this tab's client.
        self._navigator: Navigator[S] | None = None

    def __repr__(self) -> str:
        return f"<BrowserTab {self.id[:6]}… {self._path!r}>"

    @property
    def path(self) -> str:
        """The page this tab shows."""
        with self._lock:
            return self._path

    @property
    def query(self) -> dict[str, str]:
        """A copy of the tab's URL query parameters (``?q=x`` is ``{"q": "x"}``)."""
        with self._lock:
            return dict(self._query)

    @property
    def connected(self) -> bool:
        """Whether the tab has an open connection right now."""
        with self._lock:
            return self._conn is not None

    def set_query(self, params: Mapping[str, object] | None = None, /,
                  **more: object) -> None:
        """Replace the tab's query parameters; its URL follows (no reload, no
        history entry).  ``None`` values are dropped: ``set_query(q=None)``
        removes ``q``."""
        merged = {**(params or {}), **more}
        query = {k: str(v) for k, v in merged.items() if v is not None}
        self._send(None, query, False)

    def update_query(self, **params: object) -> None:
        """Change some query parameters, keeping the others (``None`` removes one)."""
        merged: dict[str, object] = dict(self.query)
        merged.update(params)
        self.set_query(merged)

    def navigate(self, path: str, query: Mapping[str, object] | None = None) -> None:
        """Move this tab to the page at *path* (no reload; the back button returns)."""
        clean = None if query is None else {k: str(v) for k, v in query.items() if v is not None}
        self._send(path, clean, True)

    def _send(self, path: str | None, query: dict[str, str] | None, push: bool) -> None:
        navigator = self._navigator
        if navigator is not None:
            navigator(self, path, query, push)
        else:
            self._moved(path, query)

    # -- owner's side ---------------------------------------------------------------------

    def _moved(self, path: str | None, query: dict[str, str] | None) -> None:
        """Record where the tab is now."""
        with self._lock:
            if path is not None:
                self._path = path
                self._granted = None  # nothing of the new page until it is drawn
            if query is not None:
                self._query = dict(query)

    def _drawn(self, granted: str | None) -> None:
        """The tab was drawn: on page *granted* (its session may see it), or
        refused (``None``)."""
        with self._lock:
            self._granted = granted

    @property
    def granted(self) -> str | None:
        """The page whose live changes this tab gets (``None``: none yet, or refused)."""
        with self._lock:
            return self._granted

    def _connect(self, conn: Outlet | None) -> Outlet | None:
        with self._lock:
            was, self._conn = self._conn, conn
            return was

    def _disconnect(self, conn: Outlet) -> bool:
        """Forget *conn* if it is still the tab's; return whether it was."""
        with self._lock:
            if self._conn is not conn:
                return False  # a newer connection replaced it: the tab stays connected
            self._conn = None
            return True

    @property
    def conn(self) -> Outlet | None:
        """The tab's open connection, if any."""
        with self._lock:
            return self._conn


class TabRegistry(Generic[S]):
    """The App's tabs: by connection, and by session (for ``session.open_tabs``)."""

    def __init__(self, navigator: Navigator[S] | None = None) -> None:
        self._navigator = navigator
        self._lock = threading.Lock()
        self._by_conn: dict[Outlet, BrowserTab[S]] = {}
        self._by_session: dict[S, dict[str, BrowserTab[S]]] = {}
        #: Told ``(tab, True)`` when a tab gets a connection while it had none,
        #: ``(tab, False)`` when it loses its last (the App's presence hooks).
        self.presence: Callable[[BrowserTab[S], bool], None] | None = None

    def open(self, session: S, tab_id: str | None, *, path: str = "/",
             query: Mapping[str, str] | None = None,
             request: RequestInfo | None = None) -> BrowserTab[S]:
        """The session's tab *tab_id* (made if new, or if the ID is unusable)."""
        if not tab_id or not TAB_ID_PATTERN.match(tab_id):
            tab_id = secrets.token_urlsafe(12)
        with self._lock:
            tabs = self._by_session.setdefault(session, {})
            tab = tabs.get(tab_id)
            if tab is None:
                tab = BrowserTab(tab_id, session, path, query, request)
                tab._navigator = self._navigator
                tabs[tab_id] = tab
                if len(tabs) > MAX_TABS_PER_SESSION:
                    for old_id, old in list(tabs.items()):
                        if old.conn is None and old is not tab:
                            del tabs[old_id]
                            if len(tabs) <= MAX_TABS_PER_SESSION:
                                break
            else:
                tab._moved(path, dict(query or {}))
                if request is not None:
                    tab.request = request
        return tab

    def moved(self, tab: BrowserTab[S], path: str | None,
              query: dict[str, str] | None) -> None:
        """Record where *tab* is now (its page, if *path*; its query, if *query*)."""
        tab._moved(path, query)

    def drawn(self, tab: BrowserTab[S], granted: str | None) -> None:
        """*tab* was drawn on page *granted* (its session may see it), or
        refused (``None``): the page whose live changes it gets."""
        tab._drawn(granted)

    def bind(self, tab: BrowserTab[S], conn: Outlet) -> None:
        """*conn* is *tab*'s connection now."""
        with self._lock:
            self._by_conn[conn] = tab
        presence = self.presence
        was = tab._connect(conn)
        if presence is not None and was is not conn:
            if was is not None:
                # Back before its old socket's close came (a reload, a quick
                # reconnect): it went away and came back, in that order.
                presence(tab, False)
            presence(tab, True)

    def unbind(self, conn: Outlet) -> None:
        """*conn* closed."""
        with self._lock:
            tab = self._by_conn.pop(conn, None)
        if tab is not None and tab._disconnect(conn):
            presence = self.presence
            if presence is not None:
                presence(tab, False)

    def of(self, conn: Outlet | None) -> BrowserTab[S] | None:
        """The tab of *conn*, or ``None`` (a connection without one: tests, old clients)."""
        if conn is None:
            return None
        # No lock: the hub asks this for every connection of every flush, from
        # many event threads at once, and a lock here convoyed them behind one
        # holder waiting for the GIL (a fan-out to 200 tabs ran 2-3x slower).
        # A single dict lookup is atomic in CPython; bind/unbind keep the lock.
        return self._by_conn.get(conn)

    def of_session(self, session: S) -> list[BrowserTab[S]]:
        """The session's open tabs."""
        with self._lock:
            return [t for t in self._by_session.get(session, {}).values() if t.conn is not None]

    def forget(self, session: S) -> None:
        """The session ended: drop its tabs."""
        with self._lock:
            self._by_session.pop(session, None)
