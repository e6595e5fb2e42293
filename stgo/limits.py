"""Limits that keep one client from hurting the others.

- :class:`TokenBucket`: a per-session event rate (steady rate plus a burst);
- :class:`AddressRateLimiter`: a token bucket per client address (new sessions);
- :class:`ConnectionLimiter`: WebSocket connections in total and per address;
- :class:`LogOnce`: warn about a suspicious client once per (address, reason),
  so an attacker cannot flood the log;
- :class:`UploadLimits`: what uploads may hold (files waiting, their bytes,
  bodies being received, how slowly).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from .errors import ConfigurationError

__all__ = ["TokenBucket", "AddressRateLimiter", "ConnectionLimiter", "LogOnce", "UploadLimits"]


class TokenBucket:
    """Allow *rate* events per second on average, bursts up to *burst*.

    :param rate: tokens added per second.
    :param burst: bucket size: how many events may come back to back.
    :param clock: monotonic seconds; injectable for tests.
    """

    __slots__ = ("rate", "burst", "_tokens", "_stamp", "_clock", "_lock", "refused")

    def __init__(self, rate: float, burst: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self._tokens = burst
        self._clock = clock
        self._stamp = clock()
        self._lock = threading.Lock()
        #: Events refused since the last allowed one (abuse detection).
        self.refused = 0

    def allow(self, cost: float = 1) -> bool:
        """Take *cost* tokens (one event; more for a costly one) if there are as many."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            if self._tokens >= cost:
                self._tokens -= cost
                self.refused = 0
                return True
            self.refused += 1
            return False


class AddressRateLimiter:
    """A :class:`TokenBucket` per client address: *rate* per second, bursts of *burst*.

    Remembers the *max_addresses* most recently seen addresses; a forgotten
    one starts again with a full bucket, so memory stays bounded whatever
    the number of addresses an attacker has (the cost: a lenient start for
    each of them).

    :param rate: tokens added per second to each address's bucket.
    :param burst: each bucket's size.
    :param max_addresses: buckets kept at most (least recently used dropped).
    :param clock: monotonic seconds; injectable for tests.
    """

    def __init__(self, rate: float, burst: float, *, max_addresses: int = 65_536,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self.max_addresses = max_addresses
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()

    def allow(self, address: str) -> bool:
        """Take one token from *address*'s bucket if it has one."""
        with self._lock:
            bucket = self._buckets.get(address)
            if bucket is None:
                bucket = TokenBucket(self.rate, self.burst, self._clock)
                self._buckets[address] = bucket
                if len(self._buckets) > self.max_addresses:
                    self._buckets.popitem(last=False)
            else:
                self._buckets.move_to_end(address)
        return bucket.allow()

    def __len__(self) -> int:
        with self._lock:
            return len(self._buckets)


class ConnectionLimiter:
    """Counts open WebSocket connections, in total and per client address.

    :param max_total: most connections at once; ``None`` for no limit.
    :param max_per_address: most from one address; ``None`` for no limit.
    """

    def __init__(self, max_total: int | None, max_per_address: int | None) -> None:
        self.max_total = max_total
        self.max_per_address = max_per_address
        self._lock = threading.Lock()
        self._total = 0
        self._by_address: dict[str, int] = {}

    def acquire(self, address: str) -> str | None:
        """Count one more connection from *address*; return a refusal reason instead
        when a cap is reached (nothing is counted then)."""
        with self._lock:
            if self.max_total is not None and self._total >= self.max_total:
                return "too many connections"
            held = self._by_address.get(address, 0)
            if self.max_per_address is not None and held >= self.max_per_address:
                return "too many connections from this address"
            self._total += 1
            self._by_address[address] = held + 1
            return None

    def release(self, address: str) -> None:
        """Forget one connection from *address*."""
        with self._lock:
            self._total = max(0, self._total - 1)
            left = self._by_address.get(address, 0) - 1
            if left > 0:
                self._by_address[address] = left
            else:
                self._by_address.pop(address, None)

    @property
    def total(self) -> int:
        """Open connections now."""
        with self._lock:
            return self._total


class LogOnce:
    """Log a warning once per (client, reason); remembers the last *size* pairs.

    :param rate: with *burst*, at most this many new warnings per second
        (bursts of *burst*): a warning past it is not logged, nor counted as
        said, so it may be said later (``None``: no rate limit).
    :param clock: monotonic seconds, for the rate; injectable for tests.
    """

    def __init__(self, logger: logging.Logger, size: int = 4096, *,
                 rate: float | None = None, burst: float = 10,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._log = logger
        self._size = size
        self._seen: OrderedDict[tuple[str, ...], None] = OrderedDict()
        self._lock = threading.Lock()
        self._bucket = TokenBucket(rate, burst, clock) if rate is not None else None

    def warn(self, client: str | None, reason: str, detail: str = "") -> bool:
        """Warn about *client* for *reason* unless already done; return whether logged."""
        return self.once((client or "?", reason), "suspicious client %s: %s%s",
                         client or "?", reason, f" ({detail})" if detail else "")

    def once(self, key: tuple[str, ...], message: str, *args: object) -> bool:
        """Log *message* % *args* unless done for *key* already (or over the
        rate); return whether logged."""
        with self._lock:
            if key in self._seen:
                self._seen.move_to_end(key)
                return False
            if self._bucket is not None and not self._bucket.allow():
                return False
            self._seen[key] = None
            if len(self._seen) > self._size:
                self._seen.popitem(last=False)
        self._log.warning(message, *args)
        return True


@dataclass(frozen=True)
class UploadLimits:
    """Caps on uploads (``App(upload_limits=)``), so that one client can fill
    neither the disk, nor a shared Redis, nor the server's threads.

    An upload is *staged* from the moment its body starts until the client's
    change event takes it (or it expires, or its session ends).

    :param max_staged: uploads one session may have staged at once (32).
    :param max_session_bytes: bytes one session may have staged (1 GiB);
        with a shared store counted in the store, for every process.
    :param max_process_bytes: bytes staged in this process (4 GiB): on its
        disk in memory mode; with a shared store, the bodies it is receiving
        (what waits is in Redis: give Redis a ``maxmemory``, see
        docs/scaling.md).
    :param max_bodies: upload bodies this process receives at once (32),
        each holding a thread; past it an upload gets a 503 at once.
    :param max_session_bodies: upload bodies of one session at once (4; the
        browser sends a choice's files one after the other); past it a 429.
    :param min_rate: bytes per second an upload body must average (8 KiB)
        after *grace* seconds, else it is cut off (408): a client that
        trickles cannot hold a thread for long.  Needs stgo's own server;
        ``None`` for no minimum.
    :param grace: seconds an upload body has before *min_rate* counts (30).
    """

    max_staged: int = 32
    max_session_bytes: int = 1 << 30
    max_process_bytes: int = 4 << 30
    max_bodies: int = 32
    max_session_bodies: int = 4
    min_rate: float | None = 8 * 1024.0
    grace: float = 30.0

    def __post_init__(self) -> None:
        for name in ("max_staged", "max_session_bytes", "max_process_bytes", "max_bodies",
                     "max_session_bodies"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigurationError(f"UploadLimits.{name} must be a positive integer, "
                                         f"got {value!r}")
        if self.min_rate is not None and not self.min_rate > 0:
            raise ConfigurationError("UploadLimits.min_rate must be > 0 bytes per second "
                                     "(or None)")
        if not self.grace >= 0:
            raise ConfigurationError("UploadLimits.grace must be >= 0 seconds")

    def body_seconds(self, length: int) -> float | None:
        """Seconds a body of *length* bytes may take (``None``: no limit)."""
        return None if self.min_rate is None else self.grace + length / self.min_rate
