"""Widgets entering a page: keys checked, and IDs that every process gives alike.

A page drawn by one process is often clicked through a socket that another
serves (``--workers``, gunicorn, a restarted process, a reconnect through a
proxy): a click sent before that socket's first render names the widget by
the ID in the page, and the other process refuses an ID it does not know
("unknown widget"). So where something says *which* widget a widget is, its
ID comes from that, the same in every process:

- a keyed widget: its scope (a shared page, or one session) and its key. Keys
  are unique on a page, and a key names the same widget in every process: it
  is what ``session.widget(key)``, the state and the store go by. A private
  one's scope is its session (its ID goes into the hash, which does not
  reveal it): another session's widget ID is no widget of one's own.
- an unkeyed shared widget built before the app starts (by the app's module,
  the same way in every process): its page, kind and label, and how many
  alike came before it there. Kind and label are in it so that two processes
  that built them in another order (a loop over a set) disagree rather than
  swap two buttons.

Any other widget keeps the random ID it was made with: an unkeyed private
widget, or a shared one added at run time. No two processes could agree on
what those are, and an ID derived from a position or a count could later be
given to another widget, which a page drawn before that would then click.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..errors import WidgetError

if TYPE_CHECKING:
    from .base import Widget

__all__ = ["check_unique_keys", "stable_id", "name_keyed", "SharedNames"]


def check_unique_keys(widget: Widget, taken: Callable[[str], Widget | None]) -> None:
    """Refuse *widget* (and its children) if a key is used twice on the page.

    :param taken: returns the widget already on the page with a key, or ``None``.
    :raises WidgetError: naming the key; nothing is changed.
    """
    seen: dict[str, Widget] = {}
    for w in widget.walk():
        other = seen.get(w.key)
        if other is None:
            other = taken(w.key)
        if other is not None and other is not w:
            raise WidgetError(
                f"key {w.key!r} is already used on this page by {other!r}: keys are unique "
                "on a page (give one of them another key=)"
            )
        seen[w.key] = w


def stable_id(*parts: str) -> str:
    """A widget ID (``w`` and 12 hex digits, as a random one) made of *parts*."""
    data = "\x00".join(parts).encode("utf-8", "surrogatepass")
    return "w" + hashlib.blake2b(data, digest_size=6).hexdigest()


def _rename(widget: Widget, new_id: str) -> None:
    if widget.key == widget.id:  # unkeyed: its key is its ID, and stays so
        widget.key = new_id
    widget.id = new_id


def name_keyed(widget: Widget, *scope: str) -> None:
    """Give *widget* and its children with a key the ID their key makes in *scope*.

    Called as a widget enters a page, before anything indexes or draws it.
    """
    for w in widget.walk():
        if w.key != w.id:
            _rename(w, stable_id(*scope, w.key))


class SharedNames:
    """The IDs of an app's shared widgets (see the module's text).

    :meth:`close` (at the app's start) ends the naming of unkeyed ones: what
    is added after is the run time's, not the module's.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open = True
        self._alike: dict[tuple[str, str, str], int] = {}

    def name(self, widget: Widget, path: str) -> None:
        """Name *widget* and its children, entering the shared page at *path*."""
        name_keyed(widget, "shared", path)
        with self._lock:
            if not self._open:
                return
            for w in widget.walk():
                if w.key != w.id:
                    continue
                what = (path, w.kind, str(getattr(w, "label", "")))
                n = self._alike.get(what, 0)
                self._alike[what] = n + 1
                _rename(w, stable_id("built", *what, str(n)))

    def close(self) -> None:
        """From now on, unkeyed shared widgets keep their random IDs."""
        with self._lock:
            self._open = False
            self._alike.clear()

    # A part of the app's lifecycle: closed when the app starts.
    def start(self) -> None:
        self.close()

    def stop(self, timeout: float = 5.0) -> None:
        pass

    def after_fork(self) -> None:
        pass
