"""The Lua scripts of the Redis store: every change two processes could race on.

Redis runs a script atomically, so each of these is one step for every
process: create a record under a limit, write to a session that must still
exist, take, keep and let go of an event's lock, apply an event's writes,
claim a session's end, rename on rotation, save a global widget's change,
take an upload's place.  Their keys and arguments are documented above each;
the key names are in :mod:`stgo.store.redis.layout`.
"""

from __future__ import annotations

__all__ = ["SCRIPTS", "num", "KEEP", "CREATE", "TOUCH", "WANT", "WRITE", "COMMIT", "LOCK",
           "RELEASE", "EXTEND", "CLAIM", "RENAME", "SAVE_GLOBAL", "RESERVE_UPLOAD"]


def num(x: float) -> str:
    """A number as a script's argument word (exact: ``repr`` of the float)."""
    return repr(float(x))


# The safety net: a record's keys expire by themselves some margin after
# its idle timeout (or max age) would end it, so that Redis frees them even
# if no process ever runs again.  Processes end sessions long before (the
# claim, with end hooks); this only catches what nobody is left to claim.
# keep(meta, data, uploads, created, now, idle s, max-age s or ''): a TTL,
# not a time (the caller's clock may be a test's).
KEEP = """
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
# A record of this ID made at this very time is this call's own, sent again by
# redis-py after its answer was lost (a timeout): done (the ID is new and random).
CREATE = KEEP + """
if redis.call('EXISTS', KEYS[1]) == 1 then
  if redis.call('HGET', KEYS[1], 'c') == ARGV[2] then return 1 end
  return -1
end
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
TOUCH = KEEP + """
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
WANT = """
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
WRITE = KEEP + WANT + """
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
COMMIT = KEEP + """
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
LOCK = WANT + """
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
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
EXTEND = """
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
CLAIM = """
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
RENAME = """
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
SAVE_GLOBAL = """
local old = redis.call('HGET', KEYS[2], ARGV[1])
if old and tonumber(old) >= tonumber(ARGV[4]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[4])
redis.call('PUBLISH', KEYS[3], ARGV[3] .. ' ' .. ARGV[4] .. ' ' .. ARGV[1])
return 1
"""


# KEYS: staged uploads; ARGV: token, pending entry, max uploads, size, max
# bytes, ttl ms.  Takes an upload's place before its body is read: 0, or 1 (too
# many uploads) or 2 (too many bytes) and nothing taken.
RESERVE_UPLOAD = """
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


#: The scripts loaded into Redis when the store connects (the event path
#: sends ``EVALSHA`` only), by name.
SCRIPTS: tuple[tuple[str, str], ...] = (
    ("create", CREATE), ("touch", TOUCH), ("write", WRITE), ("claim", CLAIM),
    ("rename", RENAME), ("save_global", SAVE_GLOBAL), ("commit", COMMIT), ("lock", LOCK),
    ("release", RELEASE), ("extend", EXTEND),
)
