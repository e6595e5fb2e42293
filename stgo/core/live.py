"""Live batches: a long callback's (or a task's) changes pushed while it runs.

A batch opened *live* (every event's, every task's) is flushed while its
block runs, at most once every :data:`LIVE_INTERVAL` seconds, instead of only
at its end: a progress bar set in a loop moves.  A short callback still sends
one message: the first flush is due :data:`LIVE_FIRST` seconds after the
batch opened.

Two ways lead to a flush, both coalesced:

- the thread that owns the batch, when it records a change and the last
  flush is an interval old, flushes at once itself (cheap, and drawn in its
  own event context: a Redis event's unsaved state included);
- otherwise a :class:`LiveFlusher` thread (``stgo-live``, one per hub,
  started on demand and ended when idle) flushes what waits when it is due,
  so a change followed by a long ``sleep`` shows within the interval.  That
  thread leaves state-bound redraws (``session.set`` of an input's key) to the
  owner: drawn outside the event, a Redis store would read the state before
  the event's writes are committed.

The ``flushing`` lock orders them: the batch's final flush (with its ``ack``)
waits for a flush in progress on the other thread, so nothing of the batch
arrives after its ack, and so does a flush asked for by name (a ``Status``
step, a streamed chunk: stgo's widgets ask for those outside their locks).
Recording a change never waits for it (a widget may hold its lock while it
notifies, and the other thread may need that lock to draw): the owner then
leaves the flush to the other thread.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["LIVE_FIRST", "LIVE_INTERVAL", "LiveState", "LiveFlusher"]

log = logging.getLogger("stgo")

#: Seconds between two flushes of one live batch: at most ~30 pushes a second
#: per tab, whatever the callback changes.
LIVE_INTERVAL = 1 / 30

#: Seconds after a live batch opened before its first flush: a callback
#: shorter than that sends one message (with its ack), even on a busy machine.
LIVE_FIRST = 0.1

# Seconds the flusher thread waits with nothing due before it ends.
_IDLE = 1.0

# Seconds early a deadline may be served with one that is due now (a flush
# comes at most this much before its interval is up).
_SLACK = 0.005


@dataclass
class LiveState:
    """What a live batch needs besides its changes."""

    #: When it was last flushed (or opened), on the flusher's clock.
    flushed_at: float
    #: Guards the batch's change dicts: recorded by the owner, taken by the flusher.
    guard: threading.Lock = field(default_factory=threading.Lock)
    #: Held for a whole flush: the final flush waits for a flush in progress.
    flushing: threading.Lock = field(default_factory=threading.Lock)
    #: The block is over (its final flush is made): no more early flushes.
    closed: bool = False
    #: A deadline with the flusher thread is pending.
    armed: bool = False
    #: ``app.batch()`` blocks open inside it: no live flush meanwhile.
    paused: int = 0


class LiveFlusher:
    """One thread that flushes live batches when their interval is up.

    :param flush: ``flush(item)``: flush what *item* holds now (called on the
        flusher's thread, no lock of the flusher held).
    :param clock: monotonic seconds (injectable).
    """

    def __init__(self, flush: Callable[[object], None],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._flush = flush
        self._clock = clock
        self._cond = threading.Condition(threading.Lock())
        self._due: list[tuple[float, int, object]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    def arm(self, item: object, deadline: float) -> None:
        """Flush *item* at *deadline* (monotonic seconds)."""
        with self._cond:
            # Woken only for a deadline before the one it waits for: every
            # event arms one, and a wake-up per event cost a busy server a
            # third of its events a second.
            wake = not self._due or deadline < self._due[0][0]
            heapq.heappush(self._due, (deadline, next(self._order), item))
            thread = self._thread
            if thread is None or not thread.is_alive():
                thread = self._thread = threading.Thread(
                    target=self._run, name="stgo-live", daemon=True)
                thread.start()
            elif wake:
                self._cond.notify()

    def _run(self) -> None:
        me = threading.current_thread()
        while True:
            with self._cond:
                while True:
                    if not self._due:
                        if not self._cond.wait(_IDLE) and not self._due:
                            if self._thread is me:
                                self._thread = None
                            return
                        continue
                    now = self._clock()
                    wait = self._due[0][0] - now
                    if wait <= 0:
                        # Everything due within a moment, in one wake-up.
                        items = []
                        while self._due and self._due[0][0] <= now + _SLACK:
                            items.append(heapq.heappop(self._due)[2])
                        break
                    self._cond.wait(wait)
            for item in items:
                try:
                    self._flush(item)
                except Exception:  # a widget that cannot draw: keep flushing the others
                    log.exception("a live flush failed")
