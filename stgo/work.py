"""Long-running work, wired into an App: tasks, per-session resources, the cache's store.

The App calls :func:`wire_work` once while it is built (one line in
``App.__init__``): it makes the :class:`~stgo.core.tasks.TaskRunner`, gives
it to every session the App starts or loads (before its hooks run, so a
start hook may start a task), and registers the App's store as the one
``@stgo.cache_data`` keeps values in (see :mod:`stgo.cache`).  Nothing here
imports the App: it is typed as :class:`WorkHost`.
"""

from __future__ import annotations

from typing import Any, Protocol

from .cache import backends
from .core.hub import Hub
from .core.manager import SessionManager
from .core.session import Session
from .core.tasks import TaskRunner
from .failures import FailureLog
from .metrics import Metrics
from .store import Store

__all__ = ["WorkHost", "wire_work"]


class WorkHost(Protocol):
    """What :func:`wire_work` needs of the App."""

    @property
    def hub(self) -> Hub: ...

    @property
    def failures(self) -> FailureLog: ...

    @property
    def metrics(self) -> Metrics: ...

    @property
    def sessions(self) -> SessionManager: ...

    @property
    def store(self) -> Store: ...

    @property
    def show_error_details(self) -> bool: ...


def wire_work(app: WorkHost, *, threads: int) -> TaskRunner:
    """Make *app*'s task runner, hand it to each of its sessions, and make
    *app*'s store the cache's; return the runner."""
    runner = TaskRunner(hub=app.hub, failures=app.failures, metrics=app.metrics,
                        show_details=lambda: app.show_error_details, threads=threads)

    def adopt(session: Session, *_: Any) -> None:
        session.task_runner = runner

    app.sessions.on_session_start(adopt)
    app.sessions.on_session_restore(adopt)
    app.sessions.on_session_revive(adopt)
    backends.use(app.store)
    return runner
