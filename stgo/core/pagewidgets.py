"""A session's private widgets: the top-level ones in page order, and all of them by key.

Adding the n-th widget to a page must not walk the n-1 before it (a callback
that writes 200 lines of text would be quadratic): the page keeps every widget
on it, containers' children included, in a dict by key.  Keys are unique on a
page and never change, so that dict is exact and says whether a widget is on
the page.  IDs can be handed from one widget to another (a redraw keeps the old
elements' IDs, ``stgo.cluster.redraw``), so a lookup by ID is a cache checked
on each hit and filled by a walk on a miss.
"""

from __future__ import annotations

from ..widgets.base import WIDGET_ID_LENGTH, Widget

__all__ = ["PageWidgets"]


class PageWidgets:
    """The widgets of one session's page.  Not locked: the session calls it
    under its own lock, and tells it of every widget that enters or leaves
    (:meth:`index`, :meth:`unindex`) as its containers report them."""

    __slots__ = ("top", "_by_key", "_by_id")

    def __init__(self) -> None:
        self.top: list[Widget] = []
        self._by_key: dict[str, Widget] = {}
        self._by_id: dict[str, Widget] = {}

    def holds(self, widget: Widget) -> bool:
        """Whether *widget* (the object) is on this page, at the top or in a container."""
        return self._by_key.get(widget.key) is widget

    def with_key(self, key: str) -> Widget | None:
        """The widget on this page with *key*, or ``None``."""
        return self._by_key.get(key)

    def find(self, name: str) -> Widget | None:
        """The widget whose key, else whose ID, is *name*, or ``None``."""
        found = self._by_key.get(name)
        if found is not None:
            return found
        if len(name) != WIDGET_ID_LENGTH or not name.startswith("w"):
            return None  # not an ID: no walk for a state key that names no widget
        found = self._by_id.get(name)
        if found is not None and found.id == name and self.holds(found):
            return found
        for top in self.top:
            for w in top.walk():
                if w.id == name:
                    self._by_id[name] = w
                    return w
        return None

    def append(self, widget: Widget) -> None:
        """Add *widget* (and whatever it holds) at the end of the page."""
        self.top.append(widget)
        self.index(widget)

    def remove(self, widget: Widget) -> None:
        """Take a top-level *widget* off the list (:meth:`unindex` follows)."""
        self.top.remove(widget)

    def index(self, widget: Widget) -> None:
        """*widget* and its children entered the page."""
        for w in widget.walk():
            self._by_key[w.key] = w

    def unindex(self, widget: Widget) -> None:
        """*widget* and its children left the page."""
        for w in widget.walk():
            if self._by_key.get(w.key) is w:
                del self._by_key[w.key]
            if self._by_id.get(w.id) is w:
                del self._by_id[w.id]

    def clear(self) -> list[Widget]:
        """Empty the page; return its top-level widgets."""
        top, self.top = self.top, []
        self._by_key.clear()
        self._by_id.clear()
        return top
