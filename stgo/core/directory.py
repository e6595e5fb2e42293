"""Session directories: where the SessionManager keeps its sessions.

A strategy, so the manager never asks which backend it has:
:class:`Directory` keeps every session in this process's memory;
:class:`StoredDirectory` keeps the records in a persistent
:class:`~stgo.store.Store` (shared by every process) and this process's map
is only a cache of the ones it serves.  Both hold the map and its lock;
the manager keeps what is common (hooks exactly once, the cleanup thread)
and reaches the directory only through the methods here.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import CapacityError
from ..ids import redact
from ..store.base import SessionRecord, Store
from ..store.sessionstate import StoredState
from .session import Session

__all__ = ["Directory", "StoredDirectory", "Ends"]

log = logging.getLogger("stgo")

# Sessions removed from the map per hold of its lock: a pass over 100,000
# sessions then never makes a concurrent get() wait for more than ~1 ms.
_SLICE = 1000

_ABSENT = object()

#: Judges a session at a time: its end reason, or ``None`` while it lives.
Judge = Callable[[Session, float], "str | None"]


@dataclass(frozen=True)
class Ends:
    """What a directory asks of its manager: make sessions, run the hooks."""

    #: ``make(session_id, activated=...)``: a new session object (not mapped).
    make: Callable[..., Session]
    #: ``finish(sessions, reason)``: end sessions already out of the map
    #: (end hooks exactly once); returns how many ended.
    finish: Callable[[list[Session], str], int]
    #: ``gone(session)``: ended by another process; no end hooks here.
    gone: Callable[[Session], None]
    #: ``restored(session)``: loaded from the store into this process.
    restored: Callable[[Session], None]


def _full(limit: int | None) -> CapacityError:
    return CapacityError(f"{limit} sessions are live; raise max_sessions to allow more")


class Directory:
    """The sessions of this process, in memory (no persistent store)."""

    #: The persistent store of the session records, or ``None``.
    store: Store | None = None

    def __init__(self, ends: Ends) -> None:
        self._ends = ends
        self._lock = threading.Lock()
        self._sessions: dict[str, Session] = {}
        # Pending sessions (never activated), oldest first: the first to go
        # when the pool is full.  Keys only; a subset of _sessions.
        self._pending: OrderedDict[str, None] = OrderedDict()

    # -- the map (common to both) ------------------------------------------------

    def _put(self, session: Session, pending: bool) -> None:
        """Insert *session* (lock held)."""
        self._sessions[session.id] = session
        if pending:
            self._pending[session.id] = None

    def _drop(self, session_id: str) -> Session | None:
        """Remove and return the session with *session_id* (lock held)."""
        self._pending.pop(session_id, None)
        return self._sessions.pop(session_id, None)

    def _pop_pending(self) -> Session | None:
        """Take the oldest pending session out of the map (lock held)."""
        while self._pending:
            sid, _ = self._pending.popitem(last=False)
            session = self._sessions.get(sid)
            if session is not None and not session.activated:
                del self._sessions[sid]
                return session
        return None

    def activated(self, session: Session) -> None:
        """*session* got its first connection: it is no longer pending."""
        with self._lock:
            self._pending.pop(session.id, None)

    def pending_count(self) -> int:
        """How many held sessions no connection has activated yet."""
        with self._lock:
            return len(self._pending)

    def sessions(self) -> list[Session]:
        """A snapshot of the sessions this process holds."""
        with self._lock:
            return list(self._sessions.values())

    def cached(self, session_id: str) -> Session | None:
        """The session with *session_id* if this process holds it."""
        with self._lock:
            return self._sessions.get(session_id)

    def held(self) -> int:
        """How many sessions this process holds."""
        with self._lock:
            return len(self._sessions)

    def _rekey(self, session: Session, new_id: str) -> None:
        with self._lock:
            if self._sessions.get(session.id) is not session:
                raise KeyError("session is not live")
            del self._sessions[session.id]
            was_pending = self._pending.pop(session.id, _ABSENT) is not _ABSENT
            session.rekey(new_id)
            self._put(session, was_pending)

    def _end(self, sessions: list[Session], reason: str) -> int:
        """Remove *sessions* from the map and end them, a slice at a time.

        Consumes the list: each slice is dropped once ended, so the memory of
        a large pass goes back in small steps instead of one long pause.
        """
        ended = 0
        while sessions:
            batch = sessions[:_SLICE]
            del sessions[:_SLICE]
            with self._lock:
                # Another thread may have ended (or rotated) one meanwhile.
                batch = [s for s in batch if self._sessions.get(s.id) is s]
                for s in batch:
                    self._drop(s.id)
            ended += self._ends.finish(batch, reason)
        return ended

    # -- the strategy ------------------------------------------------------------------

    def add(self, session: Session, limit: int | None, pending: bool) -> bool:
        """Insert a new *session* within *limit* (evicting the oldest pending
        one at it); ``False`` if its ID is taken (the caller makes another).

        :raises CapacityError: *limit* is reached and no session is pending.
        """
        evicted: list[Session] = []
        with self._lock:
            if limit is not None and len(self._sessions) >= limit:
                victim = self._pop_pending()
                if victim is None:
                    raise _full(limit)
                evicted.append(victim)
            added = session.id not in self._sessions  # 192 random bits: always
            if added:
                self._put(session, pending)
        # Ended outside the lock: end hooks are user code.
        self._ends.finish(evicted, "evicted")
        return added

    def lookup(self, session_id: str) -> Session | None:
        """The session with *session_id*, or ``None``."""
        with self._lock:
            return self._sessions.get(session_id)

    def expire(self, session: Session, reason: str, bounds: dict[str, float]) -> None:
        """End *session*, found expired by the *bounds* (see :meth:`sweep`)."""
        self._end([session], reason)

    def end(self, session_ids: list[str], reason: str) -> int:
        """End every listed session; return how many existed."""
        ended = 0
        for i in range(0, len(session_ids), _SLICE):
            with self._lock:
                popped = [self._drop(sid) for sid in session_ids[i:i + _SLICE]]
            ended += self._ends.finish([s for s in popped if s is not None], reason)
        return ended

    def count(self) -> int:
        """How many sessions are live."""
        return self.held()

    def ids(self) -> list[str]:
        """A snapshot of the live session IDs."""
        with self._lock:
            return list(self._sessions)

    def rename(self, session: Session, new_id: str) -> None:
        """Move *session* to *new_id*; the old ID dies at once.

        :raises KeyError: the session is not live.
        """
        self._rekey(session, new_id)

    def sweep(self, now: float, judge: Judge, bounds: dict[str, float], strict: bool) -> int:
        """End every expired session (*judge* tells; *bounds* are the same
        limits as times: ``idle_before``, ``pending_idle_before``,
        ``created_before``); return how many.  Unless *strict*, an open tab
        counts as activity."""
        with self._lock:
            candidates = list(self._sessions.values())
        timed_out: list[Session] = []
        too_old: list[Session] = []
        for session in candidates:
            reason = judge(session, now)
            if reason == "timeout":
                timed_out.append(session)
            elif reason is not None:
                too_old.append(session)
        del candidates
        return self._end(timed_out, "timeout") + self._end(too_old, "max_age")

    def close(self, end_sessions: bool) -> None:
        """The process stops: end every session with ``"shutdown"`` (unless
        *end_sessions* is false)."""
        if end_sessions:
            self.end(self.ids(), "shutdown")

    def after_fork(self) -> None:
        """In a forked child: the parent's threads may have held the lock;
        the sessions are this process's copy."""
        self._lock = threading.Lock()

    def revive(self, session: Session, pending: bool) -> bool:
        """Put back a session a previous process saved; ``False`` if its ID
        is live already (or the directory keeps its sessions itself)."""
        with self._lock:
            if session.id in self._sessions:
                return False
            self._put(session, pending)
        return True

    def forget(self, session: Session) -> bool:
        """Let go of *session* here without ending it; ``False`` in memory
        (it would be lost)."""
        return False

    def keep_for(self, timeout: float, max_age: float | None) -> None:
        """Tell the directory how long sessions live (nothing in memory)."""


class StoredDirectory(Directory):
    """The session records in a persistent store shared by every process;
    the map holds the sessions this process serves."""

    def __init__(self, ends: Ends, store: Store) -> None:
        super().__init__(ends)
        self.store = store
        self._store = store

    def add(self, session: Session, limit: int | None, pending: bool) -> bool:
        store = self._store
        # The count and the insert are one step in the store (atomic across
        # processes); at the limit the oldest pending session makes room.
        for _ in range(3):
            if store.create_session(session.id, session.created_at, limit=limit,
                                    pending=pending):
                break
            victim = store.oldest_pending()
            if victim is None:
                raise _full(limit)
            self._end_ids([victim], "evicted")
        else:
            raise _full(limit)
        session.bind(StoredState(store, lambda: session.id, written=session.created_at))
        with self._lock:
            self._put(session, pending)
        return True

    def _end_ids(self, session_ids: list[str], reason: str, **conditions: float) -> int:
        """Claim each session's end in the store; end the ones this process won.

        A session this process does not hold is rebuilt from its record for
        the end hooks (state readable); one another process claimed, or that
        is gone, is only dropped from this map.
        """
        won: list[Session] = []
        for sid in session_ids:
            record = self._store.claim_end(sid, **conditions)
            with self._lock:
                local = self._sessions.get(sid)
                if record is not None or not conditions:
                    self._drop(sid)
            if record is None:
                if local is not None and not conditions:
                    local.detach_store(None)  # ended by another process
                continue
            session = local or self._rebuild(sid, record)
            session.detach_store(record.state)
            won.append(session)
        return self._ends.finish(won, reason)

    def _rebuild(self, session_id: str, record: SessionRecord) -> Session:
        session = self._ends.make(session_id, activated=record.activated)
        session.restore_times(record.created_at, record.last_accessed_at)
        return session

    def _gone(self, session_id: str, local: Session | None) -> None:
        """Drop *local* if still mapped: ended elsewhere, no end hooks here."""
        with self._lock:
            dropped = local is not None and self._sessions.get(session_id) is local
            if dropped:
                self._drop(session_id)
        if dropped and local is not None:
            local.detach_store(None)
            self._ends.gone(local)

    def lookup(self, session_id: str) -> Session | None:
        """The session as the store has it: the held one refreshed, or
        rebuilt and restored into this process, or ``None`` (no record:
        ended or moved)."""
        with self._lock:
            local = self._sessions.get(session_id)
        record = self._store.load_session(session_id)
        if record is None:
            self._gone(session_id, local)
            return None
        if local is not None:
            local.restore_times(local.created_at, record.last_accessed_at)
            return local
        session = self._rebuild(session_id, record)
        session.bind(StoredState(self._store, lambda: session.id,
                                 written=record.last_accessed_at))
        with self._lock:
            raced = self._sessions.get(session_id)
            if raced is not None:
                return raced
            self._put(session, not record.activated)
        if log.isEnabledFor(logging.DEBUG):
            log.debug("session %s restored from the store", redact(session_id))
        self._ends.restored(session)
        return session

    def expire(self, session: Session, reason: str, bounds: dict[str, float]) -> None:
        self._end_ids([session.id], reason, **bounds)

    def end(self, session_ids: list[str], reason: str) -> int:
        return self._end_ids(session_ids, reason)

    def count(self) -> int:
        return self._store.session_count()

    def ids(self) -> list[str]:
        return self._store.session_ids()

    def rename(self, session: Session, new_id: str) -> None:
        if not self._store.rename_session(session.id, new_id):
            raise KeyError("session is not live")
        self._rekey(session, new_id)

    def sweep(self, now: float, judge: Judge, bounds: dict[str, float], strict: bool) -> int:
        store = self._store
        held = self.sessions()
        if not strict:
            # A tab open here counts as activity for every process.
            for session in held:
                if session.connections:
                    store.touch_session(session.id, now)
        # Drop what others ended (or rotated) from this process's cache.
        ids = [s.id for s in held]
        for session, alive in zip(held, store.sessions_exist(ids), strict=True):
            if not alive:
                with self._lock:
                    gone = self._drop(session.id)
                if gone is not None:
                    gone.detach_store(None)
                    self._ends.gone(gone)
        candidates = store.expired_sessions(
            idle_before=bounds["idle_before"], pending_idle_before=bounds["pending_idle_before"],
            created_before=bounds.get("created_before"))
        ended = 0
        for sid in candidates:
            record = store.load_session(sid)
            too_old = (record is not None and "created_before" in bounds
                       and record.created_at < bounds["created_before"])
            ended += self._end_ids([sid], "max_age" if too_old else "timeout", **bounds)
        return ended

    def close(self, end_sessions: bool) -> None:
        # The sessions live on in the store: this process only lets go.
        with self._lock:
            held, self._sessions = list(self._sessions.values()), {}
            self._pending.clear()
        for session in held:
            session.detach_store(None)
            session.release()

    def after_fork(self) -> None:
        # The cached sessions are the parent's (the child loads its own).
        super().after_fork()
        self._sessions = {}
        self._pending.clear()

    def revive(self, session: Session, pending: bool) -> bool:
        return False  # a persistent store keeps its sessions itself

    def forget(self, session: Session) -> bool:
        with self._lock:
            if self._sessions.get(session.id) is not session:
                return False
            self._drop(session.id)
        return True

    def keep_for(self, timeout: float, max_age: float | None) -> None:
        self._store.keep_for(timeout, max_age)


def directory_for(ends: Ends, store: Store | None) -> Directory:
    """The directory for *store*: stored if it is persistent, else memory."""
    if store is not None and store.persistent:
        return StoredDirectory(ends, store)
    return Directory(ends)
