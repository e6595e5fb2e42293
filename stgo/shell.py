"""The App's page shell options: layout, language, the home page's
``on_open``, and the per-tab inputs it knows of.

:class:`PageShell` is a mixin of :class:`stgo.App` (it never imports the
App: it names what it needs as plain attributes).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .config import Option
from .core.pages import OpenHook
from .web.page import Look
from .widgets.base import check_callback

if TYPE_CHECKING:
    from .config import Settings
    from .core.router import Router
    from .widgets.base import InputWidget

__all__ = ["PageShell"]


class PageShell:
    """``App(layout=..., language=...)``, ``@app.on_open`` and the per-tab inputs."""

    settings: Settings
    router: Router

    #: ``"centered"`` (a column, the default) or ``"wide"`` (the page's whole width).
    layout = Option[str]()
    #: The language of stgo's own words on the page (``"en"``, ``"de"``...).
    language = Option[str]()

    @property
    def look(self) -> Look:
        """The page's layout and language (for the page shell)."""
        return Look(layout=self.layout, language=self.language)

    def on_open(self, fn: OpenHook) -> OpenHook:
        """Register ``fn(session, tab)``, run each time a tab opens the App's
        own page ``/`` (a load, a link, the back button), as ``page.on_open``
        does for the other pages; usable as a decorator."""
        check_callback(fn, ("session", "tab"), "an on_open hook")
        self.router.home_open.append(fn)
        return fn

    def scoped_input(self, key: str) -> InputWidget | None:
        """The shared input with a value per tab (``scope="tab"``,
        ``bind="query"``) whose key is *key*, on any page, or ``None``."""
        return self.router.scoped.get(key)
