"""Presence: the ``on_connect`` / ``on_disconnect`` hooks, and who is online.

A tab *connects* when it gets a WebSocket while it had none (its first load,
a reconnect) and *goes away* when it loses it (closed, reloaded, dropped, or
its process died).  The App's :class:`~stgo.core.tabs.TabRegistry` tells
:class:`Presence` of both; the hooks run in the session's event queue (one
at a time per session, so in order per tab, and never in the middle of one
of its events), on the event pool, inside a hub batch.

With a shared store (Redis) every process keeps a presence record of its
tabs and beats (the ``stgo-presence`` thread: :data:`PRESENCE_BEAT`), which
records each tab event before its hooks are queued.  A tab that connects is
taken out of other processes' records: if it was still in one (that process
died, or has not seen the close yet) its disconnect runs here first, and
that process runs none.  A process that stops beating for
:data:`PRESENCE_TTL` died: another one claims its record (one claimer:
:mod:`stgo.store.redis.presence`) and runs the disconnect hooks of its tabs.
:meth:`Presence.online` counts every live process's record, this process's
unrecorded events included.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..core.manager import SessionManager
from ..core.session import Session
from ..core.tabs import BrowserTab
from ..failures import FailureLog
from ..metrics import Metrics

if TYPE_CHECKING:
    from ..store.redis.presence import PresenceRecords

__all__ = ["Presence", "PresenceHook", "PRESENCE_BEAT", "PRESENCE_TTL"]

log = logging.getLogger("stgo")

#: ``fn(session, tab)``: an ``on_connect`` or ``on_disconnect`` hook.
PresenceHook = Callable[[Session, BrowserTab[Session]], None]

#: Seconds between a process's beats (and its looks for dead processes).
PRESENCE_BEAT = 1.0
#: Seconds without a beat after which a process counts as dead: another one
#: runs its tabs' disconnect hooks, and ``online()`` stops counting them.
PRESENCE_TTL = 3.0


def _field(tab: BrowserTab[Session]) -> str:
    """A tab's field in its process's record."""
    return f"{tab.id} {tab.session.id}"


class Presence:
    """The tabs connected to this process, the presence hooks, and ``online()``.

    :param sessions: finds the session of a dead process's tab.
    :param submit: runs a job on the event pool.
    :param batch: opens a hub batch (a hook's changes are pushed).
    :param failures: logs a failing hook once per kind.
    :param metrics: counts the hooks run.
    :param records: a shared store's presence records, or ``None`` (one process).
    :param beat: seconds between beats (:data:`PRESENCE_BEAT`).
    :param ttl: seconds without a beat that mean dead (:data:`PRESENCE_TTL`).
    """

    def __init__(self, *, sessions: SessionManager, submit: Callable[[Callable[[], None]], None],
                 batch: Callable[[], contextlib.AbstractContextManager[Any]],
                 failures: FailureLog, metrics: Metrics,
                 records: PresenceRecords | None = None,
                 beat: float = PRESENCE_BEAT, ttl: float = PRESENCE_TTL) -> None:
        self._sessions = sessions
        self._submit = submit
        self._batch = batch
        self._failures = failures
        self._metrics = metrics
        self._records = records
        self._beat = beat
        self._ttl = ttl
        #: The ``on_connect`` hooks, in order.
        self.connect: list[PresenceHook] = []
        #: The ``on_disconnect`` hooks, in order.
        self.disconnect: list[PresenceHook] = []
        self._fresh()

    def _fresh(self) -> None:
        """This process's own bookkeeping (anew after a fork)."""
        self._lock = threading.Lock()
        self._tabs: dict[BrowserTab[Session], None] = {}  # connected here now
        # With a shared store: the tab events the thread has yet to record
        # (in order), the tabs it recorded, those whose record may be missing
        # (a write failed), and whether the record must be written whole.
        self._events: deque[tuple[BrowserTab[Session], bool]] = deque()
        self._recorded: dict[str, BrowserTab[Session]] = {}
        self._unsure: set[str] = set()
        self._whole = False
        self._failing = False  # the store did not answer the last call
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        #: This process's name in the presence records.
        self.me = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"

    # -- tabs coming and going (the TabRegistry's presence callback) -------------------

    def tab_changed(self, tab: BrowserTab[Session], connected: bool) -> None:
        """*tab* got a connection (*connected*) or lost its last one."""
        with self._lock:
            if connected == (tab in self._tabs):
                return  # told twice: once per tab event
            if connected:
                self._tabs[tab] = None
            else:
                del self._tabs[tab]
            if self._thread is None:
                # Queued under the lock: a tab's hooks keep the order of its events.
                self._run_hooks(tab.session, tab, connected)
                return
            self._events.append((tab, connected))
        self._wake.set()

    def _record(self, tab: BrowserTab[Session], connected: bool) -> None:
        """Record a tab event in the shared store, then queue its hooks (the
        thread's, in the order of the events).

        A tab that connects here is taken out of other processes' records: if
        it was still in one (its process died, or has not noticed the close
        yet), its disconnect runs here, first; that process then finds it
        gone and runs none.  A store that does not answer changes nothing for
        the hooks (this process knows its own tabs).
        """
        records = self._records
        assert records is not None
        field = _field(tab)
        if connected:
            self._recorded[field] = tab
            elsewhere: list[str] = []
            try:
                elsewhere = records.connect(self.me, field, tab.path)
            except Exception:
                self._unsure.add(field)
                self._whole = True
                raise
            finally:
                self._run_hooks_after(tab, connected, elsewhere)
            return
        self._recorded.pop(field, None)
        gone = True
        try:
            gone = records.disconnect(self.me, field) or field in self._unsure
        finally:
            self._unsure.discard(field)
            if gone:
                self._run_hooks(tab.session, tab, False)
            else:  # it moved: the process it moved to ran its disconnect
                self._metrics.inc("stgo_presence_moved_total")

    def _run_hooks_after(self, tab: BrowserTab[Session], connected: bool,
                         elsewhere: list[str]) -> None:
        for path in elsewhere:  # it went away from another process: that first
            self._run_hooks(tab.session, BrowserTab(tab.id, tab.session, path or "/"), False)
        self._run_hooks(tab.session, tab, connected)

    def _run_hooks(self, session: Session, tab: BrowserTab[Session], connected: bool) -> None:
        hooks = list(self.connect if connected else self.disconnect)
        if not hooks:
            return
        what = "on_connect" if connected else "on_disconnect"

        def run() -> None:
            with self._batch():
                for fn in hooks:
                    try:
                        fn(session, tab)
                    except Exception as exc:
                        self._failures.record(
                            f"{what} hook {getattr(fn, '__qualname__', fn)}", exc)
            self._metrics.inc("stgo_presence_hooks_total", what)

        # In the session's queue: in order per tab, never inside its events.
        session.events.post(run, self._submit)

    # -- who is online ------------------------------------------------------------------

    def online(self) -> dict[str, int]:
        """``{"sessions": n, "tabs": m}`` connected now: this process's tabs
        exactly; with a shared store every live process's record, this
        process's events not yet recorded included (a tab that moved counts
        once, where it is now)."""
        with self._lock:
            fields = {_field(tab) for tab in self._tabs}
            pending = list(self._events)
        if self._records is not None:
            try:
                every = set(self._records.others(""))  # every live process's, this one's too
            except Exception as exc:  # Redis away: this process's tabs only
                log.warning("online(): other processes not counted (%s)", exc)
            else:
                for tab, connected in pending:
                    if connected:
                        every.add(_field(tab))
                    else:
                        every.discard(_field(tab))
                fields = every
        return {"sessions": len({f.partition(" ")[2] for f in fields}), "tabs": len(fields)}

    # -- the shared store's records (the stgo-presence thread) ---------------------------

    def _loop(self) -> None:
        next_beat = 0.0
        while not self._stop.is_set():
            try:
                self._drain()
                now = time.monotonic()
                if now >= next_beat:
                    next_beat = now + self._beat
                    self._sync()
                    self._reap()
                    if self._failing:
                        self._failing = False
                        log.info("presence: the store answers again")
            except Exception as exc:
                self._whole = True  # written whole once Redis answers again
                self._metrics.inc("stgo_redis_errors_total", "presence")
                if not self._failing:  # said once per outage, not once per beat
                    self._failing = True
                    log.warning("presence: the store did not answer (%s); trying again "
                                "every %g s", exc, self._beat)
                next_beat = time.monotonic() + self._beat
            if not self._events:
                self._wake.wait(max(0.0, next_beat - time.monotonic()))
            self._wake.clear()

    def _drain(self) -> None:
        """Record the waiting tab events, in order (the thread's).  While the
        store does not answer, their hooks run unrecorded, and the record is
        written whole once it answers again."""
        while not self._stop.is_set():
            with self._lock:
                if not self._events:
                    return
                tab, connected = self._events.popleft()
            if not self._failing:
                self._record(tab, connected)  # the loop hears what it raises
                continue
            field = _field(tab)
            self._whole = True
            if connected:
                self._recorded[field] = tab
                self._unsure.add(field)
            else:
                self._recorded.pop(field, None)
                self._unsure.discard(field)
            self._run_hooks(tab.session, tab, connected)

    def _sync(self) -> None:
        """Beat; after a lapse (or a failed write) write the record whole."""
        records = self._records
        assert records is not None
        lapsed = not records.beat(self.me, self._ttl)
        if not (lapsed or self._whole):
            return
        there = records.fields(self.me)
        records.write(self.me, {f: t.path for f, t in self._recorded.items()}, set(),
                      whole=True)
        self._whole = False
        if lapsed and self._recorded:
            # Others took this process for dead and ran the disconnect of the
            # tabs they claimed: those are connected again.
            for field, tab in self._recorded.items():
                if field not in there and field not in self._unsure:
                    self._run_hooks(tab.session, tab, True)
        self._unsure.clear()

    def _reap(self) -> None:
        """Run the disconnect hooks of the tabs of processes that died."""
        records = self._records
        assert records is not None
        claimed = records.reap(self.me)
        if not claimed:
            return
        # A tab of it that reconnected somewhere was taken out of its record
        # then (and went away there first): what is left went away with it.
        for proc, tabs in claimed:
            log.info("presence: process %s stopped beating; %d tab(s) gone with it",
                     proc.rsplit(":", 1)[0], len(tabs))
            for field, path in tabs.items():
                tab_id, _, sid = field.partition(" ")
                session = self._sessions.get(sid)
                if session is None or session.ended:
                    continue  # ended meanwhile: its end hooks said it all
                self._metrics.inc("stgo_presence_reaped_total")
                self._run_hooks(session, BrowserTab(tab_id, session, path or "/"), False)

    # -- the process's part (the App's Lifecycle) ------------------------------------

    def start(self) -> None:
        """Beat and watch the other processes (with a shared store)."""
        if self._records is None or self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="stgo-presence", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """This process goes away: the hooks of the tab events not yet
        recorded run, then the disconnect hooks of the tabs still connected
        here, and its record is dropped (one call to the store, skipped while
        it does not answer: a shutdown must not wait on it tab by tab)."""
        thread = self._thread
        self._stop.set()
        self._wake.set()
        if thread is not None:
            thread.join(timeout)
        with self._lock:
            self._thread = None
            late, self._events = list(self._events), deque()
            left = list(self._tabs)  # they go away with this process
            self._tabs.clear()
        for tab, connected in late:
            self._run_hooks(tab.session, tab, connected)
        for tab in left:
            self._run_hooks(tab.session, tab, False)
        if self._records is not None and thread is not None and not self._failing:
            try:
                self._records.leave(self.me)
            except Exception as exc:  # it lapses by itself; another claims it
                log.debug("presence: record not dropped (%s)", exc)

    def after_fork(self) -> None:
        """In a forked child: none of the parent's tabs, locks or thread."""
        self._fresh()
