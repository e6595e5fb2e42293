"""Navigation widgets: a link to a page, and a list of the app's pages.

Links are real ``<a href>`` elements, relative to the app's root (the page
sets ``<base href>`` there), so opening one in a new tab, bookmarking it or
following it without script all work; the client follows a plain click
without a reload (``history.pushState``) and marks the link of the page its
tab shows with ``aria-current="page"`` (the current page is per tab, which
one server render for the whole session cannot know).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from ..errors import WidgetError
from .base import StateReader, Widget, esc

__all__ = ["PageLink", "Navigation", "NavEntry", "NavFactory", "relative_href"]

#: ``(path, label, icon)`` of one page in a :class:`Navigation`.
NavEntry = tuple[str, str, "str | None"]


def relative_href(path: str) -> str:
    """The ``href`` of page *path* relative to the app's root: ``"./"`` for ``"/"``."""
    return "./" if path == "/" else path.lstrip("/")


def _link(path: str, label: str, icon: str | None, cls: str) -> str:
    glyph = f'<span class="stgo-link-icon" aria-hidden="true">{esc(icon)}</span>' if icon else ""
    return (f'<a class="{cls}" href="{esc(relative_href(path))}" data-stgo-path="{esc(path)}">'
            f"{glyph}<span>{esc(label)}</span></a>")


class PageLink(Widget):
    """A link to one of the app's pages (``app.page_link("/reports", label="Reports")``).

    :param path: the page's path (``"/"`` for the App's own page).
    :param label: the link's text (default: the path).
    :param icon: a short text (an emoji) shown before the label.
    """

    kind: ClassVar[str] = "page-link"

    def __init__(self, path: str, label: str | None = None, *, icon: str | None = None,
                 key: str | None = None, visible: bool = True) -> None:
        super().__init__(key=key, visible=visible)
        self.path = path
        self.label = label if label is not None else path
        self.icon = icon

    def render_body(self, state: StateReader | None) -> str:
        return _link(self.path, self.label, self.icon, "stgo-page-link")


class Navigation(Widget):
    """A list of the app's pages, the one a tab shows marked (``app.navigation()``).

    :param entries: ``entries(session) -> [(path, label, icon), ...]``, asked
        at every render (pages a session may not open are left out there).
    :param position: ``"sidebar"`` or ``"top"`` (a row above every page).
    """

    kind: ClassVar[str] = "navigation"

    def __init__(self, entries: Callable[[StateReader | None], list[NavEntry]], *,
                 position: str = "sidebar", key: str | None = None,
                 visible: bool = True) -> None:
        super().__init__(key=key, visible=visible)
        self._entries = entries
        self.position = position

    @property
    def per_session(self) -> bool:
        # Pages behind an access check are listed only for who may open them.
        return True

    def render_body(self, state: StateReader | None) -> str:
        items = "".join(f"<li>{_link(p, label, icon, 'stgo-nav-link')}</li>"
                        for p, label, icon in self._entries(state))
        return (f'<nav class="stgo-nav stgo-nav-{esc(self.position)}" aria-label="Pages">'
                f"<ul>{items}</ul></nav>")


class NavFactory:
    """The ``page_link`` factory method, for the App, pages and containers."""

    def _add(self, widget: Widget) -> Widget:  # pragma: no cover - abstract
        raise NotImplementedError

    def page_link(self, path: str, label: str | None = None, *, icon: str | None = None,
                  key: str | None = None, visible: bool = True) -> PageLink:
        """A link to the app's page at *path* (``"/"`` is the App's own page).

        :param label: its text (default: the path).
        :param icon: a short text (an emoji) shown before it.
        """
        if not isinstance(path, str) or not path.startswith("/"):
            raise WidgetError(f"page_link needs a path like '/reports', got {path!r}")
        link = PageLink(path, label, icon=icon, key=key, visible=visible)
        self._add(link)
        return link
