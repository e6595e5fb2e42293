"""``/health``: whether this process serves, and whether its store answers."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol

__all__ = ["Health", "HealthProbe", "StoreHealth", "HEALTH_BUDGET"]

log = logging.getLogger("stgo")


#: Seconds ``/health`` waits at most for the store's answer.
HEALTH_BUDGET = 0.5


class StoreHealth:
    """Whether the store answers, for ``/health``, never waiting past *budget*.

    The check (*probe*, which may block for the store's whole timeout) runs
    on a thread of its own, one at a time: asks that come while it runs
    share it.  An ask waits for it at most until it has run *budget*
    seconds, then says "not healthy"; the check goes on meanwhile (one
    thread, however many ask), and the next ask after it ends starts another.
    """

    def __init__(self, probe: Callable[[], bool], *, budget: float = HEALTH_BUDGET,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._probe = probe
        self._budget = budget
        self._clock = clock
        self._lock = threading.Lock()
        self._healthy = False
        self._running: tuple[float, threading.Event] | None = None  # since, done

    def healthy(self) -> bool:
        """What the running check finds within the budget; ``False`` past it."""
        with self._lock:
            now = self._clock()
            if self._running is None:
                self._running = (now, threading.Event())
                threading.Thread(target=self._check, args=(self._running[1],),
                                 name="stgo-health", daemon=True).start()
            since, done = self._running
        if not done.wait(max(0.0, since + self._budget - now)):
            return False
        with self._lock:
            return self._healthy

    def _check(self, done: threading.Event) -> None:
        try:
            healthy = bool(self._probe())
        except Exception:
            log.exception("the store's health check raised")
            healthy = False
        with self._lock:
            self._healthy, self._running = healthy, None
        done.set()


class HealthProbe(Protocol):
    """What ``/health`` asks of the store (a :class:`~stgo.store.Store` is one)."""

    @property
    def persistent(self) -> bool:
        """Whether the store is shared (only such a store is probed)."""

    def healthy(self) -> bool:
        """Whether it answers (may block for its whole timeout)."""


class Health:
    """The body of ``/health`` for *store*."""

    def __init__(self, store: HealthProbe) -> None:
        self._store = store
        self._health = StoreHealth(lambda: self._store.healthy())

    def body(self) -> str:
        """``ok``, or ``degraded`` while the store does not answer.

        Within :data:`HEALTH_BUDGET` seconds whatever the store does (a
        probe's timeout must not take a Redis hiccup for a dead process):
        see :class:`StoreHealth`.  No session count: anybody may ask, and it
        tells how busy we are.
        """
        if self._store.persistent and not self._health.healthy():
            return json.dumps({"status": "degraded", "store": "unavailable"})
        return json.dumps({"status": "ok"})
