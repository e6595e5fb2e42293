"""The memory store: namespaces in a dict, for one process (the default).

Session records are not kept here: with this store the SessionManager keeps
its sessions in its own map, as fast as ever.  Values are stored as they are
(any Python value, no codec), like session state in memory.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from .base import MISSING, Store

__all__ = ["MemoryStore"]

T = TypeVar("T")


class MemoryStore(Store):
    """Namespaces of key → value in this process's memory."""

    persistent = False

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._spaces: dict[str, dict[str, Any]] = {}

    def __repr__(self) -> str:
        return "<MemoryStore>"

    def after_fork(self) -> None:
        # A parent's thread may have held the lock at the fork; the values
        # are this process's copy from now on.
        self._lock = threading.Lock()

    def get(self, ns: str, key: str, default: Any = None) -> Any:
        with self._lock:
            return self._spaces.get(ns, {}).get(key, default)

    def set(self, ns: str, key: str, value: Any, *, now: float | None = None) -> None:
        with self._lock:
            self._spaces.setdefault(ns, {})[key] = value

    def delete(self, ns: str, key: str, *, now: float | None = None) -> bool:
        with self._lock:
            return self._spaces.get(ns, {}).pop(key, MISSING) is not MISSING

    def items(self, ns: str) -> dict[str, Any]:
        with self._lock:
            return dict(self._spaces.get(ns, {}))

    def clear(self, ns: str, *, now: float | None = None) -> None:
        with self._lock:
            self._spaces.pop(ns, None)

    def increment(self, ns: str, key: str, amount: float = 1, *,
                  now: float | None = None) -> Any:
        with self._lock:
            space = self._spaces.setdefault(ns, {})
            new = space.get(key, 0) + amount
            space[key] = new
            return new

    def update(self, ns: str, key: str, fn: Callable[[Any], T], default: Any = None,
               *, now: float | None = None) -> T:
        # fn is user code: run it outside the lock, then compare and set.
        while True:
            with self._lock:
                old = self._spaces.get(ns, {}).get(key, MISSING)
            new = fn(default if old is MISSING else old)
            with self._lock:
                space = self._spaces.setdefault(ns, {})
                if space.get(key, MISSING) is old:
                    space[key] = new
                    return new
