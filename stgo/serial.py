"""Run callables one at a time, in order, without holding a lock while they run.

Events of one session may arrive on several connections (tabs) at once; they
must run one after another, in arrival order.  :class:`SerialQueue` does that
the actor way: whichever thread finds the queue idle drains it, and every other
thread only appends.  The private lock guards two fields and is never held
while a job runs, so a slow callback cannot block a thread that merely submits.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable

__all__ = ["SerialQueue"]

log = logging.getLogger("stgo")


class SerialQueue:
    """A FIFO of jobs that run one at a time on the submitting threads."""

    __slots__ = ("_lock", "_jobs", "_running")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # Made on the first submit: a deque starts with a 64-slot block (~600
        # bytes), and most sessions (HTTP-only visits) never run an event.
        self._jobs: deque[Callable[[], None]] | None = None
        self._running = False

    def submit(self, job: Callable[[], None]) -> bool:
        """Queue *job*; run it (and whatever queues up meanwhile) if idle.

        :returns: ``True`` if this thread ran the queue, ``False`` if another
            thread is already running it and will run *job* too.

        A job that raises is the caller's business: jobs should catch their
        own errors.  If one does escape, the queue is left idle and the error
        propagates to the thread that happened to run it.
        """
        jobs = self._enqueue(job)
        if jobs is None:
            return False
        try:
            while True:
                with self._lock:
                    if not jobs:
                        self._running = False
                        return True
                    next_job = jobs.popleft()
                next_job()
        except BaseException:
            with self._lock:
                self._running = False
            raise

    def post(self, job: Callable[[], None], run: Callable[[Callable[[], None]], None]) -> None:
        """Queue *job*; if idle, hand the draining of the queue to *run*
        (a worker pool's ``submit``, or the I/O loop's ``defer``) instead of
        running it on this thread.

        The I/O loop posts this way: jobs keep their arrival order, and none
        runs inside the loop's turn.
        """
        if self._enqueue(job) is not None:
            run(self._drain)

    def _enqueue(self, job: Callable[[], None]) -> deque[Callable[[], None]] | None:
        """Append *job*; the queue if it was idle (the caller must now have it
        drained: it is marked running), else ``None``."""
        with self._lock:
            jobs = self._jobs
            if jobs is None:
                jobs = self._jobs = deque()
            jobs.append(job)
            if self._running:
                return None
            self._running = True
            return jobs

    def _drain(self) -> None:
        while True:
            with self._lock:
                jobs = self._jobs
                if not jobs:
                    self._running = False
                    return
                next_job = jobs.popleft()
            try:
                next_job()
            except Exception:  # jobs catch their own; the queue must go on
                log.exception("a queued job raised")

    def __len__(self) -> int:
        with self._lock:
            return len(self._jobs) if self._jobs is not None else 0
