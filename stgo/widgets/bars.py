"""The App's two containers on every page: the sidebar and the top bar."""

from __future__ import annotations

from .layout import Container

__all__ = ["Sidebar", "Topbar"]


class Sidebar(Container):
    """The App's sidebar: a container drawn in the left column."""

    kind = "sidebar"
    is_sidebar = True


class Topbar(Container):
    """A row above every page (``app.navigation(position="top")`` goes here)."""

    kind = "topbar"
    is_topbar = True
