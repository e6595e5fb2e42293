"""The Redis store's link to its server: the client, its pool, the scripts, errors.

Needs redis-py, the optional extra ``pip install 'stgo[redis]'``; it is
imported here only, when a ``redis://`` store is opened.  Connections come
from a sized :class:`redis.BlockingConnectionPool` with socket timeouts and
health checks, so a paused or restarted Redis makes calls fail fast with
:class:`~stgo.store.base.StoreUnavailableError` instead of hanging, and the next
call after Redis is back simply works.

The event path (:mod:`stgo.store.redis.events`) sends its commits on
connections of its own (:meth:`Link.checkout`), without the pool's
bookkeeping, and reads their answers later.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

from ...errors import StoreError, StoreUnavailableError
from .scripts import SCRIPTS

__all__ = ["Link", "parse_url", "safe_url"]

T = TypeVar("T")

#: Idle connections the event path keeps (more are closed when given back).
_MAX_SPARE = 32


def _import_hiredis() -> Any:
    try:
        import hiredis
    except ImportError:  # the redis extra brings it; redis-py works without
        return None
    return hiredis


_hiredis = _import_hiredis()


def parse_url(url: str) -> tuple[str, str]:
    """The key prefix (``?prefix=``, default ``stgo:``) and the URL redis-py gets.

    :raises StoreError: *url* is not a Redis URL (scheme, host, port).
    """
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
    prefix = query.pop("prefix", ["stgo:"])[0]
    return prefix, parts._replace(query="&".join(
        f"{k}={v[0]}" for k, v in query.items())).geturl()


def safe_url(url: str) -> str:
    """The URL without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password:
        netloc = f"{parts.username or ''}:***@{parts.hostname}"
        if parts.port:
            netloc += f":{parts.port}"
        return parts._replace(netloc=netloc).geturl()
    return url


class Link:
    """A Redis server, connected on first use and again after it was away.

    :param url: what redis-py takes (the prefix already taken out).
    :param timeout: seconds any one Redis call may take, connect included.
    :param max_connections: the pool's size; a caller waits at most
        *timeout* for a free connection.
    :param health_check_interval: seconds after which an idle pooled
        connection is checked with a PING before use.
    """

    def __init__(self, url: str, *, timeout: float, max_connections: int,
                 health_check_interval: float) -> None:
        self.url = url
        self.timeout = timeout
        self.max_connections = max_connections
        self.health_check_interval = health_check_interval
        self._redis: Any = None
        self._closed = False
        #: What redis-py raises when the server is unreachable (set at open).
        self.errors: tuple[type[BaseException], ...] = ()
        self._scripts: dict[str, Any] = {}
        # Idle connections of the event path: taken and given back without
        # the pool's bookkeeping (the hot path's largest cost after the round
        # trip itself); at most one per thread in an event at a time.
        self._spare: list[Any] = []

    @property
    def connected(self) -> bool:
        """Whether a client exists now (no call is made)."""
        return self._redis is not None

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called (and no :meth:`open` since)."""
        return self._closed

    def open(self) -> None:
        """Connect, check with a PING and load the scripts (once).

        :raises StoreError: redis-py is missing, or the server refused.
        """
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
                self.url, max_connections=self.max_connections, timeout=self.timeout,
                socket_timeout=self.timeout, socket_connect_timeout=self.timeout,
                health_check_interval=self.health_check_interval, protocol=2,
                retry=Retry(ExponentialBackoff(cap=0.2, base=0.02), 1),
            )
        except ValueError as exc:
            raise StoreError(f"bad Redis URL {safe_url(self.url)}: {exc}") from None
        client = redis.Redis(connection_pool=pool)
        self.errors = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
        try:
            client.ping()
        except redis.exceptions.RedisError as exc:
            pool.disconnect()
            raise StoreError(
                f"cannot reach Redis at {safe_url(self.url)}: {exc}") from None
        self._scripts = {name: client.register_script(src) for name, src in SCRIPTS}
        try:
            for script in self._scripts.values():
                client.script_load(script.script)  # the event path sends EVALSHA only
        except redis.exceptions.RedisError as exc:
            pool.disconnect()
            raise StoreError(f"Redis at {safe_url(self.url)} refused a script: {exc}") from None
        self._redis = client

    def close(self) -> None:
        """Disconnect; a later call raises StoreUnavailableError (no reconnecting)."""
        self._closed = True  # a late caller (a closing tab) must not reconnect
        client, self._redis = self._redis, None
        if client is not None:
            client.connection_pool.disconnect()
        spare, self._spare = self._spare, []
        for conn in spare:
            conn.disconnect()

    def after_fork(self) -> None:
        """Forget the parent's client, pool and spare connections: they share
        its sockets (unclosed here: their redis-py objects shut down no socket
        of another process)."""
        self._redis = None
        self._scripts = {}
        self._spare = []

    def client(self) -> Any:
        """The redis-py client, connecting if need be.

        :raises StoreUnavailableError: closed, or the server cannot be reached.
        """
        if self._redis is None:
            if self._closed:
                raise StoreUnavailableError("the store is closed")
            try:
                self.open()
            except StoreError as exc:
                raise StoreUnavailableError(str(exc)) from None
        return self._redis

    def call(self, fn: Callable[[Any], T]) -> T:
        """Run *fn(client)*, turning connection trouble into StoreUnavailableError."""
        client = self.client()
        try:
            return fn(client)
        except self.errors as exc:
            raise StoreUnavailableError(f"Redis is unavailable: {exc}") from None

    def script(self, name: str, keys: list[str], args: list[Any]) -> Any:
        """Run the script *name* (of :data:`~.scripts.SCRIPTS`) and return its answer."""
        script = self._scripts.get(name) if self._scripts else None
        if script is None:
            self.client()
            script = self._scripts[name]
        return self.call(lambda _c: script(keys=keys, args=args))

    def sha(self, name: str) -> str:
        """The SHA1 of the loaded script *name* (for ``EVALSHA``)."""
        return str(self._scripts[name].sha)

    def healthy(self) -> bool:
        """Whether Redis answers a PING now."""
        try:
            return bool(self.call(lambda r: r.ping()))
        except StoreError:
            return False

    def is_connection_error(self, exc: BaseException) -> bool:
        """Whether *exc* is Redis being unreachable (not a bug)."""
        return isinstance(exc, (StoreUnavailableError, *self.errors))

    @staticmethod
    def is_script_error(exc: BaseException) -> bool:
        """Whether *exc* is Redis refusing a command (not the link failing)."""
        import redis

        return isinstance(exc, redis.exceptions.ResponseError)

    def pubsub(self) -> Any:
        """A new redis-py ``PubSub`` on this server."""
        return self.client().pubsub(ignore_subscribe_messages=False)

    # -- the event path's own connections ----------------------------------------------

    def checkout(self) -> Any:
        """A connection for the event path: a spare one, or a new one."""
        try:
            return self._spare.pop()
        except IndexError:
            pool = self.client().connection_pool
            return pool.connection_class(**pool.connection_kwargs)

    def checkin(self, conn: Any, *, broken: bool = False) -> None:
        """Give back *conn* (*broken*: it failed, and so did the spare ones)."""
        if broken:
            # Redis went away or restarted: the spare ones are as dead.
            spare, self._spare = self._spare, []
            for other in (conn, *spare):
                other.disconnect()
        elif self._closed or len(self._spare) >= _MAX_SPARE:
            conn.disconnect()
        else:
            self._spare.append(conn)

    @staticmethod
    def send(conn: Any, *words: str | int) -> None:
        """Send a command on *conn* without reading its answer: packed by hiredis
        when it is there (redis-py's packer wraps it in a per-word check that
        the hot path can skip), else by redis-py."""
        if _hiredis is None:
            conn.send_command(*words)
        else:
            conn.send_packed_command([_hiredis.pack_command(words)])

    @staticmethod
    def read_script_answer(conn: Any, source: str, keys: list[str], args: list[Any]) -> Any:
        """The answer to an ``EVALSHA`` sent on *conn*; if Redis lost its
        scripts (restarted), *source* is sent this once and its answer read."""
        import redis

        try:
            return conn.read_response()
        except redis.exceptions.NoScriptError:
            conn.send_command("EVAL", source, len(keys), *keys, *args)
            return conn.read_response()
