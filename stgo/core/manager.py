"""The SessionManager: a map of sessions, their lifetimes and the cleanup thread."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, Literal

from ..errors import ConfigurationError
from ..ids import is_valid_session_id, new_session_id, redact
from ..store.base import Store
from .directory import Ends, directory_for
from .identity import IdentityLink
from .session import Session

__all__ = ["SessionManager", "EndReason"]

log = logging.getLogger("stgo")

#: Why a session ended.
EndReason = Literal["timeout", "deleted", "shutdown", "rotated", "max_age", "evicted"]

StartHook = Callable[[Session], None]
EndHook = Callable[[Session, str], None]
ReviveHook = Callable[[Session, dict[str, Any]], None]


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
        # Where the sessions live: memory, or a persistent store (a strategy).
        self._directory = directory_for(
            Ends(self._make, self._finish, self._gone, self._restored), store)
        #: The persistent store of the session records, or ``None``.
        self.store = self._directory.store
        #: The app's identity service every session is given (``auth=``), or ``None``.
        self.identity: IdentityLink | None = None
        self._tell_lifetimes()

    def _tell_lifetimes(self) -> None:
        """Tell the directory how long records live (a store's safety-net
        expiry; a pending session lapses sooner: min(pending, idle) timeout)."""
        self._directory.keep_for(self._session_timeout, self.session_max_age)

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
        while True:
            session = self._make(new_session_id(self.clock()), activated=not pending)
            if self._directory.add(session, limit, pending):
                break
        if log.isEnabledFor(logging.DEBUG):
            log.debug("session %s created%s", redact(session.id), " (pending)" if pending else "")
        for hook in list(self._start_hooks):
            self._call_hook(hook, session)
        return session

    # -- what the directory asks of the manager (its Ends) -------------------------

    def _make(self, session_id: str, *, activated: bool) -> Session:
        """A new :class:`Session` object on this manager's clock (not yet mapped)."""
        session = Session(session_id, clock=self.clock, activated=activated,
                          on_activate=self._directory.activated)
        if self.identity is not None:
            session.identity = self.identity
            self.identity.adopt(session)
        return session

    def _gone(self, session: Session) -> None:
        """*session* was ended by another process: end it here, gone hooks only."""
        session.mark_ended()  # its queued events run nothing here
        for hook in list(self._gone_hooks):
            self._call_hook(hook, session)
        session.free()  # its tasks stop, its resources are released

    def _restored(self, session: Session) -> None:
        """*session* was loaded from the store: run the restore hooks."""
        for hook in list(self._restore_hooks):
            self._call_hook(hook, session)

    def pending_count(self) -> int:
        """How many live sessions no connection has activated yet."""
        return self._directory.pending_count()

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
        if not is_valid_session_id(session_id):
            return None
        session = self._make(session_id, activated=not pending)
        if created_at is not None:
            session.restore_times(min(created_at, session.created_at), session.last_accessed_at)
        if not self._directory.revive(session, pending):
            return None  # live already, or a persistent store keeps its own
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
        session = self._directory.lookup(session_id)
        if session is None:
            return None
        now = self.clock()
        reason = self._expiry_reason(session, now)
        if reason is not None:
            self._directory.expire(session, reason, self._expiry_bounds(now))
            return None
        return session

    def __contains__(self, session_id: object) -> bool:
        return self.get(session_id) is not None

    def __len__(self) -> int:
        return self._directory.count()

    def count(self) -> int:
        """How many sessions are live (same as ``len(manager)``)."""
        return len(self)

    def ids(self) -> list[str]:
        """A snapshot of the live session IDs (with a persistent store: of
        every process)."""
        return self._directory.ids()

    def sessions(self) -> list[Session]:
        """A snapshot of the live sessions this process holds."""
        return self._directory.sessions()

    def cached(self, session_id: str) -> Session | None:
        """The session with *session_id* if this process holds it (no store call)."""
        return self._directory.cached(session_id)

    def forget(self, session: Session) -> bool:
        """Let go of *session* here without ending it (persistent store only):
        the next request for it rebuilds it from the store, ``session_page``
        and all.  Another process changed it and no tab here shows it."""
        return self._directory.forget(session)

    def held(self) -> int:
        """How many sessions this process holds in memory (with a persistent
        store, a cache of the store's; otherwise all of them)."""
        return self._directory.held()

    def delete(self, session_id: str, reason: str = "deleted") -> bool:
        """End the session with *session_id*; return whether it existed."""
        return self.delete_many([session_id], reason) == 1

    def delete_many(self, session_ids: Iterable[str], reason: str = "deleted") -> int:
        """End every listed session; return how many existed."""
        wanted = list(session_ids)  # outside the lock: it may be a generator
        return self._directory.end([s for s in wanted if is_valid_session_id(s)], reason)

    def rekey(self, session: Session, new_id: str) -> None:
        """Move *session* to *new_id* in the map (ID rotation); the old ID dies at once."""
        self._directory.rename(session, new_id)

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
        self._tell_lifetimes()
        return self._directory.sweep(now, self._expiry_reason, self._expiry_bounds(now),
                                     self.strict_idle)

    def _expiry_bounds(self, now: float) -> dict[str, float]:
        bounds = {"idle_before": now - self._session_timeout,
                  "pending_idle_before": now - min(self._pending_timeout,
                                                   self._session_timeout)}
        if self.session_max_age is not None:
            bounds["created_before"] = now - self.session_max_age
        return bounds

    def _finish(self, sessions: list[Session], reason: str) -> int:
        """End sessions already removed from the map: hooks, then release."""
        ended = 0
        debug = log.isEnabledFor(logging.DEBUG)
        for session in sessions:
            if not session.mark_ended():
                continue
            ended += 1
            if debug:
                log.debug("session %s ended (%s)", redact(session.id), reason)
            for hook in list(self._end_hooks):
                self._call_hook(hook, session, reason)
            session.release()
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
        # With a persistent store the sessions live on: this process only lets go.
        self._directory.close(end_sessions)

    def after_fork(self) -> None:
        """In a forked child: no cleanup thread runs here yet, and the
        parent's threads may have held the locks at the fork.  With a
        persistent store the cached sessions are the parent's (the child
        loads its own); in memory they are this process's copy."""
        self._directory.after_fork()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = None

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

