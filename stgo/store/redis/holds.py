"""The event locks this process keeps between a session's events, and asking for others'.

A process may keep a session's event lock after an event (see
:mod:`stgo.store.redis.events`): the session's next event here then starts
with no round trip.  :class:`Holds` remembers those locks, and which sessions
another process wanted lately (those are let go after each event for a while,
so that two processes clicking one session pay a round trip per event, not a
hand-over each time).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

from .txn import StateCache

__all__ = ["Hold", "Holds", "WANT_MS", "CONTENDED_FOR", "want_notice"]

#: Seconds after another process last asked for a session's event lock (or
#: this one waited for it) during which it is let go after each event, not
#: kept: a session clicked on two processes at once pays one round trip per
#: event, not a hand-over each time.
CONTENDED_FOR = 5.0

#: Milliseconds a process's mark "I wait for this session's event lock"
#: lasts; it renews it at each try (every 20 ms at most).
WANT_MS = 250


def want_notice(origin: str, session_id: str) -> str:
    """The relay's line asking a holder for *session_id*'s lock (see :mod:`stgo.relay`)."""
    return f"l {origin} {time.time():.6f} {session_id}"


class Hold:
    """An event lock this process kept after a session's event: its token,
    the copy of the state it vouches for, until when (monotonic) the next
    event may start on it without asking Redis, and when it lapses in Redis
    at the latest."""

    __slots__ = ("token", "cache", "version", "until", "lapses")

    def __init__(self, token: str, cache: StateCache, until: float, lapses: float) -> None:
        self.token = token
        self.cache = cache
        self.version = cache.version
        self.until = until
        self.lapses = lapses

    def usable(self, cache: StateCache) -> bool:
        """Whether an event on *cache* may start on this lock without asking Redis."""
        return (cache is self.cache and cache.version == self.version
                and time.monotonic() < self.until)


class Holds:
    """The kept locks by session ID, and when another process last wanted
    each session's lock (monotonic).  Thread-safe."""

    def __init__(self) -> None:
        self._holds: dict[str, Hold] = {}
        self._contended: dict[str, float] = {}
        self._lock = threading.Lock()

    def __iter__(self) -> Iterator[str]:
        """The IDs of the sessions whose lock is kept (a snapshot)."""
        with self._lock:
            return iter(list(self._holds))

    def after_fork(self) -> None:
        """Forget the parent's kept locks (and its lock's state)."""
        self._holds = {}
        self._contended = {}
        self._lock = threading.Lock()

    def take(self, session_id: str) -> Hold | None:
        """The kept lock of *session_id*, forgotten here (or ``None``)."""
        with self._lock:
            return self._holds.pop(session_id, None)

    def take_all(self) -> dict[str, Hold]:
        """Every kept lock, forgotten here."""
        with self._lock:
            holds, self._holds = self._holds, {}
        return holds

    def put(self, session_id: str, hold: Hold, serial: int) -> None:
        """Remember *hold*, unless an event began on its copy since (*serial*)."""
        with self._lock:
            if hold.cache.serial == serial:
                self._holds[session_id] = hold

    def clear(self) -> None:
        """Forget every kept lock (they may be taken over meanwhile)."""
        with self._lock:
            self._holds.clear()

    def spoil(self, session_id: str) -> None:
        """The session's state is written past its events here: a lock kept
        for it may no longer start an event without a look (it is still let
        go when asked)."""
        with self._lock:
            hold = self._holds.get(session_id)
            if hold is not None:
                hold.until = 0.0

    def prune(self, now: float) -> None:
        """Forget the kept locks lapsed by *now* and the contention older than
        :data:`CONTENDED_FOR` (monotonic)."""
        with self._lock:
            lapsed = [sid for sid, hold in self._holds.items() if hold.lapses < now]
            for sid in lapsed:
                del self._holds[sid]
            calm = [sid for sid, when in self._contended.items()
                    if now - when > CONTENDED_FOR]
            for sid in calm:
                del self._contended[sid]

    def contend(self, session_id: str) -> None:
        """Another process wants *session_id*'s lock too (or had it when this
        one wanted it): let it go after each event here for a while."""
        with self._lock:
            self._contended[session_id] = time.monotonic()

    def contended_lately(self, session_id: str) -> bool:
        """Whether another process wanted *session_id*'s lock lately."""
        when = self._contended.get(session_id)
        return when is not None and time.monotonic() - when <= CONTENDED_FOR
