"""One session's state, a strategy: in a dict here, or in a store's namespace.

A :class:`~stgo.core.session.Session` keeps its keys in one of these and
never asks which: :class:`DictState` for a session of this process only (and
for the last values of one that ended), :class:`StoredState` for one whose
record lives in a persistent :class:`~stgo.store.Store` (the ``s:<id>``
namespace), which also writes the session's activity there, throttled.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from .base import MISSING, Store

__all__ = ["SessionState", "DictState", "StoredState"]

T = TypeVar("T")


class SessionState(Protocol):
    """Where one session's keys live; *now* is the time of the change."""

    #: The store that keeps this session's uploads for every process, or ``None``.
    blobs: Any

    def __len__(self) -> int: ...
    def get(self, key: str, default: Any = None) -> Any: ...
    def set(self, key: str, value: Any, now: float) -> None: ...
    def delete(self, key: str, now: float) -> bool: ...
    def clear(self, now: float) -> None: ...
    def items(self) -> dict[str, Any]: ...
    def update(self, key: str, fn: Callable[[Any], T], default: Any, now: float) -> T: ...
    def increment(self, key: str, amount: float, now: float) -> Any: ...

    def touch(self, stamp: float, *, activate: bool = False, force: bool = False) -> None:
        """Activity at *stamp* (a shared record writes it, throttled)."""
        ...

    def seen(self, stamp: float) -> None:
        """The shared record's access time is *stamp* (just loaded)."""
        ...


class DictState:
    """A session's keys in a dict of this process, guarded by its own lock."""

    #: Uploads stay in this process.
    blobs: Any = None

    def __init__(self, values: dict[str, Any] | None = None) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, Any] = dict(values or {})

    def __len__(self) -> int:
        return len(self._values)

    def get(self, key: str, default: Any = None) -> Any:
        """The value under *key*, or *default*."""
        with self._lock:
            return self._values.get(key, default)

    def set(self, key: str, value: Any, now: float) -> None:
        """Keep *value* under *key*."""
        with self._lock:
            self._values[key] = value

    def delete(self, key: str, now: float) -> bool:
        """Remove *key*; whether it was there."""
        with self._lock:
            return self._values.pop(key, MISSING) is not MISSING

    def clear(self, now: float) -> None:
        """Remove every key."""
        with self._lock:
            self._values.clear()

    def items(self) -> dict[str, Any]:
        """A shallow copy of every key and value."""
        with self._lock:
            return dict(self._values)

    def update(self, key: str, fn: Callable[[Any], T], default: Any, now: float) -> T:
        """Replace the value under *key* with ``fn(old)`` (compare and set:
        *fn* runs outside the lock, again if the key changed meanwhile)."""
        while True:
            with self._lock:
                old = self._values.get(key, MISSING)
            new = fn(default if old is MISSING else old)
            with self._lock:
                if self._values.get(key, MISSING) is old:
                    self._values[key] = new
                    return new

    def increment(self, key: str, amount: float, now: float) -> Any:
        """Add *amount* to the number under *key* (missing: 0)."""
        return self.update(key, lambda old: old + amount, 0, now)

    def touch(self, stamp: float, *, activate: bool = False, force: bool = False) -> None:
        """Activity at *stamp*: nothing to write anywhere."""

    def seen(self, stamp: float) -> None:
        """The shared record's access time is *stamp*: none here."""


class StoredState:
    """A session's keys in a store's ``s:<id>`` namespace; the session's
    activity written there too, at most once per :attr:`WRITE_INTERVAL`.

    :param ident: the session's current ID (it changes on rotation).
    :param written: the access time the store has already.
    """

    #: Writes to the store at most this often (seconds): activity is judged in
    #: seconds anyway, and a page load or event must not cost a round trip each.
    WRITE_INTERVAL = 1.0

    def __init__(self, store: Store, ident: Callable[[], str], written: float = 0.0) -> None:
        self._store = store
        self._ident = ident
        #: The store when it keeps uploads for every process
        #: (:meth:`~stgo.store.redis.RedisStore.put_upload`), else ``None``.
        self.blobs: Any = store if hasattr(store, "put_upload") else None
        self._lock = threading.Lock()
        self._written = written

    def __len__(self) -> int:
        return 0  # (not asked of the store: a repr must cost no round trip)

    @property
    def _ns(self) -> str:
        return f"s:{self._ident()}"

    def _wrote(self, now: float) -> None:
        # The store recorded the access with the write itself.
        with self._lock:
            self._written = max(self._written, now)

    def get(self, key: str, default: Any = None) -> Any:
        """The value under *key*, or *default*."""
        return self._store.get(self._ns, key, default)

    def set(self, key: str, value: Any, now: float) -> None:
        """Keep *value* under *key* (and the access at *now*)."""
        self._store.set(self._ns, key, value, now=now)
        self._wrote(now)

    def delete(self, key: str, now: float) -> bool:
        """Remove *key*; whether it was there."""
        found = self._store.delete(self._ns, key, now=now)
        self._wrote(now)
        return found

    def clear(self, now: float) -> None:
        """Remove every key."""
        self._store.clear(self._ns, now=now)
        self._wrote(now)

    def items(self) -> dict[str, Any]:
        """A copy of every key and value."""
        return self._store.items(self._ns)

    def update(self, key: str, fn: Callable[[Any], T], default: Any, now: float) -> T:
        """Replace the value under *key* with ``fn(old)``, atomically in the store."""
        new: T = self._store.update(self._ns, key, fn, default, now=now)
        self._wrote(now)
        return new

    def increment(self, key: str, amount: float, now: float) -> Any:
        """Add *amount* to the number under *key* (missing: 0), in the store."""
        new = self._store.increment(self._ns, key, amount, now=now)
        self._wrote(now)
        return new

    def touch(self, stamp: float, *, activate: bool = False, force: bool = False) -> None:
        """Write the activity at *stamp* to the record, unless one was written
        less than :attr:`WRITE_INTERVAL` before (*activate* and *force* always
        write; *activate* also marks the record activated)."""
        with self._lock:
            due = force or activate or stamp - self._written >= self.WRITE_INTERVAL
            if due:
                self._written = stamp
        if due:
            self._store.touch_session(self._ident(), stamp, activate=activate)

    def seen(self, stamp: float) -> None:
        """The record's access time, as just loaded, is *stamp*."""
        with self._lock:
            self._written = stamp
