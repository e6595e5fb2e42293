"""The App's pages and tabs: which page a path is, what a tab on it sees,
moving tabs between pages, and the one door of every shared widget's change.

The :class:`Router` is an object the App owns (``app.page(...)`` and the
rest delegate to it).  See :mod:`stgo.core.pages` for a page itself and
:mod:`stgo.core.tabs` for a tab.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from .. import protocol
from ..errors import ConfigurationError
from ..widgets.bars import Sidebar, Topbar
from ..widgets.base import InputWidget, Widget
from ..widgets.naming import SharedNames
from ..widgets.nav import NavEntry, Navigation
from .hub import PageView
from .pages import OpenHook, Page, PagePrivate, Scopes, normalize_path
from .session import Session
from .tabs import BrowserTab, TabRegistry
from .tabvalues import ScopedInputs

if TYPE_CHECKING:
    from ..protocol import Outlet
    from ..widgets.layout import Container
    from .hub import Hub

__all__ = ["Router", "Keeper"]

#: ``keep(widget, path)``: a persistent store saves shared *widget*'s
#: run-time change (it is on the page at *path*; ``None``: on every page).
Keeper = Callable[[Widget, "str | None"], None]


class Router:
    """The pages, navigation and tabs of an App.

    :param hub: the App's hub (the tab whose event runs, full renders, pushes).
    :param home: the top-level shared widgets of the App's own page ``/``.
    :param sidebar: the App's sidebar (on every page).
    :param topbar: the App's top bar (on every page).
    :param title: the App's title (the document title of ``/`` and the
        default of every page), asked each time.
    :param call_hook: runs a user hook (``call_hook(fn, *args)``), logging
        what it raises.
    :param refusal: the main area of a page a session may not see
        (``refusal(status, path)``: 403, or 404 for no page).
    """

    def __init__(self, *, hub: Hub, home: Callable[[], list[Widget]], sidebar: Container,
                 topbar: Container, title: Callable[[], str],
                 call_hook: Callable[..., None],
                 refusal: Callable[[int, str], str]) -> None:
        self.hub = hub
        self.sidebar = sidebar
        self.topbar = topbar
        self._home = home
        self._title = title
        self._call_hook = call_hook
        self._refusal = refusal
        self._lock = threading.RLock()
        self._pages: dict[str, Page] = {}
        #: Which page each top-level shared widget is on.
        self.scopes = Scopes()
        #: The IDs of shared widgets, alike in every process (closed at the app's start).
        self.names = SharedNames()
        #: The browser tabs of every session (see :class:`~stgo.core.tabs.BrowserTab`).
        self.tabs: TabRegistry[Session] = TabRegistry(self._tab_moved)
        #: Saves a shared widget's run-time change (a persistent store's
        #: saver, set by the App; ``None``: nothing is saved).
        self.keep: Keeper | None = None
        #: The shared inputs with a value per tab, by key (``session.get`` asks).
        self.scoped = ScopedInputs()
        #: The ``on_open`` hooks of the App's own page ``/`` (``@app.on_open``).
        self.home_open: list[OpenHook] = []

    @property
    def page_title(self) -> str:
        """The App's title."""
        return self._title()

    @property
    def widgets(self) -> list[Widget]:
        """The top-level shared widgets of the App's own page ``/``."""
        return self._home()

    def shared_changed(self, widget: Widget, change: str, *, applied: bool = False) -> None:
        """The one door of every change of a shared widget, on any page
        (the App's own, each :class:`~stgo.core.pages.Page`'s, the sidebar and
        top bar), made here by a callback or a background thread, or
        *applied* from elsewhere (another process's change, read from the
        store): pushed by the hub, and kept by a persistent store under the
        name of its page and key unless it was *applied* (it is stored already,
        and not told onward)."""
        self.scoped.note(widget, change)
        column = widget.parent
        if change == "insert" and isinstance(column, (Sidebar, Topbar)) and len(
                column.children) == 1:
            # The sidebar (or top bar) is not drawn while empty: its first
            # widget draws it whole, into its place on every page.
            widget = column
        if applied:
            with self.hub.batch() as batch:
                batch.local_only = True
                self.hub.global_changed(widget, change)
            return
        self.hub.global_changed(widget, change)
        keep = self.keep
        if keep is not None and change in ("update", "value"):
            keep(widget, self.scopes.of(widget))

    def page(self, path: str, *, title: str | None = None, label: str | None = None,
             access: Callable[[Session], bool] | None = None,
             icon: str | None = None) -> Page:
        """Make the page at *path*: what :meth:`stgo.App.page` does (its
        docstring says the parameters)."""
        clean = normalize_path(path)
        if clean == "/":
            raise ConfigurationError("the App itself is the page at '/': add its widgets "
                                     "with app.text(...), or pick another path")
        with self._lock:
            if clean in self._pages:
                raise ConfigurationError(f"there is a page at {clean!r} already")
            page = Page(self, clean, title=title, label=label, access=access, icon=icon)
            self._pages[clean] = page
        return page

    @property
    def pages(self) -> list[Page]:
        """The pages made with :meth:`page`, in order (not the App's own ``/``)."""
        with self._lock:
            return list(self._pages.values())

    def get_page(self, path: str) -> Page | None:
        """The page at *path* (``None`` for ``"/"``, the App's own, or for no page)."""
        try:
            clean = normalize_path(path)
        except ConfigurationError:
            return None
        with self._lock:
            return self._pages.get(clean)

    def resolve(self, path: str, session: Session | None) -> tuple[int, Page | None]:
        """``(200, page)`` for the page at *path* (``page`` ``None`` for ``/``),
        ``(403, page)`` when *session* may not open it, ``(404, None)`` for no page."""
        if path in ("", "/"):
            return 200, None
        page = self.get_page(path)
        if page is None:
            return 404, None
        if session is not None and not page.allows(session):
            return 403, page
        return 200, page

    def title_of(self, path: str) -> str:
        """The document title of the page at *path*."""
        page = self.get_page(path) if path not in ("", "/") else None
        return page.page_title if page is not None else self.page_title

    def navigation(self, *, position: str = "sidebar", key: str | None = None) -> Navigation:
        """A list of links to every page (``/`` first), the current one marked;
        in the sidebar (default) or on top (``position="top"``).  Pages a
        session may not open are left out of its list."""
        if position not in ("sidebar", "top"):
            raise ConfigurationError("navigation position is 'sidebar' or 'top'")
        nav = Navigation(self._nav_entries, position=position, key=key)
        (self.sidebar if position == "sidebar" else self.topbar).add(nav)
        return nav

    def _nav_entries(self, state: object) -> list[NavEntry]:
        entries: list[NavEntry] = [("/", self.page_title, None)]
        for page in self.pages:
            if page.access is None or (isinstance(state, Session) and page.allows(state)):
                entries.append((page.path, page.label, page.icon))
        return entries

    def page_widgets(self, page: Page | None) -> list[Widget]:
        """The top-level shared widgets of *page* (``None``: the App's own)."""
        return self.widgets if page is None else page.widgets

    def shared_tops(self, session: Session, path: str) -> list[Widget]:
        """The top-level shared widgets *session* sees on *path*, sidebar and top bar included."""
        status, page = self.resolve(path, session)
        main = self.page_widgets(page) if status == 200 else []
        return [*main, self.sidebar, self.topbar]

    def reachable_tops(self, session: Session) -> list[Widget]:
        """The top-level widgets of every page *session* may open, its own
        included: what a request that names no page (an upload, a download)
        may reach.  A page whose ``access`` refuses the session is left out."""
        tops = [*self.widgets, self.sidebar, self.topbar]
        for page in self.pages:
            if page.allows(session):
                tops.extend(page.widgets)
        for w in session.widgets:
            if not isinstance(w, PagePrivate) or self.resolve(w.page_path, session)[0] == 200:
                tops.append(w)
        return tops

    def private_tops(self, session: Session, path: str) -> list[Widget]:
        """*session*'s widgets shown on *path*: the session-wide ones, and
        that page's private box (unless the session is refused there)."""
        tops = []
        for w in session.widgets:
            if isinstance(w, PagePrivate) and (
                    w.page_path != path or self.resolve(path, session)[0] != 200):
                continue
            tops.append(w)
        return tops

    def find_widget(self, session: Session, widget_id: str,
                    path: str | None = None) -> Widget | None:
        """The widget with DOM *widget_id* that *session* can see (on the page
        at *path*, if given: what a tab on that page can click; else on any
        page its ``access`` lets it open), or ``None``."""
        if path is None:
            tops = self.reachable_tops(session)
        else:
            tops = [*self.shared_tops(session, path), *self.private_tops(session, path)]
        for top in tops:
            for w in top.walk():
                if w.id == widget_id:
                    return w
        return None

    def render_roots(self, session: Session, path: str = "/") -> dict[str, str]:
        """HTML of each page root for *session* on the page at *path*."""
        sidebar = self.sidebar.render(session) if self.sidebar.children else ""
        topbar = self.topbar.render(session) if self.topbar.children else ""
        status, page = self.resolve(path, session)
        if status == 200:
            tops = self.page_widgets(page)
            # A page's own sidebar (page.sidebar) is drawn beside the App's.
            main = "".join(w.render(session) for w in tops if not _is_sidebar(w))
            sidebar += "".join(w.render(session) for w in tops
                               if _is_sidebar(w) and getattr(w, "children", None))
        else:
            main = self._refusal(status, path)
        roots = {
            "global": main,
            "sidebar": sidebar,
            # Slot contents (``mount``) are drawn inside their slot instead.
            "session": "".join(w.render(session) for w in self.private_tops(session, path)
                               if getattr(w, "mount", None) is None),
        }
        if topbar:  # only when used: the roots of an app without one stay as they were
            roots["topbar"] = topbar
        return roots

    def scope_of(self, widget: Widget) -> str | None:
        """The page path *widget* is drawn on, ``None`` for every page (for the hub)."""
        return self.scopes.of(widget)

    def page_view(self, session: Session, conn: object) -> PageView:
        """Where the tab on *conn* is (for the hub's full renders)."""
        tab = self.tabs.of(conn)  # type: ignore[arg-type]
        if tab is None:
            return PageView("/", self.page_title, {})
        path = tab.path
        status, _ = self.resolve(path, session)
        # Decided here, once per full render, as the render itself is: a tab
        # refused its page gets none of that page's live changes either.
        self.tabs.drawn(tab, path if status == 200 else None)
        return PageView(path, self.title_of(path), tab.query, status, tab.id)

    def page_of(self, conn: object) -> str:
        """The page whose live changes the tab on connection *conn* gets (for
        the hub): the page it was last drawn on if its session may open it,
        ``""`` (no page) if refused or not drawn yet, ``"/"`` without a tab.

        Access (``access=``) is asked when the tab is drawn (it opens,
        navigates, reconnects, resyncs) and when its session's state changes
        (:meth:`recheck_access`), never per push.
        """
        tab = self.tabs.of(conn)  # type: ignore[arg-type]
        if tab is None:
            return "/"
        return tab.granted or ""

    def recheck_access(self, sessions: set[Session]) -> list[tuple[Session, Outlet]]:
        """Ask again whether the tabs of *sessions* (whose state changed: a
        sign-out, say) may still see their page; a tab no longer allowed
        gets no more of its live changes.  Return ``(session, conn)`` of
        those tabs, for the hub to redraw (as a refusal)."""
        lost: list[tuple[Session, Outlet]] = []
        for session in sessions:
            for tab in self.tabs.of_session(session):
                granted, conn = tab.granted, tab.conn
                if granted is None or granted == "/" or conn is None:
                    continue
                page = self.get_page(granted)
                if page is not None and page.access is not None and not page.allows(session):
                    self.tabs.drawn(tab, None)
                    lost.append((session, conn))
        return lost

    def current_tab(self, session: Session) -> BrowserTab[Session] | None:
        """The tab whose event is being handled for *session* (inside a
        callback), or ``None``."""
        event = self.hub.current_event(session)
        return self.tabs.of(event.conn) if event is not None else None

    def navigate(self, session: Session, path: str,
                 query: dict[str, str] | None = None) -> int:
        """Move *session*'s tabs to *path*: from a callback, the tab that sent
        the event; elsewhere, every open tab.  Return how many moved."""
        tab = self.current_tab(session)
        tabs = [tab] if tab is not None else self.tabs.of_session(session)
        for t in tabs:
            t.navigate(path, query)
        return len(tabs)

    def follow_client(self, session: Session, conn: Outlet, path: str | None,
                      query: dict[str, str] | None) -> None:
        """The tab on *conn* followed a link or went back (to *path*), or
        changed its query itself (*path* ``None``): record it, and draw the
        page it moved to."""
        tab = self.tabs.of(conn)
        if tab is None:  # a connection made without a tab (stgo.testing)
            tab = self.tabs.open(session, None)
            self.tabs.drawn(tab, "/")  # where such a connection is drawn (page_view)
            self.tabs.bind(tab, conn)
        if path is None:
            self._query_moved(tab, query)
        else:
            self._tab_moved(tab, path, query, False)

    def _query_moved(self, tab: BrowserTab[Session], query: dict[str, str] | None) -> None:
        """Record *tab*'s new query; the inputs bound to a parameter that
        changed (``bind="query"``) show their new value."""
        before = tab.query
        self.tabs.moved(tab, None, query)
        after = tab.query
        session = tab.session
        for key in {k for k in {*before, *after} if before.get(k) != after.get(k)}:
            shared = self.scoped.get(key)
            widget = shared if shared is not None else session.get_widget(key)
            if isinstance(widget, InputWidget) and widget.bind == "query":
                self.hub.state_changed(session, key)

    def _tab_moved(self, tab: BrowserTab[Session], path: str | None, query: dict[str, str] | None,
                   push: bool) -> None:
        """A tab changes page or query (its navigator): tell its client."""
        conn = tab.conn
        if path is None:
            self._query_moved(tab, query)
            if conn is not None:
                conn.send(protocol.encode(protocol.url_message(tab.path, tab.query)))
            return
        try:
            clean = normalize_path(path)
        except ConfigurationError:
            clean = path if path.startswith("/") else "/" + path
        self.tabs.moved(tab, clean, {} if query is None else query)
        self.open_page(tab)
        if conn is not None:
            self.hub.full_update(tab.session, conn, push=push)

    def open_page(self, tab: BrowserTab[Session]) -> None:
        """Run the ``on_open`` hooks of the page *tab* shows (if it may)."""
        status, page = self.resolve(tab.path, tab.session)
        if status != 200:
            return
        for hook in page.open_hooks() if page is not None else list(self.home_open):
            self._call_hook(hook, tab.session, tab)


def _is_sidebar(widget: object) -> bool:
    return getattr(widget, "is_sidebar", False) is True
