"""Global widgets' run-time changes, saved to and restored from a persistent store.

A global widget is built by the app's module, in every process, at import.
What changes at run time (a metric's value, a text, a shared input's value, a
label, visibility) is saved under the widget's key in the store's
``globals`` namespace whenever it changes, and applied again when a process
starts, so a restarted process shows the current shared page, not the one
its module built.

What is saved is the widget's plain attributes that the store's codec can
hold (not its ID, parent, handlers or children).  Widgets without a key, and
widgets added or removed at run time, are not saved (see docs/scaling.md).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from .store.base import Store
from .store.codec import CodecError
from .widgets.base import Widget

if TYPE_CHECKING:
    from .app import App

__all__ = ["snapshot", "restore_globals"]

log = logging.getLogger("stgo")

# Never saved: identity and wiring of this process's objects.
_SKIP = frozenset({"id", "key", "parent", "_notify", "_lock", "_handlers", "children",
                   "_children"})


def snapshot(widget: Widget, store: Store) -> dict[str, Any]:
    """The attributes of *widget* that *store* can hold, by name."""
    codec = getattr(store, "codec", None)
    out: dict[str, Any] = {}
    for name, value in vars(widget).items():
        if name in _SKIP or callable(value) or isinstance(value, Widget):
            continue
        if codec is not None:
            try:
                codec.encode(value, name)
            except CodecError:
                continue
        out[name] = value
    return out


def _same_kind(now: Any, saved: Any) -> bool:
    if now is None or saved is None or type(now) is type(saved):
        return True
    number = (int, float)
    return (isinstance(now, number) and isinstance(saved, number)
            and not isinstance(now, bool) and not isinstance(saved, bool))


def restore_globals(app: App, store: Store) -> int:
    """Apply the saved changes to *app*'s global widgets; return how many were restored."""
    try:
        saved = store.items("globals")
    except Exception:
        log.exception("could not read the global widgets from the store")
        return 0
    restored = 0
    for top in app.global_widgets():
        for widget in top.walk():
            attrs = saved.get(widget.key) if widget.key != widget.id else None
            if not isinstance(attrs, dict):
                continue
            current = vars(widget)
            for name, value in attrs.items():
                # Only attributes this version's widget still has, of the same kind.
                if name in current and name not in _SKIP and _same_kind(current[name], value):
                    setattr(widget, name, value)
            restored += 1
    return restored
