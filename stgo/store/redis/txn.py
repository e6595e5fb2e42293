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
  the event's acknowledgement (see :meth:`~stgo.store.redis.RedisStore.end_event`,
  and :mod:`stgo.store.redis.events` for the lock and the commit);
- or, instead of unlocking, the process *keeps* the lock for
  :data:`KEEP_LEASE` seconds: while it does and nobody else wrote, the
  session's next event here starts with no round trip at all (its commit
  says whether the copy stayed current).  Another process that wants the
  lock marks it wanted and tells the holder, who lets go at once when idle,
  or at the end of its event; a holder that no longer listens (killed)
  holds nothing (see docs/scaling.md, "The kept lock").

Writes from other threads (outside the event) still go to Redis at once, and
stay atomic: an increment is buffered as ``HINCRBY``, not as the sum, so a
background thread's increment made meanwhile is never lost.  What cannot be
buffered exactly (``update(fn)``, a float increment) first writes what is
buffered, then runs as before.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from ..base import MISSING
from ..codec import Codec

__all__ = ["StateCache", "EventTxn", "Direct", "EVENT_LEASE", "KEEP_LEASE", "KEEP_USABLE"]

T = TypeVar("T")

#: Seconds an event may hold its session's event lock (a callback running
#: longer loses exclusivity; a holder killed mid-event blocks the session
#: elsewhere this long at most).
EVENT_LEASE = 10.0

#: Seconds a process keeps a session's event lock after an event (what a
#: holder killed between events blocks the session elsewhere at most).
KEEP_LEASE = 1.0

#: The part of a kept lock's lease during which the next event may start on
#: it without asking Redis: the rest is the margin within which a running
#: event's lease is lengthened (``RedisStore.keep_leases``).
KEEP_USABLE = 0.5

_INT64 = 2 ** 63
_INT = re.compile(rb"-?[0-9]{1,19}")


class StateCache:
    """A process's copy of one session's state as codec text, and its version.

    ``version`` is the record's version the copy matches, or ``""`` when
    unknown (the next lock fetches the state).
    """

    __slots__ = ("version", "raw", "serial")

    def __init__(self) -> None:
        self.version = ""
        self.raw: dict[str, bytes] = {}
        #: Events begun on this copy: a commit's answer may keep the lock
        #: only for the latest one.
        self.serial = 0

    def invalidate(self) -> None:
        """Forget the copy: the next event fetches the state."""
        self.version = ""
        self.raw = {}


class Direct(Protocol):
    """What an event's transaction needs of the store's direct state operations
    (:class:`~stgo.store.redis.state.Namespaces`): decoding, and the writes it
    cannot buffer exactly."""

    codec: Codec

    def decode(self, ns: str, key: str, raw: bytes | str) -> Any:
        """*raw* decoded, or MISSING if it cannot be."""

    def increment(self, ns: str, key: str, amount: float,
                  now: float | None = None) -> Any:
        """Add *amount* in Redis now; return the new value."""

    def update(self, ns: str, key: str, fn: Callable[[Any], T], default: Any = None,
               now: float | None = None) -> T:
        """Replace the value with ``fn(old)`` in Redis now."""


class EventTxn:
    """The buffered writes of one event of one session, on the thread running it.

    Made by :meth:`RedisStore.begin_event`; the store routes the session's
    state operations made on this thread here while it is open.

    :param direct: the writes past the buffer, and decoding.
    :param commit: writes the given ops of this event now, keeping the lock
        (what :meth:`flush` calls).
    """

    def __init__(self, direct: Direct, commit: Callable[[EventTxn, list[str | int]], None],
                 session_id: str, token: str, cache: StateCache, *, kept: bool = False,
                 event_id: str = "") -> None:
        self._direct_ops = direct
        self._commit = commit
        self.session_id = session_id
        #: The event lock's holder token.
        self.token = token
        #: This event's own name, its commits' (a retried commit is applied
        #: once): the token, unless the lock was kept from an earlier event.
        self.event_id = event_id or token
        self.cache = cache
        cache.serial += 1
        self.serial = cache.serial
        #: Whether it started on a lock kept from the last event (no round
        #: trip; its lease is lengthened if it runs long).
        self.kept = kept
        #: Whether its lease is still to be lengthened if it runs long.
        self.lengthen = kept
        self.begun = time.monotonic()
        #: When the commit that ends it was sent (monotonic).
        self.sent = 0.0
        self.thread = threading.get_ident()
        #: Flat ``op, args...`` words for the commit script.
        self.ops: list[str | int] = []
        #: Whether this event wrote anything (buffered or flushed).
        self.changed = False
        #: Commits sent so far (each has its own ID: token and this count).
        self.commits = 0
        # Which lock key to let go of: the ID at the start (rotation renames the record).
        self.lock_id = session_id
        #: What waits for the event's writes to be in Redis (see
        #: :meth:`RedisStore.after_commit`): run once they are, never if lost.
        self.after: list[Callable[[], None]] = []

    # -- reads: from the cache -----------------------------------------------------------

    def get(self, key: str, default: Any = None) -> Any:
        raw = self.cache.raw.get(key)
        if raw is None:
            return default
        value = self._direct_ops.decode(f"s:{self.session_id}", key, raw)
        return default if value is MISSING else value

    def items(self) -> dict[str, Any]:
        ns = f"s:{self.session_id}"
        out: dict[str, Any] = {}
        for key, raw in list(self.cache.raw.items()):
            value = self._direct_ops.decode(ns, key, raw)
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
        return self._direct(key, lambda: self._direct_ops.increment(
            f"s:{self.session_id}", key, amount))

    def update(self, key: str, fn: Callable[[Any], T], default: Any) -> T:
        """``fn(old)``, compared and set in Redis now (*fn* may run again)."""
        self.flush()
        return self._direct(key, lambda: self._direct_ops.update(
            f"s:{self.session_id}", key, fn, default))

    def _direct(self, key: str, run: Callable[[], T]) -> T:
        # Written past the buffer: the cache cannot know the version now.
        new = run()
        self.changed = True
        self.cache.version = ""
        self.cache.raw[key] = self._direct_ops.codec.encode(new, key).encode("utf-8")
        return new

    def flush(self) -> None:
        """Write what is buffered now, keeping the lock (before a direct write)."""
        if self.ops:
            ops, self.ops = self.ops, []
            self._commit(self, ops)

    def rekeyed(self, new_id: str) -> None:
        """The session was renamed (rotation) mid-event: write on under *new_id*."""
        self.session_id = new_id
