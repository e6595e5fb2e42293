"""The I/O loop that serves every open WebSocket, and the pool that runs events.

An open tab costs no thread.  Once the WSGI handler has done the WebSocket
handshake it gives the socket to the App's :class:`IOLoop` and returns, and
its thread goes back to the server.  One thread at a time then waits on all
the sockets at once (the standard library's :mod:`selectors`, epoll on
Linux): it reads frames, answers pings and closes, judges pongs, writes what
waits in each connection's outbox and drops the clients that stop reading.
Each incoming message is decoded on the loop and its work queued on the
session's :class:`~stgo.serial.SerialQueue`.  The loop runs on one of the
App's :class:`WorkerPool` threads at a time, which drains the queues filled
in a turn right after it: an event's round trip pays no thread hand-off.  A
callback that runs past a small budget gets the loop handed to another pool
thread (:meth:`Reactor.watch`), so a slow callback holds up only its own
session.

:class:`Reactor` is the loop itself; the same code serves a single
connection on the calling thread when the server's socket cannot be taken
over (:meth:`Reactor.serve_one`): that is the thread-per-connection fallback.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import logging
import selectors
import threading
import time
from collections.abc import Callable
from typing import Protocol

from .pool import WorkerPool
from .wsio import Waker

__all__ = ["IOLoop", "Pollable", "Reactor"]

log = logging.getLogger("stgo")

#: Seconds a stopping loop waits for its connections to finish their closing
#: handshakes before it closes what is left.
STOP_GRACE = 3.0

#: Seconds the loop's thread may spend in one session's events before
#: another thread takes over the loop (see :meth:`Reactor.lead`).
INLINE_BUDGET = 0.02

#: Seconds between the watcher's looks while events run.
WATCH_TICK = 0.01

#: Seconds a turn's events may hold their output back (see :meth:`Reactor._run_inline`).
FLUSH_EVERY = 0.002


class Pollable(Protocol):
    """What the loop needs of a connection (:class:`~stgo.transport.ws.Connection` has it).

    The loop calls these on its own thread only; a connection tells the loop
    of new output from any thread through :meth:`Reactor.notify`.
    """

    #: The loop's note of the deadline it has queued for this connection (the loop's business).
    timer_due: float | None

    def fileno(self) -> int:
        """The socket's descriptor, to wait on."""
        ...

    def attached(self, reactor: Reactor) -> None:
        """*reactor* serves this connection from now on."""
        ...

    def on_readable(self) -> None:
        """The socket has input (or an end of stream)."""
        ...

    def on_writable(self) -> None:
        """The socket takes output, or output waits (after :meth:`Reactor.notify`)."""
        ...

    def on_timer(self, now: float) -> None:
        """:attr:`deadline` has come (*now*: the loop's clock)."""
        ...

    @property
    def finished(self) -> bool:
        """Whether the connection is over (the loop then forgets it and calls :meth:`release`)."""
        ...

    @property
    def wants_read(self) -> bool:
        """Whether to wait for input."""
        ...

    @property
    def wants_write(self) -> bool:
        """Whether to wait until the socket takes output."""
        ...

    @property
    def deadline(self) -> float | None:
        """When :meth:`on_timer` is due next (the loop's clock), or ``None``."""
        ...

    def abort(self, why: str) -> None:
        """End at once, without a closing handshake (the loop is going away)."""
        ...

    def release(self) -> None:
        """Let go of the socket (once)."""
        ...


class Reactor:
    """Waits on many connections at once and drives them (one thread).

    Other threads talk to it only through :meth:`add` and :meth:`notify`,
    which queue a note and wake it; everything else runs on the thread in
    :meth:`run`.
    """

    def __init__(self, inline_jobs: int | None = None,
                 hold: Callable[[], None] | None = None,
                 release: Callable[[], None] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        #: Monotonic seconds for the connections' timers (their deadlines and
        #: :meth:`Pollable.on_timer`'s *now*).  The loop's own bounds (the
        #: inline budget, the flush interval, the stop grace) stay in real
        #: time: they bound how long threads are held.
        self.clock = clock
        #: How many of a turn's jobs run on the loop's thread (the rest on
        #: the pool); ``None``: all of them.
        self.inline_jobs = inline_jobs
        # Around a batch of several jobs: the hub keeps back, then pushes,
        # what many events would push to everybody (Hub.hold, Hub.release).
        self._hold = hold
        self._release = release
        self._selector = selectors.DefaultSelector()
        self._waker = Waker()
        self._selector.register(self._waker.fileno(), selectors.EVENT_READ, None)
        self._lock = threading.Lock()
        # Connections to adopt, and connections with something new to write.
        self._new: list[Pollable] = []
        self._dirty: list[Pollable] = []
        self._woken = False
        # Interest registered per connection (a selectors mask; 0: none).
        self._masks: dict[Pollable, int] = {}
        # Each connection's descriptor, as registered (its socket may be closed later).
        self._fds: dict[Pollable, int] = {}
        # (deadline, tie-breaker, connection); stale entries are skipped.
        self._timers: list[tuple[float, int, Pollable]] = []
        self._order = itertools.count()
        self._stopping = False
        self._stop_by: float | None = None
        # Jobs (user code) collected during a turn, run after it (see lead).
        self._deferred: list[Callable[[], None]] = []
        # Leadership: bumped by watch() to depose a leader stuck in a job;
        # when the leader's current job started; whether watch() sleeps.
        self._term = 0
        self._running_since: float | None = None
        self._watcher_idle = False
        self._watch_cond = threading.Condition(self._lock)
        #: The thread running a turn's events on the loop, while it does: its
        #: sends wait in the outboxes, written after the batch (a plain
        #: attribute: :meth:`Connection.send` reads it without the lock).
        self.batching: int | None = None
        #: Set once the loop has closed its selector and released every connection.
        self.done = threading.Event()

    def __len__(self) -> int:
        return len(self._masks)

    # -- any thread --------------------------------------------------------------------

    def add(self, conn: Pollable) -> None:
        """Adopt *conn*: from now on this reactor reads and writes it."""
        with self._lock:
            self._new.append(conn)
            self._wake()

    def notify(self, conn: Pollable) -> None:
        """*conn* has output (or a close) waiting."""
        with self._lock:
            self._dirty.append(conn)
            if self.batching != threading.get_ident():
                self._wake()  # (the loop's own thread writes after its batch)

    def _wake(self) -> None:
        # Called with the lock held: one wake-up per loop turn is enough.
        if not self._woken:
            self._woken = True
            self._waker.wake()

    def wake(self) -> None:
        """Have the loop look at its timers now (after a test moved :attr:`clock`)."""
        with self._lock:
            self._wake()

    def request_stop(self) -> None:
        with self._lock:
            self._stopping = True
            self._wake()

    # -- the loop's thread -------------------------------------------------------------------

    def run(self, until: Callable[[], bool] | None = None,
            grace: float = STOP_GRACE) -> None:
        """Serve on this thread until :meth:`request_stop` (then up to *grace*
        seconds more for the connections' closes), or until *until* returns true."""
        try:
            while not (until is not None and until()) and not self._over(grace):
                self._turn(self._stop_by)
        finally:
            self._close()

    def lead(self, pool: WorkerPool, grace: float = STOP_GRACE) -> None:
        """Serve as the loop's thread (a thread of *pool*) until stopped, or
        until deposed by :meth:`watch`.

        The events read in a turn run on this thread after the turn, one
        session's queue after another: an event pays no thread hand-off.
        While one runs longer than :data:`INLINE_BUDGET`, :meth:`watch`
        hands the loop to another thread of *pool*; this one finishes its
        callback as an ordinary worker and gives the rest of its turn's
        events to *pool*.  So a slow callback holds up only its own session
        (and, for at most the budget, the loop).
        """
        with self._lock:
            term = self._term
        try:
            while not self._over(grace):
                self._turn(self._stop_by)
                if self._deferred and not self._run_inline(pool, term):
                    return  # deposed: another thread leads now
        except BaseException:
            self._close()
            raise
        self._close()

    def _run_inline(self, pool: WorkerPool, term: int) -> bool:
        """Run the turn's deferred jobs here; whether this thread still leads.

        Meanwhile what the jobs send waits in the outboxes (see
        :attr:`batching`) and goes out after them, at least every
        :data:`FLUSH_EVERY` seconds: many events' pushes of one shared widget
        to a tab merge into one frame, and one write takes all of a tab's.
        """
        jobs = self._deferred
        self._deferred = []
        if self.inline_jobs is not None and len(jobs) > self.inline_jobs:
            # Events that wait on a remote store: the rest wait in parallel.
            for job in jobs[self.inline_jobs:]:
                pool.submit(job)
            del jobs[self.inline_jobs:]
        flushed = time.monotonic()
        # A lone job's output goes out as it is made (nothing to merge it with).
        merging = len(jobs) > 1
        self.batching = threading.get_ident() if merging else None
        if merging and self._hold is not None:
            self._hold()
        try:
            for i, job in enumerate(jobs):
                with self._lock:
                    if self._term != term:  # deposed in the job before
                        for left in jobs[i:]:
                            pool.submit(left)
                        return False
                    self._running_since = time.monotonic()
                    if self._watcher_idle:
                        self._watcher_idle = False
                        self._watch_cond.notify()
                job()
                with self._lock:
                    if self._term != term:
                        continue
                    self._running_since = None
                if time.monotonic() - flushed > FLUSH_EVERY:
                    self._let_go(merging)
                    self._take_notes()
                    flushed = time.monotonic()
                    if merging and self._hold is not None:
                        self._hold()
            with self._lock:
                if self._term != term:
                    return False
        finally:
            self._let_go(merging)
            with self._lock:
                if self._term == term:
                    self.batching = None
        self._take_notes()
        return True

    def _let_go(self, merging: bool) -> None:
        if merging and self._release is not None:
            try:
                self._release()
            except Exception:  # a widget that cannot render: its tabs were told
                log.exception("pushing a batch's shared changes failed")

    def watch(self, pool: WorkerPool) -> None:
        """Depose a leader stuck in a callback past :data:`INLINE_BUDGET`
        (a thread of its own, ``stgo-watch``, until the loop is done).

        It looks every :data:`WATCH_TICK` seconds while events run, and
        sleeps without a timeout once the loop has been idle for a second.
        """
        quiet_since = time.monotonic()
        while not self.done.is_set():
            now = time.monotonic()
            with self._lock:
                since = self._running_since
                if since is not None:
                    quiet_since = now
                    if now - since > INLINE_BUDGET:
                        self._term += 1
                        self._running_since = None
                        self.batching = None
                        self._wake()  # the new leader writes what the batch left
                        pool.submit(lambda: self.lead(pool), first=True)
                elif now - quiet_since > 1.0:
                    self._watcher_idle = True
                    self._watch_cond.wait_for(
                        lambda: not self._watcher_idle or self.done.is_set())
                    quiet_since = time.monotonic()
                    continue
            self.done.wait(WATCH_TICK)

    def defer(self, job: Callable[[], None]) -> None:
        """Run *job* (user code: a session's events) after this turn (the loop's thread)."""
        self._deferred.append(job)

    def _over(self, grace: float) -> bool:
        with self._lock:
            stopping, adopting = self._stopping, bool(self._new)
        if not stopping:
            return False
        if not self._masks and not adopting:
            return True
        now = time.monotonic()
        if self._stop_by is None:
            self._stop_by = now + grace
        return now >= self._stop_by

    def _close(self) -> None:
        if self.done.is_set():
            return
        with self._lock:
            new, self._new = self._new, []
        for conn in [*self._masks, *new]:
            self._forget(conn)
            conn.abort("the server stopped")
        for job in self._deferred:
            job()  # the events of a session whose connection just went: they know
        self._deferred.clear()
        self._selector.close()
        self._waker.close()
        self.done.set()
        with self._lock:
            self._watch_cond.notify_all()

    def serve_one(self, conn: Pollable) -> None:
        """Serve just *conn*, on this thread, until it ends (the fallback)."""
        self._adopt(conn)
        self.run(until=lambda: conn not in self._masks)

    def _turn(self, stop_by: float | None) -> None:
        timeout = self._next_timeout()
        if stop_by is not None:
            timeout = min(timeout, max(0.0, stop_by - time.monotonic()), 0.1)
        for key, events in self._selector.select(timeout):
            conn = key.data
            if conn is None:
                self._take_notes()
                continue
            if conn not in self._masks:
                continue
            if events & selectors.EVENT_WRITE:
                conn.on_writable()
            if events & selectors.EVENT_READ and conn in self._masks:
                conn.on_readable()
            self._settle(conn)
        self._run_timers()

    def _take_notes(self) -> None:
        with self._lock:
            if self._woken:
                self._waker.drain()
                self._woken = False
            new, self._new = self._new, []
            dirty, self._dirty = self._dirty, []
        for conn in new:
            self._adopt(conn)
        for conn in dict.fromkeys(dirty):
            if conn in self._masks:
                conn.on_writable()
                self._settle(conn)

    def _adopt(self, conn: Pollable) -> None:
        try:
            fd = conn.fileno()
            self._selector.register(fd, selectors.EVENT_READ, conn)
        except (OSError, ValueError, KeyError):
            conn.abort("the socket was gone before it was served")
            return
        self._masks[conn] = selectors.EVENT_READ
        self._fds[conn] = fd
        conn.attached(self)
        conn.on_writable()
        self._settle(conn)

    def _settle(self, conn: Pollable) -> None:
        """After *conn* ran: forget it if it ended, else watch what it now waits for."""
        if conn.finished:
            self._forget(conn)
            conn.release()
            return
        mask = (selectors.EVENT_READ if conn.wants_read else 0) | \
            (selectors.EVENT_WRITE if conn.wants_write else 0)
        if mask != self._masks[conn]:
            fd = self._fds[conn]
            try:
                if mask == 0:
                    self._selector.unregister(fd)
                elif self._masks[conn] == 0:
                    self._selector.register(fd, mask, conn)
                else:
                    self._selector.modify(fd, mask, conn)
            except (OSError, ValueError, KeyError):
                self._forget(conn)
                conn.abort("the socket failed")
                return
            self._masks[conn] = mask
        due = conn.deadline
        if due is not None and due != conn.timer_due:
            conn.timer_due = due
            heapq.heappush(self._timers, (due, next(self._order), conn))

    def _forget(self, conn: Pollable) -> None:
        mask = self._masks.pop(conn, None)
        fd = self._fds.pop(conn, None)
        if mask and fd is not None:
            with contextlib.suppress(OSError, ValueError, KeyError):
                self._selector.unregister(fd)

    def _next_timeout(self) -> float:
        timers = self._timers
        while timers:
            due, _, conn = timers[0]
            if conn not in self._masks or conn.timer_due != due:
                heapq.heappop(timers)  # stale: the connection moved its deadline
                continue
            return max(0.0, due - self.clock())
        return 60.0

    def _run_timers(self) -> None:
        timers = self._timers
        now = self.clock()
        while timers and timers[0][0] <= now:
            due, _, conn = heapq.heappop(timers)
            if conn not in self._masks or conn.timer_due != due:
                continue
            conn.timer_due = None
            conn.on_timer(now)
            self._settle(conn)


class IOLoop:
    """The App's I/O loop: a :class:`Reactor` led by threads of a :class:`WorkerPool`.

    :param hold: called before the loop's thread runs several jobs of a
        turn, and *release* after them (``Hub.hold``, ``Hub.release``).
    :param inline_jobs: how many of a turn's jobs the loop's thread runs
        itself (``None``: all).  With a store that answers over the network
        (Redis) an event mostly waits; one runs on the loop's thread (no
        hand-off while the load is light) and the others on the pool, whose
        threads wait in parallel.

    Started by the first connection it is given and stopped by
    :meth:`stop` (``App.stop``); it can start again afterwards.
    """

    def __init__(self, pool: WorkerPool, inline_jobs: int | None = None,
                 hold: Callable[[], None] | None = None,
                 release: Callable[[], None] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        #: Monotonic seconds for the connections' pings, send timeouts and
        #: lingers: give every connection served here the same one
        #: (``Connection(clock=io.clock)``).  A test may set it before the
        #: first connection, to move time without sleeping (then :meth:`wake`).
        self.clock = clock
        self._pool = pool
        self._inline_jobs = inline_jobs
        self._hold = hold
        self._release = release
        self._lock = threading.Lock()
        self._reactor: Reactor | None = None

    def add(self, conn: Pollable) -> None:
        """Serve *conn* on the loop from now on (starting the loop if needed)."""
        with self._lock:
            reactor = self._reactor
            if reactor is None:
                reactor = self._reactor = Reactor(self._inline_jobs, self._hold, self._release,
                                                  self.clock)
                self._pool.submit(lambda: reactor.lead(self._pool), first=True)
                threading.Thread(target=reactor.watch, args=(self._pool,), daemon=True,
                                 name="stgo-watch").start()
            reactor.add(conn)

    def defer(self, job: Callable[[], None]) -> None:
        """Run *job* off the loop (called on the loop, by a connection's dispatcher)."""
        reactor = self._reactor
        if reactor is None:
            self._pool.submit(job)
        else:
            reactor.defer(job)

    def wake(self) -> None:
        """Have the loop look at its connections' timers now (after a test
        moved :attr:`clock`)."""
        with self._lock:
            reactor = self._reactor
        if reactor is not None:
            reactor.wake()

    def stop(self, timeout: float = STOP_GRACE + 2.0) -> None:
        """Let the connections finish closing (bounded), then end the loop."""
        with self._lock:
            reactor, self._reactor = self._reactor, None
        if reactor is None:
            return
        reactor.request_stop()
        reactor.done.wait(timeout)

    @property
    def running(self) -> bool:
        with self._lock:
            return self._reactor is not None
