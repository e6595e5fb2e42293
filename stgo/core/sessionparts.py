"""Two parts of :class:`~stgo.core.session.Session`'s public face, kept in a
module of their own so the session's own (state, widgets, tabs, its owner's
wiring) stays a reader's length: the person signed in (docs/auth.md) and the
long work it runs (docs/tasks.md).  Each reads only the attributes it names."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

from ..errors import AuthError, WidgetError
from ..store.base import StateView
from .identity import USER_KEY, IdentityLink, User, user_from
from .resources import Resources
from .tasks import Session as TaskOwner
from .tasks import SessionTasks, Task, TaskRunner

__all__ = ["SessionPerson", "SessionWork"]

T = TypeVar("T")


class SessionPerson:
    """Who is signed in on the session (``stgo.auth``)."""

    #: The app's identity service (set by the manager when the app has ``auth=``).
    identity: IdentityLink | None = None

    @property
    def user(self) -> User | None:
        """The signed-in :class:`~stgo.User`, or ``None`` (anonymous, or the
        sign-in is older than the app's ``login_max_age``)."""
        return user_from(self.get(USER_KEY), self._clock())

    @property
    def user_state(self) -> StateView:
        """The state of the signed-in *person*, shared by all their sessions,
        devices and processes (the session-state API).

        :raises AuthError: nobody is signed in, or the app has no ``auth=``.
        """
        if self.identity is None:
            raise AuthError("session.user_state needs sign-in: stgo.App(auth=stgo.OIDC(...))")
        return self.identity.user_state(self)

    def logout(self, everywhere: bool = False) -> None:
        """Sign this session out (a new session ID, its widgets drawn again);
        with *everywhere*, also end every other session of the same user, on
        every process.  Nothing happens when nobody is signed in."""
        if self.identity is not None:
            self.identity.logout(self, everywhere)

    # Set by the Session.
    _clock: Callable[[], float]

    def get(self, key: str, default: Any = None) -> Any:
        """The session's value for *key* (the Session's own :meth:`get`)."""
        raise NotImplementedError


class SessionWork:
    """The session's tasks and per-session resources (stgo.core.tasks, stgo.core.resources)."""

    #: The App's task pool (set when the session is served by an App).
    task_runner: TaskRunner | None
    _tasks: SessionTasks
    _resources: Resources

    def run_task(self, fn: Callable[..., Any], *args: Any, key: str | None = None) -> Task:
        """Run ``fn(task, *args)`` on a task thread, off this session's event
        queue (its other events go on); return the :class:`~stgo.core.tasks.Task`.

        Its changes are pushed while it runs.  A task started with the *key*
        of a running one cancels that one.  ``task.cancelled`` turns true on
        ``task.cancel()``, a newer task with its key, or this session's end;
        from then on its widget changes raise :class:`~stgo.Cancelled`.  See
        docs/tasks.md.

        :raises CapacityError: this session runs as many tasks as it may.
        """
        runner = self.task_runner
        if runner is None:
            raise WidgetError("run_task needs a session served by an App")
        return runner.run(cast(TaskOwner, self), self._tasks, fn, args, key)  # a Session

    def tasks(self) -> list[Task]:
        """This session's tasks that are not done (running or waiting), oldest first."""
        return self._tasks.running()

    def resource(self, factory: Callable[[], T], *, on_release: Callable[[T], object] | None = None,
                 key: Any = None) -> T:
        """This session's one value made by ``factory()`` (a connection, a
        client), made on first use; ``on_release(value)`` is called once when
        the session ends, after its end hooks.

        :param key: one value per key (default: per *factory*).
        :raises WidgetError: the session has ended.
        """
        return self._resources.get(factory, on_release=on_release, key=key)
