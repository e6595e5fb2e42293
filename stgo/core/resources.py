"""Per-session resources: ``db = session.resource(factory, on_release=close)``.

One value per session and per factory (or per *key*), made on first use and
released once when the session ends, after its end hooks (which may still use
it): ``on_release(value)`` is called once, and what it raises is logged.  The
value lives in this process only (a connection, a client): it is never
stored, so with a shared store each process that serves the session makes
its own.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from ..errors import WidgetError

__all__ = ["Resources"]

log = logging.getLogger("stgo")

T = TypeVar("T")


class Resources:
    """One session's resources, by key."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # key -> [value, on_release]; a key being made maps to its own lock.
        self._values: dict[Hashable, tuple[Any, Callable[[Any], object] | None]] = {}
        self._making: dict[Hashable, threading.Lock] = {}
        self._released = False

    def get(self, factory: Callable[[], T], *, on_release: Callable[[T], object] | None,
            key: Hashable | None) -> T:
        """The value for *key* (default: the factory itself), made once by
        ``factory()``; a second caller waits for the first's.

        :raises WidgetError: the session has ended (nothing would release it).
        """
        if not callable(factory):
            raise WidgetError(f"resource needs a function that makes the value, got {factory!r}")
        slot: Hashable = factory if key is None else key
        while True:
            with self._lock:
                if self._released:
                    raise WidgetError("this session has ended: it holds no resources any more")
                if slot in self._values:
                    value: T = self._values[slot][0]
                    return value
                making = self._making.get(slot)
                if making is None:
                    making = self._making[slot] = threading.Lock()
                    making.acquire()
                    break
            with making:  # another thread makes it: wait, then look again
                pass
        try:
            made = factory()  # user code: no lock of ours held but the slot's own
        except BaseException:
            with self._lock:
                del self._making[slot]
            making.release()
            raise
        release_now = False
        with self._lock:
            del self._making[slot]
            if self._released:
                release_now = True
            else:
                self._values[slot] = (made, on_release)
        making.release()
        if release_now:  # the session ended while it was made
            _release(made, on_release)
            raise WidgetError("this session has ended: it holds no resources any more")
        return made

    def release(self) -> None:
        """Release every value, newest first, once (the session ended)."""
        with self._lock:
            if self._released:
                return
            self._released = True
            values, self._values = list(self._values.values()), {}
        for value, on_release in reversed(values):
            _release(value, on_release)


def _release(value: Any, on_release: Callable[[Any], object] | None) -> None:
    if on_release is None:
        return
    try:
        on_release(value)
    except Exception:
        log.exception("releasing a session's resource: %s raised",
                      getattr(on_release, "__qualname__", on_release))
