"""Where the Redis store keeps things, and how long they stay.

Layout (``P`` is the key prefix, ``stgo:`` by default)::

    P m:<id>    hash   c (created), a (last access), p ("1" while pending)
    P d:<id>    hash   the session's state, key -> codec text
    P ups:<id>  set    the blob keys of the session's uploads (live as long)
    P upst:<id> hash   uploads waiting for their change event, token -> entry
    P up:<ref>  string an upload's bytes
    P idle      zset   id -> last access      (idle expiry)
    P born      zset   id -> created          (max_age, the session count)
    P pend      zset   id -> last access      (sessions never activated)
    P ns:<name> hash   app.state ("app") and global widget changes ("globals")
    P gver      hash   global widget key -> version (one INCR per saved change)
    P lk:<id>   string the session's event lock (holder's token; "+" at the end: kept), a lease
    P lw:<id>   string the process that waits for that lock (its origin), 250 ms
    P rot:<h>   string a rotation token's new session ID (h: the token's hash), 60 s TTL
    P usr:<uid> set    the sessions signed in as a user (stgo.store.redis.users)
    P ulx       zset   session id -> its sign-in's deadline (login_max_age)
    P ns:u:<uid> hash  a user's state (session.user_state), its own TTL
    P relay     channel what changed, for the other processes (stgo.relay)
"""

from __future__ import annotations

from .scripts import num

__all__ = ["Layout"]


class Layout:
    """The key names under one prefix, this process's names on the relay's
    channel, and the safety net's lifetimes the scripts are given.

    :param prefix: the start of every key (``stgo:``).
    """

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        #: The safety net's lifetimes as script words (idle seconds, max-age
        #: seconds or ``""``): a record's keys expire by themselves that long
        #: after its last access; ``["", ""]`` until :meth:`keep_for`.
        self.ttl = ["", ""]
        #: A channel only this process's listener subscribes to, with
        #: :attr:`channel` and on the same link: how a commit tells whether
        #: anybody else listens, and where others ask for the event locks this
        #: process keeps (set by the relay: ``<channel>:<origin>``).
        self.presence = ""
        #: This process's name in event lock tokens (``<origin>.<n>``; set by the
        #: relay): a write outside events passes a lock of its own process.
        self.origin = ""

    def keep_for(self, idle: float, max_age: float | None, margin: float) -> None:
        """Records live *margin* seconds past *idle* (and *max_age*: ``None``, no limit)."""
        self.ttl = [num(idle + margin), "" if max_age is None else num(max_age + margin)]

    @property
    def channel(self) -> str:
        """The pub/sub channel the processes of this app tell each other on."""
        return f"{self.prefix}relay"

    def meta(self, sid: str) -> str:
        """A session record's times."""
        return f"{self.prefix}m:{sid}"

    def data(self, sid: str) -> str:
        """A session's state."""
        return f"{self.prefix}d:{sid}"

    def ups(self, sid: str) -> str:
        """The set of a session's uploads' blob keys."""
        return f"{self.prefix}ups:{sid}"

    def staged(self, sid: str) -> str:
        """A session's uploads waiting for their change event."""
        return f"{self.prefix}upst:{sid}"

    def lock(self, sid: str) -> str:
        """A session's event lock."""
        return f"{self.prefix}lk:{sid}"

    def wanted(self, sid: str) -> str:
        """The mark of the process that waits for a session's event lock."""
        return f"{self.prefix}lw:{sid}"

    def blob(self, ref: str) -> str:
        """An upload's bytes."""
        return f"{self.prefix}up:{ref}"

    def token(self, token_hash: str) -> str:
        """A rotation token's new session ID."""
        return f"{self.prefix}rot:{token_hash}"

    def index(self, name: str) -> str:
        """A key of its own under the prefix: ``idle``, ``born``, ``pend``, ``gver``."""
        return f"{self.prefix}{name}"

    def hash(self, ns: str) -> str:
        """The hash of namespace *ns* (``s:<id>``: a session's state)."""
        if ns.startswith("s:"):
            return self.data(ns[2:])
        return f"{self.prefix}ns:{ns}"
