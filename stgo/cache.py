"""Caching: ``@stgo.cache_data`` and ``@stgo.cache_resource``.

``@cache_data(ttl=60, max_entries=100)`` memoizes a function by its arguments
for every session: the first call with given arguments computes, the others
get the value.  Calls that ask for the same value at the same time compute it
once (single flight: the others wait for it).  With a shared store (Redis),
the values are kept in the store, through its codec, for every process of the
app, and single flight holds across the processes (a lock key per value).

Which store: an :class:`~stgo.App` made with a shared store registers it when
it is made (:meth:`CacheBackends.use`); the cache uses the store of the App
made last in the process, while that store is open, and process memory
otherwise (no App, a memory store, or a stopped App).  That registry is the
one process-wide object here, on purpose: the decorators run at import time,
before any App may exist, and an App must not be a service locator.

``@cache_resource`` keeps one value per arguments in this process (a database
pool, a model): never serialized, never shared with other processes.

Both return the cached object itself from memory: do not mutate it.  From a
shared store each call decodes a fresh copy.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import secrets
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Generic, TypeVar, overload

from .errors import CodecError, ConfigurationError, StoreUnavailableError
from .store.base import SharedCache, Store

__all__ = ["cache_data", "cache_resource", "CachedFunction", "CacheBackends", "backends",
           "LOCK_LEASE"]

log = logging.getLogger("stgo")

R = TypeVar("R")

#: Seconds a process may hold the right to compute a shared value; a value
#: that takes longer may be computed by a second process meanwhile.
LOCK_LEASE = 60.0


class CacheBackends:
    """Where ``cache_data`` keeps values: the shared store of the App made
    last (weakly held), or ``None`` (process memory)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._store: weakref.ref[Store] | None = None

    def use(self, store: Store) -> None:
        """Keep values in *store* from now on if it is shared, else in memory."""
        with self._lock:
            self._store = weakref.ref(store) if store.shared_cache() is not None else None

    def shared(self) -> SharedCache | None:
        """The shared cache to use now, or ``None`` (memory)."""
        with self._lock:
            ref = self._store
        store = ref() if ref is not None else None
        cache = store.shared_cache() if store is not None else None
        return cache if cache is not None and cache.open else None


#: The process's registry (see the module: the one deliberate process-wide object).
backends = CacheBackends()


class _Flight:
    """One computation in progress; others wait for its outcome."""

    __slots__ = ("done", "value", "error")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.value: Any = None
        self.error: BaseException | None = None


class CachedFunction(Generic[R]):
    """A function whose results are cached (what the decorators return).

    Call it as the function.  :meth:`clear` forgets every value.

    :param shared: keep values in the app's shared store when there is one
        (``cache_data``); ``False`` keeps them in this process (``cache_resource``).
    :param ttl: seconds a value lives (``None``: until cleared).
    :param max_entries: values kept at most (the oldest go first; ``None``: no limit).
    :param clock: monotonic seconds, for *ttl* in memory (injectable for tests).
    """

    def __init__(self, fn: Callable[..., R], *, shared: bool, ttl: float | None,
                 max_entries: int | None, clock: Callable[[], float] = time.monotonic) -> None:
        if ttl is not None and (isinstance(ttl, bool) or not isinstance(ttl, (int, float))
                                or ttl <= 0):
            raise ConfigurationError(f"ttl must be a number of seconds > 0 or None, got {ttl!r}")
        if max_entries is not None and (isinstance(max_entries, bool)
                                        or not isinstance(max_entries, int) or max_entries < 1):
            raise ConfigurationError(
                f"max_entries must be an int >= 1 or None, got {max_entries!r}")
        self._fn = fn
        self._shared = shared
        self.ttl = None if ttl is None else float(ttl)
        self.max_entries = max_entries
        self._clock = clock
        #: The name its values are kept under (module and qualified name).
        self.name = f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', fn)}"
        self._lock = threading.Lock()
        self._values: OrderedDict[str, tuple[Any, float | None]] = OrderedDict()
        self._flights: dict[str, _Flight] = {}
        functools.update_wrapper(self, fn)

    def __repr__(self) -> str:
        kind = "cache_data" if self._shared else "cache_resource"
        return f"<{kind} {self.name}>"

    def __call__(self, *args: Any, **kwargs: Any) -> R:
        digest = _digest(args, kwargs)
        shared = backends.shared() if self._shared else None
        with self._lock:
            if shared is None:
                entry = self._values.get(digest)
                if entry is not None:
                    value, expires = entry
                    if expires is None or self._clock() < expires:
                        self._values.move_to_end(digest)
                        return value  # type: ignore[no-any-return]
                    del self._values[digest]
            flight = self._flights.get(digest)
            leader = flight is None
            if flight is None:
                flight = self._flights[digest] = _Flight()
        if not leader:
            # Somebody computes it now: wait for theirs (single flight).
            flight.done.wait()
            if flight.error is not None:
                raise flight.error
            return flight.value  # type: ignore[no-any-return]
        try:
            if shared is None:
                flight.value = self._fn(*args, **kwargs)
                self._keep(digest, flight.value)
            else:
                flight.value = self._shared_call(shared, digest, args, kwargs)
            return flight.value  # type: ignore[no-any-return]
        except BaseException as exc:
            flight.error = exc
            raise
        finally:
            with self._lock:
                self._flights.pop(digest, None)
            flight.done.set()

    def _keep(self, digest: str, value: Any) -> None:
        expires = None if self.ttl is None else self._clock() + self.ttl
        with self._lock:
            self._values[digest] = (value, expires)
            self._values.move_to_end(digest)
            while self.max_entries is not None and len(self._values) > self.max_entries:
                self._values.popitem(last=False)

    def _shared_call(self, cache: SharedCache, digest: str, args: tuple[Any, ...],
                     kwargs: dict[str, Any]) -> Any:
        """One process computes the value and stores it; the others wait for it."""
        name = self.name
        try:
            token = secrets.token_hex(8)
            delay = 0.005
            while True:
                found, value = self._load(cache, digest)
                if found:
                    return value
                if cache.try_lock(name, digest, token, LOCK_LEASE):
                    break
                # Another process computes it: wait, unless it gave up (died, failed).
                deadline = time.monotonic() + LOCK_LEASE
                while time.monotonic() < deadline:
                    time.sleep(delay)  # waiting for another process: no lock held
                    delay = min(delay * 2, 0.1)
                    found, value = self._load(cache, digest)
                    if found:
                        return value
                    if not cache.locked(name, digest):
                        break
        except StoreUnavailableError as exc:
            log.warning("cache_data %s: the store is unavailable (%s): computed here, "
                        "not cached", name, exc)
            return self._fn(*args, **kwargs)
        try:
            found, value = self._load(cache, digest)  # stored while we took the lock?
            if found:
                return value
            value = self._fn(*args, **kwargs)
            try:
                text = cache.codec.encode(value, name)
            except CodecError as exc:
                raise CodecError(
                    f"cache_data {name} returned a {type(value).__module__}."
                    f"{type(value).__qualname__}, which the shared store cannot keep ({exc}): "
                    "return plain data (dicts, lists, numbers, text), or use "
                    "@stgo.cache_resource for objects kept in each process") from None
            cache.save(name, digest, text, self.ttl, self.max_entries)
            return value
        finally:
            with contextlib.suppress(StoreUnavailableError):  # its lease lapses by itself
                cache.unlock(name, digest, token)

    def _load(self, cache: SharedCache, digest: str) -> tuple[bool, Any]:
        text = cache.load(self.name, digest)
        if text is None:
            return False, None
        try:
            return True, cache.codec.decode(text)
        except CodecError:  # a value an older deploy stored: compute it anew
            log.warning("cache_data %s: a stored value could not be decoded; dropped",
                        self.name)
            cache.drop(self.name, digest)
            return False, None

    def clear(self) -> None:
        """Forget every value (in the shared store too, for every process)."""
        with self._lock:
            self._values.clear()
        shared = backends.shared() if self._shared else None
        if shared is not None:
            shared.clear(self.name)


def _digest(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    """The arguments as a key: equal values give equal keys (objects
    without a stable ``repr`` give keys of their own)."""
    try:
        text = json.dumps([args, sorted(kwargs.items())], default=_plain, sort_keys=True)
    except (TypeError, ValueError):  # dict keys JSON cannot order or hold: their repr
        text = repr((args, sorted(kwargs.items())))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _plain(value: Any) -> Any:
    if isinstance(value, (set, frozenset)):
        return sorted(map(repr, value))
    if isinstance(value, tuple):
        return list(value)
    return f"{type(value).__module__}.{type(value).__qualname__}:{value!r}"


@overload
def cache_data(fn: Callable[..., R], /) -> CachedFunction[R]: ...


@overload
def cache_data(*, ttl: float | None = None, max_entries: int | None = None,
               clock: Callable[[], float] = time.monotonic,
               ) -> Callable[[Callable[..., R]], CachedFunction[R]]: ...


def cache_data(fn: Callable[..., R] | None = None, /, *, ttl: float | None = None,
               max_entries: int | None = None, clock: Callable[[], float] = time.monotonic,
               ) -> CachedFunction[R] | Callable[[Callable[..., R]], CachedFunction[R]]:
    """Memoize a function by its arguments, for every session (and, with a
    shared store, every process): ``@stgo.cache_data`` or
    ``@stgo.cache_data(ttl=60, max_entries=100)``.

    Ten sessions asking for the same value at once compute it once.  With
    a shared store the value must be one its codec keeps (plain data):
    another raises :class:`~stgo.errors.CodecError` naming the type.

    :param ttl: seconds a value lives (``None``: until ``.clear()``).
    :param max_entries: values kept at most, oldest dropped first.
    :param clock: monotonic seconds for *ttl* in memory (tests).
    """
    def wrap(f: Callable[..., R]) -> CachedFunction[R]:
        return CachedFunction(f, shared=True, ttl=ttl, max_entries=max_entries, clock=clock)

    return wrap if fn is None else wrap(fn)


@overload
def cache_resource(fn: Callable[..., R], /) -> CachedFunction[R]: ...


@overload
def cache_resource(*, ttl: float | None = None, max_entries: int | None = None,
                   clock: Callable[[], float] = time.monotonic,
                   ) -> Callable[[Callable[..., R]], CachedFunction[R]]: ...


def cache_resource(fn: Callable[..., R] | None = None, /, *, ttl: float | None = None,
                   max_entries: int | None = None, clock: Callable[[], float] = time.monotonic,
                   ) -> CachedFunction[R] | Callable[[Callable[..., R]], CachedFunction[R]]:
    """Keep one value per arguments in this process (a database pool, a
    model), made once even if many ask at once; never serialized, never
    shared with other processes: ``@stgo.cache_resource``.

    :param ttl: seconds a value lives (``None``: until ``.clear()``).
    :param max_entries: values kept at most, oldest dropped first.
    :param clock: monotonic seconds for *ttl* (tests).
    """
    def wrap(f: Callable[..., R]) -> CachedFunction[R]:
        return CachedFunction(f, shared=False, ttl=ttl, max_entries=max_entries, clock=clock)

    return wrap if fn is None else wrap(fn)
