"""Namespaces in Redis, read and written directly: outside a session's event.

A namespace is one hash: ``app.state`` (``app``), the global widgets'
changes (``globals``), a session's state (``s:<id>``).  A session's state
written here (from a background thread, or another session's event) goes
through one script that also keeps its record alive and moves its version,
and waits while another process keeps the session's event lock (see
:meth:`Namespaces.write`).  What an event writes to its own session is
buffered instead (:mod:`stgo.store.redis.txn`).
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from ...errors import CodecError
from ..base import MISSING
from ..codec import Codec
from .holds import WANT_MS, Holds, want_notice
from .layout import Layout
from .link import Link
from .scripts import num
from .txn import EVENT_LEASE

__all__ = ["Namespaces", "decode"]

log = logging.getLogger("stgo")

T = TypeVar("T")


def decode(codec: Codec, ns: str, key: str, raw: bytes | str) -> Any:
    """*raw* decoded, or :data:`~stgo.store.base.MISSING` (logged) if it cannot be."""
    try:
        return codec.decode(raw)
    except CodecError as exc:
        label = "a session" if ns.startswith("s:") else repr(ns)
        log.warning("dropped key %r of %s: %s", key, label, exc)
        return MISSING


class Namespaces:
    """The state operations of :class:`~stgo.store.base.Store`, sent to Redis at once."""

    def __init__(self, link: Link, layout: Layout, codec: Codec, holds: Holds) -> None:
        self._link = link
        self._layout = layout
        self.codec = codec
        self._holds = holds

    def decode(self, ns: str, key: str, raw: bytes | str) -> Any:
        """*raw* of *key* in *ns* decoded, or MISSING (see :func:`decode`)."""
        return decode(self.codec, ns, key, raw)

    def get(self, ns: str, key: str, default: Any = None) -> Any:
        """The value under *key*, or *default*."""
        raw = self._link.call(lambda r: r.hget(self._layout.hash(ns), key))
        if raw is None:
            return default
        value = self.decode(ns, key, raw)
        return default if value is MISSING else value

    def items(self, ns: str) -> dict[str, Any]:
        """Every key and value of *ns* (those that decode)."""
        raw = self._link.call(lambda r: r.hgetall(self._layout.hash(ns)))
        out: dict[str, Any] = {}
        for k, v in raw.items():
            key = k.decode("utf-8", "replace")
            value = self.decode(ns, key, v)
            if value is not MISSING:
                out[key] = value
        return out

    def set(self, ns: str, key: str, text: str, now: float | None) -> None:
        """Store the codec *text* under *key*."""
        if ns.startswith("s:"):
            self.write(ns[2:], now, "set", key, text)
        else:
            self._link.call(lambda r: r.hset(self._layout.hash(ns), key, text))

    def delete(self, ns: str, key: str, now: float | None) -> bool:
        """Remove *key*; return whether it was there."""
        if ns.startswith("s:"):
            return bool(self.write(ns[2:], now, "del", key))
        return bool(self._link.call(lambda r: r.hdel(self._layout.hash(ns), key)))

    def clear(self, ns: str, now: float | None) -> None:
        """Remove every key of *ns*."""
        if ns.startswith("s:"):
            self.write(ns[2:], now, "clear", "")
        else:
            self._link.call(lambda r: r.delete(self._layout.hash(ns)))

    def increment(self, ns: str, key: str, amount: float,
                  now: float | None = None) -> Any:
        """Add *amount* in Redis (``HINCRBY``/``HINCRBYFLOAT``, else compare
        and set); return the new value."""
        import redis

        op = "incr" if type(amount) is int else "incrf"
        hkey = self._layout.hash(ns)
        try:
            if ns.startswith("s:"):
                result = self.write(ns[2:], now, op, key, amount)
                if result is None:
                    return amount  # the session is gone: nothing stored
            elif op == "incr":
                result = self._link.call(lambda r: r.hincrby(hkey, key, amount))
            else:
                result = self._link.call(lambda r: r.hincrbyfloat(hkey, key, amount))
        except redis.exceptions.ResponseError:
            # Not an integer (a float, a Decimal...): compare and set instead.
            return self.update(ns, key, lambda old: old + amount, 0, now)
        if op == "incr":
            return int(result)
        value = float(result)
        return int(value) if value.is_integer() and type(amount) is int else value

    def update(self, ns: str, key: str, fn: Callable[[Any], T], default: Any = None,
               now: float | None = None) -> T:
        """Replace the value with ``fn(old)``, compared and set (*fn* may run again)."""
        hkey = self._layout.hash(ns)
        while True:
            raw = self._link.call(lambda r: r.hget(hkey, key))
            old = default if raw is None else self.decode(ns, key, raw)
            if old is MISSING:
                old = default
            new = fn(old)  # user code, outside any lock or transaction
            text = self.codec.encode(new, key)
            expect = "" if raw is None else raw.decode("utf-8")
            if ns.startswith("s:"):
                done = self.write(ns[2:], now, "cas", key, text, expect)
                if done is None:
                    return new  # the session is gone
            else:
                done = self._link.call(functools.partial(_cas, hkey=hkey, key=key,
                                                         text=text, raw=raw))
            if done:
                return new

    def write(self, sid: str, now: float | None, op: str, key: str,
              value: Any = "", expect: str = "") -> Any:
        """One state write outside an event.  While another process keeps the
        session's event lock between its events (its next one would not look
        at the state), it is asked to let go and the write waits for that:
        at once when it is idle, at the end of its event otherwise, at most
        :data:`~stgo.store.redis.txn.EVENT_LEASE` seconds (then it writes anyway)."""
        self._holds.spoil(sid)
        layout = self._layout
        stamp = time.time() if now is None else now
        keys = [layout.meta(sid), layout.data(sid), layout.index("idle"),
                layout.index("pend"), layout.ups(sid), layout.lock(sid), layout.wanted(sid)]
        args = [sid, num(stamp), op, key, value, expect, *layout.ttl, layout.origin, WANT_MS,
                f"{layout.channel}:", want_notice(layout.origin, sid), "0"]
        deadline = time.monotonic() + EVENT_LEASE
        delay = 0.001
        while isinstance(out := self._link.script("write", keys, args), list):
            if time.monotonic() > deadline:
                args[-1] = "1"
            time.sleep(delay)  # no lock held: the holder lets go when told
            delay = min(delay * 2, 0.02)
        return out


def _cas(r: Any, hkey: str, key: str, text: str, raw: bytes | None) -> bool:
    """Set *key* of *hkey* to *text* if it is still *raw* (``WATCH``)."""
    import redis

    with r.pipeline() as pipe:
        try:
            pipe.watch(hkey)
            if pipe.hget(hkey, key) != raw:
                return False
            pipe.multi()
            pipe.hset(hkey, key, text)
            pipe.execute()
            return True
        except redis.exceptions.WatchError:
            return False
