"""Timers: ``@app.every`` and ``session.every``, on one scheduler thread per process.

The ``stgo-timers`` thread only keeps time.  When a timer is due it hands the
tick to the event pool (a session timer's tick to the session's event queue,
so that it never runs in the middle of one of the session's events) and goes
on.  A tick still running when the next one is due makes that one *skipped*,
not queued: ticks never pile up, and missed intervals are not made up.  A
tick that raises is logged once (:class:`~stgo.failures.FailureLog`), then
counted (``stgo_timer_ticks_total{outcome="failed"}``); the timer goes on.
Each tick runs inside a hub batch: its changes go out as one message.

With a shared store (Redis) an app timer's every tick is asked of the store
first (a :class:`Lease`): the process that holds the timer's lease runs it,
the others are refused; a holder that stops renewing loses the lease and the
next process to ask takes it over (docs/timers.md).  Every tick carries a
:class:`Tick` (:func:`current_tick`): its slot (the interval of the store's
clock it belongs to, run at most once in the cluster) and the lease's fencing
token, for the app's own writes.  Session timers run on the process that made
them, while the session lives.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import ConfigurationError
from ..failures import FailureLog
from ..metrics import Metrics
from ..widgets.base import check_callback
from .session import Session

if TYPE_CHECKING:
    from ..store.redis.leases import Grant

__all__ = ["Timers", "TimerHandle", "Tick", "Lease", "current_tick", "lease_for",
           "MIN_INTERVAL", "TIMER_LEASE_MIN", "TIMER_LEASE_MAX", "SESSION_SWEEP"]

log = logging.getLogger("stgo")

#: The shortest interval a timer may have, in seconds.
MIN_INTERVAL = 0.01
#: An app timer's lease lasts twice its interval, but at least this many seconds,
TIMER_LEASE_MIN = 1.0
#: ... and at most this many: a dead holder's timer moves within the lease
#: plus two intervals (a lease shorter than the interval simply lapses
#: between ticks; the slot still runs once).
TIMER_LEASE_MAX = 10.0
#: Seconds between two checks, with a shared store, that the sessions with
#: timers here still exist there (one ended elsewhere while this process did
#: not hold it, so was not told, stops within this).
SESSION_SWEEP = 5.0

#: What the current tick is (see :func:`current_tick`).
_TICK: ContextVar[Tick | None] = ContextVar("stgo_tick", default=None)


def lease_for(interval: float) -> float:
    """Seconds an app timer's lease lasts past each tick."""
    return min(max(2.0 * interval, TIMER_LEASE_MIN), TIMER_LEASE_MAX)


@dataclass(frozen=True)
class Tick:
    """The tick being run (inside a timer's function: :func:`current_tick`).

    :param name: the timer's name.
    :param slot: an app timer's interval number on the store's clock (with a
        shared store: run once at most in the whole cluster); a session
        timer's or a one-process app timer's count of ticks.
    :param fence: the lease's fencing token with a shared store (it grows with
        every new holder: refuse a write carrying a smaller one), else ``None``.
    """

    name: str
    slot: int
    fence: int | None


def current_tick() -> Tick | None:
    """The :class:`Tick` being run on this thread, or ``None`` outside a timer."""
    return _TICK.get()


class Lease(Protocol):
    """A shared store's timer leases (:class:`~stgo.store.redis.leases.TimerLeases`)."""

    def tick(self, name: str, holder: str, *, interval: float, lease: float) -> Grant: ...

    def release(self, name: str, holder: str) -> None: ...


class TimerHandle:
    """A timer made by ``app.every`` or ``session.every``; :meth:`cancel` stops it."""

    def __init__(self, owner: Timers, name: str, interval: float,
                 fn: Callable[..., object], session: Session | None, due: float) -> None:
        self._owner = owner
        #: The timer's name (an app timer's is its lease's name in the store).
        self.name = name
        #: Seconds between ticks.
        self.interval = interval
        #: The session it runs for, or ``None`` (an app timer).
        self.session = session
        #: Ticks run in this process (not the skipped or refused ones).
        self.ticks = 0
        self._fn = fn
        self._due = due
        self._running = False
        self._cancelled = False

    def __repr__(self) -> str:
        return f"<TimerHandle {self.name!r} every {self.interval:g}s>"

    @property
    def cancelled(self) -> bool:
        """Whether the timer was cancelled, or its session ended."""
        return self._cancelled or (self.session is not None and self.session.ended)

    def cancel(self) -> None:
        """Stop the timer (a tick already running finishes)."""
        self._owner.remove(self)


class Timers:
    """Every timer of one App in one process, and its scheduler thread.

    :param submit: runs a job on the event pool.
    :param batch: opens a hub batch (a tick's changes are one push).
    :param failures: logs a failing tick once per kind.
    :param metrics: counts ticks by outcome.
    :param lease: a shared store's leases (app timers then run on one
        process of the cluster), or ``None``.
    :param exists: with a shared store, ``exists(ids)``: whether each
        session's record is still there (checked every :data:`SESSION_SWEEP`).
    :param current: the session object this process holds under an ID now
        (a session timer follows it when the old one was let go), or ``None``.
    :param clock: monotonic seconds, injectable (tests call :meth:`run_due`).
    """

    def __init__(self, *, submit: Callable[[Callable[[], None]], None],
                 batch: Callable[[], contextlib.AbstractContextManager[Any]],
                 failures: FailureLog, metrics: Metrics, lease: Lease | None = None,
                 exists: Callable[[list[str]], list[bool]] | None = None,
                 current: Callable[[str], Session | None] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._submit = submit
        self._batch = batch
        self._failures = failures
        self._metrics = metrics
        self._lease = lease
        self._exists = exists
        self._current = current
        self._clock = clock
        self._next_sweep = clock() + SESSION_SWEEP
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._timers: list[TimerHandle] = []
        self._thread: threading.Thread | None = None
        self._running = False
        #: This process's name in the leases.
        self.holder = _process_name()

    # -- timers --------------------------------------------------------------------

    def add(self, interval: float, fn: Callable[..., object], *, name: str | None = None,
            session: Session | None = None) -> TimerHandle:
        """A new timer: ``fn()`` (``fn(session)`` for a session's) every *interval* seconds.

        :raises ConfigurationError: a bad interval, or an app timer's name taken.
        """
        if (isinstance(interval, bool) or not isinstance(interval, (int, float))
                or not math.isfinite(interval) or interval < MIN_INTERVAL):
            raise ConfigurationError(
                f"every() takes an interval in seconds, at least {MIN_INTERVAL}; "
                f"got {interval!r}")
        what = "a session.every function" if session is not None else "an app.every function"
        check_callback(fn, ("session",) if session is not None else (), what)
        label = name or f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', fn)}"
        with self._lock:
            if session is None and any(t.session is None and t.name == label
                                       for t in self._timers):
                raise ConfigurationError(
                    f"an app timer named {label!r} exists already; give each a name= of its own")
            handle = TimerHandle(self, label, float(interval), fn, session,
                                 self._clock() + interval)
            self._timers.append(handle)
            self._wake.notify()
            if self._running and self._thread is None:
                self._start_thread()
        return handle

    def remove(self, handle: TimerHandle) -> None:
        """Stop *handle*'s timer."""
        with self._lock:
            handle._cancelled = True
            if handle in self._timers:
                self._timers.remove(handle)

    def timers(self) -> list[TimerHandle]:
        """The live timers (app and session ones)."""
        with self._lock:
            return [t for t in self._timers if not t.cancelled]

    # -- the scheduler ---------------------------------------------------------------

    def run_due(self, now: float | None = None) -> float:
        """Hand every timer due at *now* (default: the clock) its tick; return
        the seconds until the next one is due (the thread's step)."""
        now = self._clock() if now is None else now
        fire: list[TimerHandle] = []
        skipped = 0
        with self._lock:
            for t in list(self._timers):
                if t.cancelled:
                    self._timers.remove(t)
                    continue
                if t._due > now:
                    continue
                # Missed intervals are dropped, and a tick still running
                # makes this one skipped: nothing piles up.
                missed = int((now - t._due) // t.interval)
                skipped += missed + (1 if t._running else 0)
                if not t._running:
                    t._running = True
                    fire.append(t)
                t._due += (missed + 1) * t.interval
            soonest = min((t._due for t in self._timers), default=now + 60.0)
            sweep = self._exists is not None and now >= self._next_sweep and any(
                t.session is not None for t in self._timers)
            if sweep:
                self._next_sweep = now + SESSION_SWEEP
        if skipped:
            self._metrics.inc("stgo_timer_ticks_total", "skipped", skipped)
        for t in fire:
            self._fire(t)
        if sweep:
            self._submit_quietly(self._sweep)
        return max(0.0, soonest - now)

    def _submit_quietly(self, job: Callable[[], None]) -> None:
        try:
            self._submit(job)
        except Exception:  # the pool is stopping
            log.debug("timers: a job not run (the event pool is stopped)")

    def _sweep(self) -> None:
        """Stop the timers of sessions whose record is gone from the store."""
        exists = self._exists
        timers = [t for t in self.timers() if t.session is not None]
        if exists is None or not timers:
            return
        try:
            found = exists([t.session.id for t in timers if t.session is not None])
        except Exception as exc:  # asked again at the next sweep
            log.debug("timers: sessions not checked (%s)", exc)
            return
        for t, there in zip(timers, found, strict=True):
            if not there:
                self.remove(t)

    def _fire(self, t: TimerHandle) -> None:
        job = lambda: self._run(t)  # noqa: E731
        try:
            if t.session is not None:
                t.session.events.post(job, self._submit)  # never inside its events
            else:
                self._submit(job)
        except Exception:  # the pool is stopping: this tick is lost
            t._running = False
            log.debug("timer %s: tick not run (the event pool is stopped)", t.name)

    def _run(self, t: TimerHandle) -> None:
        try:
            tick = self._admit(t)
            if tick is None:
                return
            token = _TICK.set(tick)
            try:
                with self._batch():
                    if t.session is not None:
                        t._fn(t.session)
                    else:
                        t._fn()
            except Exception as exc:
                self._metrics.inc("stgo_timer_ticks_total", "failed")
                self._failures.record(f"timer {t.name}", exc)
            else:
                self._metrics.inc("stgo_timer_ticks_total", "run")
            finally:
                _TICK.reset(token)
                t.ticks += 1
        finally:
            t._running = False

    def _admit(self, t: TimerHandle) -> Tick | None:
        """The tick *t* may run now, or ``None`` (cancelled, session ended, or
        another process of the cluster runs it)."""
        if t.cancelled:
            self.remove(t)
            return None
        if t.session is not None and self._current is not None:
            held = self._current(t.session.id)
            if held is not None and held is not t.session:
                t.session = held  # the one this process holds and draws now
        if t.session is not None or self._lease is None:
            return Tick(t.name, t.ticks + 1, None)
        try:
            grant = self._lease.tick(t.name, self.holder, interval=t.interval,
                                     lease=lease_for(t.interval))
        except Exception as exc:  # no store, no tick: it might run twice
            self._metrics.inc("stgo_timer_ticks_total", "no_store")
            self._failures.record(f"timer {t.name} (its lease in the store)", exc)
            return None
        # Ask again just after the next interval of the store's clock begins.
        self._align(t, grant.wait + min(0.02, t.interval * 0.05))
        if not grant.run:
            self._metrics.inc("stgo_timer_ticks_total", "elsewhere")
            return None
        return Tick(t.name, grant.slot, grant.fence)

    def _align(self, t: TimerHandle, wait: float) -> None:
        with self._lock:
            t._due = self._clock() + wait
            self._wake.notify()

    def _loop(self) -> None:
        while True:
            with self._lock:
                if not self._running:
                    return
            wait = self.run_due()
            with self._lock:
                if not self._running:
                    return
                self._wake.wait(min(wait, 60.0))

    def _start_thread(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="stgo-timers", daemon=True)
        self._thread.start()

    # -- the process's part (the App's Lifecycle) -------------------------------------------

    def start(self) -> None:
        """Keep time in this process (the thread starts with the first timer)."""
        with self._lock:
            self._running = True
            now = self._clock()
            for t in self._timers:  # the first tick one interval after the start
                t._due = now + t.interval
            if self._timers and self._thread is None:
                self._start_thread()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop keeping time (ticks already handed to the pool finish there);
        with a shared store, give up the leases held here."""
        with self._lock:
            self._running = False
            thread, self._thread = self._thread, None
            self._wake.notify_all()
            apps = [t.name for t in self._timers if t.session is None]
        if thread is not None:
            thread.join(timeout)
        if self._lease is not None:
            for name in apps:
                try:
                    self._lease.release(name, self.holder)
                except Exception as exc:  # it lapses by itself; no more waiting on the store
                    log.debug("timer %s: lease not given back (%s)", name, exc)
                    break

    def after_fork(self) -> None:
        """In a forked child: no thread or lock of the parent's, a name of its
        own in the leases, and none of the parent's sessions' timers."""
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._thread = None
        self._running = False
        self.holder = _process_name()
        self._timers = [t for t in self._timers if t.session is None]
        for t in self._timers:
            t._running = False


def _process_name() -> str:
    """A name for this process in the store, unique across hosts and restarts."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
