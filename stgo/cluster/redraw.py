"""Redrawing here the sessions that changed in another process, throttled.

An ``s`` notice (see :mod:`stgo.cluster.relay`) says a session's private state
or widgets changed elsewhere.  A process with a tab of it open redraws it from
the state (``session_page``), in the session's own event queue, and its tabs
get only what differs (:class:`~stgo.core.shown.Shown`).  A burst of notices
is coalesced: the redraws of one session take at most :data:`REDRAW_SHARE` of
the time, and the ones that must wait are queued by the ``stgo-relay-redraw``
thread when their time comes.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..ids import redact

if TYPE_CHECKING:
    from ..core.batch import Batch
    from ..core.hub import Hub
    from ..core.session import Session
    from ..metrics import Metrics
    from ..widgets.base import Widget

__all__ = ["Redraws", "REDRAW_SHARE", "REDRAW_INTERVAL", "REDRAW_MAX_DELAY"]

#: Redraws of one session for other processes' changes take this share of
#: the time at most: one that took 20 ms lets the next begin 100 ms after it
#: began, and the notices meanwhile are one redraw then (it reads the newest
#: state anyway).  A change after a quiet spell is drawn at once.
REDRAW_SHARE = 0.2
#: ... and begin at least this many seconds apart,
REDRAW_INTERVAL = 0.005
#: ... and no change waits more than this many seconds for its redraw.
REDRAW_MAX_DELAY = 1.0


log = logging.getLogger("stgo")


class Redraws:
    """The throttled redraws of sessions changed in other processes.

    :param hub: the app's connections (the redraw is pushed through a batch).
    :param metrics: the app's counters.
    :param redraw: ``redraw(session)``: draw *session*'s private widgets anew
        from its state (``session_page``); ``False`` if the app draws none.
    """

    def __init__(self, *, hub: Hub, metrics: Metrics,
                 redraw: Callable[[Session], bool]) -> None:
        self._hub = hub
        self._metrics = metrics
        self._redraw = redraw
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._redrawing: set[Session] = set()  # a redraw is queued for these
        # When each session's next redraw may begin (REDRAW_SHARE), and the
        # redraws waiting for that (by the time they are due).
        self._next_redraw: weakref.WeakKeyDictionary[Session, float] = (
            weakref.WeakKeyDictionary())
        self._due: dict[Session, float] = {}
        self._due_changed = threading.Event()

    def thread(self) -> threading.Thread:
        """The scheduler thread, not started (the relay starts and joins it
        with its own)."""
        self._stop.clear()
        return threading.Thread(target=self._schedule, name="stgo-relay-redraw", daemon=True)

    def stop(self) -> None:
        """Let the scheduler thread end (the relay joins it)."""
        self._stop.set()
        self._due_changed.set()

    def after_fork(self) -> None:
        """In a forked child: none of the parent's locks or queued redraws."""
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._redrawing = set()
        self._next_redraw = weakref.WeakKeyDictionary()
        self._due = {}
        self._due_changed = threading.Event()

    def soon(self, session: Session) -> None:
        """Redraw *session*'s tabs here from its state, in its event queue
        (so never in the middle of one of its events): at once, or, while its
        last redraw's share of time (:data:`REDRAW_SHARE`) runs, once at its end."""
        now = time.monotonic()
        with self._lock:
            if session in self._redrawing or session in self._due:
                return  # the coming redraw will read the newest state anyway
            due = self._next_redraw.get(session, now)
            if due > now:
                self._due[session] = due
                self._due_changed.set()
                return
            self._redrawing.add(session)
        self._queue(session)

    def _schedule(self) -> None:
        """Queue the redraws whose time has come (the ``stgo-relay-redraw`` thread)."""
        while not self._stop.is_set():
            self._due_changed.clear()
            now = time.monotonic()
            with self._lock:
                ready = [s for s, due in self._due.items() if due <= now]
                for session in ready:
                    del self._due[session]
                    self._redrawing.add(session)
                wait = min(self._due.values(), default=now + 60.0) - now
            for session in ready:
                self._queue(session)
            self._due_changed.wait(wait)

    def _queue(self, session: Session) -> None:
        hub = self._hub

        def redraw() -> None:
            began = time.monotonic()
            with self._lock:
                self._redrawing.discard(session)
                # Notices from now on wait for this one's end, at least.
                self._next_redraw[session] = began + REDRAW_MAX_DELAY
            try:
                draw()
            finally:
                took = time.monotonic() - began
                pause = min(REDRAW_MAX_DELAY, max(REDRAW_INTERVAL, took / REDRAW_SHARE))
                with self._lock:
                    self._next_redraw[session] = began + pause
                    if session in self._due:
                        self._due[session] = min(self._due[session], began + pause)
                self._due_changed.set()

        def draw() -> None:
            if session.ended:
                return
            self._metrics.inc("stgo_relay_applied_total", "session")
            # From now on the hub notes what this session's tabs have, and
            # sends them only what differs (a burst of changes elsewhere
            # must not cost a whole page per change here).
            hub.shown.track(session)
            with hub.batch() as batch:
                batch.local_only = True
                batch.skip_unchanged = True
                before = session.widgets
                if self._redraw(session):  # cleared, and drawn anew from the state
                    _keep_places(batch, session, before, session.widgets)
                hub.state_changed(session, None)  # inputs bound to state follow

        def guarded() -> None:
            try:
                redraw()
            except Exception:
                log.exception("relay: redrawing session %s failed", redact(session.id))

        session.events.submit(guarded)


def _shape(widget: Widget) -> list[tuple[type, str | None]]:
    """What a widget tree is made of: each widget's type and key (if it has one)."""
    return [(type(w), w.key if w.key != w.id else None) for w in widget.walk()]


def _keep_places(batch: Batch, session: Session, before: list[Widget],
                 after: list[Widget]) -> None:
    """Turn a session's redraw (every widget removed, every one drawn anew)
    into updates in place where the new widgets are the old ones redrawn.

    Along the common start of both lists, a new tree of the same shape
    (types and keys) as the old one takes the old widgets' IDs.  Drawn as
    the old one (the tabs show the old widgets), it is not sent at all;
    otherwise its change is an ``update`` of the element the tabs have
    (which the hub skips too when its HTML is what they were last sent:
    ``skip_unchanged``).  Values bound to state are the state pass's.
    The rest is removed and inserted as drawn, in order.
    """
    changes = batch.session_changes.get(session)
    if changes is None:
        return
    for old, new in zip(before, after, strict=False):
        if _shape(old) != _shape(new):
            break
        for was, now in zip(old.walk(), new.walk(), strict=True):
            now.id = was.id  # the tab's element, and its events, stay valid
        changes.pop(old, None)
        if new.render(session) == old.render(session):
            for inner in new.walk():
                changes.pop(inner, None)
        else:
            changes[new] = "update"
