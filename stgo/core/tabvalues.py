"""Per-tab values: the inputs made with ``scope="tab"`` or ``bind="query"``.

A session spans every tab of one browser; these inputs keep one value per
tab instead (see :mod:`stgo.widgets.scope`):

- ``scope="tab"``: the value is kept in the session's state, under a key of
  its own per tab (``stgo.tab:<tab id>:<key>``), so it lives wherever the
  session lives (a Redis store: every process) and ends with it.  The tab ID
  is made by the page and kept in its ``sessionStorage``: a reload of the tab
  keeps it, another tab has its own.
- ``bind="query"``: the value *is* the tab's URL parameter named by the key
  (``?region=north``); a change moves the URL (``replaceState``), a reload or
  a shared link brings it back.  A parameter that is no value of the input
  is ignored (the default shows) and never stored.

Which tab a value is read for: the tab being drawn (a full render, or a
value pushed to each tab), else the tab whose event is being handled,
else none: then ``session.get(key)`` reads the *session's* value of the key
(the default, unless the app set one outside any event), and
``session.set(key, value)`` outside an event sets it for every tab.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..context import Slot
from ..store.base import MISSING
from ..widgets.base import InputWidget, Widget
from ..widgets.scope import from_query, to_query
from .tabs import MAX_TABS_PER_SESSION

if TYPE_CHECKING:
    from ..store.sessionstate import SessionState
    from .tabs import BrowserTab

__all__ = ["TAB_PREFIX", "tab_key", "per_tab", "Viewer", "drawing", "drawn_tab",
           "ScopedInputs", "read", "write_tab", "write_all", "delete_tab"]

#: The start of the session-state keys that hold ``scope="tab"`` values.
TAB_PREFIX = "stgo.tab:"
# The tabs that have values of their own, oldest first (capped).
_INDEX = "stgo.tabs"


def tab_key(tab_id: str, key: str) -> str:
    """The session-state key of *key*'s value in the tab *tab_id*."""
    return f"{TAB_PREFIX}{tab_id}:{key}"


def per_tab(widget: Widget) -> bool:
    """Whether *widget* is an input with a value per tab."""
    return isinstance(widget, InputWidget) and (widget.scope == "tab" or widget.bind == "query")


@dataclass(frozen=True)
class Viewer:
    """The tab a value is read for: its ID (``None``: not known yet, as for
    the page's first HTML) and its URL query."""

    session: object
    tab_id: str | None
    query: Mapping[str, str] = field(default_factory=dict)


# The tab being drawn, in the event context (it holds nothing itself: no state here).
_DRAWING: Slot[Viewer] = Slot("tab being drawn")


@contextlib.contextmanager
def drawing(session: object, tab_id: str | None,
            query: Mapping[str, str] | None = None) -> Iterator[None]:
    """Read *session*'s per-tab values for the tab *tab_id* (with URL
    *query*) inside the block: a full render or a value op of that tab."""
    before = _DRAWING.get()
    _DRAWING.set(Viewer(session, tab_id, dict(query or {})))
    try:
        yield
    finally:
        _DRAWING.set(before)


def drawn_tab(session: object) -> Viewer | None:
    """The tab of *session* being drawn here, if any."""
    viewer = _DRAWING.get()
    return viewer if viewer is not None and viewer.session is session else None


class ScopedInputs:
    """The per-tab inputs of a set of pages, by key: noted as they join and
    leave (so that ``session.get(key)`` knows the key is per tab at the cost
    of a dict lookup)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_key: dict[str, list[InputWidget]] = {}

    def note(self, widget: Widget, change: str) -> None:
        """*widget* joined (``"insert"``) or left (``"remove"``) a page."""
        if change not in ("insert", "remove"):
            return
        found = [w for w in widget.walk() if per_tab(w)]
        if not found:
            return
        with self._lock:
            for w in found:
                assert isinstance(w, InputWidget)
                same = self._by_key.setdefault(w.key, [])
                if change == "insert" and not any(x is w for x in same):
                    same.append(w)
                elif change == "remove":
                    same[:] = [x for x in same if x is not w]
                    if not same:
                        del self._by_key[w.key]

    def get(self, key: str) -> InputWidget | None:
        """The per-tab input with *key*, or ``None``."""
        same = self._by_key.get(key)  # one dict read: atomic, no lock needed
        return same[0] if same else None


def read(data: SessionState, widget: InputWidget, viewer: Viewer | None, default: Any) -> Any:
    """*widget*'s value in the tab *viewer* (``None``: the session's value)."""
    base = data.get(widget.key, MISSING)
    fallback = default if base is MISSING else base
    if viewer is None:
        return fallback
    if widget.bind == "query":
        text = viewer.query.get(widget.key)
        if text is None:
            return fallback
        try:
            return from_query(widget, text)
        except ValueError:
            return fallback  # not a value of this input: ignored, never stored
    if viewer.tab_id is None:
        return fallback
    return data.get(tab_key(viewer.tab_id, widget.key), fallback)


def write_tab(data: SessionState, widget: InputWidget, tab: BrowserTab[Any], value: Any,
              now: float) -> None:
    """Set *widget*'s value in *tab* (an event of that tab)."""
    if widget.bind == "query":
        tab.update_query(**{widget.key: to_query(value)})  # the tab's URL follows
        return
    index = data.get(_INDEX, [])
    if not isinstance(index, list) or not index or index[-1] != tab.id:
        # The tabs with values, the one used last at the end (one write when
        # the tab changes, none while one tab goes on).
        index = [t for t in (index if isinstance(index, list) else []) if t != tab.id]
        index.append(tab.id)
        for old in index[:-MAX_TABS_PER_SESSION]:  # the least recently used tabs' values go
            _forget_tab(data, old, now)
        data.set(_INDEX, index[-MAX_TABS_PER_SESSION:], now)
    data.set(tab_key(tab.id, widget.key), value, now)


def _forget_tab(data: SessionState, tab_id: str, now: float) -> None:
    prefix = tab_key(tab_id, "")
    for name in [k for k in data.items() if k.startswith(prefix)]:
        data.delete(name, now)


def _own_values(data: SessionState, key: str) -> list[str]:
    return [k for k in data.items()
            if k.startswith(TAB_PREFIX) and k.split(":", 2)[-1] == key]


def write_all(data: SessionState, widget: InputWidget, tabs: list[BrowserTab[Any]],
              value: Any, now: float) -> None:
    """Set *widget*'s value for the whole session (outside any event): the
    session's value, which every tab shows (their own values dropped; the
    open tabs' URLs of this process follow)."""
    data.set(widget.key, value, now)
    if widget.bind == "query":
        for tab in tabs:
            tab.update_query(**{widget.key: to_query(value)})
    else:
        for name in _own_values(data, widget.key):
            data.delete(name, now)


def delete_tab(data: SessionState, widget: InputWidget, tab: BrowserTab[Any] | None,
               now: float) -> bool:
    """Drop *widget*'s value in *tab* (``None``: the session's and every
    tab's); whether there was one."""
    if tab is None:
        found = data.delete(widget.key, now)
        for name in _own_values(data, widget.key):
            found = data.delete(name, now) or found
        return found
    if widget.bind == "query":
        found = widget.key in tab.query
        tab.update_query(**{widget.key: None})
        return found
    return data.delete(tab_key(tab.id, widget.key), now)
