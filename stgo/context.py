"""The event context: what belongs to the event being handled, in one object.

An event (a click, a background thread's ``app.batch()`` block, the relay
applying another process's change) gathers a few things while it runs: the
hub's batch of changes, what the I/O loop holds back for the end of its
turn, the sessions whose change the relay announced with the event's commit, the
store's open transaction and its commits awaiting their answer.
They live in ONE :class:`EventContext` in a :class:`contextvars.ContextVar`,
not in thread-locals spread over modules that must agree.

Each owner (a hub, a relay, a store: two Apps in one process never share
them) has its typed place in it, a :class:`Slot`.  A thread starts with an
empty context, and a worker thread keeps its own between the jobs it runs, as
a thread-local did.  It sits at the ground layer (it imports nothing of
stgo), so the store below the core uses it too.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any, Generic, TypeVar

__all__ = ["EventContext", "Slot", "current"]

T = TypeVar("T")


class EventContext:
    """What belongs to the event being handled: each :class:`Slot`'s value."""

    __slots__ = ("values",)

    def __init__(self) -> None:
        #: Each slot's value (a slot that was never set has none).
        self.values: dict[Slot[Any], Any] = {}


# The one context variable (a ContextVar is per thread and per task by nature).
_EVENT: ContextVar[EventContext] = ContextVar("stgo_event")


def current() -> EventContext:
    """The context of the event being handled here (made on first use)."""
    try:
        return _EVENT.get()
    except LookupError:
        context = EventContext()
        _EVENT.set(context)
        return context


class Slot(Generic[T]):
    """One owner's typed place in the :class:`EventContext`.

    :param name: what it holds, for ``repr`` only.
    """

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<Slot {self.name}>"

    def get(self) -> T | None:
        """The value of this slot in the current event, or ``None``."""
        value: T | None = current().values.get(self)
        return value

    def set(self, value: T | None) -> None:
        """Set this slot's value in the current event (``None`` clears it)."""
        values = current().values
        if value is None:
            values.pop(self, None)
        else:
            values[self] = value
