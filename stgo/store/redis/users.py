"""The user index in Redis, for every process (see :mod:`stgo.store.users`).

Keys (``P`` is the prefix)::

    P usr:<user id>  set   the IDs of the sessions signed in as the user
    P ulx            zset  session id -> its sign-in's deadline (login_max_age)
    P ns:u:<user id> hash  the user's state (``session.user_state``), its own TTL

Each change is one Lua script (atomic for every process).  A user's set
expires by itself with their sessions' safety net (the store's idle TTL,
renewed on every sign-in), so an index nobody cleaned (every process died)
does not outlive them; a user's state expires ``user_state_ttl`` after its
last use, renewed by every use.
"""

from __future__ import annotations

from ..users import UserIndex, user_ns
from .layout import Layout
from .link import Link
from .scripts import num

__all__ = ["RedisUserIndex"]

# add(set, deadlines; sid, deadline or '', ttl ms or ''): index a sign-in.
_ADD = """
redis.call('SADD', KEYS[1], ARGV[1])
if ARGV[2] ~= '' then redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1]) end
if ARGV[3] ~= '' then
  local ms = tonumber(ARGV[3])
  if redis.call('PTTL', KEYS[1]) < ms then redis.call('PEXPIRE', KEYS[1], ms) end
end
"""

# take_due(deadlines; now, limit): the sessions past their deadline, taken out
# (one process gets each: two ending one session at once would race).
_TAKE_DUE = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
if #ids > 0 then redis.call('ZREM', KEYS[1], unpack(ids)) end
return ids
"""

# remove(set, deadlines; sid)
_REMOVE = """
redis.call('SREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
"""

# rename(set, deadlines; old sid, new sid): only an indexed session moves.
_RENAME = """
if redis.call('SREM', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('SADD', KEYS[1], ARGV[2])
local at = redis.call('ZSCORE', KEYS[2], ARGV[1])
if at then
  redis.call('ZREM', KEYS[2], ARGV[1])
  redis.call('ZADD', KEYS[2], at, ARGV[2])
end
return 1
"""


class RedisUserIndex(UserIndex):
    """The user index of a :class:`~stgo.store.redis.RedisStore`."""

    def __init__(self, link: Link, layout: Layout) -> None:
        self._link = link
        self._layout = layout

    def _set(self, user_id: str) -> str:
        return f"{self._layout.prefix}usr:{user_id}"

    def _deadlines(self) -> str:
        return self._layout.index("ulx")

    def add(self, user_id: str, session_id: str, deadline: float | None) -> None:
        idle = self._layout.ttl[0]  # the sessions' safety net ('' before keep_for)
        ttl = "" if idle == "" else str(int(float(idle) * 1000))
        self._link.call(lambda r: r.eval(
            _ADD, 2, self._set(user_id), self._deadlines(), session_id,
            "" if deadline is None else num(deadline), ttl))

    def remove(self, user_id: str, session_id: str) -> None:
        self._link.call(lambda r: r.eval(
            _REMOVE, 2, self._set(user_id), self._deadlines(), session_id))

    def rename(self, user_id: str, old_id: str, new_id: str) -> None:
        self._link.call(lambda r: r.eval(
            _RENAME, 2, self._set(user_id), self._deadlines(), old_id, new_id))

    def sessions(self, user_id: str) -> list[str]:
        raw = self._link.call(lambda r: r.smembers(self._set(user_id)))
        return sorted(m.decode("ascii", "replace") if isinstance(m, bytes) else str(m)
                      for m in raw)

    def take_due(self, now: float, limit: int = 1000) -> list[str]:
        raw = self._link.call(lambda r: r.eval(_TAKE_DUE, 1, self._deadlines(), num(now),
                                               str(limit)))
        return [m.decode("ascii", "replace") if isinstance(m, bytes) else str(m) for m in raw]

    def state_used(self, user_id: str, now: float, ttl: float) -> None:
        key = self._layout.hash(user_ns(user_id))
        self._link.call(lambda r: r.pexpire(key, max(1000, int(ttl * 1000))))

    def stale_states(self, now: float) -> list[str]:
        return []  # Redis expires them by itself

    def forget_state(self, user_id: str) -> None:
        """Nothing to forget: the state's hash is gone with it."""
