"""Tasks: a session's long work off its event queue (``session.run_task``).

``task = session.run_task(fn, *args, key="job")`` runs ``fn(task, *args)`` on
a thread of a pool of its own (:class:`TaskPool`, ``stgo-task-N``), so the
session's other events go on meanwhile and the event threads are never
taken.  The pool is bounded: when every thread is busy a task waits in line
(counted in ``stgo_tasks_queued_total`` and said in the log); a session may
have at most :attr:`TaskRunner.per_session` tasks waiting or running.

Cancellation is cooperative: :attr:`Task.cancelled` turns ``True`` on
:meth:`Task.cancel`, when a newer task of the session takes the same *key*,
or when the session ends (before its end hooks run).  From then on a widget
or state change the task makes raises :class:`~stgo.errors.Cancelled` there
and is not pushed.  The task's changes are pushed while it runs, coalesced
like a long callback's (:mod:`stgo.core.live`).  A task that raises is
reported as a failing callback is: one traceback in the log under an error
id, the id shown to the user (on the tab that started it, if still open).

A task runs in the process that started it, whatever the store; see
docs/tasks.md for what a process's death means for it.
"""

from __future__ import annotations

import inspect
import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import Cancelled, CapacityError, WidgetError
from ..failures import FailureLog, generic_message
from ..ids import redact
from ..metrics import Metrics
from ..transport.pool import WorkerPool
from ..widgets.base import check_callback

if TYPE_CHECKING:
    import contextlib

    from ..protocol import Outlet

__all__ = ["Task", "TaskPool", "TaskRunner", "SessionTasks", "TASK_THREADS", "TASKS_PER_SESSION"]

log = logging.getLogger("stgo")

#: Threads of the task pool, by default.
TASK_THREADS = 16
#: Tasks one session may have waiting or running at once, by default.
TASKS_PER_SESSION = 8
#: Seconds a task started with the key of a running one waits for that one
#: to stop (it stops at its next change or check) before it starts anyway:
#: the old one's last change cannot then land after the new one's.
REPLACE_GRACE = 1.0


def task_name(fn: object) -> str:
    """*fn*'s qualified name (for logs and errors)."""
    return getattr(fn, "__qualname__", None) or type(fn).__qualname__


class Session(Protocol):
    """What tasks need of their session (:class:`stgo.core.session.Session`;
    a protocol, so that the session's module may import this one)."""

    @property
    def id(self) -> str: ...

    @property
    def ended(self) -> bool: ...


class Event(Protocol):
    """What tasks read of the event being handled (a :class:`~stgo.core.batch.Batch`)."""

    @property
    def conn(self) -> Outlet | None: ...


class Task:
    """One run of ``fn(task, *args)`` for a session (see :meth:`stgo.Session.run_task`).

    Every property may be read from any thread.
    """

    def __init__(self, fn: Callable[..., Any], args: tuple[Any, ...], key: str | None,
                 session: Session) -> None:
        #: The function run (``fn(task, *args)``).
        self.fn = fn
        self.args = args
        #: The key given to ``run_task`` (``None``: none).
        self.key = key
        #: The session it works for.
        self.session = session
        self._cancel = threading.Event()
        self._done = threading.Event()
        self._started = False
        self._result: Any = None
        self._error: BaseException | None = None
        # The tab whose event started it (its failure is shown there).
        self.conn: Outlet | None = None
        # The task with the same key it cancelled (it waits for it to stop).
        self.replaces: Task | None = None

    def __repr__(self) -> str:
        state = "done" if self.done else "running" if self._started else "queued"
        cancelled = ", cancelled" if self.cancelled else ""
        return f"<Task {self.name} key={self.key!r} {state}{cancelled}>"

    @property
    def name(self) -> str:
        """The function's name (for logs and errors)."""
        return task_name(self.fn)

    @property
    def cancelled(self) -> bool:
        """Whether it was asked to stop: :meth:`cancel`, a newer task with its
        key, or its session's end.  Check it in loops and return."""
        return self._cancel.is_set() or self.session.ended

    def cancel(self) -> None:
        """Ask it to stop (it stops at its next check of :attr:`cancelled`,
        or its next widget change, which raises :class:`~stgo.errors.Cancelled`).
        A task still waiting for a thread never runs."""
        self._cancel.set()

    @property
    def queued(self) -> bool:
        """Waiting for a thread of the pool (every one is busy)."""
        return not self._started and not self._done.is_set()

    @property
    def done(self) -> bool:
        """Whether it has finished: returned, raised, or was cancelled before running."""
        return self._done.is_set()

    @property
    def result(self) -> Any:
        """What ``fn`` returned (``None`` until then, or if it raised)."""
        return self._result

    @property
    def error(self) -> BaseException | None:
        """What ``fn`` raised (``None`` if nothing, or only
        :class:`~stgo.errors.Cancelled` after its cancellation)."""
        return self._error

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until it is :attr:`done` (at most *timeout* seconds); return whether it is."""
        return self._done.wait(timeout)


class SessionTasks:
    """One session's tasks: by key, and in the order they were started."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tasks: list[Task] = []

    def add(self, task: Task, limit: int) -> Task | None:
        """Add *task*; return the task it replaces (same key), if any.

        :raises CapacityError: *limit* tasks (not counting the replaced one)
            are waiting or running already.
        """
        with self._lock:
            old = None
            if task.key is not None:
                old = next((t for t in self._tasks if t.key == task.key), None)
            if len(self._tasks) - (old is not None) >= limit:
                raise CapacityError(
                    f"this session already runs {limit} tasks: wait for one to end, cancel "
                    "one, or give the new one the key of one it replaces")
            if old is not None:
                self._tasks.remove(old)
            self._tasks.append(task)
        return old

    def discard(self, task: Task) -> None:
        """*task* is over."""
        with self._lock:
            if task in self._tasks:
                self._tasks.remove(task)

    def running(self) -> list[Task]:
        """The tasks not done yet (waiting or running), oldest first."""
        with self._lock:
            return list(self._tasks)

    def cancel_all(self) -> None:
        """Ask every task to stop (the session ends)."""
        for task in self.running():
            task.cancel()


class TaskPool(WorkerPool):
    """At most *size* threads (``stgo-task-N``) running queued jobs, the
    event pool's kind without a loop to lead; they start as work comes and
    end after *idle* seconds with nothing to do.

    :param on_queued: called (outside the pool's lock) with how many jobs
        wait when one more waits because every thread is busy.
    """

    def __init__(self, size: int, idle: float = 2.0,
                 on_queued: Callable[[int], None] | None = None) -> None:
        super().__init__(size, idle, name="stgo-task", leader=False)
        self._on_queued = on_queued

    def offer(self, job: Callable[[], None], *, first: bool = False) -> bool:
        """Run *job* on a pool thread; return ``False`` if it must wait for one."""
        if super().offer(job, first=first):
            return True
        if self._on_queued is not None:
            with self._cond:
                waiting = len(self._jobs) - self._waiting
            self._on_queued(waiting)
        return False


class TaskHub(Protocol):
    """What the runner needs of the hub: a live batch, the session's tabs, errors."""

    def batch(self, origin: Any = None, conn: Outlet | None = None,
              ack: int | None = None, client: str | None = None, *, live: bool = False,
              cancelled: Callable[[], bool] | None = None,
              ) -> contextlib.AbstractContextManager[object]: ...

    def current_event(self, session: Any) -> Event | None: ...

    def connections(self, session: Any = None) -> list[Outlet]: ...

    def send_error(self, session: Any, message: str, *, conn: Outlet | None = None,
                   seq: int | None = None) -> None: ...


class TaskRunner:
    """Runs the tasks of every session of an App on one bounded pool.

    :param hub: pushes the tasks' changes and shows their failures.
    :param failures: logs a failing task once, with the id its user sees.
    :param metrics: counts tasks started, failed and queued.
    :param show_details: whether users see a failure's exception text.
    :param threads: the pool's size.
    :param per_session: tasks one session may have waiting or running.
    """

    def __init__(self, *, hub: TaskHub, failures: FailureLog, metrics: Metrics,
                 show_details: Callable[[], bool], threads: int = TASK_THREADS,
                 per_session: int = TASKS_PER_SESSION) -> None:
        self._hub = hub
        self._failures = failures
        self._metrics = metrics
        self._show_details = show_details
        #: Tasks one session may have waiting or running at once.
        self.per_session = per_session
        self._full = threading.Event()  # said "full" in the log, not yet drained
        self.pool = TaskPool(threads, on_queued=self._queued)

    def run(self, session: Session, tasks: SessionTasks, fn: Callable[..., Any],
            args: tuple[Any, ...], key: str | None) -> Task:
        """Start ``fn(task, *args)`` for *session* (see :meth:`stgo.Session.run_task`)."""
        params = ("task", *(f"arg{i + 1}" for i in range(len(args))))
        check_callback(fn, params, "run_task's fn")  # a wrong signature fails here, not later
        if inspect.iscoroutinefunction(fn):
            raise WidgetError(f"run_task runs plain functions on a thread, not coroutines: "
                              f"make {task_name(fn)} a def, not an async def")
        if key is not None and not isinstance(key, str):
            raise WidgetError(f"a task's key must be a str or None, got {key!r}")
        task = Task(fn, args, key, session)
        event = self._hub.current_event(session)
        task.conn = event.conn if event is not None else None
        if session.ended:
            task.cancel()
            task._done.set()
            return task
        old = tasks.add(task, self.per_session)
        if old is not None:
            old.cancel()
            task.replaces = old
        self._metrics.inc("stgo_tasks_started_total")
        if self.pool.offer(lambda: self._run(task, tasks)):
            self._full.clear()
        return task

    def _queued(self, waiting: int) -> None:
        self._metrics.inc("stgo_tasks_queued_total")
        if not self._full.is_set():
            self._full.set()
            log.warning("all %d task threads are busy: %d task(s) wait for one "
                        "(App(task_threads=...) sets how many)", self.pool.size, waiting)

    def _run(self, task: Task, tasks: SessionTasks) -> None:
        session = task.session
        try:
            if task.replaces is not None:
                task.replaces.wait(REPLACE_GRACE)
                task.replaces = None
            if task.cancelled:
                return  # cancelled while it waited: it never runs
            task._started = True
            with self._hub.batch(origin=session, live=True,
                                 cancelled=lambda: task.cancelled):
                task._result = task.fn(task, *task.args)
        except Cancelled:
            pass  # it changed a widget after its cancellation: that is how it stops
        except Exception as exc:
            task._error = exc
            self._report(task, exc)
        finally:
            tasks.discard(task)
            task._done.set()

    def _report(self, task: Task, exc: Exception) -> None:
        """Show *exc* to the task's user as a failing callback is shown."""
        session = task.session
        where = f"task {task.name}"
        error_id = self._failures.record(where, exc, f"in session {redact(session.id)}")
        self._metrics.inc("stgo_errors_total", "task")
        message = generic_message(error_id)
        if self._show_details():
            message = f"{where} raised {type(exc).__name__}: {exc} (error {error_id})"
        conn = task.conn if task.conn in self._hub.connections(session) else None
        self._hub.send_error(session, message, conn=conn)
