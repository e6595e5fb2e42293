"""Pages: more than one screen in one app, each at its own URL path.

The App itself is the page at ``"/"``; ``app.page("/reports", title=...)``
makes another, with the App's factory methods for its *shared* widgets
(everybody on that page sees the same objects, pushed live, as on ``/``).
The sidebar (and ``app.header``) is on every page.  The session is one
across pages and tabs: an input keyed ``name`` on two pages shows the same
value, since input values live in the session's state.

Private widgets: ``session.add_widget`` (``session.text(...)``) puts a
widget on every page of that session; ``page.private(session)`` is the
session's own container on one page only.  ``@page.on_open`` runs
``fn(session, tab)`` each time a tab opens the page (load, link, back
button), the place to draw that page's private widgets from state or from
the tab's query parameters.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from ..errors import ConfigurationError, WidgetError
from ..widgets.bars import Sidebar
from ..widgets.base import Widget
from ..widgets.layout import Container, Factory
from ..widgets.naming import SharedNames, check_unique_keys

if TYPE_CHECKING:
    from .session import Session
    from .tabs import BrowserTab

__all__ = ["Page", "SharedWidgets", "PagePrivate", "normalize_path", "AccessCheck", "OpenHook",
           "Site", "Scopes", "Door"]

log = logging.getLogger("stgo")

#: ``access(session) -> bool``: whether the session may open the page.
AccessCheck = Callable[["Session"], bool]
#: ``fn(session, tab)``: a tab opened the page.
OpenHook = Callable[["Session", "BrowserTab[Session]"], None]

# A page path: "/" and segments of URL-safe characters.
_PATH = re.compile(r"^/(?:[A-Za-z0-9._~!$&'()*+,;=:@%-]+(?:/[A-Za-z0-9._~!$&'()*+,;=:@%-]+)*)?$")

# Paths the server answers itself: no page may take them.
RESERVED = ("/ws", "/health", "/metrics", "/session", "/static")


def normalize_path(path: str) -> str:
    """A page path as registered and compared: leading slash, no trailing one.

    :raises ConfigurationError: not a path, or one the server keeps for itself.
    """
    if not isinstance(path, str) or not path.strip():
        raise ConfigurationError(f"a page path must be a string like '/reports', got {path!r}")
    clean = "/" + path.strip().strip("/")
    if not _PATH.match(clean) or "/./" in clean + "/" or "/../" in clean + "/":
        raise ConfigurationError(
            f"bad page path {path!r}: use URL path segments like '/reports/monthly'")
    for reserved in RESERVED:
        if clean == reserved or clean.startswith(reserved + "/"):
            raise ConfigurationError(f"the page path {clean!r} is the server's own ({reserved})")
    return clean


def private_key(path: str) -> str:
    """The widget key of a session's private container on page *path*."""
    return f"stgo-page:{path}"


class PagePrivate(Container):
    """A session's own widgets on one page (see :meth:`Page.private`)."""

    kind = "page-private"
    body_class = "stgo-page-box"

    def __init__(self, path: str) -> None:
        super().__init__(key=private_key(path))
        #: The page these widgets belong to.
        self.page_path = path


class Door(Protocol):
    """``door(widget, change, applied=False)``: the one door of every change of
    a shared widget, on any page (see :meth:`stgo.core.router.Router.shared_changed`):
    pushed by the hub, and saved by a persistent store unless *applied* (read
    from the store: another process's change)."""

    def __call__(self, widget: Widget, change: str, *, applied: bool = False) -> None: ...


class Site(Protocol):
    """What a page needs of the app it is part of (the App's
    :class:`~stgo.core.router.Router` is one)."""

    @property
    def page_title(self) -> str:
        """The App's title (a page's default)."""

    @property
    def sidebar(self) -> Container:
        """The sidebar, on every page."""

    @property
    def topbar(self) -> Container:
        """The top bar, on every page."""

    @property
    def scopes(self) -> Scopes:
        """Which page each top-level shared widget is on."""

    @property
    def names(self) -> SharedNames:
        """The IDs of shared widgets (:mod:`stgo.widgets.naming`)."""

    def shared_changed(self, widget: Widget, change: str, *, applied: bool = False) -> None:
        """The one door of every shared widget's change (pushed, and saved)."""


class SharedWidgets(Factory):
    """The top-level shared widgets of one page, in order: the App's own (at
    ``"/"``) or a :class:`Page`'s.  Everybody on the page sees the same
    objects; each change is pushed through the App's hub.

    The App and :class:`Page` say where they are (:attr:`path`), which App
    site they belong to (:meth:`_site`), and what a change of one of their
    widgets does (:meth:`_changed`).
    """

    #: The page's path.
    path: str
    _lock: threading.RLock
    _widgets: list[Widget]

    def _site(self) -> Site:  # pragma: no cover - abstract
        """The app this page belongs to."""
        raise NotImplementedError

    def _changed(self, widget: Widget, change: str) -> None:  # pragma: no cover - abstract
        """The notify callback of the page's widgets (one bound method: a
        widget checks that its owner does not change)."""
        raise NotImplementedError

    def get_widget(self, key: str) -> Widget | None:  # pragma: no cover - abstract
        """The widget with *key* (or ID) that :meth:`remove_widget` looks for."""
        raise NotImplementedError

    def add_widget(self, widget: Widget) -> Widget:
        """Add a shared widget at the end of this page.

        :raises WidgetError: its key (or a child's) is used on this page
            already (the sidebar and top bar count: they are on every page).
        """
        if any(w is widget for w in self.widgets):
            return widget
        check_unique_keys(widget, self.with_key)
        site = self._site()
        with self._lock:
            if any(w is widget for w in self._widgets):
                return widget
            site.names.name(widget, self.path)
            widget.attach(None, self._changed)
            self._widgets.append(widget)
        site.scopes.set(widget, self.path)
        site.shared_changed(widget, "insert")
        return widget

    def _add(self, widget: Widget) -> Widget:
        return self.add_widget(widget)

    def remove_widget(self, widget: Widget | str) -> bool:
        """Remove a shared widget (object or key) from this page."""
        target = self.get_widget(widget) if isinstance(widget, str) else widget
        if target is None:
            return False
        if target.parent is not None:
            return target.parent.remove_child(target)
        with self._lock:
            if not any(w is target for w in self._widgets):
                return False
            self._widgets.remove(target)
        site = self._site()
        site.shared_changed(target, "remove")
        site.scopes.drop(target)
        target.detach()
        return True

    def clear_widgets(self) -> None:
        """Remove every shared widget of this page."""
        for widget in self.widgets:
            self.remove_widget(widget)

    @property
    def widgets(self) -> list[Widget]:
        """A copy of the page's top-level shared widgets, in order."""
        with self._lock:
            return list(self._widgets)

    def with_key(self, key: str) -> Widget | None:
        """The widget on this page whose key is *key* (not its ID; sidebar
        and top bar included), or ``None``."""
        site = self._site()
        for top in [*self.widgets, site.sidebar, site.topbar]:
            for w in top.walk():
                if w.key == key:
                    return w
        return None


class Page(SharedWidgets):
    """One page of the app, at its own path.  Made by :meth:`App.page`.

    :param site: the app it belongs to (the App's router).
    :param path: its path (``"/reports"``), normalised.
    :param title: the browser tab's title on this page (default: the App's).
    :param label: its name in links and :meth:`App.navigation` (default: the title).
    :param access: ``access(session) -> bool``; a session refused sees a
        403 page (``None``: everybody).  It runs on every visit, so a login
        that happens later opens the page.
    """

    def __init__(self, site: Site, path: str, *, title: str | None = None,
                 label: str | None = None, access: AccessCheck | None = None,
                 icon: str | None = None) -> None:
        self._owner = site
        self.path = path
        self._title = title
        self.label = label or title or path.strip("/").replace("-", " ").capitalize() or "Home"
        self.icon = icon
        self.access = access
        self._lock = threading.RLock()
        self._widgets: list[Widget] = []
        self._open_hooks: list[OpenHook] = []
        self._sidebar: Sidebar | None = None

    def __repr__(self) -> str:
        return f"<Page {self.path!r}>"

    @property
    def sidebar(self) -> Sidebar:
        """This page's own sidebar: shown beside the App's, on this page only
        (``reports.sidebar.selectbox(...)``); made on first use."""
        with self._lock:
            if self._sidebar is None:
                self._sidebar = Sidebar(key=f"stgo-sidebar:{self.path}")
                self.add_widget(self._sidebar)
            return self._sidebar

    @property
    def page_title(self) -> str:
        """The document title on this page (``page.title(...)`` adds a heading)."""
        return self._title or self._owner.page_title

    # -- shared widgets (SharedWidgets: like the App's) ------------------------------------

    def _site(self) -> Site:
        return self._owner

    def _changed(self, widget: Widget, change: str) -> None:
        # The notify callback of this page's widgets (one bound method: a
        # widget checks that its owner does not change).
        if change == "adopt":  # a container of this page takes *widget* in
            check_unique_keys(widget, self.with_key)
            self._owner.names.name(widget, self.path)
        else:
            self._owner.shared_changed(widget, change)  # the one door: pushed and saved

    def get_widget(self, key: str) -> Widget | None:
        """The page's shared widget with *key* (or ID), or ``None``."""
        for top in self.widgets:
            for w in top.walk():
                if key in (w.key, w.id):
                    return w
        return None

    def widget(self, key: str) -> Widget:
        """The page's shared widget with *key*; raise KeyError if none."""
        found = self.get_widget(key)
        if found is None:
            raise KeyError(f"page {self.path!r} has no widget with key {key!r}")
        return found

    # -- private widgets --------------------------------------------------------------------

    def private(self, session: Session) -> PagePrivate:
        """*session*'s own container on this page: ``page.private(s).text("hi")``
        shows only to that session, only on this page."""
        existing = session.get_widget(private_key(self.path))
        if isinstance(existing, PagePrivate):
            return existing
        if session.ended:
            raise WidgetError("the session has ended")
        box = PagePrivate(self.path)
        session.add_widget(box)
        return box

    def on_open(self, fn: OpenHook) -> OpenHook:
        """Register ``fn(session, tab)``, run each time a tab opens this page
        (not for a refused session); usable as a decorator."""
        self._open_hooks.append(fn)
        return fn

    def open_hooks(self) -> list[OpenHook]:
        """The ``on_open`` hooks (a copy)."""
        return list(self._open_hooks)

    # -- access -------------------------------------------------------------------------------

    def allows(self, session: Session) -> bool:
        """Whether *session* may open this page (a check that raises refuses)."""
        check = self.access
        if check is None:
            return True
        try:
            return bool(check(session))
        except Exception:
            log.exception("the access check of page %s raised: refused", self.path)
            return False


class Scopes:
    """Which page each top-level shared widget is on (for the hub's pushes)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._page_of: dict[Widget, str] = {}

    def set(self, widget: Widget, path: str) -> None:
        """*widget* is a top-level shared widget of the page at *path*."""
        with self._lock:
            self._page_of[widget] = path

    def drop(self, widget: Widget) -> None:
        """*widget* left its page."""
        with self._lock:
            self._page_of.pop(widget, None)

    def of(self, widget: Widget) -> str | None:
        """The page *widget* (or its top ancestor) is on; ``None`` for every page."""
        top = widget
        while isinstance(top.parent, Widget):  # every container is a widget
            top = top.parent
        if isinstance(top, PagePrivate):
            return top.page_path
        with self._lock:
            return self._page_of.get(top)
