"""Global widgets' run-time changes, saved to and restored from a persistent store.

A global widget is built by the app's module, in every process, at import.
What changes at run time (a metric's value, a text, a shared input's value, a
label, visibility) is saved under the widget's key in the store's
``globals`` namespace shortly after it changes (by :class:`GlobalSaver`, on a
thread of its own; before the event that changed it is acknowledged, so an
acknowledged change outlives a killed process), and applied again when a
process starts, so a restarted process shows the current shared page, not
the one its module built.  With many processes the save is versioned and
announced to the others (:mod:`stgo.cluster.relay`).

What is saved is the widget's plain attributes that the store's codec can
hold (not its ID, parent, handlers or children).  Widgets without a key, and
widgets added or removed at run time, are not saved (see docs/scaling.md).

Keys are unique per page, so the stored name says which page: the key alone
on the App's own page ``/`` (and in the sidebar and top bar, on every page),
as stgo always stored it; ``"<path> <key>"`` on a page made by
``app.page(path)`` (:func:`stored_name`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

from ..core.pages import Page
from ..errors import CodecError
from ..store.base import Store
from ..widgets.base import Widget

__all__ = ["snapshot", "apply_attrs", "restore_globals", "GlobalSaver", "stored_name",
           "keyed_globals", "find_global", "SharedPages"]

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


def apply_attrs(widget: Widget, attrs: dict[str, Any]) -> None:
    """Set the saved *attrs* on *widget*: only attributes this version's
    widget still has, of the same kind (a value from an older deploy is skipped)."""
    current = vars(widget)
    for name, value in attrs.items():
        if name in current and name not in _SKIP and _same_kind(current[name], value):
            setattr(widget, name, value)


def stored_name(key: str, path: str | None) -> str:
    """The name under which the keyed shared widget *key* of the page at
    *path* is stored (``None`` or ``"/"``: the App's own page, the sidebar
    or the top bar: the key alone)."""
    return key if path is None or path == "/" else f"{path} {key}"


class SharedPages(Protocol):
    """The shared widgets of every page of an app (the :class:`~stgo.app.App` is one)."""

    def global_widgets(self) -> list[Widget]:
        """Top-level shared widgets of the page ``/``, the sidebar and top bar included."""

    @property
    def pages(self) -> Sequence[Page]:
        """The pages other than ``/``."""

    def get_page(self, path: str) -> Page | None:
        """The page at *path*, or ``None``."""

    def global_with_key(self, key: str) -> Widget | None:
        """The shared widget of ``/`` (sidebar and top bar included) whose key is *key*."""


def keyed_globals(app: SharedPages) -> Iterator[tuple[str, Widget]]:
    """Every keyed shared widget of every page of *app*, with its stored name."""
    for top in app.global_widgets():
        for widget in top.walk():
            if widget.key != widget.id:
                yield widget.key, widget
    for page in app.pages:
        for top in page.widgets:
            for widget in top.walk():
                if widget.key != widget.id:
                    yield stored_name(widget.key, page.path), widget


def find_global(app: SharedPages, name: str) -> Widget | None:
    """The keyed shared widget stored as *name* (see :func:`stored_name`), or ``None``."""
    path, _, key = name.partition(" ")
    page = app.get_page(path) if key and path.startswith("/") else None
    if page is not None:
        for top in page.widgets:
            for widget in top.walk():
                if widget.key == key and widget.key != widget.id:
                    return widget
    found = app.global_with_key(name)
    return found if found is not None and found.key != found.id else None


def restore_globals(app: SharedPages, store: Store) -> int:
    """Apply the saved changes to the keyed shared widgets of every page of
    *app*; return how many were restored."""
    try:
        saved = store.items("globals")
    except Exception:
        log.exception("could not read the global widgets from the store")
        return 0
    restored = 0
    for name, widget in keyed_globals(app):
        attrs = saved.get(name)
        if not isinstance(attrs, dict):
            continue
        apply_attrs(widget, attrs)
        restored += 1
    return restored


class GlobalSaver:
    """Saves changed global widgets to the store from its own thread.

    A change only marks its widget (no Redis call in the thread that made
    it, which may hold a lock or be a tight background loop); the thread
    then writes each marked widget's latest attributes once, so a hundred
    changes of one progress bar cost one write.

    :param store: the persistent store.
    :param interval: seconds the thread waits to gather changes (0.05).
    :param write: ``write(key, attrs, stamp)`` saves one widget (default: a
        plain ``store.set``; with many processes the relay's versioned save).
    :param stamp: the clock that stamps each change when it is made (the
        relay's hybrid clock; default: none).
    :param written: called with a key once its write is done and it is no
        longer :meth:`pending` (the relay then looks again at a notice it
        passed over meanwhile).
    """

    def __init__(self, store: Store, interval: float = 0.05,
                 write: Callable[[str, dict[str, Any], int], None] | None = None,
                 stamp: Callable[[], int] | None = None,
                 written: Callable[[str], None] | None = None) -> None:
        self._store = store
        self._written = written
        self._write = write or (lambda key, attrs, _stamp: store.set("globals", key, attrs))
        self._stamp = stamp or (lambda: 0)
        self._interval = interval
        self._lock = threading.Lock()
        self._dirty: dict[str, tuple[Widget, int]] = {}
        # Keys being written, with how many flushes write each (two flushes at
        # once must not clear each other's note: the relay asks pending()).
        self._writing: dict[str, int] = {}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def mark(self, widget: Widget, name: str | None = None) -> None:
        """Save *widget* soon, as *name* (:func:`stored_name`; default: its
        key); keyed widgets only."""
        if widget.key == widget.id:
            return  # no key: nothing stable to find it by after a restart
        stamp = self._stamp()  # when it changed, not when it is written
        with self._lock:
            self._dirty[name or widget.key] = (widget, stamp)
        self._wake.set()

    def pending(self, key: str) -> bool:
        """Whether a change of the widget with *key* waits to be saved."""
        with self._lock:
            return key in self._dirty or key in self._writing

    def start(self) -> None:
        """Start the saving thread (idempotent)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="stgo-persist", daemon=True)
        self._thread.start()

    def after_fork(self) -> None:
        """In a forked child: no saving thread runs here yet (the parent
        writes what it marked)."""
        self._lock = threading.Lock()
        self._dirty = {}
        self._writing = {}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = None

    def stop(self, timeout: float = 5.0) -> None:
        """Write what is still marked, then stop the thread and join it."""
        self._stop.set()
        self._wake.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)
        self.flush()

    def flush(self) -> None:
        """Write every marked widget now."""
        with self._lock:
            dirty, self._dirty = self._dirty, {}
            for key in dirty:
                self._writing[key] = self._writing.get(key, 0) + 1
        left = set(dirty)  # what this flush still counts as being written
        try:
            for key, (widget, stamp) in dirty.items():
                try:
                    self._write(key, snapshot(widget, self._store), stamp)
                except Exception:
                    log.exception("could not save global widget %r to the store", key)
                    with self._lock:
                        self._dirty.setdefault(key, (widget, stamp))  # try again next time
                    return
                with self._lock:
                    self._done_writing(key)
                left.discard(key)
                if self._written is not None:
                    self._written(key)
        finally:
            with self._lock:
                for key in left:
                    self._done_writing(key)

    def _done_writing(self, key: str) -> None:
        # Under self._lock: one flush fewer writes *key*.
        count = self._writing.pop(key) - 1
        if count:
            self._writing[key] = count

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait()
            if self._stop.is_set():
                break
            self._wake.clear()
            # Let a burst of changes gather into one write per widget.
            self._stop.wait(self._interval)
            try:
                self.flush()
            except Exception:
                log.exception("saving global widgets failed")
