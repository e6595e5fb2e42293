"""The App's options: one :class:`Settings` object, validated once.

``App(...)`` takes every option as a keyword argument (see :class:`stgo.App`)
and keeps them here, as ``app.settings``; the App's attributes of the same
names (``app.max_message_size``, ``app.show_error_details``...) read and
write these fields (:class:`Option`).  What the App builds from its options
(the store, the limiters, :class:`~stgo.limits.UploadLimits`, the allowed
hosts) is not kept here: it is the App's.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar, overload

from .errors import ConfigurationError
from .strings import checked_language

# Public: Settings and the default policy; Option and MAX_QUEUED_BYTES are the App's.
__all__ = ["Settings", "DEFAULT_CONTENT_SECURITY_POLICY"]

#: The page's ``Content-Security-Policy`` unless the App is given another:
#: scripts, styles and connections from the app's own origin only (stgo's
#: client has no inline script or style), images also from ``data:`` and
#: https URLs (``st.image``), audio and video also from https URLs (``app.audio``),
#: no plugins, and framing by the same origin only.
DEFAULT_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data: blob: https:; media-src 'self' https:; font-src 'self' data:; "
    "connect-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'self'"
)

#: Default bound on the bytes waiting for one client (``App(max_queued_bytes=)``).
MAX_QUEUED_BYTES = 8 << 20


@dataclass(eq=False)
class Settings:
    """The App's plain options, under the names of ``App(...)``'s keywords
    (``metrics`` is ``App(metrics=)``; the App's attribute for it is
    ``metrics_enabled``, as ``app.metrics`` holds the counters).

    :param title: the browser tab's title.
    :param session_timeout: seconds of inactivity before a session expires (300).
    :param cleanup_interval: seconds between expiry passes (60).
    :param allowed_origins: extra origins (``"https://example.com"``) allowed
        to open WebSockets; the page's own origin is always allowed.  Kept as
        a frozenset, without a trailing ``/``.
    :param max_message_size: largest client message in bytes (1 MiB, at
        least 1024); a bigger one closes the connection with 1009.
    :param ping_interval: seconds between WebSocket pings (20, > 0); a client
        that misses a pong is dropped.
    :param send_timeout: seconds a write to one client may block (10) before
        that client is dropped.
    :param max_queued: messages that may wait for one slow client (1000).
    :param max_queued_bytes: bytes that may wait for one slow client (8 MiB,
        at least 1024); past either bound the client is dropped.  While more
        than half of it waits, the client's input is not read.
    :param trust_proxy: believe the last entry of ``X-Forwarded-For`` /
        ``-Proto`` / ``-Host`` / ``-Prefix`` (or of ``Forwarded``): the one
        your proxy added (only behind a proxy you run, which is the only way
        in).  ``-Prefix`` is the path prefix a proxy strips: the cookie's path.
    :param strict_idle: an open tab does not keep its session alive.
    :param session_max_age: absolute session lifetime in seconds; ``None``
        (default) for none.
    :param max_sessions: live sessions at most (100,000).  At it, the oldest
        session that no connection ever activated is evicted to make room;
        when none is left a new visitor gets a 503 page, and no activated
        session is evicted.  ``None`` for no limit.
    :param pending_timeout: seconds after which a session made by a page load
        but never activated by a WebSocket expires (30).  Anyone can load the
        page, so such sessions must lapse fast.
    :param new_session_rate: new sessions per second one client address may
        make on average (5); past it the page answers 429.  Behind
        ``trust_proxy`` the address is the one the proxy saw.  ``None`` for
        no limit.
    :param new_session_burst: new sessions one address may make back to back (100).
    :param max_connections: open WebSockets at most (4,096).  An open tab
        holds no thread: the App's I/O loop serves them all.  ``None`` for no limit.
    :param max_connections_per_address: open WebSockets from one client
        address at most (1,024).  ``None`` for no limit.
    :param event_rate: events per second one session may send on average
        (1,000); past it the client gets an error, and a client that keeps
        going after ``event_burst`` refusals is closed (1008).  ``None`` for
        no limit.
    :param event_burst: events one session may send back to back (2,000).
    :param event_threads: threads at most that run events and renders asked
        for over WebSockets (32, at least 1); a session's events run one at a
        time, in order, on one of them.
    :param task_threads: threads at most that run sessions' tasks
        (``session.run_task``; 16, at least 1); more tasks wait in line.
    :param metrics: serve Prometheus counters at ``GET /metrics`` (off).
    :param content_security_policy: the page's ``Content-Security-Policy``
        header (:data:`DEFAULT_CONTENT_SECURITY_POLICY`); ``None`` sends none
        (a proxy sets it).  ``X-Frame-Options: SAMEORIGIN`` is always sent.
    :param show_error_details: tell the user what a failing callback raised
        (its exception's text) instead of only an error id (off: the text may
        hold paths, SQL or secrets).  ``python -m stgo run --reload`` turns it on.
    :param store_pickle_key: a secret that lets a persistent store keep values
        of any picklable type, HMAC-signed (off: only the codec's types).
    :param upload_dir: where each session's uploaded files are kept, in a
        directory of its own removed when the session ends (``None``: the
        system's temporary directory).
    :param login_max_age: seconds a sign-in lasts at most (``auth=``, see
        docs/auth.md), on every process; ``None`` (default): while its
        session lives (idle sessions end with ``session_timeout`` as ever).
    :param user_state_ttl: seconds a user's ``session.user_state`` is kept
        after its last use (30 days, > 0).
    :param layout: ``"centered"`` (a column, the default) or ``"wide"`` (the
        page's whole width).
    :param language: the language of stgo's own words on the page
        (``"en"``; ``"de"``, ``"fr"``, ``"es"``, ``"zh"``: :data:`stgo.strings.LANGUAGES`),
        and the page's ``<html lang>``.
    :raises ConfigurationError: an option out of its range (said above).
    """

    title: str = "stgo"
    session_timeout: float = 300.0
    cleanup_interval: float = 60.0
    allowed_origins: Iterable[str] = field(default_factory=frozenset)
    max_message_size: int = 1 << 20
    ping_interval: float = 20.0
    send_timeout: float = 10.0
    max_queued: int = 1000
    max_queued_bytes: int = MAX_QUEUED_BYTES
    trust_proxy: bool = False
    strict_idle: bool = False
    session_max_age: float | None = None
    max_sessions: int | None = 100_000
    pending_timeout: float = 30.0
    new_session_rate: float | None = 5.0
    new_session_burst: int = 100
    max_connections: int | None = 4096
    max_connections_per_address: int | None = 1024
    event_rate: float | None = 1000.0
    event_burst: int = 2000
    event_threads: int = 32
    task_threads: int = 16
    metrics: bool = False
    content_security_policy: str | None = DEFAULT_CONTENT_SECURITY_POLICY
    show_error_details: bool = False
    store_pickle_key: bytes | None = None
    upload_dir: str | None = None
    login_max_age: float | None = None
    user_state_ttl: float = 30 * 86400.0
    layout: str = "centered"
    language: str = "en"

    def __post_init__(self) -> None:
        for name in ("login_max_age", "user_state_ttl"):
            value = getattr(self, name)
            if value is None and name == "login_max_age":
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise ConfigurationError(f"{name} must be a number of seconds > 0, got {value!r}")
        if self.layout not in ("centered", "wide"):
            raise ConfigurationError(f"layout must be 'centered' or 'wide', got {self.layout!r}")
        checked_language(self.language)
        if self.max_message_size < 1024:
            raise ConfigurationError("max_message_size must be at least 1024 bytes")
        if not self.ping_interval > 0:
            raise ConfigurationError("ping_interval must be > 0 seconds")
        if self.max_queued_bytes < 1024:
            raise ConfigurationError("max_queued_bytes must be at least 1024 bytes")
        if self.event_threads < 1:
            raise ConfigurationError("event_threads must be at least 1")
        if isinstance(self.task_threads, bool) or not isinstance(self.task_threads, int) \
                or self.task_threads < 1:
            raise ConfigurationError(f"task_threads must be an int >= 1, got {self.task_threads!r}")
        self.allowed_origins = frozenset(o.rstrip("/") for o in self.allowed_origins)


class Configured(Protocol):
    """What holds :class:`Settings` (the App)."""

    settings: Settings


T = TypeVar("T")


class Option(Generic[T]):
    """An attribute of the App that reads and writes one field of its
    :class:`Settings` (``app.event_rate`` is ``app.settings.event_rate``).

    :param name: the field, if not the attribute's own name.
    """

    def __init__(self, name: str | None = None) -> None:
        self._name = name or ""

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = self._name or name

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> Option[T]: ...

    @overload
    def __get__(self, obj: Configured, owner: type | None = None) -> T: ...

    def __get__(self, obj: Configured | None, owner: type | None = None) -> Any:
        return self if obj is None else getattr(obj.settings, self._name)

    def __set__(self, obj: Configured, value: T) -> None:
        setattr(obj.settings, self._name, value)
