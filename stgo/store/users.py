"""The user index: user id -> the IDs of the sessions signed in as them, the
deadlines of their sign-ins (``login_max_age``) and when each user's state
was last used (``user_state_ttl``), a strategy: in this process
(:class:`MemoryUserIndex`), or in Redis for every process
(:class:`stgo.store.redis.users.RedisUserIndex`).

The index may hold a session that ended without telling it (a process that
died): readers check the sessions still exist (see :mod:`stgo.auth.identity`).
A user's state itself lives in the store's namespace :func:`user_ns`.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod

__all__ = ["UserIndex", "MemoryUserIndex", "user_ns"]


def user_ns(user_id: str) -> str:
    """The store namespace of a user's state (``u:<id>``)."""
    return f"u:{user_id}"


class UserIndex(ABC):
    """Which sessions are signed in as whom; every change is atomic."""

    @abstractmethod
    def add(self, user_id: str, session_id: str, deadline: float | None) -> None:
        """*session_id* signed in as *user_id*, until *deadline* (epoch seconds;
        ``None``: while the session lives)."""

    @abstractmethod
    def remove(self, user_id: str, session_id: str) -> None:
        """*session_id* is no longer signed in as *user_id*."""

    @abstractmethod
    def rename(self, user_id: str, old_id: str, new_id: str) -> None:
        """A signed-in session got a new ID (rotation); a no-op unless indexed."""

    @abstractmethod
    def sessions(self, user_id: str) -> list[str]:
        """The IDs of the sessions signed in as *user_id* (maybe some ended)."""

    @abstractmethod
    def take_due(self, now: float, limit: int = 1000) -> list[str]:
        """The IDs of sessions whose sign-in's deadline is past at *now*,
        taken out of the index (atomic: one caller gets each, to end it)."""

    @abstractmethod
    def state_used(self, user_id: str, now: float, ttl: float) -> None:
        """*user_id*'s state was used at *now*: it lives *ttl* seconds more."""

    @abstractmethod
    def stale_states(self, now: float) -> list[str]:
        """Users whose state was last used longer ago than its TTL (the store
        expires them by itself when it can: then none)."""

    @abstractmethod
    def forget_state(self, user_id: str) -> None:
        """*user_id*'s state was erased."""


class MemoryUserIndex(UserIndex):
    """The index of one process (the memory store), guarded by its own lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sessions: dict[str, set[str]] = {}
        self._deadlines: dict[str, float] = {}
        self._state_until: dict[str, float] = {}

    def add(self, user_id: str, session_id: str, deadline: float | None) -> None:
        with self._lock:
            self._sessions.setdefault(user_id, set()).add(session_id)
            if deadline is not None:
                self._deadlines[session_id] = deadline

    def remove(self, user_id: str, session_id: str) -> None:
        with self._lock:
            ids = self._sessions.get(user_id)
            if ids is not None:
                ids.discard(session_id)
                if not ids:
                    del self._sessions[user_id]
            self._deadlines.pop(session_id, None)

    def rename(self, user_id: str, old_id: str, new_id: str) -> None:
        with self._lock:
            ids = self._sessions.get(user_id)
            if ids is None or old_id not in ids:
                return
            ids.discard(old_id)
            ids.add(new_id)
            deadline = self._deadlines.pop(old_id, None)
            if deadline is not None:
                self._deadlines[new_id] = deadline

    def sessions(self, user_id: str) -> list[str]:
        with self._lock:
            return sorted(self._sessions.get(user_id, ()))

    def take_due(self, now: float, limit: int = 1000) -> list[str]:
        with self._lock:
            due = [sid for sid, at in self._deadlines.items() if at <= now][:limit]
            for sid in due:
                del self._deadlines[sid]
            return due

    def state_used(self, user_id: str, now: float, ttl: float) -> None:
        with self._lock:
            self._state_until[user_id] = now + ttl

    def stale_states(self, now: float) -> list[str]:
        with self._lock:
            return [uid for uid, until in self._state_until.items() if until <= now]

    def forget_state(self, user_id: str) -> None:
        with self._lock:
            self._state_until.pop(user_id, None)
