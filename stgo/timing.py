"""The App's side of timers and presence: ``app.every``, ``app.on_connect``,
``app.on_disconnect``, ``app.online()`` (docs/timers.md).

:class:`TimingMixin` is one of the App's bases; it builds the App's
:class:`~stgo.core.timers.Timers` and :class:`~stgo.cluster.presence.Presence`
and hands them their collaborators.  It imports nothing of :mod:`stgo.app`:
what it needs of the App is named below as plain attributes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, overload

from .cluster.presence import Presence, PresenceHook
from .core.session import Session
from .core.timers import Lease, TimerHandle, Timers
from .store.redis import RedisStore
from .widgets.base import check_callback

if TYPE_CHECKING:
    from .core.hub import Hub
    from .core.manager import SessionManager
    from .core.tabs import TabRegistry
    from .failures import FailureLog
    from .lifecycle import Lifecycle
    from .metrics import Metrics
    from .store import Store

__all__ = ["TimingMixin"]

TimerFn = Callable[[], object]


class TimingMixin:
    """Timers and presence hooks of the App (a base of :class:`stgo.App`)."""

    # What the App has (set in its __init__ before _init_timing runs).
    hub: Hub
    sessions: SessionManager
    store: Store
    metrics: Metrics
    failures: FailureLog
    tab_registry: TabRegistry[Session]
    _life: Lifecycle

    def _init_timing(self) -> None:
        """Build the timers and presence, and wire them in (the App's __init__)."""
        life = self._life
        store = self.store
        lease: Lease | None = None
        records = None
        if isinstance(store, RedisStore):
            lease, records = store.timer_leases, store.presence_records
        #: The App's timers (``app.every``, ``session.every``).
        self.timers = Timers(submit=lambda job: life.workers.submit(job), batch=self.hub.batch,
                             failures=self.failures, metrics=self.metrics, lease=lease,
                             exists=store.sessions_exist if store.persistent else None,
                             current=self.sessions.cached)
        self._presence = Presence(sessions=self.sessions,
                                  submit=lambda job: life.workers.submit(job),
                                  batch=self.hub.batch, failures=self.failures,
                                  metrics=self.metrics, records=records)
        self.hub.schedule = lambda session, interval, fn: self.timers.add(
            interval, fn, session=session)
        self.tab_registry.presence = self._presence.tab_changed
        life.parts += [self.timers, self._presence]

    @overload
    def every(self, interval: float, fn: None = None, *,
              name: str | None = None) -> Callable[[TimerFn], TimerFn]: ...

    @overload
    def every(self, interval: float, fn: TimerFn, *, name: str | None = None) -> TimerHandle: ...

    def every(self, interval: float, fn: TimerFn | None = None, *,
              name: str | None = None) -> Callable[[TimerFn], TimerFn] | TimerHandle:
        """Run ``fn()`` every *interval* seconds while the app runs; usable as
        a decorator (``@app.every(0.5)``, which returns the function) or called
        with the function (which returns its :class:`~stgo.core.timers.TimerHandle`).

        Every timer of the App shares one scheduler thread; a tick runs on the
        event pool inside a batch (its changes are one push), a tick still
        running makes the next one skipped, and one that raises is logged
        once, then counted.  With a shared store (Redis) each tick runs on
        exactly one process of the cluster (a fenced lease; inside the tick,
        :func:`stgo.current_tick` tells its slot and fencing token); if that
        process dies another takes over within the lease plus two intervals.

        :param interval: seconds between ticks (at least 0.01).
        :param name: the timer's name, the same in every process (default: the
            function's module and qualified name); two timers need two names.
        :raises ConfigurationError: a bad interval, or a name taken.
        """
        if fn is not None:
            return self.timers.add(interval, fn, name=name)

        def register(f: TimerFn) -> TimerFn:
            self.timers.add(interval, f, name=name)
            return f

        return register

    def on_connect(self, fn: PresenceHook) -> PresenceHook:
        """Register ``fn(session, tab)``, run when a tab connects (its first
        load, a reconnect), on the process it connected to; usable as a decorator."""
        check_callback(fn, ("session", "tab"), "an on_connect hook")
        self._presence.connect.append(fn)
        return fn

    def on_disconnect(self, fn: PresenceHook) -> PresenceHook:
        """Register ``fn(session, tab)``, run once when a tab went away (closed,
        reloaded, dropped, or its process died: then on another process, a few
        seconds later, with a shared store); usable as a decorator."""
        check_callback(fn, ("session", "tab"), "an on_disconnect hook")
        self._presence.disconnect.append(fn)
        return fn

    def online(self) -> dict[str, int]:
        """``{"sessions": n, "tabs": m}``: the sessions and tabs connected now,
        exactly in one process; across a cluster (Redis), converging within
        a few seconds (another process's tabs count once it recorded them;
        a dead process's stop counting within its presence TTL)."""
        return self._presence.online()
