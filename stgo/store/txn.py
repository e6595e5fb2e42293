"""An event's view of its session's state in Redis: read from a cache, written at the end.

While a process holds a session's event lock (:mod:`stgo.relay`) no other
process runs an event of that session, so the event need not ask Redis for
every read nor pay a round trip for every write:

- taking the lock (one script) also tells whether this process's cached copy
  of the state (:class:`StateCache`) is current — a version number in the
  record moves with every write — and sends the state only when it is not;
- the event reads from the cache and *buffers* its writes (:class:`EventTxn`),
  applying them to the cache so it reads its own writes;
- letting go of the lock (one script) applies the buffered writes, moves the
  version, unlocks and publishes the relay's notice, in one step, sent before
  the event's acknowledgement (see :meth:`~stgo.store.redis.RedisStore.end_event`).

Writes from other threads (outside the event) still go to Redis at once, and
stay atomic: an increment is buffered as ``HINCRBY``, not as the sum, so a
background thread's increment made meanwhile is never lost.  What cannot be
buffered exactly (``update(fn)``, a float increment) first writes what is
buffered, then runs as before.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from .base import MISSING

if TYPE_CHECKING:
    from .redis import RedisStore

__all__ = ["StateCache", "EventTxn"]

T = TypeVar("T")

_INT64 = 2 ** 63
_INT = re.compile(rb"-?[0-9]{1,19}")


class StateCache:
    """A process's copy of one session's state as codec text, and its version.

    ``version`` is the record's version the copy matches, or ``""`` when
    unknown (the next lock fetches the state).
    """

    __slots__ = ("version", "raw")

    def __init__(self) -> None:
        self.version = ""
        self.raw: dict[str, bytes] = {}

    def invalidate(self) -> None:
        """Forget the copy: the next event fetches the state."""
        self.version = ""
        self.raw = {}


class EventTxn:
    """The buffered writes of one event of one session, on the thread running it.

    Made by :meth:`RedisStore.begin_event`; the store routes the session's
    state operations made on this thread here while it is open.
    """

    def __init__(self, store: RedisStore, session_id: str, token: str,
                 cache: StateCache) -> None:
        self.store = store
        self.session_id = session_id
        #: The event lock's holder token, also the commit's (a retried commit
        #: is applied once).
        self.token = token
        self.cache = cache
        self.thread = threading.get_ident()
        #: Flat ``op, args...`` words for the commit script.
        self.ops: list[str | int] = []
        #: Whether this event wrote anything (buffered or flushed).
        self.changed = False
        #: Commits sent so far (each has its own ID: token and this count).
        self.commits = 0
        # Which lock key to let go of: the ID at the start (rotation renames the record).
        self.lock_id = session_id

    # -- reads: from the cache -----------------------------------------------------------

    def get(self, key: str, default: Any = None) -> Any:
        raw = self.cache.raw.get(key)
        if raw is None:
            return default
        value = self.store._decode(f"s:{self.session_id}", key, raw)
        return default if value is MISSING else value

    def items(self) -> dict[str, Any]:
        ns = f"s:{self.session_id}"
        out: dict[str, Any] = {}
        for key, raw in list(self.cache.raw.items()):
            value = self.store._decode(ns, key, raw)
            if value is not MISSING:
                out[key] = value
        return out

    # -- writes: to the cache and the buffer ------------------------------------------------

    def set(self, key: str, text: str) -> None:
        self.cache.raw[key] = text.encode("utf-8")
        self.ops += ["set", key, text]
        self.changed = True

    def delete(self, key: str) -> bool:
        found = self.cache.raw.pop(key, None) is not None
        self.ops += ["del", key]
        self.changed = True
        return found

    def clear(self) -> None:
        self.cache.raw.clear()
        self.ops.append("clear")
        self.changed = True

    def increment(self, key: str, amount: float) -> Any:
        """Add *amount*; buffered as ``HINCRBY`` when exact, else written now."""
        raw = self.cache.raw.get(key)
        # An integer's codec text is its digits: read it without the codec.
        old = 0 if raw is None else int(raw) if _INT.fullmatch(raw) else self.get(key, 0)
        new = old + amount if type(amount) is int and type(old) is int else None
        if new is not None and -_INT64 <= new < _INT64:  # what HINCRBY can hold
            self.cache.raw[key] = str(new).encode("ascii")
            self.ops += ["incr", key, str(amount)]
            self.changed = True
            return new
        self.flush()
        return self._direct(key, lambda: self.store._increment_now(
            f"s:{self.session_id}", key, amount))

    def update(self, key: str, fn: Callable[[Any], T], default: Any) -> T:
        """``fn(old)``, compared and set in Redis now (*fn* may run again)."""
        self.flush()
        return self._direct(key, lambda: self.store._update_now(
            f"s:{self.session_id}", key, fn, default))

    def _direct(self, key: str, run: Callable[[], T]) -> T:
        # Written past the buffer: the cache cannot know the version now.
        new = run()
        self.changed = True
        self.cache.version = ""
        self.cache.raw[key] = self.store.codec.encode(new, key).encode("utf-8")
        return new

    def flush(self) -> None:
        """Write what is buffered now, keeping the lock (before a direct write)."""
        if self.ops:
            ops, self.ops = self.ops, []
            self.store._commit_now(self, ops, unlock=False, notice="")

    def rekeyed(self, new_id: str) -> None:
        """The session was renamed (rotation) mid-event: write on under *new_id*."""
        self.session_id = new_id
