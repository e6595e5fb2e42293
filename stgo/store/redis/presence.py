"""Who is connected, per process, in Redis: presence records with heartbeats.

Layout (``P`` is the key prefix)::

    P pr:procs         set     the names of the processes with a record
    P pr:alive:<proc>  string  "1" while the process beats (a TTL it renews)
    P pr:tabs:<proc>   hash    "<tab id> <session id>" -> the tab's page path

Each process writes its own record as its tabs connect and go away, and
renews its ``alive`` key.  A tab that connects is taken out of every other
process's record in the same step (:data:`CONNECT`): it left them.  A
process whose ``alive`` key lapsed died (or lost Redis for longer than the
TTL): the first other process to look claims its
record (:data:`REAP`, atomic: one claimer) and runs the disconnect hooks of
the tabs in it.  :data:`ONLINE` counts the live processes' tabs.
"""

from __future__ import annotations

from typing import Any

from .layout import Layout
from .link import Link

__all__ = ["PresenceRecords", "REAP", "ONLINE", "CONNECT"]

#: Seconds a process's record outlives its last beat if nobody claims it
#: (every process gone): Redis frees it by itself then.
RECORD_TTL = 86400.0

# KEYS: the process set; ARGV: prefix, this process.  Returns {proc, fields
# and values of its tabs..., proc, ...} flattened as {proc, n, f1, v1, ...}.
REAP = """
local out = {}
for _, p in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if p ~= ARGV[2] and redis.call('EXISTS', ARGV[1] .. 'pr:alive:' .. p) == 0 then
    local tabs = ARGV[1] .. 'pr:tabs:' .. p
    local all = redis.call('HGETALL', tabs)
    redis.call('DEL', tabs)
    redis.call('SREM', KEYS[1], p)
    table.insert(out, p)
    table.insert(out, #all)
    for _, x in ipairs(all) do table.insert(out, x) end
  end
end
return out
"""

# KEYS: the process set; ARGV: prefix, this process.  The tab fields of every
# other live process.
ONLINE = """
local out = {}
for _, p in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if p ~= ARGV[2] and redis.call('EXISTS', ARGV[1] .. 'pr:alive:' .. p) == 1 then
    for _, f in ipairs(redis.call('HKEYS', ARGV[1] .. 'pr:tabs:' .. p)) do
      table.insert(out, f)
    end
  end
end
return out
"""


# KEYS: the process set; ARGV: prefix, this process, the tab's field, its path.
# Records the tab for this process, and takes it out of any other process's
# record (it went away there: its process died or has not noticed the close
# yet); returns the paths it had there, so its disconnect runs first, here.
CONNECT = """
local out = {}
for _, p in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if p ~= ARGV[2] then
    local tabs = ARGV[1] .. 'pr:tabs:' .. p
    local path = redis.call('HGET', tabs, ARGV[3])
    if path then
      redis.call('HDEL', tabs, ARGV[3])
      table.insert(out, path)
    end
  end
end
redis.call('HSET', ARGV[1] .. 'pr:tabs:' .. ARGV[2], ARGV[3], ARGV[4])
redis.call('SADD', KEYS[1], ARGV[2])
return out
"""


def _text(x: Any) -> str:
    return x.decode("utf-8", "replace") if isinstance(x, bytes) else str(x)


class PresenceRecords:
    """The presence records of one Redis store.

    :param link: the store's server.
    :param layout: its key names.
    """

    def __init__(self, link: Link, layout: Layout) -> None:
        self._link = link
        self._layout = layout
        self._client: Any = None
        self._scripts: dict[str, Any] = {}

    def _key(self, part: str) -> str:
        return f"{self._layout.prefix}pr:{part}"

    def _run(self, name: str, source: str, me: str, *more: str) -> list[Any]:
        client = self._link.client()
        if self._client is not client:  # a new client after a fork or a reopen
            self._scripts, self._client = {}, client
        script = self._scripts.get(name)
        if script is None:
            script = self._scripts[name] = client.register_script(source)
        return list(self._link.call(lambda _r: script(
            keys=[self._key("procs")], args=[self._layout.prefix, me, *more], client=client)))

    def beat(self, me: str, ttl: float) -> bool:
        """Say *me* is alive for *ttl* seconds more; ``False`` if it was not
        (first beat, or it lapsed: others may have claimed its record, which
        should be written whole again)."""
        alive, tabs = self._key(f"alive:{me}"), self._key(f"tabs:{me}")

        def beat(r: Any) -> Any:
            pipe = r.pipeline(transaction=True)
            pipe.set(alive, "1", px=max(1, round(ttl * 1000)), get=True)
            pipe.sadd(self._key("procs"), me)
            pipe.pexpire(tabs, round(RECORD_TTL * 1000))
            return pipe.execute()

        return self._link.call(beat)[0] is not None

    def write(self, me: str, added: dict[str, str], removed: set[str], *,
              whole: bool = False) -> None:
        """Record tabs *added* (field -> path) and drop *removed*; *whole*:
        *added* is every tab of *me* (what was there before is dropped)."""
        tabs = self._key(f"tabs:{me}")

        def write(r: Any) -> None:
            pipe = r.pipeline(transaction=True)
            if whole:
                pipe.delete(tabs)
            if removed:
                pipe.hdel(tabs, *removed)
            if added:
                pipe.hset(tabs, mapping=added)
                pipe.pexpire(tabs, round(RECORD_TTL * 1000))
            pipe.execute()

        if whole or added or removed:
            self._link.call(write)

    def connect(self, me: str, field: str, path: str) -> list[str]:
        """Record tab *field* (on page *path*) as *me*'s; return the paths
        it had in other processes' records (taken out of them)."""
        return [_text(p) for p in self._run("connect", CONNECT, me, field, path)]

    def disconnect(self, me: str, field: str) -> bool:
        """Drop tab *field* from *me*'s record; ``False`` if it was not there
        (another process took it: that one ran its disconnect)."""
        key = self._key(f"tabs:{me}")
        return bool(self._link.call(lambda r: r.hdel(key, field)))

    def fields(self, me: str) -> set[str]:
        """The tab fields of *me*'s record."""
        key = self._key(f"tabs:{me}")
        return {_text(f) for f in self._link.call(lambda r: r.hkeys(key))}

    def reap(self, me: str) -> list[tuple[str, dict[str, str]]]:
        """Claim the records of the processes that stopped beating: each
        ``(process, {field: path})`` is this caller's alone."""
        flat, out = self._run("reap", REAP, me), []
        i = 0
        while i < len(flat):
            proc, n = _text(flat[i]), int(flat[i + 1])
            pairs = flat[i + 2:i + 2 + n]
            out.append((proc, {_text(pairs[j]): _text(pairs[j + 1])
                               for j in range(0, len(pairs), 2)}))
            i += 2 + n
        return out

    def others(self, me: str) -> list[str]:
        """The tab fields of every live process but *me* (``""``: of every one)."""
        return [_text(f) for f in self._run("online", ONLINE, me)]

    def leave(self, me: str) -> None:
        """Drop *me*'s record (a clean stop: its tabs' hooks ran here)."""
        def leave(r: Any) -> None:
            pipe = r.pipeline(transaction=True)
            pipe.delete(self._key(f"alive:{me}"), self._key(f"tabs:{me}"))
            pipe.srem(self._key("procs"), me)
            pipe.execute()

        self._link.call(leave)
