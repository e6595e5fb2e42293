"""``@stgo.cache_data`` values shared by every process of an app, in Redis.

Keys, under the store's prefix ``P``::

    P c:<function>:<args digest>      the value, through the store's codec (PX = ttl)
    P c:<function>:<args digest>:lk   who computes it now (a token, with a lease)
    P ci:<function>                   every value's key, scored by when it was stored
                                      (for max_entries and clear())

Single flight across processes: the process that sets the lock key computes
and stores; the others poll for the value (with backoff) until it is there,
or until the lock is gone without one (its holder died or failed: one of
them then takes the lock).
"""

from __future__ import annotations

import time

from ..codec import Codec
from .layout import Layout
from .link import Link

__all__ = ["RedisCache"]

# Deletes the lock only if it is still ours (a lease that ran out may be another's).
_UNLOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

# Stores the value (PX ttl, 0: none), notes it in the index, forgets index
# members older than the ttl, and drops the oldest past max_entries (0: none).
_SAVE = """
local now = tonumber(ARGV[2])
local ttl = tonumber(ARGV[3])
local most = tonumber(ARGV[4])
if ttl > 0 then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - ttl)
else
  redis.call('SET', KEYS[1], ARGV[1])
end
redis.call('ZADD', KEYS[2], now, KEYS[1])
if most > 0 then
  local over = redis.call('ZCARD', KEYS[2]) - most
  if over > 0 then
    local old = redis.call('ZRANGE', KEYS[2], 0, over - 1)
    redis.call('ZREMRANGEBYRANK', KEYS[2], 0, over - 1)
    for _, key in ipairs(old) do redis.call('DEL', key) end
  end
end
return 1
"""

_CLEAR = """
local keys = redis.call('ZRANGE', KEYS[1], 0, -1)
for _, key in ipairs(keys) do redis.call('DEL', key) end
redis.call('DEL', KEYS[1])
return #keys
"""


class RedisCache:
    """The cached values of one Redis store (see the module).

    :param link: the store's connection.
    :param layout: the store's key names (its prefix).
    :param codec: the store's codec (values are encoded by the caller with it).
    """

    def __init__(self, link: Link, layout: Layout, codec: Codec) -> None:
        self._link = link
        self._layout = layout
        #: Encodes and decodes the values (the store's, pickle key included).
        self.codec = codec

    @property
    def open(self) -> bool:
        """Whether the store may be used (not closed by its App's stop)."""
        return not self._link.closed

    def _key(self, name: str, digest: str) -> str:
        return f"{self._layout.prefix}c:{name}:{digest}"

    def _index(self, name: str) -> str:
        return f"{self._layout.prefix}ci:{name}"

    def load(self, name: str, digest: str) -> str | None:
        """The stored text of the value, or ``None``."""
        raw = self._link.call(lambda r: r.get(self._key(name, digest)))
        return None if raw is None else raw.decode() if isinstance(raw, bytes) else str(raw)

    def try_lock(self, name: str, digest: str, token: str, lease: float) -> bool:
        """Become the process that computes the value (for *lease* seconds)."""
        key = self._key(name, digest) + ":lk"
        return bool(self._link.call(
            lambda r: r.set(key, token, nx=True, px=max(1, int(lease * 1000)))))

    def locked(self, name: str, digest: str) -> bool:
        """Whether some process computes the value now."""
        key = self._key(name, digest) + ":lk"
        return bool(self._link.call(lambda r: r.exists(key)))

    def unlock(self, name: str, digest: str, token: str) -> None:
        """Give the lock up, if it is still *token*'s."""
        key = self._key(name, digest) + ":lk"
        self._link.call(lambda r: r.eval(_UNLOCK, 1, key, token))

    def save(self, name: str, digest: str, text: str, ttl: float | None,
             max_entries: int | None) -> None:
        """Store *text* for *ttl* seconds (``None``: until cleared)."""
        ttl_ms = 0 if ttl is None else max(1, int(ttl * 1000))
        now_ms = int(time.time() * 1000)
        keys = [self._key(name, digest), self._index(name)]
        self._link.call(lambda r: r.eval(_SAVE, 2, *keys, text, now_ms, ttl_ms,
                                         max_entries or 0))

    def clear(self, name: str) -> int:
        """Drop every stored value of *name*; return how many."""
        return int(self._link.call(lambda r: r.eval(_CLEAR, 1, self._index(name))))

    def drop(self, name: str, digest: str) -> None:
        """Drop one value (it could not be decoded)."""
        key = self._key(name, digest)
        self._link.call(lambda r: r.delete(key))

    def count(self, name: str) -> int:
        """How many values of *name* the index lists (tests, stats)."""
        return int(self._link.call(lambda r: r.zcard(self._index(name))))
