"""The app's session hooks, and a session's start, draw and end around them.

:class:`SessionHooks` keeps what the app registered (``on_session_start``,
``on_session_end``, ``on_event``, ``session_page``) and runs it when the
session manager says a session started, was restored from the store or from
a previous process (``--reload``), must be redrawn (another process changed
it), or ended.  A hook that raises is logged, never propagated.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from ..ids import redact
from ..metrics import Metrics
from ..widgets.base import Widget
from .hub import Hub
from .session import Session

__all__ = ["SessionHooks", "StartHook", "EndHook", "EventHook", "call_hook"]

log = logging.getLogger("stgo")

StartHook = Callable[[Session], None]
EndHook = Callable[[Session, str], None]
EventHook = Callable[[Session, Widget, str, Any], None]


def call_hook(hook: Callable[..., None], *args: Any) -> None:
    """Run *hook*; log what it raises instead of raising it."""
    try:
        hook(*args)
    except Exception:
        log.exception("hook %s raised", getattr(hook, "__qualname__", hook))


class SessionHooks:
    """The app's hooks, run around each session's life.

    :param hub: the connections (a session's pushes, its closes at the end).
    :param metrics: counts sessions created and ended (by reason).
    :param shared_widget: the global widget with a key (``session.shared_widget``).
    :param forget: forgets a session's browser tabs when it ends.
    :param discard: drops a session's uploads and downloads when it ends.
    :param ended_elsewhere: told an ended session's ID, so that its tabs on
        other processes are told too (the relay), or ``None``.
    """

    def __init__(self, *, hub: Hub, metrics: Metrics,
                 shared_widget: Callable[[str], Widget | None],
                 forget: Callable[[Session], None], discard: Callable[[Session], None],
                 ended_elsewhere: Callable[[str], None] | None = None) -> None:
        self._hub = hub
        self._metrics = metrics
        self._shared_widget = shared_widget
        self._forget = forget
        self._discard = discard
        self._ended_elsewhere = ended_elsewhere
        #: ``on_session_start`` hooks, in order.
        self.start: list[StartHook] = []
        #: ``on_session_end`` hooks, in order.
        self.end: list[EndHook] = []
        #: ``on_event`` hooks, in order.
        self.event: list[EventHook] = []
        #: The ``session_page`` function, or ``None``.
        self.page: StartHook | None = None

    def started(self, session: Session) -> None:
        """A new session: count it, run the start hooks and draw it."""
        self._metrics.inc("stgo_sessions_created_total")
        self.revived(session, {})

    def revived(self, session: Session, state: dict[str, Any]) -> None:
        """Start *session*; a session a previous process saved (``--reload``)
        has its *state* laid over what the start hooks set before
        ``session_page`` draws it, so the new code draws the old values."""
        session.observe(self._hub)
        session.shared_widget = self._shared_widget
        with self._hub.batch():
            for hook in list(self.start):
                call_hook(hook, session)
            for key, value in state.items():
                try:
                    session.set(key, value)
                except Exception:  # a start hook's input refuses the old value
                    log.warning("--reload: %s of session %s not brought back",
                                key, redact(session.id), exc_info=True)
            self.draw(session)

    def restored(self, session: Session) -> None:
        """A session loaded from the store: draw it from its state."""
        session.observe(self._hub)
        with self._hub.batch() as batch:
            batch.local_only = True  # drawn from the state: nothing changed
            self.draw(session)

    def draw(self, session: Session) -> None:
        """Run ``session_page`` for *session* (if any)."""
        page = self.page
        if page is not None:
            call_hook(page, session)

    def redraw(self, session: Session) -> bool:
        """Draw *session*'s private widgets anew from its state (another
        process changed it); ``False`` if no ``session_page`` draws them."""
        if self.page is None:
            return False
        session.clear_widgets()
        self.draw(session)
        return True

    def ended(self, session: Session, reason: str) -> None:
        """*session* ended for *reason*: close or expire its tabs, run the end hooks."""
        self._metrics.inc("stgo_sessions_ended_total", reason)
        if reason == "shutdown":
            for conn in self._hub.connections(session):
                conn.close(1001, "server shutdown")
        else:
            self._hub.expire(session)
            if self._ended_elsewhere is not None:
                self._ended_elsewhere(session.id)  # its tabs on other processes are told too
        self._forget(session)
        for hook in list(self.end):
            call_hook(hook, session, reason)
        self._discard(session)
        session.observe(None)
