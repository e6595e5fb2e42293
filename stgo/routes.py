"""The App's page and tab methods (:class:`PageMethods`): each hands the
call to the App's :class:`~stgo.core.router.Router`, which owns the pages
other than ``/``, the open tabs and the one door of every shared change.

Kept apart from :mod:`stgo.app` so the composition root stays a reader's
length; the class reads only ``self.router``."""

from __future__ import annotations

from collections.abc import Callable

from .core.hub import PageView
from .core.pages import Page
from .core.router import Router
from .core.session import Session
from .core.tabs import BrowserTab
from .protocol import Outlet
from .widgets.base import Widget
from .widgets.nav import Navigation

__all__ = ["PageMethods"]


class PageMethods:
    """The App's pages (``app.page(...)``), navigation and tab moves."""

    #: Set by the App: the pages, tabs and the shared widgets' door.
    router: Router


    def page(self, path: str, *, title: str | None = None, label: str | None = None,
             access: Callable[[Session], bool] | None = None,
             icon: str | None = None) -> Page:
        """Make the page at *path* (the App itself is ``"/"``): fill it with
        its factory methods (``reports.table(...)``), like the App.

        :param title: the document title there (default: the App's).
        :param label: its name in :meth:`navigation` (default: the title).
        :param access: ``access(session) -> bool``, asked on every visit; a
            refused session gets a 403 page.
        :param icon: a short text (an emoji) before its label.
        :raises ConfigurationError: a bad or reserved path, ``"/"``, or one
            that is taken.
        """
        return self.router.page(path, title=title, label=label, access=access, icon=icon)

    @property
    def pages(self) -> list[Page]:
        """The pages made with :meth:`page`, in order (not the App's own ``/``)."""
        return self.router.pages

    def get_page(self, path: str) -> Page | None:
        """The page at *path* (``None`` for ``"/"``, the App's own, or for no page)."""
        return self.router.get_page(path)

    def resolve(self, path: str, session: Session | None) -> tuple[int, Page | None]:
        """``(200, page)`` for the page at *path* (``page`` ``None`` for ``/``),
        ``(403, page)`` when *session* may not open it, ``(404, None)`` for no page."""
        return self.router.resolve(path, session)

    def title_of(self, path: str) -> str:
        """The document title of the page at *path*."""
        return self.router.title_of(path)

    def navigation(self, *, position: str = "sidebar", key: str | None = None) -> Navigation:
        """A list of links to every page (``/`` first), the current one marked;
        in the sidebar (default) or on top (``position="top"``).  Pages a
        session may not open are left out of its list."""
        return self.router.navigation(position=position, key=key)

    def scope_of(self, widget: Widget) -> str | None:
        """The page path *widget* is drawn on, ``None`` for every page (for the hub)."""
        return self.router.scope_of(widget)

    def page_view(self, session: Session, conn: Outlet) -> PageView:
        """Where the tab on *conn* is (for the hub's full renders)."""
        return self.router.page_view(session, conn)

    def page_of(self, conn: object) -> str:
        """The page whose live changes the tab on *conn* gets (for the hub)."""
        return self.router.page_of(conn)

    def recheck_access(self, sessions: set[Session]) -> list[tuple[Session, Outlet]]:
        """Ask again whether the tabs of *sessions* may still see their page
        (for the hub): the ``(session, conn)`` of those no longer allowed."""
        return self.router.recheck_access(sessions)

    def current_tab(self, session: Session) -> BrowserTab[Session] | None:
        """The tab whose event is being handled for *session* (inside a
        callback), or ``None``."""
        return self.router.current_tab(session)

    def navigate(self, session: Session, path: str,
                 query: dict[str, str] | None = None) -> int:
        """Move *session*'s tabs to *path*: from a callback, the tab that sent
        the event; elsewhere, every open tab.  Return how many moved."""
        return self.router.navigate(session, path, query)

    def open_page(self, tab: BrowserTab[Session]) -> None:
        """Run the ``on_open`` hooks of the page *tab* shows (if it may)."""
        self.router.open_page(tab)

    def follow_client(self, session: Session, conn: Outlet, path: str | None,
                      query: dict[str, str] | None) -> None:
        """The tab on *conn* moved to *path* (``None``: changed its query only)."""
        self.router.follow_client(session, conn, path, query)
