"""The SessionManager: a map of sessions, their lifetimes and the cleanup thread."""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any, Literal

from ..errors import CapacityError, ConfigurationError
from ..ids import is_valid_session_id, new_session_id, redact
from ..store.base import SessionRecord, Store
from .session import Session

__all__ = ["SessionManager", "EndReason"]

log = logging.getLogger("stgo")

#: Why a session ended.
EndReason = Literal["timeout", "deleted", "shutdown", "rotated", "max_age", "evicted"]

StartHook = Callable[[Session], None]
EndHook = Callable[[Session, str], None]
ReviveHook = Callable[[Session, dict[str, Any]], None]

# Sessions removed from the map per hold of its lock: a pass over 100,000
# sessions then never makes a concurrent get() wait for more than ~1 ms.
_SLICE = 1000

_ABSENT = object()


class SessionManager:
    """Creates, finds, expires and ends sessions.

    The manager's private lock guards only its map; hooks run after it is
    released, and a session is ended (hooks called) exactly once whatever
    path ends it.

    :param session_timeout: seconds of inactivity after which a session
        expires; default 300.
    :param cleanup_interval: seconds between passes of the cleanup thread;
        default 60.
    :param clock: returns the current time in epoch seconds (default
        :func:`time.time`); inject a fake one to test timeouts without sleeping.
    :param strict_idle: when true an open connection does not keep a session
        alive: only events and state changes count as activity.
    :param session_max_age: absolute lifetime in seconds, whatever the
        activity; ``None`` (default) means no limit.
    :param pending_timeout: seconds of inactivity after which a *pending*
        session (made with ``create(pending=True)`` and never activated by a
        connection) expires; default 30.  The shorter of this and
        *session_timeout* applies.
    :param store: a persistent store (:class:`~stgo.store.Store` with
        ``persistent`` true) that holds the session records: sessions then
        outlive the process, and this map only caches the ones this process
        serves.  ``None`` (default) keeps everything here.
    """

    def __init__(
        self,
        session_timeout: float = 300.0,
        cleanup_interval: float = 60.0,
        *,
        clock: Callable[[], float] = time.time,
        strict_idle: bool = False,
        session_max_age: float | None = None,
        pending_timeout: float = 30.0,
        store: Store | None = None,
    ) -> None:
        self._lock = threading.Lock()
        self._sessions: dict[str, Session] = {}
        # Pending sessions (never activated), oldest first: the first to go
        # when the pool is full.  Keys only; a subset of _sessions.
        self._pending: OrderedDict[str, None] = OrderedDict()
        self._stop = threading.Event()
        # Set to cut the cleanup thread's current wait short (new interval, stop).
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.clock = clock
        self.session_timeout = session_timeout
        self.cleanup_interval = cleanup_interval
        self.strict_idle = strict_idle
        self.session_max_age = session_max_age
        self.pending_timeout = pending_timeout
        self._start_hooks: list[StartHook] = []
        self._end_hooks: list[EndHook] = []
        self._restore_hooks: list[StartHook] = []
        self._revive_hooks: list[ReviveHook] = []
        self._gone_hooks: list[StartHook] = []
        #: The persistent store of the session records, or ``None``.
        self.store = store if store is not None and store.persistent else None
        self._tell_lifetimes()

    def _tell_lifetimes(self) -> None:
        """Tell the store how long records live (its safety-net expiry)."""
        if self.store is not None:
            # (A pending session lapses sooner: min(pending, idle) timeout.)
            self.store.keep_for(self._session_timeout, self.session_max_age)

    # -- configuration --------------------------------------------------------

    @property
    def session_timeout(self) -> float:
        """Idle timeout in seconds; may be changed at run time."""
        return self._session_timeout

    @session_timeout.setter
    def session_timeout(self, seconds: float) -> None:
        if not seconds > 0:
            raise ConfigurationError(f"session_timeout must be > 0 seconds, got {seconds!r}")
        self._session_timeout = float(seconds)

    @property
    def cleanup_interval(self) -> float:
        """Seconds between cleanup passes; may be changed at run time."""
        return self._cleanup_interval

    @cleanup_interval.setter
    def cleanup_interval(self, seconds: float) -> None:
        if not seconds > 0:
            raise ConfigurationError(f"cleanup_interval must be > 0 seconds, got {seconds!r}")
        self._cleanup_interval = float(seconds)
        self._wake.set()  # a running cleanup thread starts waiting anew

    @property
    def pending_timeout(self) -> float:
        """Idle timeout in seconds of a session no connection ever activated."""
        return self._pending_timeout

    @pending_timeout.setter
    def pending_timeout(self, seconds: float) -> None:
        if not seconds > 0:
            raise ConfigurationError(f"pending_timeout must be > 0 seconds, got {seconds!r}")
        self._pending_timeout = float(seconds)

    def on_session_start(self, fn: StartHook) -> StartHook:
        """Register ``fn(session)``, called once for each new session."""
        self._start_hooks.append(fn)
        return fn

    def on_session_end(self, fn: EndHook) -> EndHook:
        """Register ``fn(session, reason)``, called once when a session ends."""
        self._end_hooks.append(fn)
        return fn

    def on_session_gone(self, fn: StartHook) -> StartHook:
        """Register ``fn(session)``, called when a session this process holds
        turns out to be ended (or rotated) by another process: no end hooks
        run here (the other process ran them), but its tabs must be told."""
        self._gone_hooks.append(fn)
        return fn

    def on_session_restore(self, fn: StartHook) -> StartHook:
        """Register ``fn(session)``, called when a session from the store is
        loaded into this process (after a restart, or made by another one)."""
        self._restore_hooks.append(fn)
        return fn

    def on_session_revive(self, fn: ReviveHook) -> ReviveHook:
        """Register ``fn(session, state)``, called in place of the start hooks
        for a session :meth:`restore` brings back: it starts the session as
        new and lays the saved *state* over what the start hooks set, before
        anything is drawn from the state."""
        self._revive_hooks.append(fn)
        return fn

    # -- the map ----------------------------------------------------------------

    def create(self, *, limit: int | None = None, pending: bool = False) -> Session:
        """Create a session, run the start hooks, and return it.

        :param limit: the most sessions live at once.  At it, the oldest
            *pending* session is evicted (ended with reason ``"evicted"``) to
            make room; only when none is pending is the caller refused.  The
            count and the insert happen under one lock, so simultaneous
            callers cannot overshoot it.
        :param pending: make a session that is not activated until its first
            connection opens (:meth:`Session.attach`); until then it expires
            after :attr:`pending_timeout` and is the first to be evicted.  The
            page makes its sessions so, since anyone can ask for a page.
        :raises CapacityError: *limit* is reached and no session is pending.
        """
        if self.store is not None:
            return self._create_stored(limit, pending)
        evicted: list[Session] = []
        while True:
            session = Session(new_session_id(self.clock()), clock=self.clock,
                              activated=not pending, on_activate=self._activated)
            with self._lock:
                if limit is not None and len(self._sessions) >= limit:
                    victim = self._pop_pending()
                    if victim is None:
                        raise CapacityError(
                            f"{limit} sessions are live; raise max_sessions to allow more")
                    evicted.append(victim)
                if session.id not in self._sessions:  # 192 random bits: never loops
                    self._sessions[session.id] = session
                    if pending:
                        self._pending[session.id] = None
                    break
        # Ended outside the lock: end hooks are user code.
        self._finish(evicted, "evicted")
        if log.isEnabledFor(logging.DEBUG):
            log.debug("session %s created%s", redact(session.id), " (pending)" if pending else "")
        for hook in list(self._start_hooks):
            self._call_hook(hook, session)
        return session

    def _create_stored(self, limit: int | None, pending: bool) -> Session:
        store = self.store
        assert store is not None
        session = Session(new_session_id(self.clock()), clock=self.clock,
                          activated=not pending, on_activate=self._activated)
        # The count and the insert are one step in the store (atomic across
        # processes); at the limit the oldest pending session makes room.
        for _ in range(3):
            if store.create_session(session.id, session.created_at, limit=limit,
                                    pending=pending):
                break
            victim = store.oldest_pending()
            if victim is None:
                raise CapacityError(
                    f"{limit} sessions are live; raise max_sessions to allow more")
            self._end_stored([victim], "evicted")
        else:
            raise CapacityError(f"{limit} sessions are live; raise max_sessions to allow more")
        session._store = store
        session._stored_access = session.created_at
        with self._lock:
            self._sessions[session.id] = session
            if pending:
                self._pending[session.id] = None
        for hook in list(self._start_hooks):
            self._call_hook(hook, session)
        return session

    def _end_stored(self, session_ids: list[str], reason: str, **conditions: float) -> int:
        """Claim each session's end in the store; end the ones this process won.

        A session this process does not hold is rebuilt from its record for
        the end hooks (state readable); one another process claimed, or that
        is gone, is only dropped from this map.
        """
        store = self.store
        assert store is not None
        won: list[Session] = []
        for sid in session_ids:
            record = store.claim_end(sid, **conditions)
            with self._lock:
                local = self._sessions.get(sid)
                if record is not None or not conditions:
                    self._sessions.pop(sid, None)
                    self._pending.pop(sid, None)
            if record is None:
                if local is not None and not conditions:
                    local._detach_store(None)  # ended by another process
                continue
            session = local or self._rebuild(sid, record)
            session._detach_store(record.state)
            won.append(session)
        return self._finish(won, reason)

    def _rebuild(self, session_id: str, record: SessionRecord) -> Session:
        session = Session(session_id, clock=self.clock, activated=record.activated,
                          on_activate=self._activated)
        session._restore_times(record.created_at, record.last_accessed_at)
        return session

    def _load(self, session_id: str, local: Session | None) -> Session | None:
        """The session as the store has it: *local* refreshed, or rebuilt and
        restored into this process, or ``None`` (no record: ended or moved)."""
        store = self.store
        assert store is not None
        record = store.load_session(session_id)
        if record is None:
            if local is not None:
                with self._lock:
                    dropped = self._sessions.get(session_id) is local
                    if dropped:
                        del self._sessions[session_id]
                        self._pending.pop(session_id, None)
                if dropped:
                    local._detach_store(None)
                    local._end()  # ended elsewhere: its queued events run nothing here
                    for hook in list(self._gone_hooks):
                        self._call_hook(hook, local)
            return None
        if local is not None:
            local._restore_times(local.created_at, record.last_accessed_at)
            return local
        session = self._rebuild(session_id, record)
        session._store = store
        with self._lock:
            raced = self._sessions.get(session_id)
            if raced is not None:
                return raced
            self._sessions[session_id] = session
            if not record.activated:
                self._pending[session_id] = None
        if log.isEnabledFor(logging.DEBUG):
            log.debug("session %s restored from the store", redact(session_id))
        for hook in list(self._restore_hooks):
            self._call_hook(hook, session)
        return session

    def _pop_pending(self) -> Session | None:
        """Take the oldest pending session out of the map (lock held)."""
        while self._pending:
            sid, _ = self._pending.popitem(last=False)
            session = self._sessions.get(sid)
            if session is not None and not session.activated:
                del self._sessions[sid]
                return session
        return None

    def _activated(self, session: Session) -> None:
        with self._lock:
            self._pending.pop(session.id, None)

    def pending_count(self) -> int:
        """How many live sessions no connection has activated yet."""
        with self._lock:
            return len(self._pending)

    def restore(self, session_id: str, state: dict[str, Any] | None = None, *,
                created_at: float | None = None, pending: bool = False) -> Session | None:
        """Bring back a session a previous process of this app saved (the
        ``--reload`` dev store): same ID, same creation time (so
        ``session_max_age`` still counts from it), pending if it was.

        The revive hooks get *state* (the App's runs the start hooks, lays the
        state over what they set, then draws ``session_page`` from it);
        without any, the start hooks run and then the state is laid over.
        ``None`` if the ID is malformed or live already, or with a persistent
        store (which needs none).
        """
        if self.store is not None or not is_valid_session_id(session_id):
            return None  # a persistent store keeps its sessions itself
        session = Session(session_id, clock=self.clock, activated=not pending,
                          on_activate=self._activated)
        if created_at is not None:
            session._restore_times(min(created_at, session.created_at), session.last_accessed_at)
        with self._lock:
            if session_id in self._sessions:
                return None
            self._sessions[session_id] = session
            if pending:
                self._pending[session_id] = None
        saved = dict(state or {})
        if self._revive_hooks:
            for revive in list(self._revive_hooks):
                self._call_hook(revive, session, saved)
            return session
        for hook in list(self._start_hooks):
            self._call_hook(hook, session)
        for key, value in saved.items():
            session.set(key, value)
        return session

    def get(self, session_id: object) -> Session | None:
        """Return the live session with *session_id*, or ``None``.

        Never creates.  Malformed IDs are refused before any lookup; an
        expired session is ended on the spot and ``None`` returned.
        """
        if not is_valid_session_id(session_id):
            return None
        assert isinstance(session_id, str)
        with self._lock:
            session = self._sessions.get(session_id)
        if self.store is not None:
            session = self._load(session_id, session)
        if session is None:
            return None
        now = self.clock()
        reason = self._expiry_reason(session, now)
        if reason is not None:
            if self.store is not None:
                self._end_stored([session_id], reason, **self._expiry_bounds(now))
            else:
                self._end([session], reason)
            return None
        return session

    def __contains__(self, session_id: object) -> bool:
        return self.get(session_id) is not None

    def __len__(self) -> int:
        if self.store is not None:
            return self.store.session_count()
        with self._lock:
            return len(self._sessions)

    def count(self) -> int:
        """How many sessions are live (same as ``len(manager)``)."""
        return len(self)

    def ids(self) -> list[str]:
        """A snapshot of the live session IDs (with a persistent store: of
        every process)."""
        if self.store is not None:
            return self.store.session_ids()
        with self._lock:
            return list(self._sessions)

    def sessions(self) -> list[Session]:
        """A snapshot of the live sessions this process holds."""
        with self._lock:
            return list(self._sessions.values())

    def cached(self, session_id: str) -> Session | None:
        """The session with *session_id* if this process holds it (no store call)."""
        with self._lock:
            return self._sessions.get(session_id)

    def forget(self, session: Session) -> bool:
        """Let go of *session* here without ending it (persistent store only):
        the next request for it rebuilds it from the store, ``session_page``
        and all.  Another process changed it and no tab here shows it."""
        if self.store is None:
            return False
        with self._lock:
            if self._sessions.get(session.id) is not session:
                return False
            del self._sessions[session.id]
            self._pending.pop(session.id, None)
        return True

    def held(self) -> int:
        """How many sessions this process holds in memory (with a persistent
        store, a cache of the store's; otherwise all of them)."""
        with self._lock:
            return len(self._sessions)

    def delete(self, session_id: str, reason: str = "deleted") -> bool:
        """End the session with *session_id*; return whether it existed."""
        return self.delete_many([session_id], reason) == 1

    def delete_many(self, session_ids: Iterable[str], reason: str = "deleted") -> int:
        """End every listed session; return how many existed."""
        wanted = list(session_ids)  # outside the lock: it may be a generator
        if self.store is not None:
            return self._end_stored([s for s in wanted if is_valid_session_id(s)], reason)
        ended = 0
        for i in range(0, len(wanted), _SLICE):
            with self._lock:
                popped = [self._sessions.pop(sid, None) for sid in wanted[i:i + _SLICE]]
                for s in popped:
                    if s is not None:
                        self._pending.pop(s.id, None)
            ended += self._finish([s for s in popped if s is not None], reason)
        return ended

    def rekey(self, session: Session, new_id: str) -> None:
        """Move *session* to *new_id* in the map (ID rotation); the old ID dies at once."""
        if self.store is not None and not self.store.rename_session(session.id, new_id):
            raise KeyError("session is not live")
        with self._lock:
            if self._sessions.get(session.id) is not session:
                raise KeyError("session is not live")
            del self._sessions[session.id]
            was_pending = self._pending.pop(session.id, _ABSENT) is not _ABSENT
            session._id = new_id
            self._sessions[new_id] = session
            if was_pending:
                self._pending[new_id] = None

    # -- expiry -------------------------------------------------------------------

    def _expiry_reason(self, session: Session, now: float) -> str | None:
        timeout = self._session_timeout
        if not session.activated:
            timeout = min(timeout, self._pending_timeout)
        if session.is_expired(now, timeout, strict=self.strict_idle):
            return "timeout"
        if self.session_max_age is not None and now - session.created_at > self.session_max_age:
            return "max_age"
        return None

    def cleanup_expired(self, now: float | None = None) -> int:
        """End every expired session; return how many.

        The map lock is held only to snapshot the map and then to remove
        the expired sessions in short slices, so a concurrent :meth:`get`
        never waits for a whole pass; hooks run after.

        :param now: the time to judge by, epoch seconds; ``None`` means the clock.
        """
        now = self.clock() if now is None else now
        if self.store is not None:
            self._tell_lifetimes()
            return self._cleanup_stored(now)
        with self._lock:
            candidates = list(self._sessions.values())
        timed_out: list[Session] = []
        too_old: list[Session] = []
        for session in candidates:
            reason = self._expiry_reason(session, now)
            if reason == "timeout":
                timed_out.append(session)
            elif reason is not None:
                too_old.append(session)
        del candidates
        return self._end(timed_out, "timeout") + self._end(too_old, "max_age")

    def _expiry_bounds(self, now: float) -> dict[str, float]:
        bounds = {"idle_before": now - self._session_timeout,
                  "pending_idle_before": now - min(self._pending_timeout,
                                                   self._session_timeout)}
        if self.session_max_age is not None:
            bounds["created_before"] = now - self.session_max_age
        return bounds

    def _cleanup_stored(self, now: float) -> int:
        store = self.store
        assert store is not None
        held = self.sessions()
        if not self.strict_idle:
            # A tab open here counts as activity for every process.
            for session in held:
                if session.connections:
                    store.touch_session(session.id, now)
        # Drop what others ended (or rotated) from this process's cache.
        ids = [s.id for s in held]
        for sid, alive in zip(ids, store.sessions_exist(ids), strict=True):
            if not alive:
                with self._lock:
                    gone = self._sessions.pop(sid, None)
                    self._pending.pop(sid, None)
                if gone is not None:
                    gone._detach_store(None)
                    gone._end()
                    for hook in list(self._gone_hooks):
                        self._call_hook(hook, gone)
        bounds = self._expiry_bounds(now)
        candidates = store.expired_sessions(
            idle_before=bounds["idle_before"], pending_idle_before=bounds["pending_idle_before"],
            created_before=bounds.get("created_before"))
        ended = 0
        for sid in candidates:
            record = store.load_session(sid)
            too_old = (record is not None and "created_before" in bounds
                       and record.created_at < bounds["created_before"])
            ended += self._end_stored([sid], "max_age" if too_old else "timeout", **bounds)
        return ended

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
                    del self._sessions[s.id]
                    self._pending.pop(s.id, None)
            ended += self._finish(batch, reason)
        return ended

    def _finish(self, sessions: list[Session], reason: str) -> int:
        """End sessions already removed from the map: hooks, then release."""
        ended = 0
        debug = log.isEnabledFor(logging.DEBUG)
        for session in sessions:
            if not session._end():
                continue
            ended += 1
            if debug:
                log.debug("session %s ended (%s)", redact(session.id), reason)
            for hook in list(self._end_hooks):
                self._call_hook(hook, session, reason)
            session._release()
        return ended

    def _call_hook(self, hook: Callable[..., None], *args: object) -> None:
        try:
            hook(*args)
        except Exception:
            log.exception("session hook %r raised", getattr(hook, "__name__", hook))

    # -- the cleanup thread -----------------------------------------------------------

    def start(self) -> None:
        """Start the daemon cleanup thread (idempotent)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._wake.clear()
        self._thread = threading.Thread(target=self._run, name="stgo-cleanup", daemon=True)
        self._thread.start()

    def stop(self, *, end_sessions: bool = True, timeout: float | None = 5.0) -> None:
        """Stop the cleanup thread and join it; then end every session with
        reason ``"shutdown"`` unless *end_sessions* is false.

        :param timeout: seconds to wait for the thread; ``None`` waits forever.
        """
        self._stop.set()
        self._wake.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        if self.store is not None:
            # The sessions live on in the store: this process only lets go.
            with self._lock:
                held, self._sessions = list(self._sessions.values()), {}
                self._pending.clear()
            for session in held:
                session._detach_store(None)
                session._release()
            return
        if end_sessions:
            self.delete_many(self.ids(), "shutdown")

    def after_fork(self) -> None:
        """In a forked child: no cleanup thread runs here yet, and the
        parent's threads may have held the locks at the fork.  With a
        persistent store the cached sessions are the parent's (the child
        loads its own); in memory they are this process's copy."""
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = None
        if self.store is not None:
            self._sessions = {}
            self._pending.clear()

    @property
    def running(self) -> bool:
        """Whether the cleanup thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        while not self._stop.is_set():
            woken = self._wake.wait(self._cleanup_interval)
            if self._stop.is_set():
                break
            if woken:
                # The interval changed: wait again with the new one.
                self._wake.clear()
                continue
            # One failing pass (a broken clock, say) must not kill the loop.
            try:
                self.cleanup_expired()
            except Exception:
                log.exception("session cleanup pass failed")

