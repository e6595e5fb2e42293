"""One browser's server-side session: private state and private widgets.

A :class:`Session` is created by the :class:`~stgo.core.manager.SessionManager` and
guarded by a private :class:`threading.RLock`.  Observers (the App) hear of state
and widget changes through the small :class:`SessionObserver` protocol, always
*after* the lock is released: an observer may read the session or write to sockets.
"""

from __future__ import annotations

import contextlib
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, Protocol, TypeVar

from ..errors import StgoError
from ..limits import TokenBucket
from ..protocol import toast_message
from ..serial import SerialQueue
from ..store.sessionstate import DictState, SessionState
from ..widgets.base import InputWidget, Widget
from ..widgets.layout import Factory
from ..widgets.naming import check_unique_keys, name_keyed
from .pagewidgets import PageWidgets
from .request import RequestInfo
from .resources import Resources
from .sessionparts import SessionPerson, SessionWork
from .tabs import BrowserTab
from .tabvalues import ScopedInputs, Viewer, delete_tab, drawn_tab, read, write_all, write_tab
from .tasks import SessionTasks, TaskRunner

__all__ = ["Session", "SessionObserver", "Cancellable"]

T = TypeVar("T")
_MISSING: Any = object()


class SessionObserver(Protocol):
    """What a Session tells its owner.  Called outside the session's lock."""

    def state_changed(self, session: Session, key: str | None) -> None:
        """*key* changed (or was deleted); ``None`` means every key (``clear``)."""

    def widget_changed(self, session: Session, widget: Widget, change: str) -> None:
        """A session widget changed: ``"update"``, ``"insert"`` or ``"remove"``."""

    def client_message(self, session: Session | None, msg: dict[str, Any]) -> int:
        """Send a transient message (toast, spinner ...) to *session*'s tabs now."""


class Cancellable(Protocol):
    """A running thing that can be stopped (a :class:`~stgo.core.timers.TimerHandle`)."""

    @property
    def cancelled(self) -> bool: ...

    def cancel(self) -> None: ...


class Session(SessionPerson, SessionWork, Factory):
    """Private state and widgets of one browser (all of its tabs).

    Thread-safe: any thread may call any method.  Times are epoch seconds as
    returned by the manager's clock.

    :param session_id: the ID; normally made by :func:`stgo.ids.new_session_id`.
    :param clock: returns the current time in epoch seconds; injectable so
        that timeouts can be tested without sleeping.
    :param activated: whether the session counts as activated from the
        start.  The page makes its sessions with ``False``: such a *pending*
        session becomes activated when its first connection opens, and until
        then lapses after the manager's short ``pending_timeout``.
    :param on_activate: called with the session, outside its lock, once, when
        a pending session is activated (the manager's bookkeeping).
    """

    def __init__(self, session_id: str, *, clock: Callable[[], float] = time.time,
                 activated: bool = True,
                 on_activate: Callable[[Session], None] | None = None) -> None:
        self._lock = threading.RLock()
        self._id = session_id
        self._clock = clock
        # The keys: in a dict here, or a persistent store's namespace (a strategy).
        self._data: SessionState = DictState()
        self._page = PageWidgets()
        # Its private inputs with a value per tab (scope="tab", bind="query"), by key.
        self._scoped = ScopedInputs()
        now = clock()
        self._created_at = now
        self._last_accessed_at = now
        self._connections = 0
        self._activated = activated
        self._on_activate = None if activated else on_activate
        self._ended = False
        self._observer: SessionObserver | None = None
        #: Events of this session run through here, one at a time.
        self.events = SerialQueue()
        #: The event-rate limit, made on the first event (the App's settings).
        self.event_bucket: TokenBucket | None = None
        #: Finds a widget shown to every session by key (the App's globals):
        #: this page's keys must not clash with them, and their inputs'
        #: values set here are validated.  Set by the owner.
        self.shared_widget: Callable[[str], Widget | None] = lambda key: None
        #: What the browser's latest page request said: headers, cookies (but
        #: the session cookie), client address.  Empty until a page is served.
        self.request = RequestInfo()
        #: Runs this session's tasks (the App's, set when it starts the session).
        self.task_runner: TaskRunner | None = None
        self._tasks = SessionTasks()
        self._resources = Resources()

    def __repr__(self) -> str:
        from ..ids import redact

        return f"<Session {redact(self._id)} keys={len(self._data)}>"

    # -- identity and times -------------------------------------------------

    @property
    def id(self) -> str:
        """The session ID.  Treat it like a password: never log it raw."""
        return self._id

    @property
    def created_at(self) -> float:
        """Creation time, epoch seconds."""
        return self._created_at

    @property
    def last_accessed_at(self) -> float:
        """Last activity (state change, event, connection), epoch seconds."""
        with self._lock:
            return self._last_accessed_at

    @property
    def ended(self) -> bool:
        """``True`` once the manager has ended this session."""
        return self._ended

    def touch(self, now: float | None = None) -> None:
        """Record activity now (or at *now*, epoch seconds)."""
        stamp = self._clock() if now is None else now
        with self._lock:
            if stamp > self._last_accessed_at:
                self._last_accessed_at = stamp
        self._sync_access()

    def _sync_access(self, *, activate: bool = False) -> None:
        with self._lock:
            stamp = self._last_accessed_at
        self._data.touch(stamp, activate=activate)

    # -- connections ----------------------------------------------------------

    @property
    def connections(self) -> int:
        """How many connections (tabs) are open on this session right now."""
        with self._lock:
            return self._connections

    @property
    def activated(self) -> bool:
        """Whether a connection ever opened on this session (or it was made
        activated).  A pending session costs little and lapses fast."""
        return self._activated

    def attach(self) -> int:
        """Count one more open connection and record activity; return the count.

        The first connection activates a pending session.
        """
        with self._lock:
            self._connections += 1
            self._last_accessed_at = max(self._last_accessed_at, self._clock())
            count = self._connections
            activate, self._on_activate = self._on_activate, None
            first = not self._activated
            self._activated = True
        if activate is not None:
            activate(self)
        try:
            self._sync_access(activate=first)
        except BaseException:  # the store did not answer: no connection counted
            with self._lock:
                self._connections -= 1
                self._activated = not first
            raise
        return count

    def detach(self) -> int:
        """Count one connection fewer and record activity; return the count."""
        with self._lock:
            self._connections = max(0, self._connections - 1)
            self._last_accessed_at = max(self._last_accessed_at, self._clock())
            count = self._connections
        self._sync_access()
        return count

    def is_expired(self, now: float, timeout: float, *, strict: bool = False) -> bool:
        """Tell whether the session has been idle longer than *timeout* seconds.

        An open connection counts as activity unless *strict* is true.
        """
        with self._lock:
            if self._connections and not strict:
                return False
            return now - self._last_accessed_at > timeout

    # -- state --------------------------------------------------------------

    def set(self, key: str, value: Any) -> None:
        """Store *value* under *key*.

        Any Python value in memory (with a persistent store, the codec's
        types: see docs/scaling.md), except under the key of an input on this
        session's page: there the value is converted and checked as the
        user's input would be.

        :raises WidgetError: the value does not suit that input (a string for
            a number input, an option that is not offered...).
        :raises ~stgo.errors.CodecError: a persistent store cannot keep the
            value's type (the key and the type are named).
        """
        value = self._checked_input(key, value)
        now = self._clock()
        scoped = self._per_tab(key)
        if scoped is None:
            self._data.set(key, value, now)
        elif (tab := self.tab) is not None:  # the tab whose event this is
            write_tab(self._data, scoped, tab, value, now)
        else:
            write_all(self._data, scoped, self.open_tabs, value, now)
        self._accessed(now)
        self._state_changed(key)

    def _accessed(self, now: float) -> None:
        with self._lock:
            if now > self._last_accessed_at:
                self._last_accessed_at = now

    def get(self, key: str, default: Any = None) -> Any:
        """Return the value under *key*, or *default* when there is none.

        The key of an input with a value per tab (``scope="tab"``,
        ``bind="query"``) reads the value of the tab whose event is being
        handled, or outside an event the session's (see :mod:`stgo.core.tabvalues`).
        """
        scoped = self._per_tab(key)
        if scoped is not None:
            return read(self._data, scoped, self._viewer(), default)
        return self._data.get(key, default)

    def _per_tab(self, key: str) -> InputWidget | None:
        """The input with a value per tab whose key is *key*, or ``None``."""
        found = self._scoped.get(key)
        shared = getattr(self._observer, "scoped_input", None)
        return found if found is not None or shared is None else shared(key)

    def _viewer(self) -> Viewer | None:
        """The tab being drawn, else the tab of the event, else ``None``."""
        viewer = drawn_tab(self)
        tab = self.tab if viewer is None else None
        return viewer if tab is None else Viewer(self, tab.id, tab.query)

    def __getitem__(self, key: str) -> Any:
        value = self.get(key, _MISSING)
        if value is _MISSING:
            raise KeyError(key)
        return value

    def __setitem__(self, key: str, value: Any) -> None:
        self.set(key, value)

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        return self.get(key, _MISSING) is not _MISSING

    def has(self, key: str) -> bool:
        """Tell whether *key* is set."""
        return key in self

    def delete(self, key: str) -> bool:
        """Remove *key*; return whether it was there."""
        now = self._clock()
        scoped = self._per_tab(key)
        found = (self._data.delete(key, now) if scoped is None
                 else delete_tab(self._data, scoped, self.tab, now))
        if not found:
            return False
        self._accessed(now)
        self._state_changed(key)
        return True

    def clear(self) -> None:
        """Remove every key."""
        now = self._clock()
        self._data.clear(now)
        self._accessed(now)
        self._state_changed(None)

    def items(self) -> dict[str, Any]:
        """Return a shallow copy of all state."""
        return self._data.items()

    def keys(self) -> list[str]:
        """Return the keys, as a list (a snapshot)."""
        return list(self.items())

    def update(self, key: str, fn: Callable[[Any], T], default: Any = None) -> T:
        """Atomically replace the value under *key* with ``fn(old)``.

        *old* is *default* when the key is missing.  *fn* runs outside the
        lock (it is user code), so it may run more than once if another thread
        (or, with a shared store, another process) changes the key meanwhile;
        it should have no side effects.

        :returns: the new value.
        """
        now = self._clock()
        new: T = self._data.update(key, fn, default, now)
        self._accessed(now)
        self._state_changed(key)
        return new

    def increment(self, key: str, amount: float = 1) -> Any:
        """Atomically add *amount* to the number under *key* (missing: 0)."""
        now = self._clock()
        new = self._data.increment(key, amount, now)
        self._accessed(now)
        self._state_changed(key)
        return new

    def _checked_input(self, key: str, value: Any) -> Any:
        widget = self.get_widget(key)
        if widget is None or widget.key != key:
            widget = self.shared_widget(key)
        if widget is None:
            widget = self._per_tab(key)  # on another page than "/"
        if isinstance(widget, InputWidget) and not widget.shared and widget.key == key:
            return widget._checked(value, "value")
        return value

    def _state_changed(self, key: str | None) -> None:
        observer = self._observer
        if observer is not None and not self._ended:
            observer.state_changed(self, key)

    # -- widgets --------------------------------------------------------------

    def add_widget(self, widget: Widget) -> Widget:
        """Add a private widget at the end of this session's page."""
        with self._lock:
            # Already on this page, at the top or inside a container: adding it
            # again would list it twice (and cut it loose from its container).
            if self._page.holds(widget):
                return widget
            self._check_keys(widget)
            widget.attach(None, self._widget_changed)
            self._page.append(widget)
            self._last_accessed_at = max(self._last_accessed_at, self._clock())
        self._widget_changed(widget, "insert")
        return widget

    # The factory methods (``session.text(...)``) add through here.
    def _add(self, widget: Widget) -> Widget:
        return self.add_widget(widget)

    def remove_widget(self, widget: Widget | str) -> bool:
        """Remove a private widget, given the object or its key; return whether found."""
        with self._lock:
            target = self._find(widget)
            if target is None:
                return False
            if target.parent is None:
                self._page.remove(target)
        if target.parent is not None:
            return target.parent.remove_child(target)
        self._widget_changed(target, "remove")
        target.detach()
        return True

    def clear_widgets(self) -> None:
        """Remove every private widget."""
        with self._lock:
            removed = self._page.clear()
        for widget in removed:
            self._widget_changed(widget, "remove")
            widget.detach()

    @property
    def widgets(self) -> list[Widget]:
        """A copy of the top-level private widgets, in page order."""
        with self._lock:
            return list(self._page.top)

    def iter_widgets(self) -> Iterator[Widget]:
        """Every private widget, containers' children included (a snapshot)."""
        for widget in self.widgets:
            yield from widget.walk()

    def widget(self, key: str) -> Widget:
        """Return the private widget with *key* (or ID); raise KeyError if none."""
        found = self.get_widget(key)
        if found is None:
            raise KeyError(
                f"session has no widget with key {key!r}; add it with session.add_widget()"
            )
        return found

    def get_widget(self, key: str) -> Widget | None:
        """Return the private widget with *key* (or ID), or ``None``."""
        with self._lock:
            return self._find(key)

    def _find(self, target: Widget | str) -> Widget | None:
        if isinstance(target, str):
            return self._page.find(target)
        return target if self._page.holds(target) else None

    def _check_keys(self, widget: Widget) -> None:
        def taken(key: str) -> Widget | None:
            with self._lock:
                mine = self._page.with_key(key)
            return mine if mine is not None else self.shared_widget(key)

        check_unique_keys(widget, taken)
        name_keyed(widget, "private", self.id)  # alike in every process: widgets.naming

    def redraw(self, widget: Widget, change: str = "update") -> None:
        """Push *widget* again to this session's tabs only.

        For a widget whose look differs per session (a global table's sort
        and page, say): the other sessions keep what they see.
        """
        self._widget_changed(widget, change)

    def _widget_changed(self, widget: Widget, change: str) -> None:
        self._scoped.note(widget, change)
        if change == "adopt":  # a container of this page takes *widget* in
            self._check_keys(widget)
            return
        if change == "insert" and widget.parent is not None:
            with self._lock:
                self._page.index(widget)
        elif change == "remove":
            with self._lock:
                self._page.unindex(widget)
        observer = self._observer
        if observer is not None and not self._ended:
            observer.widget_changed(self, widget, change)

    # -- tabs and pages -----------------------------------------------------------

    @property
    def tab(self) -> BrowserTab[Session] | None:
        """The :class:`~stgo.core.tabs.BrowserTab` whose event is being handled
        (inside a callback), else ``None``: its page, query and own state."""
        observer = self._observer
        current = getattr(observer, "current_tab", None)
        tab = current(self) if current is not None else None
        return tab if isinstance(tab, BrowserTab) else None

    @property
    def open_tabs(self) -> list[BrowserTab[Session]]:
        """The session's open :class:`~stgo.core.tabs.BrowserTab` objects (one per browser tab)."""
        observer = self._observer
        tabs_of = getattr(observer, "tabs_of", None)
        tabs = tabs_of(self) if tabs_of is not None else []
        return [t for t in tabs if isinstance(t, BrowserTab)]

    def navigate(self, path: str, query: dict[str, Any] | None = None) -> int:
        """Move to the page at *path* without a reload (the back button returns):
        inside a callback the tab that sent the event, elsewhere every open
        tab.  Return how many tabs moved.  ``session.tab.navigate`` moves one."""
        observer = self._observer
        navigate = getattr(observer, "navigate", None)
        if navigate is None:
            return 0
        clean = None if query is None else {k: str(v) for k, v in query.items() if v is not None}
        return int(navigate(self, path, clean))

    # -- timers -------------------------------------------------------------------

    def every(self, interval: float, fn: Callable[[Session], object]) -> Cancellable:
        """Run ``fn(session)`` every *interval* seconds while the session lives
        (in this process, in the session's event queue, its changes pushed);
        it stops when the session ends, here or elsewhere (docs/timers.md).

        :returns: a :class:`~stgo.core.timers.TimerHandle`: ``.cancel()`` stops it.
        :raises ConfigurationError: a bad interval.
        :raises StgoError: the session belongs to no App (or has ended).
        """
        schedule = getattr(self._observer, "schedule", None)
        if schedule is None or self._ended:
            raise StgoError("session.every needs a live session of an App")
        handle: Cancellable = schedule(self, interval, fn)
        return handle

    # -- transient messages -------------------------------------------------------

    def send_client(self, msg: dict[str, Any]) -> int:
        """Send *msg* to every open tab of this session now; return how many took it.

        For short-lived things that are not widgets (toasts, spinners, a
        dialog opening); what is pending in the current batch goes first.
        """
        observer = self._observer
        if observer is None or self._ended:
            return 0
        return observer.client_message(self, msg)

    def toast(self, text: Any, *, icon: str | None = None, duration: float = 4.0) -> int:
        """Show a short notice on this session's tabs only; return how many took it.

        :param icon: a short text or emoji before the text.
        :param duration: seconds before it fades (0: stays until dismissed).
        """
        return self.send_client(toast_message(text, icon, duration))

    @contextlib.contextmanager
    def spinner(self, text: str = "Working\u2026") -> Iterator[None]:
        """Show a spinner on this session's tabs while the block runs.

        It is pushed at once, before the rest of the callback's changes (which
        wait for its end), and taken away when the block ends, even by an
        exception.
        """
        token = secrets.token_hex(4)
        self.send_client({"type": "spinner", "id": token, "text": str(text)})
        try:
            yield
        finally:
            self.send_client({"type": "spinner", "id": token, "done": True})

    # -- the owner's wiring: internal, for the SessionManager and its directory
    #    (apps use App.rotate_session and SessionManager.delete instead) --------

    def free(self) -> None:
        """Internal: stop its tasks and release its resources (it ended, or this
        process lets it go)."""
        self._tasks.cancel_all()
        self._resources.release()

    def observe(self, observer: SessionObserver | None) -> None:
        """Internal: report changes to *observer* (the hub), or to nobody."""
        self._observer = observer

    def rekey(self, new_id: str) -> None:
        """Internal: take *new_id* (the directory, under its lock, moves its
        map entry with it)."""
        self._id = new_id

    def mark_ended(self) -> bool:
        """Internal: mark the session ended; return ``False`` if it already was."""
        with self._lock:
            if self._ended:
                return False
            self._ended = True
        self._tasks.cancel_all()  # asked to stop before the end hooks run
        return True

    def bind(self, state: SessionState) -> None:
        """Internal: keep the keys in *state* from now on (a persistent
        store's namespace for this session)."""
        with self._lock:
            self._data = state

    @property
    def blob_store(self) -> Any:
        """The persistent store keeping this session's uploads for every
        process, or ``None`` (they stay in this process)."""
        return self._data.blobs

    def detach_store(self, state: dict[str, Any] | None) -> None:
        """Internal: stop using the store, the record is gone from it (ended,
        here or elsewhere); *state* is its last state, kept readable for end hooks."""
        self.bind(DictState(state))

    def restore_times(self, created_at: float, last_accessed_at: float) -> None:
        """Internal: take the times of a record loaded from the store."""
        with self._lock:
            self._created_at = created_at
            self._last_accessed_at = max(self._last_accessed_at, last_accessed_at)
            data = self._data
        data.seen(last_accessed_at)

    def release(self) -> None:
        """Internal: drop state and widgets once ended, so memory goes back at once."""
        self.free()
        with self._lock:
            self._data = DictState()
            widgets = self._page.clear()
        for widget in widgets:
            widget.detach()
