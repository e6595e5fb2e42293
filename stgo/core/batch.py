"""The Batch: the changes of one event, merged per widget, and where it is kept.

Widget and state changes are collected in a :class:`Batch` (one per callback,
or per ``app.batch()`` block; a change made outside any batch is flushed at
once).  :class:`Batches` keeps the batch of the event being handled in the
one event context (see :mod:`stgo.context`), joins nested blocks, and
holds back the redraws of shared widgets while the I/O loop runs a turn's
events (:meth:`Batches.hold`).  Turning a batch into messages is the hub's
(:meth:`stgo.core.hub.Hub.flush`).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..context import Slot
from ..errors import Cancelled
from ..protocol import Outlet
from .live import LIVE_FIRST, LIVE_INTERVAL, LiveFlusher, LiveState

if TYPE_CHECKING:
    from ..widgets.base import Parent, Widget
    from .session import Session

__all__ = ["Batch", "Batches", "REPEATABLE", "merge", "collapse"]


@dataclass
class Batch:
    """Changes waiting to be pushed, merged per widget."""

    origin: Session | None = None
    conn: Outlet | None = None
    ack: int | None = None
    #: The address of the client whose event this is (``origin``'s), if known.
    client: str | None = None
    global_changes: dict[Widget, str] = field(default_factory=dict)
    session_changes: dict[Session, dict[Widget, str]] = field(default_factory=dict)
    state_keys: dict[Session, set[str | None]] = field(default_factory=dict)
    #: Changes applied from elsewhere (another process, a restore): not told onward.
    local_only: bool = False
    #: A redraw of a session for another process's change: a per-session op
    #: that its tabs have already (see :class:`~stgo.core.shown.Shown`) is not
    #: sent again.
    skip_unchanged: bool = False
    #: A live batch (an event's, a task's) is pushed while it runs, at most
    #: every :data:`~stgo.core.live.LIVE_INTERVAL` (see :mod:`stgo.core.live`).
    live: LiveState | None = None
    #: A task's: returns ``True`` once it is cancelled (changes then raise
    #: :class:`~stgo.errors.Cancelled`).
    cancelled: Callable[[], bool] | None = None
    #: Global changes of it went out early: its ack still waits for their
    #: save (``Hub.before_ack``), as if they were in it.
    flushed_global: bool = False


# Changes that redraw more win over those that redraw less: a full "update"
# covers a chart's new "figure", which covers its "extend" (new points).
_REDRAW_RANK = {"value": 0, "extend": 1, "figure": 2, "update": 3}

#: Changes whose op may reach a tab twice (it sets, it does not add).
REPEATABLE = frozenset({"value", "figure", "update"})


def merge(changes: dict[Widget, str], widget: Widget, change: str) -> None:
    """Combine a new *change* of *widget* with one already pending in *changes*."""
    prev = changes.get(widget)
    if prev is None:
        changes[widget] = change
    elif change == "remove":
        if prev == "insert":
            del changes[widget]  # never reached the page
        else:
            changes[widget] = "remove"
    elif change == "insert":
        changes[widget] = "reinsert" if prev == "remove" else "insert"
    elif _REDRAW_RANK.get(change, -1) > _REDRAW_RANK.get(prev, 99):
        changes[widget] = change
    # otherwise the pending change already redraws enough


def collapse(changes: dict[Widget, str]) -> list[tuple[Widget, str]]:
    """Drop changes to widgets whose ancestor is redrawn in the same batch."""
    redrawn = {w for w, c in changes.items() if c in ("insert", "reinsert", "update")}
    kept = []
    for widget, change in changes.items():
        parent: Widget | Parent | None = widget.parent
        while parent is not None and parent not in redrawn:
            parent = parent.parent
        if parent is None:
            kept.append((widget, change))
    return kept


class Batches:
    """The batch of the event being handled, and the redraws held back for
    the end of the I/O loop's turn, both in the event context.

    :param flush: ``flush(batch)``: turn *batch* into messages and queue them
        (the hub's).
    :param interval: seconds between two flushes of a live batch.
    :param first: seconds after it opened before a live batch's first flush.
    :param clock: monotonic seconds, for live batches (injectable).
    """

    def __init__(self, flush: Callable[[Batch], None], *, interval: float = LIVE_INTERVAL,
                 first: float = LIVE_FIRST, clock: Callable[[], float] = time.monotonic) -> None:
        self._flush = flush
        self.interval = interval
        self.first = first
        self._clock = clock
        self._flusher = LiveFlusher(self._flush_due, clock)
        # The batch and held-back redraws in the event context (a Slot each:
        # two hubs in one process never share them).
        self._batch: Slot[Batch] = Slot("batch")
        self._held: Slot[dict[Widget, str]] = Slot("held")

    def current(self) -> Batch | None:
        """The batch of the event being handled here, or ``None``."""
        return self._batch.get()

    @contextlib.contextmanager
    def batch(
        self, origin: Session | None = None, conn: Outlet | None = None, ack: int | None = None,
        client: str | None = None, *, live: bool = False,
        cancelled: Callable[[], bool] | None = None,
    ) -> Iterator[Batch]:
        """Collect every change made here and flush them at the end.

        Nested blocks join the outer one.  The flush happens even if the
        block raises, so that what did change is still shown.

        :param live: also flush while the block runs (see :mod:`stgo.core.live`).
        :param cancelled: a task's: changes raise :class:`~stgo.errors.Cancelled`
            once it returns ``True``.
        """
        current = self._batch.get()
        if current is not None:
            state = current.live
            if state is None or live:
                yield current
                return
            # An app.batch() block inside a callback or a task: one message
            # for the block, so no live flush until it ends.
            with state.guard:
                state.paused += 1
            try:
                yield current
            finally:
                with state.guard:
                    state.paused -= 1
            return
        current = Batch(origin, conn, ack, client=client, cancelled=cancelled)
        if live:
            # As if flushed when it opened, the first flush is due *first* later.
            current.live = LiveState(self._clock() + self.first - self.interval)
        self._batch.set(current)
        try:
            yield current
        finally:
            self._batch.set(None)
            state = current.live
            if state is None:
                self._flush(current)
            else:
                with state.flushing:  # after a flush in progress elsewhere, never before
                    state.closed = True
                    if not _cancelled(current):  # a cancelled task's changes never show
                        self._flush(current)

    def note(self, record: Callable[[Batch], None]) -> None:
        """Record a change in the current batch, or flush it at once outside any."""
        current = self._batch.get()
        if current is not None:
            if _cancelled(current):
                raise Cancelled("this task was cancelled: its changes are not shown")
            state = current.live
            if state is None:
                record(current)
                return
            with state.guard:
                record(current)
                due = state.flushed_at + self.interval
                now = not state.paused and self._clock() >= due
                arm = not now and not state.armed
                state.armed = state.armed or arm
            if now:
                self._flush_live(current, state)
            elif arm:
                self._flusher.arm(current, due)
            return
        single = Batch()
        record(single)
        self._flush(single)

    def flush_pending(self) -> None:
        """Flush the changes the current batch holds so far, and keep batching.

        The batch's ack still waits for its end: the tab that sent the event
        learns it is handled only when its callback returns.
        """
        current = self._batch.get()
        if current is None:
            return
        if _cancelled(current):  # a toast, a spinner: a change like the others
            raise Cancelled("this task was cancelled: its changes are not shown")
        state = current.live
        if state is not None:
            # Asked for now (a spinner, a streamed chunk): after a flush in
            # progress on the flusher thread (no widget lock is held here).
            with state.flushing:
                if not state.closed:
                    self._flush_early(current, state, own=True)
            return
        self._flush(_take(current, state=True))

    def _flush_live(self, batch: Batch, state: LiveState) -> None:
        """On the batch's own thread: flush what it holds now, unless the
        flusher thread is at it (then that thread flushes it next, at once)."""
        if not state.flushing.acquire(blocking=False):
            with state.guard:
                arm, state.armed = not state.armed, True
            if arm:  # once: a busy flusher must not be handed a flood of deadlines
                self._flusher.arm(batch, self._clock())
            return
        try:
            if not state.closed:
                self._flush_early(batch, state, own=True)
        finally:
            state.flushing.release()

    def _flush_due(self, item: object) -> None:
        """On the flusher thread: a live batch's interval is up."""
        assert isinstance(item, Batch) and item.live is not None
        state = item.live
        if state.closed:  # the common case: the event ended long before its first flush
            return
        with state.flushing:
            if state.closed:
                return
            with state.guard:
                now = self._clock()
                due = state.flushed_at + self.interval
                if state.paused:  # inside an app.batch() block: look again later
                    due = max(due, now + self.interval)
                # Flushed by its own thread meanwhile (or paused): come back
                # when due, if anything waits (else the next change arms it).
                again = now < due and bool(
                    item.global_changes or item.session_changes or item.state_keys)
                state.armed = again
            if again:
                self._flusher.arm(item, due)
            elif now >= due:
                self._flush_early(item, state, own=False)

    def _flush_early(self, batch: Batch, state: LiveState, *, own: bool) -> None:
        with state.guard:
            early = _take(batch, state=own)
            if _cancelled(batch) or not (
                    early.global_changes or early.session_changes or early.state_keys):
                return
            state.flushed_at = self._clock()
        self._flush(early)

    def hold(self) -> None:
        """Until :meth:`release`, batches here push their redraws of shared
        widgets only to the sessions they concern (see :meth:`hold_back`)."""
        self._held.set({})

    def release(self) -> None:
        """Flush what :meth:`hold` kept back, for everybody, and stop holding."""
        held = self._held.get()
        self._held.set(None)
        if held:
            self._flush(Batch(global_changes=held))

    def hold_back(self, batch: Batch) -> bool:
        """Keep *batch*'s repeatable shared redraws for :meth:`release`;
        whether the others may wait for it (this event context holds)."""
        held = self._held.get()
        if held is None or batch.origin is None:
            return False
        changes = batch.global_changes
        if any(change not in REPEATABLE for change in changes.values()):
            for widget in changes:  # all of it goes out now, drawn afresh
                held.pop(widget, None)
            return False
        for widget, change in changes.items():
            merge(held, widget, change)
        return True


def _take(batch: Batch, *, state: bool) -> Batch:
    """A batch of what *batch* holds so far (its state keys too if *state*),
    without its ack; *batch* keeps batching from empty."""
    early = Batch(batch.origin, batch.conn, None, client=batch.client,
                  global_changes=batch.global_changes, session_changes=batch.session_changes,
                  state_keys=batch.state_keys if state else {})
    batch.flushed_global = batch.flushed_global or bool(batch.global_changes)
    batch.global_changes, batch.session_changes = {}, {}
    if state:
        batch.state_keys = {}
    return early


def _cancelled(batch: Batch) -> bool:
    return batch.cancelled is not None and batch.cancelled()
