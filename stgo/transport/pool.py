"""The pool of threads that run events and lead the I/O loop (:mod:`stgo.transport.ioloop`)."""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable

__all__ = ["WorkerPool"]

log = logging.getLogger("stgo")


class WorkerPool:
    """At most *size* threads (``stgo-worker-N``) running queued jobs, plus
    one for leading the I/O loop (with *leader*; the task pool has none).

    Threads are started as work arrives and end after *idle* seconds with
    nothing to do, so an idle App holds none.
    """

    def __init__(self, size: int, idle: float = 10.0, *, name: str = "stgo-worker",
                 leader: bool = True) -> None:
        #: Threads at most for jobs (without the loop's leader).
        self.size = max(1, size)
        self._limit = self.size + (1 if leader else 0)  # + the loop's leader
        self._name = name
        self._idle = idle
        self._cond = threading.Condition(threading.Lock())
        self._jobs: deque[Callable[[], None]] = deque()
        self._threads: set[threading.Thread] = set()
        self._waiting = 0
        self._stopping = False
        self._names = itertools.count(1)

    def submit(self, job: Callable[[], None], *, first: bool = False) -> None:
        """Run *job* on a pool thread, after the jobs queued before it (before
        them all if *first*)."""
        self.offer(job, first=first)

    def offer(self, job: Callable[[], None], *, first: bool = False) -> bool:
        """:meth:`submit`, and return ``False`` if *job* waits for a busy thread."""
        with self._cond:
            if first:
                self._jobs.appendleft(job)
            else:
                self._jobs.append(job)
            if self._waiting:
                self._cond.notify()
            # Leading the loop may always start a thread (a leader deposed in
            # a slow callback still holds its own).
            if len(self._jobs) <= self._waiting:
                return True
            if first or len(self._threads) < self._limit:
                self._stopping = False
                thread = threading.Thread(target=self._work, daemon=True,
                                          name=f"{self._name}-{next(self._names)}")
                self._threads.add(thread)
                thread.start()
                return True
            return False

    def spare(self) -> bool:
        """Whether a thread is idle, or one more may start (nothing would wait)."""
        with self._cond:
            return self._waiting > len(self._jobs) or len(self._threads) < self._limit

    def _work(self) -> None:
        me = threading.current_thread()
        try:
            while True:
                with self._cond:
                    while not self._jobs:
                        if self._stopping:
                            return
                        self._waiting += 1
                        woke = self._cond.wait(self._idle)
                        self._waiting -= 1
                        if not woke and not self._jobs:
                            return
                    job = self._jobs.popleft()
                try:
                    job()
                except Exception:  # a job should catch its own; keep the thread
                    log.exception("a queued job raised")
        finally:
            with self._cond:
                self._threads.discard(me)

    def stop(self, timeout: float = 5.0) -> None:
        """Let the queued jobs run, then end the threads (waiting up to *timeout*)."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
            threads = list(self._threads)
        deadline = time.monotonic() + timeout
        for thread in threads:
            if thread is not threading.current_thread():
                thread.join(max(0.0, deadline - time.monotonic()))

    def __len__(self) -> int:
        with self._cond:
            return len(self._threads)
