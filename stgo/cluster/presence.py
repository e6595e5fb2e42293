"""Presence: the ``on_connect`` / ``on_disconnect`` hooks, and who is online.

A tab *connects* when it gets a WebSocket while it had none (its first load,
a reconnect) and *goes away* when it loses it (closed, reloaded, dropped, or
its process died).  The App's :class:`~stgo.core.tabs.TabRegistry` tells
:class:`Presence` of both; the hooks run in the session's event queue (one
at a time per session, so in order per tab, and never in the middle of one
of its events), on the event pool, inside a hub batch.

With a shared store (Redis) every process keeps a presence record of its
tabs and beats (the ``stgo-presence`` thread: :data:`PRESENCE_BEAT`).  A
process that stops beating for :data:`PRESENCE_TTL` died: another one claims
its record (one claimer: :mod:`stgo.store.redis.presence`) and runs the
disconnect hooks of its tabs.  :meth:`Presence.online` counts this process's
tabs exactly and the others' from their records.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import socket
import threading
import time
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
        # Changes to this process's record not yet written; whole: write it all.
        self._added: dict[str, str] = {}
        self._removed: set[str] = set()
        self._whole = True
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        #: This process's name in the presence records.
        self.me = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"

    # -- tabs coming and going (the TabRegistry's presence callback) -------------------

    def tab_changed(self, tab: BrowserTab[Session], connected: bool) -> None:
        """*tab* got a connection (*connected*) or lost its last one."""
        field = _field(tab)
        with self._lock:
            if connected == (tab in self._tabs):
                return  # told twice: once per tab event
            if connected:
                self._tabs[tab] = None
                self._added[field] = tab.path
                self._removed.discard(field)
            else:
                del self._tabs[tab]
                self._removed.add(field)
                self._added.pop(field, None)
            # Queued under the lock: a tab's hooks keep the order of its events.
            self._run_hooks(tab.session, tab, connected)
        if self._records is not None:
            self._wake.set()

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
        """``{"sessions": n, "tabs": m}`` connected now: this process's exactly,
        the others' (with a shared store) as their records say."""
        with self._lock:
            sessions = {tab.session.id for tab in self._tabs}
            tabs = len(self._tabs)
        if self._records is not None:
            try:
                others = self._records.others(self.me)
            except Exception as exc:  # Redis away: this process's tabs only
                log.warning("online(): other processes not counted (%s)", exc)
            else:
                tabs += len(others)
                sessions.update(f.partition(" ")[2] for f in others)
        return {"sessions": len(sessions), "tabs": tabs}

    # -- the shared store's records (the stgo-presence thread) ---------------------------

    def _loop(self) -> None:
        next_beat = 0.0
        failing = False
        while not self._stop.is_set():
            try:
                now = time.monotonic()
                if now >= next_beat:
                    next_beat = now + self._beat
                    self._sync(beat=True)
                    self._reap()
                else:
                    self._sync(beat=False)
                if failing:
                    failing = False
                    log.info("presence: the store answers again")
            except Exception as exc:
                with self._lock:
                    self._whole = True  # written whole once Redis answers again
                self._metrics.inc("stgo_redis_errors_total", "presence")
                if not failing:  # said once per outage, not once per beat
                    failing = True
                    log.warning("presence: the store did not answer (%s); trying again "
                                "every %g s", exc, self._beat)
                next_beat = time.monotonic() + self._beat
            self._wake.wait(max(0.0, next_beat - time.monotonic()))
            self._wake.clear()

    def _sync(self, *, beat: bool) -> None:
        records = self._records
        assert records is not None
        if beat and not records.beat(self.me, self._ttl):
            with self._lock:
                self._whole = True  # lapsed (or new): others may have claimed the record
        with self._lock:
            whole, self._whole = self._whole, False
            if whole:
                added = {_field(t): t.path for t in self._tabs}
                removed: set[str] = set()
            else:
                added, removed = self._added, self._removed
            self._added, self._removed = {}, set()
        try:
            records.write(self.me, added, removed, whole=whole)
        except Exception:
            with self._lock:
                self._whole = True
            raise

    def _reap(self) -> None:
        """Run the disconnect hooks of the tabs of processes that died."""
        records = self._records
        assert records is not None
        claimed = records.reap(self.me)
        if not claimed:
            return
        live = set(records.others(self.me))
        with self._lock:
            live.update(_field(t) for t in self._tabs)
        for proc, tabs in claimed:
            log.info("presence: process %s stopped beating; %d tab(s) gone with it",
                     proc.rsplit(":", 1)[0], len(tabs))
            for field, path in tabs.items():
                if field in live:
                    continue  # it reconnected already: it did not go away
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
        """This process goes away: the disconnect hooks of the tabs still
        connected here are queued, and its record is dropped."""
        with self._lock:
            left = list(self._tabs)
        for tab in left:
            self.tab_changed(tab, False)
        thread, self._thread = self._thread, None
        self._stop.set()
        self._wake.set()
        if thread is not None:
            thread.join(timeout)
        if self._records is not None and thread is not None:
            try:
                self._records.leave(self.me)
            except Exception as exc:  # it lapses by itself; another claims it
                log.debug("presence: record not dropped (%s)", exc)

    def after_fork(self) -> None:
        """In a forked child: none of the parent's tabs, locks or thread."""
        self._fresh()
