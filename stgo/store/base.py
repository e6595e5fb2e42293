"""The store interface: what stgo keeps outside the process, and how it asks.

A store holds

- **session records**: an ID, its created and last-access times, whether a
  connection ever activated it, and its state (key → value);
- **namespaces** of key → value for everything else: ``app`` (``app.state``)
  and ``globals`` (the run-time changes of global widgets).

Every operation that must not lose a race between processes is one atomic
operation of the store: creating under a limit, incrementing, renaming a
session (rotation), and *claiming* a session's end (only the caller that
claims it runs its end hooks, and gets its last state to run them with).

A store knows nothing of the hub, the App or widgets (STYLE rule 11).
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from .users import MemoryUserIndex, UserIndex

__all__ = ["Store", "SessionRecord", "StateView", "SharedCache"]

T = TypeVar("T")
MISSING: Any = object()


@dataclass
class SessionRecord:
    """What the store knows of one session."""

    created_at: float
    last_accessed_at: float
    activated: bool = True
    #: The session's state; ``None`` when not loaded.
    state: dict[str, Any] | None = field(default=None)


class SharedCache(Protocol):
    """What ``@stgo.cache_data`` needs of a shared store (see
    :class:`stgo.store.redis.cache.RedisCache`): values as text, with a
    lock per value so that one process computes it."""

    codec: Any

    @property
    def open(self) -> bool: ...

    def load(self, name: str, digest: str) -> str | None: ...

    def try_lock(self, name: str, digest: str, token: str, lease: float) -> bool: ...

    def locked(self, name: str, digest: str) -> bool: ...

    def unlock(self, name: str, digest: str, token: str) -> None: ...

    def save(self, name: str, digest: str, text: str, ttl: float | None,
             max_entries: int | None) -> None: ...

    def clear(self, name: str) -> int: ...

    def drop(self, name: str, digest: str) -> None: ...


class Store(ABC):
    """Where sessions and shared state live.

    ``persistent`` is false for the memory store: the SessionManager then
    keeps sessions in its own map as it always did, and the store serves only
    the namespaces (``app.state``).
    """

    #: Whether records outlive the process (and may be shared with others).
    persistent: bool = False
    #: Whether other processes use the same store at once, over the network
    #: (Redis): rotation tokens are then kept here (:meth:`put_token`), so
    #: any process trades them, and an event mostly waits on the store.
    shared: bool = False

    def open(self) -> None:
        """Connect and check the store is usable (called once at start).

        :raises StoreError: it is not (bad address, refused, wrong password).
        """
        return None

    def close(self) -> None:
        """Release connections and threads."""
        return None

    def after_fork(self) -> None:
        """Called in a forked child before its first use: drop what belongs
        to the parent (its connections, locks its threads may have held)."""
        return None

    def healthy(self) -> bool:
        """Whether the store answers now (within a short timeout)."""
        return True

    def shared_cache(self) -> SharedCache | None:
        """Where ``@stgo.cache_data`` keeps values for every process of the
        app, or ``None`` (this store is not shared: process memory does)."""
        return None

    def keep_for(self, idle: float, max_age: float | None) -> None:
        """How long session records live: *idle* seconds after their last
        access, *max_age* after creation (``None``: no limit).  A persistent
        store may expire records by itself some margin later, a safety net
        for when no process is left to end them; the SessionManager says so
        at start and on each cleanup pass."""
        return None

    # -- namespaces: app.state and the global widgets' changes ------------------------

    @abstractmethod
    def get(self, ns: str, key: str, default: Any = None) -> Any:
        """The value under *key* in namespace *ns*, or *default*."""

    @abstractmethod
    def set(self, ns: str, key: str, value: Any, *, now: float | None = None) -> None:
        """Store *value*; unsupported types raise :class:`~stgo.store.codec.CodecError`.

        *now* (epoch seconds), for a session's namespace, is recorded as its
        last access with the write; the other methods take it too.
        """

    @abstractmethod
    def delete(self, ns: str, key: str, *, now: float | None = None) -> bool:
        """Remove *key*; return whether it was there."""

    @abstractmethod
    def items(self, ns: str) -> dict[str, Any]:
        """A copy of every key and value of *ns*."""

    @abstractmethod
    def clear(self, ns: str, *, now: float | None = None) -> None:
        """Remove every key of *ns*."""

    @abstractmethod
    def increment(self, ns: str, key: str, amount: float = 1, *,
                  now: float | None = None) -> Any:
        """Atomically add *amount* to the number under *key* (missing: 0); return it."""

    @abstractmethod
    def update(self, ns: str, key: str, fn: Callable[[Any], T], default: Any = None,
               *, now: float | None = None) -> T:
        """Atomically replace the value with ``fn(old)`` (*fn* may run more than once)."""

    # -- session records (persistent stores only) -------------------------------------

    def create_session(self, session_id: str, now: float, *, limit: int | None = None,
                       pending: bool = False) -> bool:
        """Add a record; ``False`` when *limit* records exist already (atomic)."""
        raise NotImplementedError

    def load_session(self, session_id: str) -> SessionRecord | None:
        """The record (without state), or ``None``."""
        raise NotImplementedError

    def touch_session(self, session_id: str, now: float, *, activate: bool = False) -> None:
        """Record activity at *now*; with *activate*, mark it activated."""
        raise NotImplementedError

    def claim_end(self, session_id: str, *, idle_before: float | None = None,
                  created_before: float | None = None,
                  pending_idle_before: float | None = None) -> SessionRecord | None:
        """Atomically remove the record and return it with its state, or ``None``.

        With *idle_before* (or *created_before*) the record is removed only if
        it was last accessed (created) before that time (a pending record:
        before *pending_idle_before*, when later): the caller that gets a
        record is the one process that ends the session.
        """
        raise NotImplementedError

    def rename_session(self, old_id: str, new_id: str) -> bool:
        """Move a record to a new ID atomically; the old one is gone at once."""
        raise NotImplementedError

    def expired_sessions(self, *, idle_before: float, pending_idle_before: float,
                         created_before: float | None, limit: int = 1000) -> list[str]:
        """IDs that look expired (the caller then claims each)."""
        raise NotImplementedError

    def oldest_pending(self) -> str | None:
        """The ID of the oldest never-activated session, or ``None``."""
        raise NotImplementedError

    def session_count(self) -> int:
        """How many records there are."""
        raise NotImplementedError

    def session_ids(self) -> list[str]:
        """Every record's ID."""
        raise NotImplementedError

    def sessions_exist(self, session_ids: list[str]) -> list[bool]:
        """For each ID, whether its record exists (one round trip)."""
        raise NotImplementedError

    # -- rotation tokens (shared stores only) ------------------------------------------

    def put_token(self, token_hash: str, new_id: str, ttl: float) -> None:
        """Keep a rotation token (by its hash) for *ttl* seconds, for any process."""
        raise NotImplementedError

    def take_token(self, token_hash: str) -> str | None:
        """The new session ID of a rotation token, once, or ``None``."""
        raise NotImplementedError

    # -- the user index (stgo.auth) -----------------------------------------------------

    def user_index(self) -> UserIndex:
        """Which sessions are signed in as whom (:mod:`stgo.store.users`):
        in this process here; a shared store keeps it for every process."""
        return MemoryUserIndex()

    # -- views --------------------------------------------------------------------------

    def view(self, ns: str) -> StateView:
        """The session-state API over namespace *ns*."""
        return StateView(self, ns)


class StateView:
    """``get``/``set``/``delete``/``has``/``items``/``update``/``increment`` over one
    namespace of a store: what ``app.state`` is.

    Thread-safe, and atomic in the store: ``increment`` from two processes at
    once never loses a count.
    """

    def __init__(self, store: Store, ns: str) -> None:
        self._store = store
        self._ns = ns
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<StateView {self._ns!r}>"

    def get(self, key: str, default: Any = None) -> Any:
        """The value under *key*, or *default*."""
        return self._store.get(self._ns, key, default)

    def set(self, key: str, value: Any) -> None:
        """Store *value* under *key*."""
        self._store.set(self._ns, key, value)

    def delete(self, key: str) -> bool:
        """Remove *key*; return whether it was there."""
        return self._store.delete(self._ns, key)

    def has(self, key: str) -> bool:
        """Whether *key* is set."""
        return self._store.get(self._ns, key, MISSING) is not MISSING

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.has(key)

    def __getitem__(self, key: str) -> Any:
        value = self._store.get(self._ns, key, MISSING)
        if value is MISSING:
            raise KeyError(key)
        return value

    def __setitem__(self, key: str, value: Any) -> None:
        self.set(key, value)

    def __iter__(self) -> Iterator[str]:
        return iter(self.items())

    def items(self) -> dict[str, Any]:
        """A copy of every key and value."""
        return self._store.items(self._ns)

    def keys(self) -> list[str]:
        """The keys (a snapshot)."""
        return list(self.items())

    def clear(self) -> None:
        """Remove every key."""
        self._store.clear(self._ns)

    def update(self, key: str, fn: Callable[[Any], T], default: Any = None) -> T:
        """Atomically replace the value under *key* with ``fn(old)``.

        *fn* may run more than once (another writer won the race): keep it
        free of side effects.
        """
        return self._store.update(self._ns, key, fn, default)

    def increment(self, key: str, amount: float = 1) -> Any:
        """Atomically add *amount* to the number under *key* (missing: 0); return it."""
        return self._store.increment(self._ns, key, amount)
