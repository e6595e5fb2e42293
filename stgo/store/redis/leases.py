"""App timers' leases in Redis: one process of the cluster runs each tick.

Layout (``P`` is the key prefix)::

    P tm:<name>  hash  holder (a process's name), fence (a counter, never
                       reset), until (ms, Redis's clock), slot (the last tick run)

An app timer's tick is one script (:data:`TICK`), atomic in Redis, asked by
every process at every interval.  It takes the lease if it is free or lapsed
(``fence`` counts one more holder), lengthens it if the caller holds it
(compare-and-extend), and refuses it otherwise; a holder whose lease lapsed
and was taken is refused too (its fencing token is stale).  It also claims
the tick's *slot*: the number of the interval, on Redis's clock, the tick
falls in.  A slot is run once at most, whoever asks, so no interval of the
cluster's time ticks twice even while a lease changes hands.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from .layout import Layout
from .link import Link

__all__ = ["Grant", "TimerLeases", "TICK"]

# KEYS: the lease; ARGV: holder, lease ms, interval ms.
# Returns {ok (1: run it, 0: held by another, -1: this slot ran), fence, slot,
# ms until the next slot begins}.  TIME makes the script non-deterministic:
# Redis 5+ replicates its effects (Redis 7 always does), not the script.
TICK = """
if redis.replicate_commands then pcall(redis.replicate_commands) end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease, every = tonumber(ARGV[2]), tonumber(ARGV[3])
local slot = math.floor(now / every)
local wait = (slot + 1) * every - now
local h = redis.call('HMGET', KEYS[1], 'holder', 'fence', 'until', 'slot')
local holder, fence = h[1], tonumber(h[2] or '0')
local till, last = tonumber(h[3] or '0'), tonumber(h[4] or '-1')
if holder ~= ARGV[1] or till <= now then
  if holder and holder ~= ARGV[1] and till > now then return {0, fence, slot, wait} end
  -- free, lapsed, or ours but lapsed (another may have run meanwhile): a new fence
  fence = redis.call('HINCRBY', KEYS[1], 'fence', 1)
end
redis.call('HSET', KEYS[1], 'holder', ARGV[1], 'until', now + lease)
if slot <= last then return {-1, fence, slot, wait} end
redis.call('HSET', KEYS[1], 'slot', slot)
return {1, fence, slot, wait}
"""


class Grant(NamedTuple):
    """What the store answered to a tick.

    :param run: whether this process runs this tick.
    :param fence: the lease's fencing token (grows with every new holder).
    :param slot: the tick's interval number on the store's clock.
    :param wait: seconds until the next interval begins (store's clock).
    """

    run: bool
    fence: int
    slot: int
    wait: float


class TimerLeases:
    """The app timers' leases of one Redis store.

    :param link: the store's server.
    :param layout: its key names.
    """

    def __init__(self, link: Link, layout: Layout) -> None:
        self._link = link
        self._layout = layout
        self._client: Any = None
        self._script: Any = None

    def key(self, name: str) -> str:
        """The lease of the timer *name*."""
        return f"{self._layout.prefix}tm:{name}"

    def tick(self, name: str, holder: str, *, interval: float, lease: float) -> Grant:
        """Ask to run the tick of timer *name* that falls now, as *holder*.

        :param interval: the timer's seconds between ticks.
        :param lease: seconds the lease lasts past this tick.
        :raises StoreUnavailableError: Redis cannot be reached (no tick runs).
        """
        client = self._link.client()
        if self._client is not client:  # a new client after a fork or a reopen
            self._script, self._client = client.register_script(TICK), client
        script = self._script
        every_ms = max(1, round(interval * 1000))
        ok, fence, slot, wait = self._link.call(lambda _r: script(
            keys=[self.key(name)], args=[holder, max(1, round(lease * 1000)), every_ms],
            client=client))
        return Grant(int(ok) == 1, int(fence), int(slot), int(wait) / 1000.0)

    def release(self, name: str, holder: str) -> None:
        """Give the lease of *name* up if *holder* holds it (a clean stop):
        the next process takes it at its next tick, not a lease later."""
        key = self.key(name)
        self._link.call(lambda r: r.eval(
            "if redis.call('HGET', KEYS[1], 'holder') == ARGV[1] then "
            "redis.call('HSET', KEYS[1], 'until', 0) end", 1, key, holder))
