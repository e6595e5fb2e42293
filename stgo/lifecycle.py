"""What runs in which process: the App's start, stop and fork handling.

The App's parts hold threads (the event pool, the I/O loop, the cleanup,
saver and relay threads) and connections (Redis).  :class:`Lifecycle` starts
them in a process (explicitly, or on the first request, a forked worker
included), gives a forked child parts of its own, and stops them once, at the
latest at the process's exit.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Protocol

from .cluster.persist import GlobalSaver
from .cluster.relay import Relay
from .core.hub import Hub
from .core.manager import SessionManager
from .store import Store
from .transport.ioloop import STOP_GRACE, IOLoop
from .transport.pool import WorkerPool

__all__ = ["Lifecycle", "Part", "STOP_JOIN_TIMEOUT"]

#: Seconds :meth:`Lifecycle.stop` waits, in all, for its threads to end (each
#: is a daemon: one still stuck on an unreachable Redis is left behind).
STOP_JOIN_TIMEOUT = 6.0

log = logging.getLogger("stgo")


class Part(Protocol):
    """A part with a thread of its own per process (timers, presence)."""

    def start(self) -> None: ...

    def stop(self, timeout: float = 5.0) -> None: ...

    def after_fork(self) -> None: ...


class Lifecycle:
    """Starts and stops the App's parts, once per process.

    :param store: where sessions live (opened at start, closed at stop).
    :param sessions: the sessions (their cleanup thread).
    :param hub: the connections (closed at stop; the I/O loop holds and
        releases pushes through it).
    :param event_threads: threads at most in the event pool.
    :param saver: saves global widgets' changes (persistent stores), or ``None``.
    :param relay: the link to the app's other processes (Redis), or ``None``.
    :param restore: brings the global widgets' saved changes back (with a saver).
    :param after_fork: gives the App's own locks anew in a forked child.
    """

    def __init__(self, *, store: Store, sessions: SessionManager, hub: Hub, event_threads: int,
                 saver: GlobalSaver | None, relay: Relay | None,
                 restore: Callable[[], object], after_fork: Callable[[], None]) -> None:
        self._store = store
        self._sessions = sessions
        self._hub = hub
        self._event_threads = event_threads
        self._saver = saver
        self._relay = relay
        self._restore = restore
        self._after_fork = after_fork
        #: More parts started after these and stopped before the event pool
        #: (which runs what they queue while stopping).
        self.parts: list[Part] = []
        #: The threads that run the events arriving on :attr:`io`, and lead it.
        self.workers = WorkerPool(event_threads)
        #: The loop that serves every open WebSocket (started by the first).
        self.io = self._new_io()
        # The process whose threads and connections the parts hold, whether
        # they were started (and not stopped since) there, whether stop() was
        # called there, one start lock per process (a forked child must not
        # wait on a lock a thread of its parent held at the fork), and when a
        # failed automatic start may be tried again.
        self._pid = os.getpid()
        self._running = False
        self._stopped = False
        self._start_locks: dict[int, threading.Lock] = {}
        self._retry_start_at = 0.0

    def start(self) -> None:
        """Start here unless already running in this process (see :meth:`stgo.App.start`)."""
        with self._start_lock():
            self._adopt_process()
            if not self._running:
                self._start_here()

    def _start_here(self) -> None:
        self._store.open()
        if self._saver is not None:
            self._restore()
            self._saver.start()
        if self._relay is not None:
            self._relay.start()
        self._sessions.start()
        for part in self.parts:
            part.start()
        self._running = True
        self._stopped = False
        # Stop at the process's exit if nobody does before (a WSGI server
        # that never calls stop()); stop() unregisters it.
        atexit.register(self._stop_at_exit)

    def ensure_started(self) -> None:
        """Start in this process unless running here, stopped here, or a
        start failed less than a second ago (a request then goes on without
        it, as it would have before: what it asks of the store fails on its
        own path)."""
        if self._running and self._pid == os.getpid():
            return  # the hot path: one comparison per request
        with self._start_lock():
            self._adopt_process()
            if self._running or self._stopped or time.monotonic() < self._retry_start_at:
                return
            try:
                self._start_here()
            except Exception as exc:
                self._retry_start_at = time.monotonic() + 1.0
                log.warning("could not start the app in process %d (%s: %s); "
                            "serving without it and trying again",
                            os.getpid(), type(exc).__name__, exc)
            else:
                log.info("started the app in process %d on its first request", os.getpid())

    def _start_lock(self) -> threading.Lock:
        # setdefault is atomic: two threads of a new process get the same lock.
        return self._start_locks.setdefault(os.getpid(), threading.Lock())

    def _adopt_process(self) -> None:
        """After a fork, give this process parts of its own: the threads,
        Redis connections, locks and relay identity held are the parent's."""
        pid = os.getpid()
        if pid == self._pid:
            return
        self._pid = pid
        self._running = self._stopped = False
        self._after_fork()
        self.workers = WorkerPool(self._event_threads)
        self.io = self._new_io()
        self._store.after_fork()
        self._sessions.after_fork()
        if self._saver is not None:
            self._saver.after_fork()
        if self._relay is not None:
            self._relay.after_fork()  # a new name on the channel, too
        for part in self.parts:
            part.after_fork()

    def _new_io(self) -> IOLoop:
        # With a shared store an event mostly waits on the network: only the
        # turn's first runs on the loop's thread (docs/architecture.md).
        return IOLoop(self.workers,
                      inline_jobs=1 if self._store.shared else None,
                      hold=self._hub.hold, release=self._hub.release)

    def handed_over(self) -> None:
        """The sessions went to the next process (``--reload``): nothing is
        left to stop at exit (stop() would end them)."""
        self._running = False
        atexit.unregister(self._stop_at_exit)

    def _stop_at_exit(self) -> None:
        if self._running and self._pid == os.getpid():  # not a parent's App
            self.stop()

    def stop(self) -> None:
        """Stop every part (see :meth:`stgo.App.stop`); no request starts
        them again in this process (:meth:`start` does)."""
        with self._start_lock():
            self._adopt_process()
            self._running = False
            self._stopped = True
        atexit.unregister(self._stop_at_exit)
        # One deadline for every join: threads that a Redis outage holds are
        # held by the same outage, and waiting for each in turn added up.
        deadline = time.monotonic() + STOP_JOIN_TIMEOUT

        def left(most: float) -> float:
            return max(0.1, min(most, deadline - time.monotonic()))

        self._hub.close_all()
        self._sessions.stop(timeout=left(5.0))
        self.io.stop(timeout=left(STOP_GRACE + 2.0))
        for part in self.parts:
            part.stop(timeout=left(5.0))
        self.workers.stop(timeout=left(5.0))
        if self._saver is not None:
            self._saver.stop(timeout=left(5.0))
        if self._relay is not None:
            self._relay.stop(timeout=left(5.0))
        self._store.close()
