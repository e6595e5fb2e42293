"""The Redis store: sessions and shared state that outlive the process.

Needs redis-py, the optional extra ``pip install 'stgo[redis]'``; it is
imported here only, when a ``redis://`` store is opened.

Layout (``P`` is the key prefix, ``stgo:`` by default)::

    P m:<id>    hash   c (created), a (last access), p ("1" while pending)
    P d:<id>    hash   the session's state, key -> codec text
    P idle      zset   id -> last access      (idle expiry)
    P born      zset   id -> created          (max_age, the session count)
    P pend      zset   id -> last access      (sessions never activated)
    P ns:<name> hash   app.state ("app") and global widget changes ("globals")
    P gver      hash   global widget key -> version (one INCR per saved change)
    P lk:<id>   string the session's event lock (holder's token; "+" at the end: kept), a lease
    P lw:<id>   string the process that waits for that lock (its origin), 250 ms
    P rot:<h>   string a rotation token's new session ID (h: the token's hash), 60 s TTL
    P relay     channel what changed, for the other processes (stgo.relay)

Every change that two processes could race on is one Lua script (atomic in
Redis): create under a limit, write to a session that must still exist,
claim a session's end, rename on rotation.  Connections come from a sized
:class:`redis.BlockingConnectionPool` with socket timeouts and health checks,
so a paused or restarted Redis makes calls fail fast with
:class:`~stgo.errors.StoreUnavailableError` instead of hanging, and the next
call after Redis is back simply works.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

from ..errors import CodecError, StagingFullError, StoreError, StoreUnavailableError
from ..ids import redact
from .base import MISSING, SessionRecord, Store
from .codec import Codec
from .files import UploadedFile
from .txn import EVENT_LEASE, KEEP_USABLE, EventTxn, StateCache

__all__ = ["RedisStore"]

log = logging.getLogger("stgo")

T = TypeVar("T")

# The safety net: a record's keys expire by themselves some margin after
# its idle timeout (or max age) would end it, so that Redis frees them even
# if no process ever runs again.  Processes end sessions long before (the
# claim, with end hooks); this only catches what nobody is left to claim.
# keep(meta, data, uploads, created, now, idle s, max-age s or ''): a TTL,
# not a time (the caller's clock may be a test's).
_KEEP = """
local function keep(meta, data, ups, c, now, idle, age)
  if idle == '' then return end
  local left = tonumber(idle)
  if age ~= '' then left = math.min(left, tonumber(c) + tonumber(age) - tonumber(now)) end
  local ms = math.max(1000, math.floor(left * 1000))
  redis.call('PEXPIRE', meta, ms)
  redis.call('PEXPIRE', data, ms)
  if redis.call('PEXPIRE', ups, ms) == 1 then  -- its uploads' bytes live as long
    for _, blob in ipairs(redis.call('SMEMBERS', ups)) do redis.call('PEXPIRE', blob, ms) end
  end
end
"""

# KEYS: meta, idle, born, pend, data, uploads; ARGV: id, now, limit, pending, idle ttl, age ttl
_CREATE = _KEEP + """
if redis.call('EXISTS', KEYS[1]) == 1 then return -1 end
local lim = tonumber(ARGV[3])
if lim >= 0 and redis.call('ZCARD', KEYS[3]) >= lim then return 0 end
redis.call('HSET', KEYS[1], 'c', ARGV[2], 'a', ARGV[2], 'p', ARGV[4])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
if ARGV[4] == '1' then redis.call('ZADD', KEYS[4], ARGV[2], ARGV[1]) end
keep(KEYS[1], KEYS[5], KEYS[6], ARGV[2], ARGV[2], ARGV[5], ARGV[6])
return 1
"""

# KEYS: meta, idle, pend, data, uploads; ARGV: id, now, activate ("1"/"0"), idle ttl, age ttl
_TOUCH = _KEEP + """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local a = tonumber(redis.call('HGET', KEYS[1], 'a'))
local pending = redis.call('HGET', KEYS[1], 'p') == '1'
if tonumber(ARGV[2]) > a then
  redis.call('HSET', KEYS[1], 'a', ARGV[2])
  redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
  if pending then redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1]) end
  keep(KEYS[1], KEYS[4], KEYS[5], redis.call('HGET', KEYS[1], 'c'), ARGV[2], ARGV[4], ARGV[5])
end
if ARGV[3] == '1' and pending then
  redis.call('HSET', KEYS[1], 'p', '0')
  redis.call('ZREM', KEYS[3], ARGV[1])
end
return 1
"""

# other(): another process's hold of a lock, its token and origin, or nil
# (free, or the caller's own process's).  A lock kept between events by a
# process that no longer listens on its channel (killed, or its relay's link
# is down) is void: deleted, so that the session need not wait for it to
# lapse (that holder's next commit on it is refused).  want(): mark the lock
# wanted by the caller and tell its holder on its channel (chan: the
# channels' common head).
_WANT = """
local function other(lock, me, chan)
  local h = redis.call('GET', lock)
  if not h then return nil end
  local o = string.match(h, '^[^.+]*')
  if o == me then return nil end
  if string.sub(h, -1) == '+' and redis.call('PUBSUB', 'NUMSUB', chan .. o)[2] == 0 then
    redis.call('DEL', lock)
    return nil
  end
  return h, o
end
local function want(lock, wanted, me, ms, chan, notice, o)
  redis.call('SET', wanted, me, 'PX', ms)
  redis.call('PUBLISH', chan .. o, notice)
end
"""

# KEYS: meta, data, idle, pend, uploads, lock, wanted; ARGV: id, now, op, field, value,
# expected, idle ttl, age ttl, origin, want ms, holder channel, notice, force.  A write to
# a session that another process ended meanwhile does nothing (returns false)
# instead of leaving an orphan state hash behind.  Every write moves the
# record's version ('v'), so cached copies know they are stale.  While another
# process keeps the session's event lock (its next event would not look), the
# write waits: {0} asks the holder to let go (unless forced).
_WRITE = _KEEP + _WANT + """
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
if ARGV[13] ~= '1' then
  local h, o = other(KEYS[6], ARGV[9], ARGV[11])
  if h and string.sub(h, -1) == '+' then
    want(KEYS[6], KEYS[7], ARGV[9], ARGV[10], ARGV[11], ARGV[12], o)
    return {0}
  end
end
if redis.call('GET', KEYS[7]) == ARGV[9] then redis.call('DEL', KEYS[7]) end
local a = tonumber(redis.call('HGET', KEYS[1], 'a'))
if tonumber(ARGV[2]) > a then
  redis.call('HSET', KEYS[1], 'a', ARGV[2])
  redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
  if redis.call('HGET', KEYS[1], 'p') == '1' then redis.call('ZADD', KEYS[4], ARGV[2], ARGV[1]) end
end
local op = ARGV[3]
local out
if op == 'set' then redis.call('HSET', KEYS[2], ARGV[4], ARGV[5]) out = 1
elseif op == 'del' then out = redis.call('HDEL', KEYS[2], ARGV[4])
elseif op == 'clear' then redis.call('DEL', KEYS[2]) out = 1
elseif op == 'incr' then out = redis.call('HINCRBY', KEYS[2], ARGV[4], ARGV[5])
elseif op == 'incrf' then out = redis.call('HINCRBYFLOAT', KEYS[2], ARGV[4], ARGV[5])
elseif op == 'cas' then
  local old = redis.call('HGET', KEYS[2], ARGV[4])
  if (old or '') ~= ARGV[6] then return 0 end
  redis.call('HSET', KEYS[2], ARGV[4], ARGV[5])
  out = 1
else return redis.error_reply('unknown op') end
redis.call('HINCRBY', KEYS[1], 'v', 1)
keep(KEYS[1], KEYS[2], KEYS[5], redis.call('HGET', KEYS[1], 'c'), ARGV[2], ARGV[7], ARGV[8])
return out
"""

# An event's writes, applied at once.  KEYS: meta, data, idle, pend, lock,
# channel, the caller's own channel (see RedisStore.presence), uploads, the
# lock's wanted mark.  ARGV: id, now, lock token, commit id, the version the
# writes were made against, a relay notice ('' none), the lock: '' as it is,
# '0' let go, else keep it that many ms (unless wanted), idle ttl, age ttl,
# '1' if the event began on a kept lock (then nothing is written unless the
# lock is still the caller's: -4), then the writes as words: set f v | del f
# | clear | incr f n.  Answers
# {out, kept}: out is the new version when nobody else wrote since that
# version (the caller's copy is then current), -1 when somebody did, 0 with
# no writes and nobody else's, -2 when the record is gone, -3 when this
# commit id was applied already (a retry after a lost answer); kept is 1 when
# the lock is kept (its token then ends with "+").
_COMMIT = _KEEP + """
local lock = (ARGV[7] ~= '' or ARGV[10] == '1') and redis.call('MGET', KEYS[5], KEYS[9]) or {}
if ARGV[10] == '1' and lock[1] ~= ARGV[3] then return {-4, 0} end
local out = -2
local m = redis.call('HMGET', KEYS[1], 'c', 'a', 'p', 'v', 'k')
if m[1] then
  out = 0
  if #ARGV > 10 then
    if m[5] == ARGV[4] then
      out = -3
    else
      local i, n = 11, #ARGV
      local fresh = not m[4]  -- the state hash may be new (no TTL yet)
      while i <= n do
        local op = ARGV[i]
        if op == 'set' then redis.call('HSET', KEYS[2], ARGV[i + 1], ARGV[i + 2]) i = i + 3
        elseif op == 'del' then redis.call('HDEL', KEYS[2], ARGV[i + 1]) i = i + 2
        elseif op == 'clear' then redis.call('DEL', KEYS[2]) fresh = true i = i + 1
        elseif op == 'incr' then redis.pcall('HINCRBY', KEYS[2], ARGV[i + 1], ARGV[i + 2]) i = i + 3
        else return redis.error_reply('unknown op') end
      end
      local v = tonumber(m[4] or '0') + 1
      if tonumber(ARGV[2]) >= tonumber(m[2]) + 1 then
        -- The last access moves at most once a second from events (the
        -- store's times need a resolution well under any idle timeout).
        redis.call('HSET', KEYS[1], 'a', ARGV[2], 'v', v, 'k', ARGV[4])
        redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
        if m[3] == '1' then redis.call('ZADD', KEYS[4], ARGV[2], ARGV[1]) end
        keep(KEYS[1], KEYS[2], KEYS[8], m[1], ARGV[2], ARGV[8], ARGV[9])
      else
        redis.call('HSET', KEYS[1], 'v', v, 'k', ARGV[4])
        if fresh and redis.call('PTTL', KEYS[2]) == -1 then  -- the state hash is new
          keep(KEYS[1], KEYS[2], KEYS[8], m[1], ARGV[2], ARGV[8], ARGV[9])
        end
      end
      if tostring(v - 1) == ARGV[5] then out = v else out = -1 end
    end
  elseif (m[4] or '0') ~= ARGV[5] then
    out = -1
  end
end
local kept = 0
if ARGV[7] ~= '' and lock[1] == ARGV[3] then
  if ARGV[7] ~= '0' and out ~= -2 and not lock[2] then  -- nobody waits for it
    if string.sub(ARGV[3], -1) == '+' then redis.call('PEXPIRE', KEYS[5], ARGV[7])
    else redis.call('SET', KEYS[5], ARGV[3] .. '+', 'PX', ARGV[7]) end
    kept = 1
  else
    redis.call('DEL', KEYS[5])
  end
end
if ARGV[6] ~= '' then
  -- Only when another process listens (KEYS[7] is the caller's own channel).
  local counts = redis.call('PUBSUB', 'NUMSUB', KEYS[6], KEYS[7])
  if counts[2] - counts[4] > 0 then redis.call('PUBLISH', KEYS[6], ARGV[6]) end
end
return {out, kept}
"""

# An event's lock.  KEYS: lock, wanted, meta; ARGV: token, lease ms, origin,
# want ms, holder channel, notice.  Taken when free (unless another process
# waits for it: its turn first) or held by this process (its token is one of
# an earlier event here: the session's event queue orders those); then
# answers {version, created} of the record (each nil if none).  Held by
# another process: marked wanted, the holder told, and false.
_LOCK = _WANT + """
local h, o = other(KEYS[1], ARGV[3], ARGV[5])
if h then
  want(KEYS[1], KEYS[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], o)
  return false
end
local w = redis.call('GET', KEYS[2])
if w then
  if w ~= ARGV[3] then return false end
  redis.call('DEL', KEYS[2])
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return redis.call('HMGET', KEYS[3], 'v', 'c')
"""

# Let go of a kept lock.  KEYS: lock; ARGV: token.  And lengthen a running
# event's.  KEYS: lock; ARGV: token, lease ms.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
_EXTEND = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""

# KEYS: meta, data, idle, born, pend, uploads, staged uploads; ARGV: id,
# idle_before, created_before, pending_idle_before ('' for none).  Returns
# {c, a, p, state...} or false.  A record that cannot be judged (its times
# are not numbers, or its keys are of the wrong type: corrupt or forged) is
# ended like an expired one, with c and a as found: a script error here would
# stop every expiry pass at this record, on every process, for good (no
# process can load such a record anyway: see load_session).
_CLAIM = """
local kind = redis.call('TYPE', KEYS[1])['ok']
if kind == 'none' then
  -- Gone (another claim, or expired by the safety net): no index keeps it.
  redis.call('ZREM', KEYS[3], ARGV[1])
  redis.call('ZREM', KEYS[4], ARGV[1])
  redis.call('ZREM', KEYS[5], ARGV[1])
  return false
end
local c, a, p = false, false, false
if kind == 'hash' then
  c = redis.call('HGET', KEYS[1], 'c')
  a = redis.call('HGET', KEYS[1], 'a')
  p = redis.call('HGET', KEYS[1], 'p')
end
local function num(x)  -- a finite number, or nil
  local n = tonumber(x)
  if n and n == n and n > -math.huge and n < math.huge then return n end
  return nil
end
local cn, an = num(c), num(a)
local expired = (ARGV[2] == '' and ARGV[3] == '') or not cn or not an
if ARGV[2] ~= '' and an then
  local lim = tonumber(ARGV[2])
  if p == '1' and ARGV[4] ~= '' then lim = math.max(lim, tonumber(ARGV[4])) end
  if an < lim then expired = true end
end
if ARGV[3] ~= '' and cn and cn < tonumber(ARGV[3]) then expired = true end
if not expired then return false end
local d = redis.pcall('HGETALL', KEYS[2])
if type(d) ~= 'table' or d['err'] then d = {} end
local ups = redis.pcall('SMEMBERS', KEYS[6])
if type(ups) == 'table' and not ups['err'] then
  for _, blob in ipairs(ups) do redis.call('DEL', blob) end
end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[6], KEYS[7])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
redis.call('ZREM', KEYS[5], ARGV[1])
local out = {c or '', a or '', p or ''}
for i = 1, #d do out[#out + 1] = d[i] end
return out
"""

# KEYS: old meta, old data, new meta, new data, idle, born, pend, old uploads,
# old staged uploads, new uploads, new staged uploads; ARGV: old, new
_RENAME = """
if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('EXISTS', KEYS[3]) == 1 then return 0 end
redis.call('RENAME', KEYS[1], KEYS[3])
local function move(from, to)
  if redis.call('EXISTS', from) == 1 then redis.call('RENAME', from, to) end
end
move(KEYS[2], KEYS[4])
move(KEYS[8], KEYS[10])
move(KEYS[9], KEYS[11])
for i = 5, 7 do
  local s = redis.call('ZSCORE', KEYS[i], ARGV[1])
  if s then
    redis.call('ZREM', KEYS[i], ARGV[1])
    redis.call('ZADD', KEYS[i], s, ARGV[2])
  end
end
return 1
"""


# KEYS: globals, gver, channel; ARGV: key, codec text, message head, version.
# A write only lands when its version is newer than the stored one (versions
# are the changes' hybrid clock stamps, so the latest change wins whatever
# order the writes arrive in); the write, its version and the notice are one step.
_SAVE_GLOBAL = """
local old = redis.call('HGET', KEYS[2], ARGV[1])
if old and tonumber(old) >= tonumber(ARGV[4]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[4])
redis.call('PUBLISH', KEYS[3], ARGV[3] .. ' ' .. ARGV[4] .. ' ' .. ARGV[1])
return 1
"""


#: Idle connections the event path keeps (more are closed when given back).
_MAX_SPARE = 32


def _lost(exc: BaseException) -> None:
    log.error("an event's writes to the store may be lost (%s: %s)", type(exc).__name__, exc)


def _send(conn: Any, *words: str | int) -> None:
    """Send a command on *conn* without reading its answer: packed by hiredis
    when it is there (redis-py's packer wraps it in a per-word check that
    the hot path can skip), else by redis-py."""
    if _hiredis is None:
        conn.send_command(*words)
    else:
        conn.send_packed_command([_hiredis.pack_command(words)])


def _import_hiredis() -> Any:
    try:
        import hiredis
    except ImportError:  # the redis extra brings it; redis-py works without
        return None
    return hiredis


_hiredis = _import_hiredis()


def _num(x: float) -> str:
    return repr(float(x))


def _times(created: bytes, accessed: bytes) -> tuple[float, float] | None:
    """A record's created and last-access times, or ``None`` if either is no number."""
    try:
        times = float(created), float(accessed)
    except ValueError:
        return None
    return times if all(math.isfinite(t) for t in times) else None


#: Seconds after another process last asked for a session's event lock (or
#: this one waited for it) during which it is let go after each event, not
#: kept: a session clicked on two processes at once pays one round trip per
#: event, not a hand-over each time.
_CONTENDED_FOR = 5.0

#: Milliseconds a process's mark "I wait for this session's event lock"
#: lasts; it renews it at each try (every 20 ms at most).
_WANT_MS = 250


class _Hold:
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
        return (cache is self.cache and cache.version == self.version
                and time.monotonic() < self.until)


class RedisStore(Store):
    """Sessions and namespaces in Redis.

    :param url: ``redis://[:password@]host[:port][/db][?prefix=stgo:]``
        (``rediss://`` for TLS, ``unix://`` sockets as redis-py takes them).
    :param codec: encodes values (default: the safe codec, no pickle).
    :param timeout: seconds any one Redis call may take, connect included (2).
    :param max_connections: the pool's size (64); a caller waits at most
        *timeout* for a free connection.
    :param health_check_interval: seconds after which an idle pooled
        connection is checked with a PING before use (10).
    """

    persistent = True

    #: Seconds past a session's idle timeout (or max age) after which Redis
    #: drops its keys by itself if no process claimed its end (all stopped).
    ttl_margin = 3600.0

    def __init__(self, url: str, *, codec: Codec | None = None, timeout: float = 2.0,
                 max_connections: int = 64, health_check_interval: float = 10.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("redis", "rediss", "unix"):
            raise StoreError(f"not a Redis URL: {url!r} (want redis://host:port/db)")
        if parts.scheme != "unix" and not parts.hostname:
            raise StoreError(f"no host in the Redis URL {url!r} (want redis://host:port/db)")
        try:
            parts.port  # noqa: B018 - raises on a bad port
        except ValueError:
            raise StoreError(f"bad port in the Redis URL {url!r}") from None
        query = parse_qs(parts.query)
        self.prefix = query.pop("prefix", ["stgo:"])[0]
        self._url = parts._replace(query="&".join(
            f"{k}={v[0]}" for k, v in query.items())).geturl()
        self.codec = codec or Codec()
        self.codec.blobs = self  # decoded uploads read their bytes from here
        self.timeout = timeout
        self.max_connections = max_connections
        self.health_check_interval = health_check_interval
        self._redis: Any = None
        self._closed = False
        self._errors: tuple[type[BaseException], ...] = ()
        self._scripts: dict[str, Any] = {}
        # The open event of each session, by ID (its state operations on the
        # event's thread go there), and each thread's commits sent but not
        # yet answered (read by settle()).
        self._txns: dict[str, EventTxn] = {}
        # Ended events whose commit is made or sent, its answer not yet read
        # (a rename from another thread meanwhile must find them: settle).
        self._sent: dict[str, EventTxn] = {}
        self._local = threading.local()
        # Idle connections of the event path: taken and given back without
        # the pool's bookkeeping (the hot path's largest cost after the round
        # trip itself); at most one per thread in an event at a time.
        self._spare: list[Any] = []
        # The safety net's lifetimes as script words (see keep_for); none yet.
        self._ttl = ["", ""]
        # Event locks kept between events (end_event's keep), by session ID,
        # and when another process last wanted each session's (monotonic).
        self._holds: dict[str, _Hold] = {}
        self._contended: dict[str, float] = {}
        self._holds_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<RedisStore {_safe_url(self._url)}>"

    # -- connection ---------------------------------------------------------------------

    def open(self) -> None:
        self._closed = False
        if self._redis is not None:
            return
        try:
            import redis
            from redis.backoff import ExponentialBackoff
            from redis.retry import Retry
        except ImportError:
            raise StoreError(
                "the Redis store needs redis-py: pip install 'stgo[redis]'") from None
        try:
            pool = redis.BlockingConnectionPool.from_url(
                self._url, max_connections=self.max_connections, timeout=self.timeout,
                socket_timeout=self.timeout, socket_connect_timeout=self.timeout,
                health_check_interval=self.health_check_interval, protocol=2,
                retry=Retry(ExponentialBackoff(cap=0.2, base=0.02), 1),
            )
        except ValueError as exc:
            raise StoreError(f"bad Redis URL {_safe_url(self._url)}: {exc}") from None
        client = redis.Redis(connection_pool=pool)
        self._errors = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
        try:
            client.ping()
        except redis.exceptions.RedisError as exc:
            pool.disconnect()
            raise StoreError(
                f"cannot reach Redis at {_safe_url(self._url)}: {exc}") from None
        self._scripts = {
            name: client.register_script(src) for name, src in (
                ("create", _CREATE), ("touch", _TOUCH), ("write", _WRITE),
                ("claim", _CLAIM), ("rename", _RENAME), ("save_global", _SAVE_GLOBAL),
                ("commit", _COMMIT), ("lock", _LOCK), ("release", _RELEASE),
                ("extend", _EXTEND))
        }
        try:
            for script in self._scripts.values():
                client.script_load(script.script)  # the event path sends EVALSHA only
        except redis.exceptions.RedisError as exc:
            pool.disconnect()
            raise StoreError(f"Redis at {_safe_url(self._url)} refused a script: {exc}") from None
        self._redis = client

    def close(self) -> None:
        self._give_back_all()  # the other processes need not wait for them to lapse
        self._closed = True  # a late caller (a closing tab) must not reconnect
        client, self._redis = self._redis, None
        if client is not None:
            client.connection_pool.disconnect()
        spare, self._spare = self._spare, []
        for conn in spare:
            conn.disconnect()

    def after_fork(self) -> None:
        # The parent's client, pool and spare connections share its sockets
        # (unclosed here: their redis-py objects shut down no socket of
        # another process); its open events and kept event locks are its own.
        self._redis = None
        self._scripts = {}
        self._spare = []
        self._txns = {}
        self._sent = {}
        self._local = threading.local()
        self._holds = {}
        self._contended = {}
        self._holds_lock = threading.Lock()

    def keep_for(self, idle: float, max_age: float | None) -> None:
        margin = self.ttl_margin
        self._ttl = [_num(idle + margin), "" if max_age is None else _num(max_age + margin)]

    def healthy(self) -> bool:
        try:
            return bool(self._call(lambda r: r.ping()))
        except StoreError:
            return False

    def is_connection_error(self, exc: BaseException) -> bool:
        """Whether *exc* is Redis being unreachable (not a bug)."""
        return isinstance(exc, (StoreUnavailableError, *self._errors))

    def _r(self) -> Any:
        if self._redis is None:
            if self._closed:
                raise StoreUnavailableError("the store is closed")
            try:
                self.open()
            except StoreError as exc:
                raise StoreUnavailableError(str(exc)) from None
        return self._redis

    def _call(self, fn: Callable[[Any], T]) -> T:
        """Run *fn(client)*, turning connection trouble into StoreUnavailableError."""
        client = self._r()
        try:
            return fn(client)
        except self._errors as exc:
            raise StoreUnavailableError(f"Redis is unavailable: {exc}") from None

    def _script(self, name: str, keys: list[str], args: list[Any]) -> Any:
        script = self._scripts.get(name) if self._scripts else None
        if script is None:
            self._r()
            script = self._scripts[name]
        return self._call(lambda _c: script(keys=keys, args=args))

    # -- keys ---------------------------------------------------------------------------

    def _meta(self, sid: str) -> str:
        return f"{self.prefix}m:{sid}"

    def _data(self, sid: str) -> str:
        return f"{self.prefix}d:{sid}"

    def _ups(self, sid: str) -> str:
        return f"{self.prefix}ups:{sid}"

    def _lock(self, sid: str) -> str:
        return f"{self.prefix}lk:{sid}"

    def _wanted(self, sid: str) -> str:
        return f"{self.prefix}lw:{sid}"

    def _staged(self, sid: str) -> str:
        return f"{self.prefix}upst:{sid}"

    def _blob(self, ref: str) -> str:
        return f"{self.prefix}up:{ref}"

    def _z(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def _hash(self, ns: str) -> str:
        if ns.startswith("s:"):
            return self._data(ns[2:])
        return f"{self.prefix}ns:{ns}"

    # -- values ---------------------------------------------------------------------------

    def _decode(self, ns: str, key: str, raw: bytes | str) -> Any:
        try:
            return self.codec.decode(raw)
        except CodecError as exc:
            label = "a session" if ns.startswith("s:") else repr(ns)
            log.warning("dropped key %r of %s: %s", key, label, exc)
            return MISSING

    def _txn(self, ns: str, *, writing: bool = True) -> EventTxn | None:
        """The open event of *ns*'s session on this thread, if any; else, for a
        write elsewhere (``app.state``, another session) from inside an event,
        the event's buffered writes go first, so that writes reach Redis in
        the order the callback made them (a kill between two keeps the first)."""
        if ns.startswith("s:"):
            txn = self._txns.get(ns[2:])
            if txn is not None and txn.thread == threading.get_ident():
                return txn
        current: EventTxn | None = getattr(self._local, "txn", None)
        if writing and current is not None and current.ops:
            current.flush()
        return None

    def get(self, ns: str, key: str, default: Any = None) -> Any:
        txn = self._txn(ns, writing=False)
        if txn is not None:
            return txn.get(key, default)
        raw = self._call(lambda r: r.hget(self._hash(ns), key))
        if raw is None:
            return default
        value = self._decode(ns, key, raw)
        return default if value is MISSING else value

    def items(self, ns: str) -> dict[str, Any]:
        txn = self._txn(ns, writing=False)
        if txn is not None:
            return txn.items()
        raw = self._call(lambda r: r.hgetall(self._hash(ns)))
        out: dict[str, Any] = {}
        for k, v in raw.items():
            key = k.decode("utf-8", "replace")
            value = self._decode(ns, key, v)
            if value is not MISSING:
                out[key] = value
        return out

    def set(self, ns: str, key: str, value: Any, *, now: float | None = None) -> None:
        text = self.codec.encode(value, key)  # raises before anything changes
        txn = self._txn(ns)
        if txn is not None:
            txn.set(key, text)
        elif ns.startswith("s:"):
            self._write(ns[2:], now, "set", key, text)
        else:
            self._call(lambda r: r.hset(self._hash(ns), key, text))

    def delete(self, ns: str, key: str, *, now: float | None = None) -> bool:
        txn = self._txn(ns)
        if txn is not None:
            return txn.delete(key)
        if ns.startswith("s:"):
            return bool(self._write(ns[2:], now, "del", key))
        return bool(self._call(lambda r: r.hdel(self._hash(ns), key)))

    def clear(self, ns: str, *, now: float | None = None) -> None:
        txn = self._txn(ns)
        if txn is not None:
            txn.clear()
        elif ns.startswith("s:"):
            self._write(ns[2:], now, "clear", "")
        else:
            self._call(lambda r: r.delete(self._hash(ns)))

    def increment(self, ns: str, key: str, amount: float = 1, *,
                  now: float | None = None) -> Any:
        txn = self._txn(ns)
        if txn is not None:
            return txn.increment(key, amount)
        return self._increment_now(ns, key, amount, now)

    def _increment_now(self, ns: str, key: str, amount: float,
                       now: float | None = None) -> Any:
        import redis

        op = "incr" if type(amount) is int else "incrf"
        try:
            if ns.startswith("s:"):
                result = self._write(ns[2:], now, op, key, amount)
                if result is None:
                    return amount  # the session is gone: nothing stored
            elif op == "incr":
                result = self._call(lambda r: r.hincrby(self._hash(ns), key, amount))
            else:
                result = self._call(lambda r: r.hincrbyfloat(self._hash(ns), key, amount))
        except redis.exceptions.ResponseError:
            # Not an integer (a float, a Decimal...): compare and set instead.
            return self._update_now(ns, key, lambda old: old + amount, 0, now)
        if op == "incr":
            return int(result)
        value = float(result)
        return int(value) if value.is_integer() and type(amount) is int else value

    def update(self, ns: str, key: str, fn: Callable[[Any], T], default: Any = None,
               *, now: float | None = None) -> T:
        txn = self._txn(ns)
        if txn is not None:
            return txn.update(key, fn, default)
        return self._update_now(ns, key, fn, default, now)

    def _update_now(self, ns: str, key: str, fn: Callable[[Any], T], default: Any = None,
                    now: float | None = None) -> T:
        hkey = self._hash(ns)
        while True:
            raw = self._call(lambda r: r.hget(hkey, key))
            old = default if raw is None else self._decode(ns, key, raw)
            if old is MISSING:
                old = default
            new = fn(old)  # user code, outside any lock or transaction
            text = self.codec.encode(new, key)
            expect = "" if raw is None else raw.decode("utf-8")
            if ns.startswith("s:"):
                done = self._write(ns[2:], now, "cas", key, text, expect)
                if done is None:
                    return new  # the session is gone
            else:
                done = self._call(functools.partial(self._cas, hkey=hkey, key=key,
                                                    text=text, raw=raw))
            if done:
                return new

    @staticmethod
    def _cas(r: Any, hkey: str, key: str, text: str, raw: bytes | None) -> bool:
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

    def _write(self, sid: str, now: float | None, op: str, key: str,
               value: Any = "", expect: str = "") -> Any:
        """One state write outside an event.  While another process keeps the
        session's event lock between its events (its next one would not look
        at the state), it is asked to let go and the write waits for that:
        at once when it is idle, at the end of its event otherwise, at most
        :data:`~stgo.store.txn.EVENT_LEASE` seconds (then it writes anyway)."""
        self._drop_hold(sid)
        stamp = time.time() if now is None else now
        keys = [self._meta(sid), self._data(sid), self._z("idle"), self._z("pend"),
                self._ups(sid), self._lock(sid), self._wanted(sid)]
        args = [sid, _num(stamp), op, key, value, expect, *self._ttl, self.origin, _WANT_MS,
                f"{self.channel}:", self._want_notice(self.origin, sid), "0"]
        deadline = time.monotonic() + EVENT_LEASE
        delay = 0.001
        while isinstance(out := self._script("write", keys, args), list):
            if time.monotonic() > deadline:
                args[-1] = "1"
            time.sleep(delay)  # no lock held: the holder lets go when told
            delay = min(delay * 2, 0.02)
        return out

    # -- session records --------------------------------------------------------------------

    def create_session(self, session_id: str, now: float, *, limit: int | None = None,
                       pending: bool = False) -> bool:
        done = self._script(
            "create", [self._meta(session_id), self._z("idle"), self._z("born"),
                       self._z("pend"), self._data(session_id), self._ups(session_id)],
            [session_id, _num(now), -1 if limit is None else limit, "1" if pending else "0",
             *self._ttl])
        if done == -1:
            raise StoreError("session ID already in the store")
        return bool(done == 1)

    def load_session(self, session_id: str) -> SessionRecord | None:
        import redis

        try:
            meta = self._call(lambda r: r.hgetall(self._meta(session_id)))
        except redis.exceptions.ResponseError:  # not a hash: corrupt, like bad times below
            log.warning("a session record of the wrong type in the store: ignored")
            return None
        if not meta:
            return None
        try:
            return SessionRecord(float(meta[b"c"]), float(meta[b"a"]), meta.get(b"p") != b"1")
        except (KeyError, ValueError):
            log.warning("a session record with bad times in the store: ignored")
            return None

    def touch_session(self, session_id: str, now: float, *, activate: bool = False) -> None:
        self._script("touch", [self._meta(session_id), self._z("idle"), self._z("pend"),
                               self._data(session_id), self._ups(session_id)],
                     [session_id, _num(now), "1" if activate else "0", *self._ttl])

    def claim_end(self, session_id: str, *, idle_before: float | None = None,
                  created_before: float | None = None,
                  pending_idle_before: float | None = None) -> SessionRecord | None:
        self._drop_hold(session_id)
        out = self._script(
            "claim", [self._meta(session_id), self._data(session_id), self._z("idle"),
                      self._z("born"), self._z("pend"), self._ups(session_id),
                      self._staged(session_id)],
            [session_id, "" if idle_before is None else _num(idle_before),
             "" if created_before is None else _num(created_before),
             "" if pending_idle_before is None else _num(pending_idle_before)])
        if not out:
            return None
        c, a, p, *flat = out
        ns = f"s:{session_id}"
        state: dict[str, Any] = {}
        for k, v in zip(flat[::2], flat[1::2], strict=True):
            key = k.decode("utf-8", "replace")
            value = self._decode(ns, key, v)
            if value is not MISSING:
                state[key] = value
        times = _times(c, a)
        if times is None:
            log.warning("ended session %s: its record in the store had bad times (corrupt?)",
                        redact(session_id))
            times = (0.0, 0.0)
        return SessionRecord(times[0], times[1], p != b"1", state)

    def rename_session(self, old_id: str, new_id: str) -> bool:
        self._drop_hold(old_id)
        txn = self._txn(f"s:{old_id}")
        if txn is not None:
            txn.flush()  # the event's writes so far go under the old ID first
        else:
            # An event of the session on another thread (a rotation from a
            # background thread), running or with its commit on its way: its
            # buffer is that thread's to send; renamed below, its commit goes
            # to the new ID (or again, after it: see _settle_one).
            txn = self._txns.get(old_id) or self._sent.get(old_id)
        done = bool(self._script(
            "rename", [self._meta(old_id), self._data(old_id), self._meta(new_id),
                       self._data(new_id), self._z("idle"), self._z("born"), self._z("pend"),
                       self._ups(old_id), self._staged(old_id), self._ups(new_id),
                       self._staged(new_id)],
            [old_id, new_id]))
        if done and txn is not None:
            for table in (self._txns, self._sent):
                if table.get(old_id) is txn:
                    del table[old_id]
                    table[new_id] = txn
            txn.rekeyed(new_id)
        return done

    def expired_sessions(self, *, idle_before: float, pending_idle_before: float,
                         created_before: float | None, limit: int = 1000) -> list[str]:
        def find(r: Any) -> list[str]:
            pipe = r.pipeline(transaction=False)
            pipe.zrangebyscore(self._z("idle"), "-inf", f"({_num(idle_before)}",
                               start=0, num=limit)
            pipe.zrangebyscore(self._z("pend"), "-inf", f"({_num(pending_idle_before)}",
                               start=0, num=limit)
            if created_before is not None:
                pipe.zrangebyscore(self._z("born"), "-inf", f"({_num(created_before)}",
                                   start=0, num=limit)
            found: dict[str, None] = {}
            for batch in pipe.execute():
                for raw in batch:
                    found[raw.decode("ascii", "replace")] = None
            return list(found)

        return self._call(find)

    def oldest_pending(self) -> str | None:
        first = self._call(lambda r: r.zrange(self._z("pend"), 0, 0))
        return first[0].decode("ascii", "replace") if first else None

    def session_count(self) -> int:
        return int(self._call(lambda r: r.zcard(self._z("born"))))

    def session_ids(self) -> list[str]:
        raw = self._call(lambda r: r.zrange(self._z("born"), 0, -1))
        return [x.decode("ascii", "replace") for x in raw]

    def sessions_exist(self, session_ids: list[str]) -> list[bool]:
        def check(r: Any) -> list[bool]:
            pipe = r.pipeline(transaction=False)
            for sid in session_ids:
                pipe.exists(self._meta(sid))
            return [bool(x) for x in pipe.execute()]

        return self._call(check) if session_ids else []

    # -- many processes (stgo.relay) ----------------------------------------------------------

    @property
    def channel(self) -> str:
        """The pub/sub channel the processes of this app tell each other on."""
        return f"{self.prefix}relay"

    #: A channel only this process's listener subscribes to, with
    #: :attr:`channel` and on the same link: how a commit tells whether
    #: anybody else listens, and where others ask for the event locks this
    #: process keeps (set by the relay: ``<channel>:<origin>``).
    presence = ""

    #: This process's name in event lock tokens (``<origin>.<n>``; set by the
    #: relay): a write outside events passes a lock of its own process.
    origin = ""

    def save_global(self, key: str, value: Any, version: int, head: str) -> bool:
        """Store a global widget's attributes under *version* and publish
        ``"<head> <version> <key>"``, atomically, unless the stored version is
        as new already; return whether it was stored."""
        text = self.codec.encode(value, key)
        return bool(self._script("save_global", [self._hash("globals"), self._z("gver"),
                                                 self.channel], [key, text, head, version]))

    def load_global(self, key: str) -> tuple[Any, int]:
        """A global widget's saved attributes and their version (``None, 0``: none)."""
        def read(r: Any) -> list[Any]:
            pipe = r.pipeline(transaction=True)
            pipe.hget(self._hash("globals"), key)
            pipe.hget(self._z("gver"), key)
            return list(pipe.execute())

        raw, version = self._call(read)
        value = None if raw is None else self._decode("globals", key, raw)
        return (None if value is MISSING else value), int(version or 0)

    def global_versions(self) -> dict[str, int]:
        """Every saved global widget's version, by key."""
        raw = self._call(lambda r: r.hgetall(self._z("gver")))
        return {k.decode("utf-8", "replace"): int(v) for k, v in raw.items()}

    def publish(self, message: str) -> int:
        """Send *message* on :attr:`channel`; return how many processes heard it."""
        return int(self._call(lambda r: r.publish(self.channel, message)))

    def pubsub(self) -> Any:
        """A new redis-py ``PubSub`` on this store's server (for the relay's thread)."""
        return self._r().pubsub(ignore_subscribe_messages=False)

    # -- events: one round trip to start, one write to end (stgo.store.txn) ------------

    def begin_event(self, session_id: str, token: str, lease: float,
                    cache: StateCache) -> EventTxn | None:
        """Take *session_id*'s event lock for *lease* seconds and bring *cache*
        up to date, in one round trip; ``None`` while another holder has it
        (it is then asked to let go).  A lock this process kept from the
        session's last event, with *cache* still current, is taken with no
        round trip at all (see :meth:`end_event`).

        Until :meth:`end_event`, the session's state operations on this thread
        read from *cache* and are buffered.
        """
        self.settle()  # a commit of this thread's last event still unanswered
        with self._holds_lock:
            hold = self._holds.pop(session_id, None)
        txn: EventTxn | None
        if hold is not None and hold.usable(cache):
            txn = EventTxn(self, session_id, hold.token, cache, kept=True, event_id=token)
        else:
            txn = self._take_lock(session_id, token, lease, cache)
            if txn is None:
                self._contend(session_id)
                return None
        self._txns[session_id] = txn
        self._local.txn = txn
        return txn

    def _take_lock(self, session_id: str, token: str, lease: float,
                   cache: StateCache) -> EventTxn | None:
        """The lock and the record's version in one script (and the state only
        when the version is not *cache*'s)."""
        origin = token.split(".", 1)[0]
        found = self._script("lock", [self._lock(session_id), self._wanted(session_id),
                                      self._meta(session_id)],
                             [token, max(1, int(lease * 1000)), origin, _WANT_MS,
                              f"{self.channel}:", self._want_notice(origin, session_id)])
        if not found:
            return None  # held by another, or another waits for it
        version, created = found
        if created is None:
            cache.invalidate()  # no record (ended elsewhere): the event writes nothing
        elif (version or b"0").decode("ascii") != cache.version:
            raw = self._call(lambda r: r.hgetall(self._data(session_id)))
            cache.version = (version or b"0").decode("ascii")
            cache.raw = {k.decode("utf-8", "replace"): v for k, v in raw.items()}
        return EventTxn(self, session_id, token, cache)

    def end_event(self, txn: EventTxn, notice: str, keep: float = 0.0) -> None:
        """Send *txn*'s writes, the unlock and *notice* (a relay line, or ``""``)
        as one script, without waiting for the answer: it is in Redis's
        socket before the caller acknowledges the event, and :meth:`settle`
        reads it afterwards.  *notice* is published only if a process other
        than this one listens on :attr:`channel` (one that subscribes later
        resyncs anyway), so a lone process does not wake itself per event.

        With *keep* (seconds), the lock is kept that long instead of let go,
        unless another process waits for it: the session's next event here
        within the first half of that (:data:`~stgo.store.txn.KEEP_USABLE`)
        needs no round trip, as long as the answer says nobody else wrote
        meanwhile.

        :raises StoreUnavailableError: it could not be sent (the writes are lost).
        """
        self._sent[txn.session_id] = txn
        if self._txns.get(txn.session_id) is txn:
            del self._txns[txn.session_id]
        self._local.txn = None
        renamed = txn.lock_id != txn.session_id  # the old ID's lock is of no more use
        if renamed or self._contended_lately(txn.session_id):
            keep = 0.0
        lock = "0" if keep <= 0 else str(max(1, int(keep * 1000)))
        keys, args = self._commit_words(txn, txn.ops, lock=lock, notice=notice)
        txn.ops = []
        for attempt in (1, 2):
            conn = self._checkout()
            txn.sent = time.monotonic()  # the kept lease starts later than this
            try:
                _send(conn, "EVALSHA", self._scripts["commit"].sha, len(keys), *keys, *args)
            except self._errors as exc:
                self._checkin(conn, broken=True)
                if attempt == 2:
                    txn.cache.invalidate()
                    self._unsent(txn)
                    raise StoreUnavailableError(f"Redis is unavailable: {exc}") from None
                continue
            self._pending().append((conn, txn, keys, args))
            return

    def settle(self) -> None:
        """Read the answers to this thread's commits (see :meth:`end_event`):
        keep each cached copy that is current, drop the others."""
        pending = self._pending()
        while pending:
            conn, txn, keys, args = pending.pop(0)
            try:
                self._settle_one(conn, txn, keys, args)
            finally:
                self._unsent(txn)

    def _unsent(self, txn: EventTxn) -> None:
        if self._sent.get(txn.session_id) is txn:
            del self._sent[txn.session_id]

    def _settle_one(self, conn: Any, txn: EventTxn, keys: list[str], args: list[Any]) -> None:
        try:
            out = self._read_commit(conn, keys, args)
        except Exception as exc:
            broken = not self._is_script_error(exc)
            self._checkin(conn, broken=broken)
            txn.cache.invalidate()
            if broken:
                # Resent once: the commit ID makes a repeat harmless.
                self._resend(txn, keys, args)
            else:
                _lost(exc)
            return
        self._checkin(conn)
        if int(out[0]) == -2 and txn.session_id != args[0]:
            # Renamed by another thread after the commit was made: the record
            # had moved and nothing was applied; the writes follow it.
            self._resend(txn, *self._commit_words(txn, list(args[10:]), lock="",
                                                  notice=args[5]))
            return
        self._committed(txn, out, float(args[6]) / 1000 if args[6] else 0.0)

    def _resend(self, txn: EventTxn, keys: list[str], args: list[Any]) -> None:
        try:
            self._commit_sync(txn, keys, args)
        except StoreError as exc:
            _lost(exc)

    def give_back(self, session_id: str) -> None:
        """Another process waits for *session_id*'s event lock: let go of it
        now if this process keeps it between events (the relay hears the
        request; an event running on it lets go at its end anyway)."""
        self._contend(session_id)
        with self._holds_lock:
            hold = self._holds.pop(session_id, None)
        if hold is not None:
            self._script("release", [self._lock(session_id)], [hold.token])

    def _give_back_all(self) -> None:
        with self._holds_lock:
            holds, self._holds = self._holds, {}
        if self._redis is None:
            return
        for session_id, hold in holds.items():
            try:
                self._script("release", [self._lock(session_id)], [hold.token])
            except StoreError:
                return  # Redis is away: they lapse by themselves

    def keep_leases(self, lease: float, after: float = 0.1) -> None:
        """Lengthen to *lease* seconds the lock of each event that started on a
        kept lock (a short lease) and has run for *after* seconds, and forget
        the kept locks that have lapsed (the relay's sender calls this a few
        times a second)."""
        now = time.monotonic()
        with self._holds_lock:
            lapsed = [sid for sid, hold in self._holds.items() if hold.lapses < now]
            for sid in lapsed:
                del self._holds[sid]
            calm = [sid for sid, when in self._contended.items()
                    if now - when > _CONTENDED_FOR]
            for sid in calm:
                del self._contended[sid]
        for txn in tuple(self._txns.values()):
            if txn.lengthen and now - txn.begun >= after:
                txn.lengthen = False  # once: then it has as long as a lock taken afresh
                self._script("extend", [self._lock(txn.lock_id)],
                             [txn.token, max(1, int(lease * 1000))])

    def forget_holds(self) -> None:
        """Start no event on a kept lock until the next one is kept: the relay's
        link is down, so others may take them over (it calls this)."""
        with self._holds_lock:
            self._holds.clear()

    def _contend(self, session_id: str) -> None:
        """Another process wants *session_id*'s lock too (or had it when this
        one wanted it): let it go after each event here for a while."""
        with self._holds_lock:
            self._contended[session_id] = time.monotonic()

    def _contended_lately(self, session_id: str) -> bool:
        when = self._contended.get(session_id)
        return when is not None and time.monotonic() - when <= _CONTENDED_FOR

    def _drop_hold(self, session_id: str) -> None:
        """The session's state is written past its events here: a lock kept
        for it may no longer start an event without a look (it is still let
        go when asked)."""
        with self._holds_lock:
            hold = self._holds.get(session_id)
            if hold is not None:
                hold.until = 0.0

    def _want_notice(self, origin: str, session_id: str) -> str:
        """The relay's line asking a holder for *session_id*'s lock (see
        :mod:`stgo.relay`)."""
        return f"l {origin} {time.time():.6f} {session_id}"

    def _commit_now(self, txn: EventTxn, ops: list[str | int], *, notice: str) -> None:
        """Write *ops* of *txn* now, keeping the lock, and wait for Redis (a
        flush mid-event)."""
        keys, args = self._commit_words(txn, ops, lock="", notice=notice)
        self._commit_sync(txn, keys, args)

    def after_commit(self, session_id: str, fn: Callable[[], None]) -> None:
        """Run *fn* once what this thread's event of *session_id* wrote is in
        Redis (now, outside an event): what the old state still points to,
        such as a replaced upload's bytes, must outlive it.  Never run if the
        writes are lost or refused (the bytes then live as long as the session)."""
        txn = self._txn(f"s:{session_id}", writing=False)
        if txn is None:
            fn()
        else:
            txn.after.append(fn)

    def _commit_sync(self, txn: EventTxn, keys: list[str], args: list[Any]) -> None:
        try:
            self._committed(txn, self._script("commit", keys, args), 0.0)
        except StoreError:
            txn.cache.invalidate()
            raise

    def _commit_words(self, txn: EventTxn, ops: list[str | int], *, lock: str,
                      notice: str) -> tuple[list[str], list[Any]]:
        sid = txn.session_id
        txn.commits += 1
        keys = [self._meta(sid), self._data(sid), self._z("idle"), self._z("pend"),
                self._lock(txn.lock_id), self.channel, self.presence, self._ups(sid),
                self._wanted(txn.lock_id)]
        args: list[Any] = [sid, _num(time.time()), txn.token, f"{txn.event_id}:{txn.commits}",
                           txn.cache.version, notice, lock, *self._ttl,
                           "1" if txn.kept else "0", *ops]
        return keys, args

    def _committed(self, txn: EventTxn, answer: Any, keep: float) -> None:
        """Keep or drop *txn*'s copy by the commit's answer; with the lock
        kept, remember it for the session's next event (only if none began
        since this one)."""
        out, kept = int(answer[0]), int(answer[1])
        cache = txn.cache
        after, txn.after = txn.after, []
        if out == -4:
            log.warning("an event's writes were refused: the lock it kept was taken over "
                        "while its relay link was down")
        else:
            for fn in after:
                try:
                    fn()
                except Exception:
                    log.exception("a step after an event's commit failed")
        if out > 0:
            cache.version = str(out)  # nobody else wrote: the copy is current
        elif out < 0:
            cache.invalidate()
        if keep > 0 and not kept and out >= 0:
            self._contend(txn.session_id)  # not kept: another process waits for it
        if kept and out >= 0 and cache.version and keep > 0:
            token = txn.token if txn.token.endswith("+") else f"{txn.token}+"
            hold = _Hold(token, cache, txn.sent + keep * KEEP_USABLE, txn.sent + keep)
            with self._holds_lock:
                if cache.serial == txn.serial:
                    self._holds[txn.session_id] = hold

    def _read_commit(self, conn: Any, keys: list[str], args: list[Any]) -> Any:
        import redis

        try:
            return conn.read_response()
        except redis.exceptions.NoScriptError:
            # Redis lost its scripts (restarted): send the source this once.
            conn.send_command("EVAL", _COMMIT, len(keys), *keys, *args)
            return conn.read_response()

    @staticmethod
    def _is_script_error(exc: BaseException) -> bool:
        import redis

        return isinstance(exc, redis.exceptions.ResponseError)

    def _pending(self) -> list[tuple[Any, EventTxn, list[str], list[Any]]]:
        pending: list[tuple[Any, EventTxn, list[str], list[Any]]] | None = getattr(
            self._local, "pending", None)
        if pending is None:
            pending = self._local.pending = []
        return pending

    def _checkout(self) -> Any:
        """A connection for the event path: a spare one, or a new one."""
        try:
            return self._spare.pop()
        except IndexError:
            pool = self._r().connection_pool
            return pool.connection_class(**pool.connection_kwargs)

    def _checkin(self, conn: Any, *, broken: bool = False) -> None:
        if broken:
            # Redis went away or restarted: the spare ones are as dead.
            spare, self._spare = self._spare, []
            for other in (conn, *spare):
                other.disconnect()
        elif self._closed or len(self._spare) >= _MAX_SPARE:
            conn.disconnect()
        else:
            self._spare.append(conn)

    # -- uploads: bytes any process can read (stgo.store.files) -------------------------------

    def put_upload(self, session_id: str, token: str, entry: dict[str, Any], stream: Any,
                   length: int, ttl: float, chunk: int = 256 * 1024, *,
                   max_staged: int = 1 << 30, max_bytes: int = 1 << 62) -> int:
        """Store *length* bytes of *stream* as an upload of *session_id* waiting
        for its change event under *token* (for *ttl* seconds, whichever
        process gets the event); *entry* says what it is (its widget, name,
        size, type).  Return how many bytes came (fewer: cut short, nothing kept).

        The upload's place is taken before a byte is read, atomically for
        every process: at most *max_staged* uploads and *max_bytes* bytes per
        session, those being received included.  Whatever stops it (cut
        short, an exception, Redis gone) leaves no bytes and no place taken.

        :raises StagingFullError: the session is at a limit (nothing was read), or
            Redis is at its ``maxmemory`` (``"memory"``: nothing is kept).
        """
        import redis

        ref = secrets.token_urlsafe(24)
        blob, staged, ms = self._blob(ref), self._staged(session_id), max(1, int(ttl * 1000))
        pending = json.dumps({**entry, "ref": ref, "pending": 1})
        try:
            full = self._call(lambda r: r.register_script(_RESERVE_UPLOAD)(
                keys=[staged], args=[token, pending, max_staged, length, max_bytes, ms]))
        except redis.exceptions.OutOfMemoryError:
            raise _full() from None
        if int(full):
            raise StagingFullError("count" if int(full) == 1 else "bytes")
        got = 0
        done = False

        def write(r: Any) -> None:
            nonlocal got, done
            r.set(blob, b"", px=ms)
            while got < length:
                data = stream.read(min(chunk, length - got))
                if not data:
                    break
                r.append(blob, data)
                got += len(data)
            if got != length:
                return
            pipe = r.pipeline(transaction=True)
            pipe.pexpire(blob, ms)
            pipe.hset(staged, token, json.dumps({**entry, "ref": ref}))
            pipe.pexpire(staged, ms)
            pipe.execute()
            done = True

        try:
            self._call(write)
        except redis.exceptions.OutOfMemoryError:
            raise _full() from None
        finally:
            if not done:
                self._drop_upload(staged, token, blob)
        return got

    def _drop_upload(self, staged: str, token: str, blob: str) -> None:
        """Forget an upload that did not come in whole: its bytes and its place."""
        def drop(r: Any) -> None:
            # No MULTI: at maxmemory Redis refuses a transaction, a plain DEL never.
            pipe = r.pipeline(transaction=False)
            pipe.delete(blob)
            pipe.hdel(staged, token)
            pipe.execute()

        try:
            self._call(drop)
        except StoreUnavailableError:
            # Both expire with the staging TTL; nothing else to do.
            log.warning("could not drop a cut-short upload: Redis is unavailable")

    def staged_uploads(self, session_id: str) -> int:
        """How many uploads of *session_id* wait for their change event."""
        return int(self._call(lambda r: r.hlen(self._staged(session_id))))

    def take_upload(self, session_id: str, token: str, widget: str) -> UploadedFile | None:
        """The upload staged under *token* for *session_id*'s uploader *widget*,
        once (its bytes then live as long as the session), or ``None``."""
        staged = self._staged(session_id)

        def take(r: Any) -> Any:
            pipe = r.pipeline(transaction=True)
            pipe.hget(staged, token)
            pipe.hdel(staged, token)
            return pipe.execute()

        raw, taken = self._call(take)
        if raw is None or not taken:
            return None
        try:
            entry = json.loads(raw)
            name, size, mime, ref = entry["name"], entry["size"], entry["type"], entry["ref"]
        except (ValueError, KeyError, TypeError):
            log.warning("a staged upload with a bad entry in the store: ignored")
            return None
        if entry.get("widget") != widget or entry.get("pending"):
            return None
        ttl = self._ttl[0] or "86400"
        ms = max(1, int(float(ttl) * 1000))
        ups = self._ups(session_id)

        def attach(r: Any) -> None:
            pipe = r.pipeline(transaction=True)
            pipe.sadd(ups, self._blob(ref))
            pipe.pexpire(self._blob(ref), ms)
            pipe.pexpire(ups, ms)
            pipe.execute()

        self._call(attach)
        return UploadedFile(name, size, mime, ref=ref, blobs=self)

    def read_blob(self, ref: str, start: int, end: int) -> bytes | None:
        if end <= start:
            return b"" if self._call(lambda r: r.exists(self._blob(ref))) else None

        def read(r: Any) -> list[Any]:
            pipe = r.pipeline(transaction=True)
            pipe.exists(self._blob(ref))
            pipe.getrange(self._blob(ref), start, end - 1)
            return list(pipe.execute())

        there, data = self._call(read)
        return bytes(data) if there else None

    def delete_blob(self, ref: str) -> None:
        self._call(lambda r: r.delete(self._blob(ref)))

    def put_token(self, token_hash: str, new_id: str, ttl: float) -> None:
        """Keep a rotation token (by its hash) for *ttl* seconds, for any process."""
        self._call(lambda r: r.set(f"{self.prefix}rot:{token_hash}", new_id,
                                   px=max(1, int(ttl * 1000))))

    def take_token(self, token_hash: str) -> str | None:
        """The new session ID of a rotation token, once (``GETDEL``), or ``None``."""
        raw = self._call(lambda r: r.getdel(f"{self.prefix}rot:{token_hash}"))
        return None if raw is None else raw.decode("ascii", "replace")

    def flush(self) -> None:
        """Delete every key under this store's prefix (tests, resets)."""
        def drop(r: Any) -> None:
            keys = list(r.scan_iter(match=f"{self.prefix}*", count=1000))
            for i in range(0, len(keys), 500):
                r.delete(*keys[i:i + 500])

        self._call(drop)


def _full() -> StagingFullError:
    """What an upload meets when Redis is at its ``maxmemory`` (``noeviction``)."""
    log.warning("Redis is at its maxmemory: an upload was refused")
    return StagingFullError("memory")


def _safe_url(url: str) -> str:
    """The URL without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password:
        netloc = f"{parts.username or ''}:***@{parts.hostname}"
        if parts.port:
            netloc += f":{parts.port}"
        return parts._replace(netloc=netloc).geturl()
    return url


# KEYS: staged uploads; ARGV: token, pending entry, max uploads, size, max
# bytes, ttl ms.  Takes an upload's place before its body is read: 0, or 1 (too
# many uploads) or 2 (too many bytes) and nothing taken.
_RESERVE_UPLOAD = """
if redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[3]) then return 1 end
local used = tonumber(ARGV[4])
for _, raw in ipairs(redis.call('HVALS', KEYS[1])) do
  local ok, e = pcall(cjson.decode, raw)
  if ok and type(e) == 'table' and tonumber(e.size) then used = used + tonumber(e.size) end
end
if used > tonumber(ARGV[5]) then return 2 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[6])
return 0
"""
