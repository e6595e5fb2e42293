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
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..context import Slot
from ..protocol import Outlet

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
    """

    def __init__(self, flush: Callable[[Batch], None]) -> None:
        self._flush = flush
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
        client: str | None = None,
    ) -> Iterator[Batch]:
        """Collect every change made here and flush them at the end.

        Nested blocks join the outer one.  The flush happens even if the
        block raises, so that what did change is still shown.
        """
        current = self._batch.get()
        if current is not None:
            yield current
            return
        current = Batch(origin, conn, ack, client=client)
        self._batch.set(current)
        try:
            yield current
        finally:
            self._batch.set(None)
            self._flush(current)

    def note(self, record: Callable[[Batch], None]) -> None:
        """Record a change in the current batch, or flush it at once outside any."""
        current = self._batch.get()
        if current is not None:
            record(current)
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
        early = Batch(current.origin, current.conn, None, client=current.client,
                      global_changes=current.global_changes,
                      session_changes=current.session_changes, state_keys=current.state_keys)
        current.global_changes, current.session_changes, current.state_keys = {}, {}, {}
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
