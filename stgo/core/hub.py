"""The Hub: who is connected, and pushing changes to them.

Widget and state changes are collected in a :class:`~stgo.core.batch.Batch`
(one per callback, or per ``app.batch()`` block; a change made outside any
batch is flushed at once: see :mod:`stgo.core.batch`).  A flush turns the
batch into protocol ops (:mod:`stgo.core.ops`), rendering each changed global
widget once when no per-session value is involved, and queues one message per
connection.  Queuing never touches a socket (see
:class:`~stgo.transport.ws.Connection`), and no session or manager lock is held here.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from .. import protocol
from ..protocol import CLOSE_GOING_AWAY, RENDER_KEY, Outlet
from ..widgets.base import InputWidget, Parent, Widget
from .batch import Batch, Batches, collapse, merge
from .ops import Out, Scoped, for_page, ops_of
from .session import Session
from .shown import Shown
from .tabvalues import drawing, per_tab

__all__ = ["Hub", "Page", "PageView"]

log = logging.getLogger("stgo")


class Page(Protocol):
    """What the hub needs from the App to draw a page."""

    def render_roots(self, session: Session, path: str = "/") -> dict[str, str]: ...

    def global_widgets(self) -> list[Widget]: ...

    def every_global_widget(self) -> list[Widget]: ...

    def scope_of(self, widget: Widget) -> str | None: ...

    def page_of(self, conn: object) -> str: ...

    def page_view(self, session: Session, conn: Outlet) -> PageView: ...

    def recheck_access(self, sessions: set[Session]) -> list[tuple[Session, Outlet]]: ...

    @property
    def page_title(self) -> str: ...


@dataclass(frozen=True)
class PageView:
    """Where a connection's tab is: its page (and whether it may see it), its query."""

    path: str
    title: str
    query: dict[str, str]
    status: int = 200
    #: The tab's ID (its per-tab values are drawn), if it has one.
    tab: str | None = None


class Hub:
    """Connections by session, and the push of changes to them.

    :param page: the App, for full renders and global widget lookups.
    """

    def __init__(self, page: Page) -> None:
        self._page = page
        self._lock = threading.Lock()
        self._conns: dict[Session, list[Outlet]] = {}
        # This hub's batch and held-back redraws (in the event context).
        # (flush looked up at each call: it may be replaced on the instance)
        self._batches = Batches(lambda batch: self.flush(batch))
        # Draw generations of this hub's redraws (see "Draw generations").
        self._draws = itertools.count(1)
        #: Called with the sessions whose private state or widgets a batch
        #: changed (the relay tells the other processes); ``None``: nobody.
        self.on_sessions_changed: Callable[[set[Session]], None] | None = None
        #: Called before an event that changed global widgets is acknowledged
        #: (a persistent store saves them first, so an acked change outlives
        #: the process); ``None``: nothing to do.
        self.before_ack: Callable[[], None] | None = None
        #: What tracked sessions' tabs were sent (see :class:`Shown`).
        self.shown = Shown()
        #: Makes a session's timer, ``schedule(session, interval, fn)`` (what
        #: ``session.every`` asks its observer); ``None``: no App keeps time.
        self.schedule: Callable[[Session, float, Callable[[Session], object]], Any] | None = None

    # -- registry ---------------------------------------------------------------------

    def register(self, session: Session, conn: Outlet) -> None:
        """Add *conn* to *session*'s open connections."""
        with self._lock:
            self._conns.setdefault(session, []).append(conn)

    def unregister(self, session: Session, conn: Outlet) -> None:
        """Forget *conn*."""
        with self._lock:
            conns = self._conns.get(session)
            if conns and conn in conns:
                conns.remove(conn)
                if not conns:
                    del self._conns[session]

    def connections(self, session: Session | None = None) -> list[Outlet]:
        """Open connections of *session*, or of everybody."""
        with self._lock:
            if session is not None:
                return list(self._conns.get(session, ()))
            return [c for conns in self._conns.values() for c in conns]

    def _targets(self, only: set[Session] | None = None) -> list[tuple[Session, list[Outlet]]]:
        """Sessions and their connections: everybody's, or those of *only*."""
        with self._lock:
            if only is None:
                return [(s, list(c)) for s, c in self._conns.items()]
            return [(s, list(self._conns[s])) for s in only if s in self._conns]

    def __len__(self) -> int:
        with self._lock:
            return sum(len(c) for c in self._conns.values())

    # -- the original Hub API -------------------------------------------------------------

    def send_to_session(self, session: Session, msg: dict[str, Any]) -> int:
        """Queue *msg* to every tab of *session*; return how many took it."""
        text = protocol.encode(msg)
        return sum(c.send(text) for c in self.connections(session))

    def broadcast(self, msg: dict[str, Any]) -> int:
        """Queue *msg* to every connection; return how many took it."""
        text = protocol.encode(msg)
        return sum(c.send(text) for c in self.connections())

    def send_error(self, session: Session, message: str, *, conn: Outlet | None = None,
                   seq: int | None = None) -> None:
        """Show *message* as an error to *session* (only *conn*, if given)."""
        text = protocol.encode(protocol.error_message(message, seq))
        for c in [conn] if conn is not None else self.connections(session):
            c.send(text)

    def full_update(self, session: Session, conn: Outlet | None = None, *,
                    push: bool = False) -> None:
        """Send *session* (or only *conn*) a full render of the page each tab shows.

        A tab that still has a full render waiting (it does not read) gets
        no second one: see :data:`~stgo.protocol.RENDER_KEY`.

        :param push: the server moved the tab there (a history entry).
        """
        conns = [conn] if conn is not None else self.connections(session)
        self.shown.reset(session)  # a tab drawn whole: what it was sent before is moot
        texts: dict[tuple[str, tuple[tuple[str, str], ...], str], str] = {}
        for c in conns:
            if getattr(c, "render_waiting", False):
                continue
            view = self._page.page_view(session, c)
            key = (view.path, tuple(sorted(view.query.items())), view.tab or "")
            if key not in texts:
                draw = next(self._draws)  # ops numbered below are older than this render
                with drawing(session, view.tab, view.query):  # this tab's own values
                    roots = self._page.render_roots(session, view.path)
                msg = protocol.render_message(
                    view.title, roots, path=view.path,
                    query=view.query, status=view.status, push=push, draw=draw)
                texts[key] = protocol.encode(msg)
            c.send(texts[key], RENDER_KEY)
    def navigate(self, session: Session, path: str, query: dict[str, str] | None = None) -> int:
        """Move *session*'s tabs to *path* (see :meth:`App.navigate`)."""
        navigate = getattr(self._page, "navigate", None)
        return int(navigate(session, path, query)) if navigate is not None else 0

    def current_tab(self, session: Session) -> Any:
        """The tab whose event is being handled for *session*, or ``None``."""
        current_tab = getattr(self._page, "current_tab", None)
        return current_tab(session) if current_tab is not None else None

    def scoped_input(self, key: str) -> InputWidget | None:
        """The shared input with a value per tab whose key is *key*, or ``None``."""
        find = getattr(self._page, "scoped_input", None)
        return find(key) if find is not None else None

    def tabs_of(self, session: Session) -> list[Any]:
        """*session*'s open tabs."""
        tabs = getattr(self._page, "tab_registry", None)
        return list(tabs.of_session(session)) if tabs is not None else []

    def partial_update(self, session: Session, widgets: list[Widget]) -> None:
        """Redraw just *widgets* on *session*'s page."""
        ops = [protocol.op_update(w.id, w.render(session)) for w in widgets]
        self.send_to_session(session, protocol.patch_message(ops))

    def expire(self, session: Session) -> None:
        """Tell every tab of *session* that it expired, and close them."""
        text = protocol.encode(protocol.expired_message())
        with self._lock:
            conns = self._conns.pop(session, [])
        for c in conns:
            c.close(CLOSE_GOING_AWAY, "session expired", final=text)

    def current_event(self, session: Session) -> Batch | None:
        """The batch of the event being handled on this thread for *session*
        (its connection and client), or ``None`` (a background thread, a
        hook, another session's event)."""
        current = self._batches.current()
        if current is None or current.origin is not session:
            return None
        return current

    def close_all(self, code: int = CLOSE_GOING_AWAY, reason: str = "server shutdown") -> int:
        """Close every connection (shutdown); return how many."""
        conns = self.connections()
        for c in conns:
            c.close(code, reason)
        return len(conns)

    # -- batching ---------------------------------------------------------------------------

    def batch(
        self, origin: Session | None = None, conn: Outlet | None = None, ack: int | None = None,
        client: str | None = None, *, live: bool = False,
        cancelled: Callable[[], bool] | None = None,
    ) -> contextlib.AbstractContextManager[Batch]:
        """Collect every change made on this thread and push them at the end.

        Nested blocks join the outer one.  The flush happens even if the
        block raises, so that what did change is still shown.  A *live* one
        (an event's, a task's) is also pushed while it runs, coalesced
        (:mod:`stgo.core.live`); *cancelled* is a task's (see
        :meth:`stgo.core.batch.Batches.batch`).
        """
        return self._batches.batch(origin, conn, ack, client, live=live, cancelled=cancelled)

    def global_changed(self, widget: Widget, change: str) -> None:
        """A global widget changed (the App's widgets' notify callback).

        The change ``"flush"`` pushes what is pending now (a spinner, a
        streamed chunk) instead of at the end of the batch.
        """
        if change == "adopt":  # a check for the owner before an insert: nothing to send
            return
        if change == "flush":
            self.flush_pending()
            return
        self._batches.note(lambda b: merge(b.global_changes, widget, change))

    def widget_changed(self, session: Session, widget: Widget, change: str) -> None:
        """A session widget changed (SessionObserver)."""
        if change == "adopt":
            return
        if change == "flush":
            self.flush_pending()
            return
        self._batches.note(
            lambda b: merge(b.session_changes.setdefault(session, {}), widget, change))

    def client_message(self, session: Session | None, msg: dict[str, Any]) -> int:
        """Send a transient message (toast, spinner, dialog) now, after what is pending.

        To every tab of *session*, or to everybody when *session* is ``None``;
        return how many tabs took it.
        """
        self.flush_pending()
        if session is None:
            return self.broadcast(msg)
        return self.send_to_session(session, msg)

    def flush_pending(self) -> None:
        """Push the changes this thread's batch holds so far, and keep batching.

        The batch's ack still waits for its end: the tab that sent the event
        learns it is handled only when its callback returns.
        """
        self._batches.flush_pending()

    def hold(self) -> None:
        """Until :meth:`release`, this thread's batches push their redraws of
        shared widgets only to the sessions they concern; everybody else gets
        them once, at the release (the I/O loop holds while it runs a turn's
        events: 40 clicks on a shared counter, one push to each tab).

        Only redraws that can be sent twice are held (``value``, ``update``,
        ``figure``); inserts, removals and new points go out at once.
        """
        self._batches.hold()

    def release(self) -> None:
        """Push what :meth:`hold` kept back, to everybody, and stop holding."""
        self._batches.release()

    def state_changed(self, session: Session, key: str | None) -> None:
        """A session-state key changed (SessionObserver): inputs bound to it follow."""
        self._batches.note(lambda b: b.state_keys.setdefault(session, set()).add(key))

    # -- flushing ------------------------------------------------------------------------------

    def flush(self, batch: Batch) -> None:
        """Turn *batch* into messages and queue them.

        Each op is scoped to the page it draws on (``None``: every page, as
        the sidebar's and session-wide widgets'); a tab gets the ops of the
        page it shows.
        """
        if (batch.ack is not None and (batch.global_changes or batch.flushed_global)
                and self.before_ack is not None):
            self.before_ack()
        global_changes = collapse(batch.global_changes)
        shared: list[Scoped] = []
        per_session: list[tuple[Widget, str]] = []
        for widget, change in global_changes:
            if widget.per_session and change != "remove":
                per_session.append((widget, change))
            else:
                scope = None if change == "remove" else self._page.scope_of(widget)
                shared.extend((scope, op)
                              for op in ops_of(widget, change, None, self._root_of(widget),
                                             self._draws))
        # page -> the shared message (its ops, text and outbox key), made once
        shared_out: dict[str, Out] = {}
        shared_anywhere = all(where is None for where, _ in shared)
        touched = set(batch.session_changes) | set(batch.state_keys)
        if touched and not batch.local_only and self.on_sessions_changed is not None:
            self.on_sessions_changed(touched)
        # A state change may take a page away (a sign-out): asked once per
        # changed session here, not per op; such tabs are redrawn below.
        lost = self._page.recheck_access(set(batch.state_keys)) if batch.state_keys else []
        only: set[Session] | None = None
        if (not shared and not per_session) or self._batches.hold_back(batch):
            # Nothing global changed (or the others get it at the release):
            # visit only the sessions concerned, not every connected one (a
            # private click among 1,000 tabs).
            only = touched if batch.origin is None else touched | {batch.origin}
        for session, conns in self._targets(only):
            if session.ended:
                continue
            scoped, anywhere, outs = shared, shared_anywhere, shared_out
            # Inputs with a value per tab: a value op drawn for each tab.
            tabbed: list[tuple[str | None, InputWidget]] = []
            if per_session or session in touched:
                with drawing(session, None):  # (the session's values; each tab's follow)
                    scoped = shared + self._session_ops(session, batch, per_session, tabbed)
                anywhere = all(where is None for where, _ in scoped)
                outs = {}
            ack = batch.ack if session is batch.origin else None
            if not scoped and ack is None and not tabbed:
                continue
            for c in conns:
                # Ops for every page (no app.page scoping) are the same for each tab.
                page = "/" if anywhere and not tabbed else self._page.page_of(c)
                mine = ack is not None and c is batch.conn
                own = self._tab_ops(session, c, page, tabbed) if tabbed else []
                if mine or own:
                    ops = for_page(scoped, page) + own
                    if mine or ops:
                        c.send(protocol.encode(protocol.patch_message(ops, ack if mine else None)))
                    continue
                out = outs.get(page)
                if out is None:
                    out = outs[page] = Out(for_page(scoped, page))
                if out.ops:
                    c.send(out.text, out.key)
        for session, c in lost:
            self.full_update(session, c)

    def _root_of(self, widget: Widget) -> str:
        top: Widget | Parent = widget
        while top.parent is not None:
            top = top.parent
        if getattr(top, "is_sidebar", False):
            return "sidebar"
        return "topbar" if getattr(top, "is_topbar", False) else "global"

    def _tab_ops(self, session: Session, conn: Outlet, page: str,
                 tabbed: list[tuple[str | None, InputWidget]]) -> list[dict[str, Any]]:
        """The value ops of the per-tab inputs *tabbed*, drawn for the tab on *conn*."""
        tabs = getattr(self._page, "tab_registry", None)
        tab = tabs.of(conn) if tabs is not None else None
        ops: list[dict[str, Any]] = []
        with drawing(session, tab.id if tab else None, tab.query if tab else None):
            for where, w in tabbed:
                if where is None or where == page:
                    ops.append(protocol.op_value(w.id, w.client_value(session)))
        return ops

    def _session_ops(
        self, session: Session, batch: Batch, per_session: list[tuple[Widget, str]],
        tabbed: list[tuple[str | None, InputWidget]],
    ) -> list[Scoped]:
        scope = self._page.scope_of
        ops: list[Scoped] = []
        tracked = self.shown.tracked(session)

        def emit(widget: Widget, where: str | None, made: list[dict[str, Any]]) -> None:
            for inner in widget.walk() if made and made[0]["op"] != "remove" else ():
                if per_tab(inner) and isinstance(inner, InputWidget):
                    tabbed.append((where, inner))  # drawn with the session's value
            if tabbed and tabbed[-1][1] is widget and made and made[0]["op"] == "value":
                return  # a value op per tab instead
            for op in made:
                if not tracked or self.shown.note(session, widget, op, batch.skip_unchanged):
                    ops.append((where, op))

        for widget, change in per_session:
            emit(widget, scope(widget), ops_of(widget, change, session, self._root_of(widget)))
        changes = batch.session_changes.get(session)
        if changes:
            for widget, change in collapse(changes):
                where = None if change == "remove" else scope(widget)
                # A slot's content is drawn in its slot, not at the end of the page.
                root = getattr(widget, "mount", None) or "session"
                emit(widget, where, ops_of(widget, change, session, root))
        keys = batch.state_keys.get(session)
        if keys:
            redrawn = {w for w, _ in per_session} | set(changes or ())
            candidates = [*self._page.every_global_widget(), *session.widgets]
            every = None in keys
            for top in candidates:
                where = None
                for w in top.walk():
                    # The key test first: it rules out nearly every widget, cheaply.
                    if not (every or w.key in keys) or w in redrawn:
                        continue
                    if where is None:
                        where = scope(top) or ""
                    if w.redraw_on_state:
                        emit(w, where or None, [protocol.op_update(w.id, w.render(session))])
                    elif isinstance(w, InputWidget) and not w.shared:
                        emit(w, where or None,
                             [protocol.op_value(w.id, w.client_value(session))])
        return ops
