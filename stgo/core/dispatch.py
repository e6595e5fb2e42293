"""From a client frame to the widget's handlers, in the right session."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from .. import protocol
from ..errors import ProtocolError, SessionBusyError
from ..failures import FailureLog, generic_message
from ..ids import redact
from ..limits import LogOnce, TokenBucket
from ..metrics import Metrics
from ..protocol import CLOSE_POLICY, Outlet
from ..widgets.base import Event
from ..widgets.forms import form_of
from .hub import Hub
from .session import Session
from .tabs import TabRegistry

if TYPE_CHECKING:
    from ..widgets.base import Widget

__all__ = ["Dispatcher", "EventHost"]

log = logging.getLogger("stgo")


#: Full renders one connection may ask for (``resync`` and ``navigate`` share
#: the budget): per second, and back to back.
RESYNC_RATE = 1.0
RESYNC_BURST = 5

# Refused renders in a row after which the client is closed (1008).
_RESYNC_ABUSE = 50

#: Malformed messages one connection is told about: per second, and back to
#: back.  Past that they get no answer (an error costs more than the frame).
BAD_MESSAGE_RATE = 1.0
BAD_MESSAGE_BURST = 10

# Unanswered malformed messages in a row after which the client is closed (1008).
_BAD_MESSAGE_ABUSE = 50

#: Events that, sent again for the same widget while the last one still waits
#: to run (nothing queued after it), join it: they run together, in order,
#: with one redraw (a table's sort: each may cost a sort of the whole data).
FOLDED_EVENTS = frozenset({"sort"})

# Events folded into one run at most (then a new run starts).
_FOLD_MAX = 16


class EventHost(Protocol):
    """What a :class:`Dispatcher` needs of the app whose events it runs
    (the :class:`~stgo.app.App` is one): its hub and counters, its limits,
    where a widget is, and how an event is run with many processes."""

    @property
    def hub(self) -> Hub: ...

    @property
    def metrics(self) -> Metrics: ...

    @property
    def suspicious(self) -> LogOnce: ...

    @property
    def failures(self) -> FailureLog: ...

    @property
    def show_error_details(self) -> bool: ...

    @property
    def language(self) -> str:
        """The language of stgo's own words (``App(language=...)``)."""

    @property
    def event_rate(self) -> float | None: ...

    @property
    def event_burst(self) -> int: ...

    @property
    def tab_registry(self) -> TabRegistry[Session]: ...

    def find_widget(self, session: Session, widget_id: str,
                    path: str | None = None) -> Widget | None:
        """The widget with DOM *widget_id* that *session* sees on the page at *path*."""

    def event_lock(self, session: Session) -> contextlib.AbstractContextManager[None]:
        """Held while one event of *session* runs."""

    def event_settled(self) -> None:
        """Called after an event's batch is pushed."""

    def event_hooks(self) -> Sequence[Callable[..., object]]:
        """The ``on_event`` hooks, run before a widget's handlers."""

    def follow_client(self, session: Session, conn: Outlet, path: str | None,
                      query: dict[str, str] | None) -> None:
        """The tab on *conn* moved to *path* (``None``: changed its query only)."""


class Dispatcher:
    """Handles the frames of one connection.

    Each event is queued on its session's :class:`~stgo.serial.SerialQueue`,
    so a session's events run one at a time in arrival order, whichever tab
    sent them, while other sessions run in parallel.

    :param app: the app whose events these are (see :class:`EventHost`).
    :param run: where the session's queue runs (a worker pool's ``submit``,
        when frames arrive on the I/O loop, which must never run user code);
        ``None`` runs it on the calling thread.
    """

    def __init__(self, app: EventHost, session: Session, conn: Outlet, client: str = "",
                 run: Callable[[Callable[[], None]], None] | None = None) -> None:
        self.app = app
        self.session = session
        self.conn = conn
        #: The client's address, for logs.
        self.client = client
        self._run_on = run
        # A full render asked for and not yet queued: another waits for it.
        self._render_asked = False
        self._resyncs: TokenBucket | None = None
        self._bad_messages: TokenBucket | None = None
        self._closing = False
        # The job queued last, while it has not begun, if it can take more of
        # its kind (a navigation, a table's sort): what it will run, and of what.
        self._tail_lock = threading.Lock()
        self._tail: list[Any] | None = None
        self._tail_kind: tuple[str, ...] = ()

    def __call__(self, raw: str | bytes) -> None:
        if self._closing:
            return  # closed for abuse once the accepted events are done: read no more
        try:
            msg = protocol.decode(raw)
        except ProtocolError as exc:
            self._malformed(str(exc), exc.seq)
            return
        if isinstance(msg, protocol.Resync):
            self._resync()
            return
        if isinstance(msg, protocol.Navigate):
            self._navigate(msg)
            return
        if not self._within_rate():
            seq = msg.seq if isinstance(msg, protocol.ClientEvent) else None
            self._error("too many events: slow down", seq, kind="rate_limited")
            return
        if isinstance(msg, protocol.QueryChange):
            # In line with the events: a click sent before it runs on the old query.
            query = msg
            self._post(lambda: self._guarded(lambda: self._moved(query), None))
            return
        if msg.event in FOLDED_EVENTS:
            self._post_folded(("event", msg.widget, msg.event), msg, replace=False,
                              run=lambda events: self._run(events[-1], events))
            return
        self._post(lambda: self._guarded(lambda: self._run(msg), msg.seq))

    def _post_folded(self, kind: tuple[str, ...], item: Any, *, replace: bool,
                     run: Callable[[list[Any]], None]) -> None:
        """Queue ``run(items)``, or add *item* to the items of the last job
        queued if it is of the same *kind* and has not begun (*replace*: in
        place of them)."""
        with self._tail_lock:
            tail = self._tail
            if tail and self._tail_kind == kind and len(tail) < _FOLD_MAX:
                if replace:
                    tail[:] = [item]
                else:
                    tail.append(item)
                return
        box = [item]

        def job() -> None:
            with self._tail_lock:
                items = box[:]
                box.clear()  # begun: what comes next queues anew
            if items:
                run(items)

        seq = item.seq if isinstance(item, protocol.ClientEvent) else None
        self._post(lambda: self._guarded(job, seq))
        with self._tail_lock:
            self._tail, self._tail_kind = box, kind

    def _post(self, job: Callable[[], None]) -> None:
        with self._tail_lock:
            self._tail = None  # what was queued before this job stays before it
        if self._run_on is None:
            self.session.events.submit(job)
        else:
            self.session.events.post(job, self._run_on)

    def _resync(self) -> None:
        """Queue one full render for this tab, unless one is on its way.

        A render is the largest message there is: each asked-for one that
        waited for a client that does not read multiplied the server's
        memory.  At most one is asked for or waiting at a time (it and the
        patches queued after it bring the page up to date), and a client
        that keeps asking past :data:`RESYNC_BURST` is refused, then closed.
        """
        if self._render_asked or getattr(self.conn, "render_waiting", False):
            return
        if not self._may_render("resync"):
            return
        self._render_asked = True

        def render() -> None:
            self._render_asked = False
            self.app.hub.full_update(self.session, self.conn)

        self._post(lambda: self._guarded(render, None))

    def _may_render(self, what: str) -> bool:
        """Take one full render from this connection's budget (resyncs and
        navigations); past :data:`_RESYNC_ABUSE` refusals in a row, close it."""
        bucket = self._resyncs
        if bucket is None:
            bucket = self._resyncs = TokenBucket(RESYNC_RATE, RESYNC_BURST)
        if bucket.allow():
            return True
        self.app.metrics.inc("stgo_refused_total", f"{what}_rate")
        self.app.suspicious.warn(self.client, f"{what} rate limit", redact(self.session.id))
        if bucket.refused > _RESYNC_ABUSE:
            self._closing = True
            self.conn.close(CLOSE_POLICY, f"too many {what}s")
        return False

    def _navigate(self, msg: protocol.Navigate) -> None:
        """Queue a render of the page the tab moved to, within the render budget.

        Navigations that arrive while the last one still waits (nothing else
        queued after it) replace it: only the newest is rendered, and its
        page's ``on_open`` hooks run once.
        """
        if not self._may_render("navigate"):
            self._error("too many page changes: slow down", None, kind="rate_limited")
            return
        # In line with the events: a click sent before a link runs on the old page.
        self._post_folded(("navigate",), msg, replace=True,
                          run=lambda navs: self._moved(navs[-1]))

    def _malformed(self, message: str, seq: int | None) -> None:
        """Tell the client what was wrong with its message, a bounded number
        of times; a client that keeps sending them is closed (1008)."""
        bucket = self._bad_messages
        if bucket is None:
            bucket = self._bad_messages = TokenBucket(BAD_MESSAGE_RATE, BAD_MESSAGE_BURST)
        if bucket.allow():
            self._error(message, seq)
            return
        self.app.metrics.inc("stgo_refused_total", "malformed")
        self.app.suspicious.warn(self.client, "malformed messages", redact(self.session.id))
        if bucket.refused > _BAD_MESSAGE_ABUSE and not self._closing:
            # After the events already accepted, and their answers.
            self._closing = True
            self._post(lambda: self.conn.close(CLOSE_POLICY, "too many malformed messages"))

    def _within_rate(self) -> bool:
        app, session = self.app, self.session
        if app.event_rate is None:
            return True
        bucket = session.event_bucket
        if bucket is None:
            bucket = session.event_bucket = TokenBucket(app.event_rate, app.event_burst)
        if bucket.allow():
            return True
        app.metrics.inc("stgo_refused_total", "rate_limit")
        app.suspicious.warn(self.client, "event rate limit", redact(session.id))
        if bucket.refused > app.event_burst and not self._closing:
            # It keeps going after being told: abuse, not a fast user.  The
            # close follows the events already accepted, and their answers.
            self._closing = True
            self._post(lambda: self.conn.close(CLOSE_POLICY, "too many events"))
        return False

    def _guarded(self, job: Callable[[], None], seq: int | None) -> None:
        # A failure outside the user's callbacks (a widget that cannot render,
        # say) must reach only this user: escaping, it killed the connection
        # (the WSGI server then wrote a 500 into the WebSocket) and left the
        # session's event queue with jobs nobody ran.
        try:
            job()
        except Exception as exc:
            self._failed("handling a message", exc, seq, kind="server")

    def _failed(self, where: str, exc: Exception, seq: int | None, *, kind: str) -> None:
        """Log *exc* once under an error id and tell this client only that id
        (the exception's text too with ``App(show_error_details=True)``)."""
        error_id = self.app.failures.record(where, exc, f"in session {redact(self.session.id)}")
        message = generic_message(error_id, self.app.language)
        if self.app.show_error_details:
            message = f"{where} raised {type(exc).__name__}: {exc} (error {error_id})"
        self._error(message, seq, kind=kind)

    def _error(self, message: str, seq: int | None, *, kind: str = "bad_message") -> None:
        self.app.metrics.inc("stgo_errors_total", kind)
        self.app.hub.send_error(self.session, message, conn=self.conn, seq=seq)

    def _run(self, event: protocol.ClientEvent,
             folded: list[protocol.ClientEvent] | None = None) -> None:
        """Run *event*; with *folded* (events of one widget that waited
        together, *event* the last) theirs first, in order, in the same batch:
        one redraw, and the handlers once, with the last value."""
        session, app = self.session, self.app
        if session.ended:
            return
        tab = app.tab_registry.of(self.conn)
        widget = app.find_widget(session, event.widget, tab.path if tab is not None else None)
        if widget is None:
            self._error(f"unknown widget {event.widget!r}", event.seq)
            return
        refusal = widget.refusal(session)
        if refusal is not None:
            # The user was not shown it (or cannot use it): a client that
            # sends the event anyway is not a user.
            app.metrics.inc("stgo_refused_total", "not_interactive")
            self._error(f"{refusal}: its events are refused", event.seq, kind="refused")
            return
        if event.event == "change" and form_of(widget) is not None:
            # The client sends a form's inputs only with the submit.
            self._error(f"{widget.key!r} is in a form: its value comes with the submit",
                        event.seq)
            return
        earlier: list[object] = []
        for before in (folded or [event])[:-1]:
            try:
                earlier.append(widget.coerce(before.event, before.value))
            except ProtocolError as exc:
                self._error(str(exc), before.seq)
        try:
            value = widget.coerce(event.event, event.value)
        except ProtocolError as exc:
            self._error(str(exc), event.seq)
            return
        session.touch()
        app.metrics.inc("stgo_events_total")
        try:
            with app.hub.batch(origin=session, conn=self.conn, ack=event.seq,
                               client=self.client or None, live=True):
                # With many processes, one event of a session at a time in all
                # of them; its writes and the unlock are sent to Redis before
                # the batch is pushed (a kill after the ack loses nothing and
                # leaves no lock behind).
                try:
                    with app.event_lock(session):
                        self._handle(event, widget, value, earlier)
                except SessionBusyError as exc:
                    self._error(str(exc), event.seq, kind="busy")
        finally:
            app.event_settled()

    def _handle(self, event: protocol.ClientEvent, widget: Widget, value: object,
                earlier: Sequence[object] = ()) -> None:
        session, app = self.session, self.app
        try:
            for before in earlier:  # folded events: their changes, drawn once at the end
                widget.receive(session, event.event, before)
            value = widget.receive(session, event.event, value)
        except ProtocolError as exc:
            self._error(str(exc), event.seq)
            return
        for hook in app.event_hooks():
            if not self._call(hook, event.seq, session, widget, event.event, value):
                return
        fired = Event(event.event, widget)
        for handler in widget.handlers(event.event):
            if not self._call(handler, event.seq, session, fired, value):
                return
        widget.after_event(session, event.event, value)

    def _moved(self, msg: protocol.Navigate | protocol.QueryChange) -> None:
        """The tab followed a link, went back, or changed its query itself."""
        session, app = self.session, self.app
        if session.ended:
            return
        session.touch()
        with app.hub.batch(origin=session, conn=self.conn, client=self.client or None):
            path = None if isinstance(msg, protocol.QueryChange) else msg.path
            app.follow_client(session, self.conn, path, msg.query)

    def _call(self, fn: Callable[..., object], seq: int | None, *args: object) -> bool:
        try:
            fn(*args)
        except Exception as exc:
            name = getattr(fn, "__qualname__", None) or type(fn).__qualname__
            self._failed(f"callback {name}", exc, seq, kind="callback")
            return False
        return True
