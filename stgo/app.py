"""The App, the composition root: it builds the parts (store, sessions, hub,
router, relay, saver, rotations, lifecycle, endpoints), hands each the narrow
collaborators it needs, and offers the factory methods, hooks, state and run()."""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from .auth import OIDC, ProxyAuth
from .auth.app import AuthApp
from .cluster.persist import GlobalSaver, find_global, restore_globals, stored_name
from .cluster.relay import Relay
from .cluster.rotation import ROTATION_TOKEN_TTL, Rotations
from .config import DEFAULT_CONTENT_SECURITY_POLICY, MAX_QUEUED_BYTES, Option, Settings
from .core.batch import Batch
from .core.dispatch import Dispatcher
from .core.hooks import EndHook, EventHook, SessionHooks, StartHook, call_hook
from .core.hub import Hub
from .core.manager import SessionManager
from .core.pages import SharedWidgets, Site
from .core.router import Router
from .core.session import Session
from .core.tabs import TabRegistry
from .errors import WidgetError
from .failures import FailureLog
from .lifecycle import Lifecycle
from .limits import AddressRateLimiter, ConnectionLimiter, LogOnce, UploadLimits
from .metrics import Metrics
from .protocol import toast_message
from .routes import PageMethods
from .shell import PageShell
from .store import StateView, Store, open_store
from .store.redis import RedisStore
from .timing import TimingMixin
from .transport.ioloop import IOLoop
from .transport.pool import WorkerPool
from .web.endpoints import Endpoints
from .web.hosts import LOCAL_HOSTS, AllowedHosts, host_patterns
from .web.page import render_refusal
from .web.transfers import Transfers
from .widgets.bars import Sidebar, Topbar
from .widgets.base import Widget, check_callback
from .widgets.naming import check_unique_keys
from .work import wire_work

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

__all__ = ["App", "Sidebar", "Topbar", "ROTATION_TOKEN_TTL", "DEFAULT_CONTENT_SECURITY_POLICY",
           "LOCAL_HOSTS"]

log = logging.getLogger("stgo")


class App(PageMethods, PageShell, TimingMixin, SharedWidgets, AuthApp):
    """A stgo application: build its page with the factory methods, then serve it.

    Widgets added to the App are *global*: every session sees the same object,
    and a change to one is pushed to everybody.  Widgets added to a session
    (``session.text(...)`` or :meth:`add_widget_to_session`) are private.

    Every option is a keyword argument.  The plain ones (``title``,
    ``session_timeout``, ``max_message_size``, ``event_rate``, ... all but the
    four below) are kept in one :class:`~stgo.config.Settings` object,
    ``app.settings``, which documents each (units, defaults, what ``None``
    means) and validates them; the App's attributes of the same names read
    and write it (``app.show_error_details = True``).

    :param allowed_hosts: the host names the app answers to (the ``Host``
        header, or the proxy's forwarded host); another gets a 400, page and
        WebSocket alike, which defeats DNS rebinding.  ``".example.com"``
        matches the domain and its subdomains, ``"*"`` any name.  ``None``
        (default): on stgo's own server listening on a loopback address only
        :data:`LOCAL_HOSTS`, otherwise any.
    :param store: where sessions and ``app.state`` live: ``"memory"`` (the
        default: this process, as fast as ever) or ``"redis://host:port/db"``
        (they outlive the process; needs ``pip install 'stgo[redis]'``), or a
        :class:`~stgo.store.Store`.  The ``STGO_STORE`` environment variable
        (which ``--store`` sets) wins over this argument.
    :param upload_limits: caps on uploads (:class:`~stgo.limits.UploadLimits`):
        files and bytes staged per session and per process, bodies received
        at once, the slowest rate accepted.
    :param clock: epoch-seconds clock, injectable for tests.
    :param auth: sign-in, :class:`~stgo.auth.OIDC` or :class:`~stgo.auth.ProxyAuth`
        (``None``: anonymous only), with ``login_max_age``, ``user_state_ttl``: docs/auth.md.
    """

    #: The App's own page is ``/`` (:meth:`page` makes the others).
    path = "/"

    # The options the App's parts read from it (each a field of ``settings``).
    page_title = Option[str]("title")
    allowed_origins = Option[frozenset[str]]()
    max_message_size = Option[int]()
    ping_interval = Option[float]()
    send_timeout = Option[float]()
    max_queued = Option[int]()
    max_queued_bytes = Option[int]()
    trust_proxy = Option[bool]()
    max_sessions = Option[int | None]()
    event_rate = Option[float | None]()
    event_burst = Option[int]()
    metrics_enabled = Option[bool]("metrics")
    content_security_policy = Option[str | None]()
    #: Show users a failing callback's exception text, not only its error id.
    show_error_details = Option[bool]()

    def __init__(
        self,
        title: str = "stgo",
        *,
        session_timeout: float = 300.0,
        cleanup_interval: float = 60.0,
        allowed_origins: Iterable[str] = (),
        max_message_size: int = 1 << 20,
        ping_interval: float = 20.0,
        send_timeout: float = 10.0,
        max_queued: int = 1000,
        max_queued_bytes: int = MAX_QUEUED_BYTES,
        trust_proxy: bool = False,
        allowed_hosts: Iterable[str] | None = None,
        strict_idle: bool = False,
        session_max_age: float | None = None,
        max_sessions: int | None = 100_000,
        pending_timeout: float = 30.0,
        new_session_rate: float | None = 5.0,
        new_session_burst: int = 100,
        max_connections: int | None = 4096,
        max_connections_per_address: int | None = 1024,
        event_rate: float | None = 1000.0,
        event_burst: int = 2000,
        event_threads: int = 32,
        task_threads: int = 16,
        metrics: bool = False,
        content_security_policy: str | None = DEFAULT_CONTENT_SECURITY_POLICY,
        show_error_details: bool = False,
        store: str | Store | None = None,
        store_pickle_key: bytes | None = None,
        upload_dir: str | None = None,
        upload_limits: UploadLimits | None = None, layout: str = "centered", language: str = "en",
        clock: Callable[[], float] = time.time,
        auth: OIDC | ProxyAuth | None = None, login_max_age: float | None = None,
        user_state_ttl: float = 30 * 86400.0,
    ) -> None:
        #: The plain options (:class:`~stgo.config.Settings`), validated.
        self.settings = Settings(
            title=title, session_timeout=session_timeout, cleanup_interval=cleanup_interval,
            allowed_origins=allowed_origins, max_message_size=max_message_size,
            ping_interval=ping_interval, send_timeout=send_timeout, max_queued=max_queued,
            max_queued_bytes=max_queued_bytes, trust_proxy=trust_proxy, strict_idle=strict_idle,
            session_max_age=session_max_age, max_sessions=max_sessions,
            pending_timeout=pending_timeout, new_session_rate=new_session_rate,
            new_session_burst=new_session_burst, max_connections=max_connections,
            max_connections_per_address=max_connections_per_address, event_rate=event_rate,
            event_burst=event_burst, event_threads=event_threads, task_threads=task_threads,
            metrics=metrics,
            content_security_policy=content_security_policy,
            show_error_details=show_error_details, store_pickle_key=store_pickle_key,
            upload_dir=upload_dir, login_max_age=login_max_age, user_state_ttl=user_state_ttl,
            layout=layout, language=language)
        self._hosts = AllowedHosts(allowed_hosts)
        #: Counters behind ``GET /metrics`` (kept even when it is not served).
        self.metrics = Metrics()
        #: New sessions per client address (``None``: no limit).
        self.new_session_limits = (
            None if new_session_rate is None
            else AddressRateLimiter(new_session_rate, new_session_burst))
        #: Open WebSockets, in total and per address.
        self.connection_limits = ConnectionLimiter(max_connections, max_connections_per_address)
        #: Warns once per (client, reason) about suspicious input.
        self.suspicious = LogOnce(log)
        #: Callback failures: one traceback per kind, with the id users see.
        self.failures = FailureLog(log)
        #: Where sessions and shared state live (:mod:`stgo.store`).
        self.store = open_store(os.environ.get("STGO_STORE") or store,
                                pickle_key=store_pickle_key)
        #: Shared, app-wide state: ``get``/``set``/``delete``/``has``/``items``/
        #: ``update``/``increment``, atomic in the store.
        self.state: StateView = self.store.view("app")
        #: The App's :class:`~stgo.core.manager.SessionManager`.
        self.sessions = SessionManager(
            session_timeout, cleanup_interval, clock=clock,
            strict_idle=strict_idle, session_max_age=session_max_age,
            pending_timeout=pending_timeout, store=self.store,
        )
        #: Connections and pushes.
        self.hub = Hub(self)
        #: Uploaded files and download links, per session.
        self.transfers = Transfers(self.find_widget, upload_dir=upload_dir,
                                   limits=upload_limits)
        self._lock = threading.RLock()  # the shared widgets' (SharedWidgets)
        self._widgets: list[Widget] = []
        # With Redis, the link to the other processes of this app (stgo.cluster.relay).
        self._relay: Relay | None = None
        if isinstance(self.store, RedisStore):
            self._relay = Relay(self.store, metrics=self.metrics, sessions=self.sessions,
                                hub=self.hub, find_global=lambda name: find_global(self, name),
                                redraw=lambda session: self._hooks.redraw(session))
            self.hub.on_sessions_changed = self._relay.sessions_changed
        # Saves global widgets' run-time changes (persistent stores only).
        self._saver: GlobalSaver | None = (
            GlobalSaver(self.store, write=self._relay.save_global if self._relay else None,
                        stamp=self._relay.stamp if self._relay else None,
                        written=self._relay.global_written if self._relay else None)
            if self.store.persistent else None)
        if self._saver is not None:
            self.hub.before_ack = self._saver.flush
        self._rotations = Rotations(self.sessions, self.hub, self.store,
                                    rotated=self._relay.rotated if self._relay else None)
        # Starts and stops the parts in each process (a forked worker included).
        self._life = Lifecycle(store=self.store, sessions=self.sessions, hub=self.hub,
                               event_threads=event_threads, saver=self._saver,
                               relay=self._relay, restore=lambda: restore_globals(self, self.store),
                               after_fork=self._after_fork)
        self.sidebar = Sidebar()
        self.sidebar.attach(None, self._changed)
        #: A row above every page, empty (and not drawn) until something is put in it.
        self.topbar = Topbar()
        self.topbar.attach(None, self._changed)
        #: The pages other than "/" (the App's own), the open tabs, and the
        #: one door of every shared widget's change (:class:`~stgo.core.router.Router`).
        self.router = Router(hub=self.hub, home=lambda: self.widgets, sidebar=self.sidebar,
                             topbar=self.topbar, title=lambda: self.page_title,
                             call_hook=call_hook, refusal=lambda status, path: render_refusal(
                                 status, path, self.language))
        for bar in (self.sidebar, self.topbar):  # their IDs too, alike in every process
            self.router.names.name(bar, self.path)
        self._life.parts.append(self.router.names)  # closed at the start
        if self._saver is not None:
            saver = self._saver
            self.router.keep = lambda widget, path: saver.mark(
                widget, stored_name(widget.key, path))
        if self._relay is not None:
            # Others' changes, read from the store, come in through the same door.
            self._relay.door = self.router.shared_changed
            if self._saver is not None:
                self._relay.pending = self._saver.pending
        #: The browser tabs of every session (see :class:`~stgo.core.tabs.BrowserTab`).
        self.tab_registry: TabRegistry[Session] = self.router.tabs
        self._init_timing()  # app.every, session.every, on_connect/on_disconnect (timing.py)
        # The app's hooks, run around each session's life.
        self._hooks = SessionHooks(hub=self.hub, metrics=self.metrics,
                                   shared_widget=self.global_with_key,
                                   forget=self.tab_registry.forget, discard=self.transfers.discard,
                                   ended_elsewhere=self._relay.ended if self._relay else None)
        #: Runs sessions' tasks (``session.run_task``) on a pool of their own.
        self.task_runner = wire_work(self, threads=task_threads)
        self.sessions.on_session_start(self._hooks.started)
        self.sessions.on_session_restore(self._hooks.restored)
        self.sessions.on_session_revive(self._hooks.revived)
        self.sessions.on_session_gone(self.hub.expire)
        self.sessions.on_session_end(self._hooks.ended)
        self.metrics.gauge("stgo_sessions_active", "Live sessions.", lambda: len(self.sessions))
        self.metrics.gauge("stgo_sessions_pending",
                           "Live sessions no connection has activated yet.",
                           self.sessions.pending_count)
        self.metrics.gauge("stgo_connections_open", "Open WebSocket connections.",
                           lambda: len(self.hub))
        self._endpoints = Endpoints(
            settings=self, site=self, sessions=self.sessions, transfers=self.transfers,
            store=self.store, redeem_rotation=self.redeem_rotation,
            new_session_limits=self.new_session_limits,
            connection_limits=self.connection_limits, metrics=self.metrics,
            suspicious=self.suspicious, tabs=self.tab_registry, hub=self.hub,
            open_page=self.open_page, handlers=functools.partial(Dispatcher, self), loops=self)
        self._setup_auth(auth)  # sign-in (stgo.auth), when auth= is given

    def __repr__(self) -> str:
        return f"<App {self.page_title!r} sessions={len(self.sessions)}>"

    # -- WSGI ----------------------------------------------------------------------------

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """WSGI entry point; forwards to :meth:`wsgi_app` so middleware can wrap that."""
        return self.wsgi_app(environ, start_response)

    def wsgi_app(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """The actual WSGI application (wrap this one with middleware).

        The first request of a process (a health check aside) starts the App
        in that process if nobody did (:meth:`start`), whatever the server.
        """
        if environ.get("PATH_INFO") != "/health":  # a probe must not wait for Redis
            self._life.ensure_started()
        return self._endpoints(environ, start_response)

    # -- global widgets (SharedWidgets: the App's own page) ------------------------------------

    def _site(self) -> Site:
        return self.router

    def clear_widgets(self) -> None:
        """Remove every global widget of the App's own page (the sidebar and
        top bar stay, emptied; other pages keep theirs)."""
        super().clear_widgets()
        self.sidebar.clear()
        self.topbar.clear()

    def global_widgets(self) -> list[Widget]:
        """Top-level global widgets of the App's own page ``/``, sidebar included."""
        return [*self.widgets, self.sidebar, self.topbar]

    def every_global_widget(self) -> list[Widget]:
        """Top-level shared widgets of every page, sidebar and top bar included."""
        tops = self.global_widgets()
        for page in self.pages:
            tops.extend(page.widgets)
        return tops

    def get_widget(self, key: str) -> Widget | None:
        """The global widget with *key* (or ID), anywhere in the tree, or ``None``."""
        for top in self.global_widgets():
            for w in top.walk():
                if key in (w.key, w.id):
                    return w
        return None

    #: The global widget whose key is *key* (not its ID), or ``None``: the
    #: App's own page's :meth:`with_key` (the sidebar and top bar included).
    global_with_key = SharedWidgets.with_key

    def _changed(self, widget: Widget, change: str) -> None:
        if change == "adopt":  # a global container takes *widget* in
            check_unique_keys(widget, self.with_key)
            self.router.names.name(widget, self.path)
            return
        self.router.shared_changed(widget, change)  # the one door: pushed and saved

    def widget(self, key: str) -> Widget:
        """The global widget with *key*; raise KeyError if none."""
        found = self.get_widget(key)
        if found is None:
            raise KeyError(f"no global widget with key {key!r}")
        return found

    def add_widget_to_session(self, session_id: str | Session, widget: Widget) -> Widget:
        """Add *widget* to one session's private page.

        :raises WidgetError: no live session has that ID.
        """
        session = session_id if isinstance(session_id, Session) else self.sessions.get(session_id)
        if session is None or session.ended:
            raise WidgetError("no live session with that ID")
        return session.add_widget(widget)

    def find_widget(self, session: Session, widget_id: str,
                    path: str | None = None) -> Widget | None:
        """The widget with DOM *widget_id* that *session* can see (on the page
        at *path*, if given; else on any page its ``access`` lets it open), or ``None``."""
        return self.router.find_widget(session, widget_id, path)

    def render_roots(self, session: Session, path: str = "/") -> dict[str, str]:
        """HTML of each page root for *session* on the page at *path*."""
        return self.router.render_roots(session, path)

    def toast(self, text: Any, *, icon: str | None = None, duration: float = 4.0) -> int:
        """Show a short notice on every open tab; return how many took it.

        :param duration: seconds before it fades (0: stays until dismissed).
        """
        return self.hub.client_message(None, toast_message(text, icon, duration))

    @contextlib.contextmanager
    def batch(self) -> Iterator[Batch]:
        """Group changes made in the block (say, in a background thread) into one push."""
        with self.hub.batch() as b:
            yield b

    # -- hooks -------------------------------------------------------------------------------

    def on_session_start(self, fn: StartHook) -> StartHook:
        """Register ``fn(session)``, run once per new session; usable as a decorator."""
        check_callback(fn, ("session",), "an on_session_start hook")
        self._hooks.start.append(fn)
        return fn

    def on_session_end(self, fn: EndHook) -> EndHook:
        """Register ``fn(session, reason)``, run once when a session ends."""
        check_callback(fn, ("session", "reason"), "an on_session_end hook")
        self._hooks.end.append(fn)
        return fn

    def on_event(self, fn: EventHook) -> EventHook:
        """Register ``fn(session, widget, event, value)``, run before every widget handler."""
        check_callback(fn, ("session", "widget", "event", "value"), "an on_event hook")
        self._hooks.event.append(fn)
        return fn

    def session_page(self, fn: StartHook) -> StartHook:
        """Register ``fn(session)`` that adds a session's private widgets *from
        its state*; usable as a decorator.

        stgo calls it whenever a process must draw a session whose widgets it
        does not hold: right after ``on_session_start`` for a new session,
        and when a session is loaded from a persistent store (after a
        restart, or in another process).  Widgets a callback adds later are
        not redrawn by it unless the state says they should be.
        """
        self._hooks.page = fn
        return fn

    # -- session ID rotation ----------------------------------------------------------------

    def rotate_session(self, session: Session) -> str:
        """Give *session* a new ID at once; return it.

        Call it when the privilege of a session changes (login, logout) so
        that an ID someone planted or saw before is worthless.  State and
        widgets move with the session; the old ID is refused everywhere from
        now on, and every open connection of the session is closed, so that
        nobody keeps a socket on it by holding the old cookie.

        Called from a widget's callback, the connection whose event it is gets
        a one-time token (good for :data:`ROTATION_TOKEN_TTL` seconds) that
        its client trades over HTTP (``POST session/rotate?token=...``) for the
        new ``HttpOnly`` cookie before reconnecting; the browser's other tabs
        (closed with :data:`~stgo.protocol.CLOSE_ROTATED`) retry until the
        shared cookie has changed.  Nobody is sent the new ID.

        Called from anywhere else (a background thread, a hook), no tab holds
        a token: every tab is closed with :data:`~stgo.protocol.CLOSE_MOVED`
        and reloads into a fresh session, and the rotated session is left to
        whoever the app hands it to (nobody, usually: it expires unused).
        """
        return self._rotations.rotate(session)

    def redeem_rotation(self, token: str) -> str | None:
        """Trade a rotation token for the session's new ID (once), or ``None``."""
        return self._rotations.redeem(token)

    @property
    def allowed_hosts(self) -> frozenset[str] | None:
        """The ``allowed_hosts`` patterns (normalised), or ``None`` (see the class)."""
        return self._hosts.patterns

    @allowed_hosts.setter
    def allowed_hosts(self, hosts: Iterable[str] | None) -> None:
        self._hosts.patterns = None if hosts is None else host_patterns(hosts)

    def client_address(self, session: Session) -> str | None:
        """The address of the client whose event is being handled for
        *session*, from inside its callback (behind a trusted proxy, the
        address the proxy saw); ``None`` elsewhere.

        Limit what an address may try (logins, say) with it, not what a
        session may: a new session costs an attacker nothing.
        """
        event = self.hub.current_event(session)
        return event.client if event is not None else None

    def listening_on(self, host: str) -> None:
        """Told by stgo's server which address it listens on: with
        ``allowed_hosts`` unset, a loopback one limits the app to
        :data:`LOCAL_HOSTS` (a page on this machine, asked for by its name)."""
        self._hosts.listening_on(host)

    def effective_allowed_hosts(self) -> frozenset[str] | None:
        """The host names this app answers to now, or ``None`` for any."""
        return self._hosts.effective(self.trust_proxy)

    def event_lock(self, session: Session) -> contextlib.AbstractContextManager[None]:
        """Hold while running an event of *session*: with many processes on
        one Redis, a lock across them (:meth:`stgo.cluster.relay.Relay.event_lock`);
        otherwise nothing (the session's event queue orders them already)."""
        if self._relay is None:
            return contextlib.nullcontext()
        return self._relay.event_lock(session)

    def event_settled(self) -> None:
        """Call after an event's batch is pushed (its ack is on its way):
        with many processes, reads what Redis answered to the event's commit
        (:meth:`stgo.cluster.relay.Relay.settle`)."""
        if self._relay is not None:
            self._relay.settle()

    def event_hooks(self) -> list[EventHook]:
        """The ``on_event`` hooks (a copy)."""
        return list(self._hooks.event)

    # -- running -------------------------------------------------------------------------------

    def start(self) -> None:
        """Open the store, restore the global widgets' run-time changes from it,
        and start background work (the cleanup thread, with Redis the relay).

        Idempotent in a process: a second call (a server hook, after the
        first request started it) does nothing.  You need not call it: the
        first request in each process (a forked worker included) starts the
        App there, and :meth:`stop` runs at the process's exit.  Servers and
        hooks that call it keep working.

        :raises StoreError: the store cannot be used (bad URL, Redis unreachable).
        """
        self._life.start()

    def _after_fork(self) -> None:
        self._lock = threading.RLock()
        self._rotations.after_fork()

    @property
    def io(self) -> IOLoop:
        """The loop that serves every open WebSocket (started by the first)."""
        return self._life.io

    @property
    def workers(self) -> WorkerPool:
        """The threads that run the events arriving on :attr:`io`, and lead it."""
        return self._life.workers

    def handed_over(self) -> None:
        """Told by stgo's reloader: this process handed its sessions to the
        next one (``--reload``), nothing is left to stop at its exit (stop()
        would end them)."""
        self._life.handed_over()

    def stop(self) -> None:
        """Stop: close every connection (1001), end every session with reason
        ``"shutdown"``, and join the cleanup thread, the I/O loop (once the
        closes went out, bounded) and the event threads.  With a persistent store
        sessions are *not* ended: they wait in the store for the next start.
        No request starts the App again in this process (:meth:`start` does)."""
        self._life.stop()

    def run(self, host: str = "127.0.0.1", port: int = 8501, **kwargs: Any) -> None:
        """Serve with the built-in threaded server until SIGINT/SIGTERM."""
        from .server import serve

        serve(self, host=host, port=port, **kwargs)

