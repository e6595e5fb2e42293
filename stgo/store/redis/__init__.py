"""The Redis store: sessions and shared state that outlive the process.

Needs redis-py, the optional extra ``pip install 'stgo[redis]'``; it is
imported only when a ``redis://`` store is opened.

:class:`RedisStore` is the :class:`~stgo.store.base.Store` on Redis, made of
one small part per concept, each in its own module:

- :mod:`.layout`: the key names (the layout table is there), the channel,
  the safety net's lifetimes;
- :mod:`.scripts`: the Lua scripts (every change two processes could race
  on is one script, atomic in Redis);
- :mod:`.link`: the client, its pool, connection errors, the scripts loaded;
- :mod:`.state`: namespaces read and written directly (``app.state``, a
  session's state outside its events);
- :mod:`.txn` and :mod:`.events`: a session's event, its lock and its
  buffered writes, committed in one step; :mod:`.holds`: the event locks kept
  between events;
- :mod:`.sessions`: session records; :mod:`.globals`: global widgets'
  changes and the relay's channel; :mod:`.blobs`: uploads' bytes;
  :mod:`.rotation`: rotation tokens; :mod:`.leases`: app timers' leases;
  :mod:`.presence`: who is connected, per process.

The store routes each state operation: to the session's open event on this
thread if there is one (read from its cache, buffered), else to Redis at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from ..base import SessionRecord, Store
from ..codec import Codec
from ..files import UploadedFile
from .blobs import Blobs
from .cache import RedisCache
from .events import Events
from .globals import Globals
from .holds import Holds
from .layout import Layout
from .leases import TimerLeases
from .link import Link, parse_url, safe_url
from .presence import PresenceRecords
from .rotation import Tokens
from .sessions import Sessions
from .state import Namespaces
from .txn import EVENT_LEASE, KEEP_LEASE, KEEP_USABLE, EventTxn, StateCache
from .users import RedisUserIndex

__all__ = ["RedisStore", "EventTxn", "StateCache", "EVENT_LEASE", "KEEP_LEASE",
           "KEEP_USABLE"]

T = TypeVar("T")


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
    shared = True

    #: Seconds past a session's idle timeout (or max age) after which Redis
    #: drops its keys by itself if no process claimed its end (all stopped).
    ttl_margin = 3600.0

    def __init__(self, url: str, *, codec: Codec | None = None, timeout: float = 2.0,
                 max_connections: int = 64, health_check_interval: float = 10.0) -> None:
        prefix, redis_url = parse_url(url)
        self.codec = codec or Codec()
        self._layout = Layout(prefix)
        self._link = Link(redis_url, timeout=timeout, max_connections=max_connections,
                          health_check_interval=health_check_interval)
        holds = Holds()  # the event locks kept between events: both write paths see them
        self._direct = Namespaces(self._link, self._layout, self.codec, holds)
        self._events = Events(self._link, self._layout, self._direct, holds)
        self._sessions = Sessions(self._link, self._layout, self.codec, self._events)
        self._globals = Globals(self._link, self._layout, self.codec)
        self._blobs = Blobs(self._link, self._layout)
        self._tokens = Tokens(self._link, self._layout)
        self.codec.blobs = self._blobs  # decoded uploads read their bytes from here
        self._cache = RedisCache(self._link, self._layout, self.codec)
        #: App timers' leases and the tabs' presence records (docs/timers.md).
        self.timer_leases = TimerLeases(self._link, self._layout)
        self.presence_records = PresenceRecords(self._link, self._layout)

    def __repr__(self) -> str:
        return f"<RedisStore {safe_url(self._link.url)}>"

    # -- settings ---------------------------------------------------------------------

    @property
    def prefix(self) -> str:
        """The start of every key of this store (``stgo:``)."""
        return self._layout.prefix

    @property
    def timeout(self) -> float:
        """Seconds any one Redis call may take (read when connecting)."""
        return self._link.timeout

    @timeout.setter
    def timeout(self, value: float) -> None:
        self._link.timeout = value

    @property
    def channel(self) -> str:
        """The pub/sub channel the processes of this app tell each other on."""
        return self._layout.channel

    @property
    def presence(self) -> str:
        """A channel only this process's listener subscribes to, with
        :attr:`channel` and on the same link: how a commit tells whether
        anybody else listens, and where others ask for the event locks this
        process keeps (set by the relay: ``<channel>:<origin>``)."""
        return self._layout.presence

    @presence.setter
    def presence(self, value: str) -> None:
        self._layout.presence = value

    @property
    def origin(self) -> str:
        """This process's name in event lock tokens (``<origin>.<n>``; set by
        the relay): a write outside events passes a lock of its own process."""
        return self._layout.origin

    @origin.setter
    def origin(self, value: str) -> None:
        self._layout.origin = value

    # -- connection ---------------------------------------------------------------------

    def open(self) -> None:
        self._link.open()

    def close(self) -> None:
        self._events.give_back_all()  # the other processes need not wait for them to lapse
        self._link.close()

    def after_fork(self) -> None:
        # The parent's connections and its open events and kept event locks
        # are its own.
        self._link.after_fork()
        self._events.after_fork()

    def keep_for(self, idle: float, max_age: float | None) -> None:
        self._layout.keep_for(idle, max_age, self.ttl_margin)

    def healthy(self) -> bool:
        return self._link.healthy()

    def shared_cache(self) -> RedisCache | None:
        """``@stgo.cache_data``'s values for every process (see :mod:`.cache`)."""
        return self._cache

    def is_connection_error(self, exc: BaseException) -> bool:
        """Whether *exc* is Redis being unreachable (not a bug)."""
        return self._link.is_connection_error(exc)

    def flush(self) -> None:
        """Delete every key under this store's prefix (tests, resets)."""
        prefix = self._layout.prefix

        def drop(r: Any) -> None:
            keys = list(r.scan_iter(match=f"{prefix}*", count=1000))
            for i in range(0, len(keys), 500):
                r.delete(*keys[i:i + 500])

        self._link.call(drop)

    # -- state: the session's open event on this thread first, else Redis at once --------

    def get(self, ns: str, key: str, default: Any = None) -> Any:
        txn = self._events.current(ns, writing=False)
        if txn is not None:
            return txn.get(key, default)
        return self._direct.get(ns, key, default)

    def items(self, ns: str) -> dict[str, Any]:
        txn = self._events.current(ns, writing=False)
        if txn is not None:
            return txn.items()
        return self._direct.items(ns)

    def set(self, ns: str, key: str, value: Any, *, now: float | None = None) -> None:
        text = self.codec.encode(value, key)  # raises before anything changes
        txn = self._events.current(ns)
        if txn is not None:
            txn.set(key, text)
        else:
            self._direct.set(ns, key, text, now)

    def delete(self, ns: str, key: str, *, now: float | None = None) -> bool:
        txn = self._events.current(ns)
        if txn is not None:
            return txn.delete(key)
        return self._direct.delete(ns, key, now)

    def clear(self, ns: str, *, now: float | None = None) -> None:
        txn = self._events.current(ns)
        if txn is not None:
            txn.clear()
        else:
            self._direct.clear(ns, now)

    def increment(self, ns: str, key: str, amount: float = 1, *,
                  now: float | None = None) -> Any:
        txn = self._events.current(ns)
        if txn is not None:
            return txn.increment(key, amount)
        return self._direct.increment(ns, key, amount, now)

    def update(self, ns: str, key: str, fn: Callable[[Any], T], default: Any = None,
               *, now: float | None = None) -> T:
        txn = self._events.current(ns)
        if txn is not None:
            return txn.update(key, fn, default)
        return self._direct.update(ns, key, fn, default, now)

    # -- session records --------------------------------------------------------------------

    def create_session(self, session_id: str, now: float, *, limit: int | None = None,
                       pending: bool = False) -> bool:
        return self._sessions.create(session_id, now, limit=limit, pending=pending)

    def load_session(self, session_id: str) -> SessionRecord | None:
        return self._sessions.load(session_id)

    def touch_session(self, session_id: str, now: float, *, activate: bool = False) -> None:
        self._sessions.touch(session_id, now, activate=activate)

    def claim_end(self, session_id: str, *, idle_before: float | None = None,
                  created_before: float | None = None,
                  pending_idle_before: float | None = None) -> SessionRecord | None:
        return self._sessions.claim_end(session_id, idle_before=idle_before,
                                        created_before=created_before,
                                        pending_idle_before=pending_idle_before)

    def rename_session(self, old_id: str, new_id: str) -> bool:
        return self._sessions.rename(old_id, new_id)

    def expired_sessions(self, *, idle_before: float, pending_idle_before: float,
                         created_before: float | None, limit: int = 1000) -> list[str]:
        return self._sessions.expired(idle_before=idle_before,
                                      pending_idle_before=pending_idle_before,
                                      created_before=created_before, limit=limit)

    def oldest_pending(self) -> str | None:
        return self._sessions.oldest_pending()

    def session_count(self) -> int:
        return self._sessions.count()

    def session_ids(self) -> list[str]:
        return self._sessions.ids()

    def sessions_exist(self, session_ids: list[str]) -> list[bool]:
        return self._sessions.exist(session_ids)

    # -- many processes (stgo.relay) ----------------------------------------------------------

    def save_global(self, key: str, value: Any, version: int, head: str) -> bool:
        """Store a global widget's attributes under *version* and publish
        ``"<head> <version> <key>"``, atomically, unless the stored version is
        as new already; return whether it was stored."""
        return self._globals.save(key, value, version, head)

    def load_global(self, key: str) -> tuple[Any, int]:
        """A global widget's saved attributes and their version (``None, 0``: none)."""
        return self._globals.load(key)

    def global_versions(self) -> dict[str, int]:
        """Every saved global widget's version, by key."""
        return self._globals.versions()

    def publish(self, message: str) -> int:
        """Send *message* on :attr:`channel`; return how many processes heard it."""
        return self._globals.publish(message)

    def pubsub(self) -> Any:
        """A new redis-py ``PubSub`` on this store's server (for the relay's thread)."""
        return self._link.pubsub()

    # -- events: one round trip to start, one write to end (stgo.store.redis.txn) -------

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
        return self._events.begin(session_id, token, lease, cache)

    def end_event(self, txn: EventTxn, notice: str, keep: float = 0.0) -> None:
        """Send *txn*'s writes, the unlock and *notice* (a relay line, or ``""``)
        as one script, without waiting for the answer: it is in Redis's
        socket before the caller acknowledges the event, and :meth:`settle`
        reads it afterwards.  *notice* is published only if a process other
        than this one listens on :attr:`channel` (one that subscribes later
        resyncs anyway), so a lone process does not wake itself per event.

        With *keep* (seconds), the lock is kept that long instead of let go,
        unless another process waits for it: the session's next event here
        within the first half of that (:data:`~stgo.store.redis.txn.KEEP_USABLE`)
        needs no round trip, as long as the answer says nobody else wrote
        meanwhile.

        :raises StoreUnavailableError: it could not be sent (the writes are lost).
        """
        self._events.end(txn, notice, keep)

    def settle(self) -> None:
        """Read the answers to this thread's commits (see :meth:`end_event`):
        keep each cached copy that is current, drop the others."""
        self._events.settle()

    def after_commit(self, session_id: str, fn: Callable[[], None]) -> None:
        """Run *fn* once what this thread's event of *session_id* wrote is in
        Redis (now, outside an event): what the old state still points to,
        such as a replaced upload's bytes, must outlive it.  Never run if the
        writes are lost or refused (the bytes then live as long as the session)."""
        self._events.after_commit(session_id, fn)

    def give_back(self, session_id: str) -> None:
        """Another process waits for *session_id*'s event lock: let go of it
        now if this process keeps it between events (the relay hears the
        request; an event running on it lets go at its end anyway)."""
        self._events.give_back(session_id)

    def keep_leases(self, lease: float, after: float = 0.1) -> None:
        """Lengthen to *lease* seconds the lock of each event that started on a
        kept lock (a short lease) and has run for *after* seconds, and forget
        the kept locks that have lapsed (the relay's sender calls this a few
        times a second)."""
        self._events.keep_leases(lease, after)

    def forget_holds(self) -> None:
        """Start no event on a kept lock until the next one is kept: the relay's
        link is down, so others may take them over (it calls this)."""
        self._events.holds.clear()

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
        return self._blobs.put_upload(session_id, token, entry, stream, length, ttl, chunk,
                                      max_staged=max_staged, max_bytes=max_bytes)

    def staged_uploads(self, session_id: str) -> int:
        """How many uploads of *session_id* wait for their change event."""
        return self._blobs.staged_uploads(session_id)

    def take_upload(self, session_id: str, token: str, widget: str) -> UploadedFile | None:
        """The upload staged under *token* for *session_id*'s uploader *widget*,
        once (its bytes then live as long as the session), or ``None``."""
        return self._blobs.take_upload(session_id, token, widget)

    def read_blob(self, ref: str, start: int, end: int) -> bytes | None:
        """Bytes *start* to *end* (excluded) of upload *ref*; ``None``: it is gone."""
        return self._blobs.read_blob(ref, start, end)

    def delete_blob(self, ref: str) -> None:
        """Drop upload *ref*'s bytes."""
        self._blobs.delete_blob(ref)

    # -- the user index (stgo.auth) ---------------------------------------------------------

    def user_index(self) -> RedisUserIndex:
        """Which sessions are signed in as whom, for every process."""
        return RedisUserIndex(self._link, self._layout)

    # -- rotation tokens ------------------------------------------------------------------

    def put_token(self, token_hash: str, new_id: str, ttl: float) -> None:
        """Keep a rotation token (by its hash) for *ttl* seconds, for any process."""
        self._tokens.put(token_hash, new_id, ttl)

    def take_token(self, token_hash: str) -> str | None:
        """The new session ID of a rotation token, once (``GETDEL``), or ``None``."""
        return self._tokens.take(token_hash)
