"""The Hub: who is connected, and pushing changes to them.

Widget and state changes are collected in a :class:`Batch` (one per callback,
or per ``app.batch()`` block; a change made outside any batch is flushed at
once).  A flush turns the batch into protocol ops, rendering each changed
global widget once when no per-session value is involved, and queues one
message per connection.  Queuing never touches a socket (see
:class:`~stgo.transport.ws.Connection`), and no session or manager lock is held here.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import logging
import threading
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from .. import protocol
from ..context import Slot
from ..protocol import CLOSE_GOING_AWAY, RENDER_KEY, Outlet
from ..widgets.base import InputWidget, Parent, StateReader, Widget
from .session import Session

__all__ = ["Hub", "Batch", "Page", "PageView", "Shown"]

# An op and the page it is for (``None``: every page).
Scoped = tuple["str | None", dict[str, Any]]

log = logging.getLogger("stgo")


class Page(Protocol):
    """What the hub needs from the App to draw a page."""

    def render_roots(self, session: Session, path: str = "/") -> dict[str, str]: ...

    def global_widgets(self) -> list[Widget]: ...

    def every_global_widget(self) -> list[Widget]: ...

    def scope_of(self, widget: Widget) -> str | None: ...

    def page_of(self, conn: object) -> str: ...

    def page_view(self, session: Session, conn: Outlet) -> PageView: ...

    @property
    def page_title(self) -> str: ...


@dataclass(frozen=True)
class PageView:
    """Where a connection's tab is: its page (and whether it may see it), its query."""

    path: str
    title: str
    query: dict[str, str]
    status: int = 200


@dataclass
class Batch:
    """Changes waiting to be pushed, merged per widget."""

    origin: Session | None = None
    conn: Outlet | None = None
    ack: int | None = None
    #: The address of the client whose event this is (``origin``'s), if known.
    client: str | None = None
    global_changes: dict[Widget, str] = field(default_factory=dict)
    session_changes: dict[Session, dict[Widget, str]] = field(default_factory=dict)
    state_keys: dict[Session, set[str | None]] = field(default_factory=dict)
    #: Changes applied from elsewhere (another process, a restore): not told onward.
    local_only: bool = False
    #: A redraw of a session for another process's change: a per-session op
    #: that its tabs have already (see :class:`Shown`) is not sent again.
    skip_unchanged: bool = False


# Changes that redraw more win over those that redraw less: a full "update"
# covers a chart's new "figure", which covers its "extend" (new points).
_REDRAW_RANK = {"value": 0, "extend": 1, "figure": 2, "update": 3}

# Changes whose op may reach a tab twice (it sets, it does not add).
_REPEATABLE = frozenset({"value", "figure", "update"})

# Draw generations.  Two threads may redraw one shared widget at once and
# queue their ops in the other order than they read it (a click's flush and
# the relay's, say): the older value would land last and stay.  So a redraw
# takes the next number of its hub's counter (Hub._draws) *before* it reads
# the widget, the op carries it as ``g``, and a tab's outbox (see
# Connection.send) and the tab itself keep the op with the highest number:
# the one that read last, after every change whose own redraw it overtook.
# A full render carries one too, below which ops are old.


# How a new change combines with one already pending for the same widget.
def _merge(changes: dict[Widget, str], widget: Widget, change: str) -> None:
    prev = changes.get(widget)
    if prev is None:
        changes[widget] = change
    elif change == "remove":
        if prev == "insert":
            del changes[widget]  # never reached the page
        else:
            changes[widget] = "remove"
    elif change == "insert":
        changes[widget] = "reinsert" if prev == "remove" else "insert"
    elif _REDRAW_RANK.get(change, -1) > _REDRAW_RANK.get(prev, 99):
        changes[widget] = change
    # otherwise the pending change already redraws enough


def _collapse(changes: dict[Widget, str]) -> list[tuple[Widget, str]]:
    """Drop changes to widgets whose ancestor is redrawn in the same batch."""
    redrawn = {w for w, c in changes.items() if c in ("insert", "reinsert", "update")}
    kept = []
    for widget, change in changes.items():
        parent: Widget | Parent | None = widget.parent
        while parent is not None and parent not in redrawn:
            parent = parent.parent
        if parent is None:
            kept.append((widget, change))
    return kept


def _ops(
    widget: Widget, change: str, state: StateReader | None, root: str,
    draws: Iterator[int] | None = None,
) -> list[dict[str, Any]]:
    if change == "remove":
        return [protocol.op_remove(widget.id)]
    if change in _REPEATABLE and state is None and draws is not None:
        draw = next(draws)  # before the widget is read: see "Draw generations"
        ops = _redraw(widget, change, None)
        for op in ops:
            op["g"] = draw
        return ops
    if change != "insert" and change != "reinsert":
        return _redraw(widget, change, state)
    parent = widget.parent.id if widget.parent is not None else root
    ops = [protocol.op_insert(parent, widget.render(state))]
    if change == "reinsert":
        ops.insert(0, protocol.op_remove(widget.id))
    return ops


def _redraw(widget: Widget, change: str, state: StateReader | None) -> list[dict[str, Any]]:
    """The ops that redraw *widget* in place (``value``, ``extend``, ``figure``, ``update``)."""
    if change == "value" and isinstance(widget, InputWidget):
        return [protocol.op_value(widget.id, widget.client_value(state))]
    if change in ("extend", "figure"):
        op = widget.change_op(change)
        return [op] if op is not None else []
    return [protocol.op_update(widget.id, widget.render(state))]


def _for_page(scoped: list[Scoped], page: str) -> list[dict[str, Any]]:
    """The ops a tab on *page* gets."""
    return [op for where, op in scoped if where is None or where == page]


class _Out:
    """One message for the tabs of a page: its ops, encoded once if any tab takes it."""

    __slots__ = ("ops", "_text", "key")

    def __init__(self, ops: list[dict[str, Any]]) -> None:
        self.ops = ops
        self._text: str | None = None
        self.key = _coalesce_key(ops)

    @property
    def text(self) -> str:
        if self._text is None:
            self._text = protocol.encode(protocol.patch_message(self.ops))
        return self._text


def _coalesce_key(ops: list[dict[str, Any]]) -> tuple[str, str, int] | None:
    """The outbox key of a message holding one update or value op (see Connection.send)."""
    if len(ops) == 1 and ops[0]["op"] in ("update", "value"):
        return ops[0]["op"], ops[0]["id"], ops[0].get("g", 0)
    return None


class Shown:
    """What a session's tabs were last sent of each widget, for the sessions
    that asked to be tracked (:meth:`Hub.track`): a digest of each per-session
    ``update`` and ``value`` op, so that a redraw made for another process's
    change sends only what differs (a burst of clicks there must not cost a
    full page per click here).

    An op for a widget also forgets what was noted of its ancestors and
    descendants (their drawing changed with it), and a full render forgets
    the whole session: what is noted is always what every tab shows.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sessions: weakref.WeakKeyDictionary[Session, dict[str, bytes]] = (
            weakref.WeakKeyDictionary())

    def track(self, session: Session) -> None:
        """Note what *session*'s tabs are sent from now on."""
        with self._lock:
            self._sessions.setdefault(session, {})

    def reset(self, session: Session) -> None:
        """*session*'s tabs are drawn afresh: nothing is known of them."""
        with self._lock:
            if session in self._sessions:
                self._sessions[session] = {}

    def tracked(self, session: Session) -> bool:
        with self._lock:
            return session in self._sessions

    def note(self, session: Session, widget: Widget, op: dict[str, Any], skip: bool) -> bool:
        """Note *op* (for *widget*) as sent to *session*'s tabs; whether to
        send it (not if *skip* and the tabs have it already)."""
        kind = op["op"]
        digest = None
        if kind in ("update", "value") and op.get("id") == widget.id:
            body = op["html"] if kind == "update" else json.dumps(op["value"], default=str)
            digest = hashlib.blake2b(f"{kind}:{body}".encode("utf-8", "replace"),
                                     digest_size=16).digest()
        with self._lock:
            seen = self._sessions.get(session)
            if seen is None:
                return True
            if skip and digest is not None and seen.get(widget.id) == digest:
                return False
            # Whatever contains it or is inside it is drawn differently now.
            parent = widget.parent
            while parent is not None:
                seen.pop(parent.id, None)
                parent = parent.parent
            for inner in widget.walk():
                seen.pop(inner.id, None)
            if digest is not None:
                seen[widget.id] = digest
        return True


class Hub:
    """Connections by session, and the push of changes to them.

    :param page: the App, for full renders and global widget lookups.
    """

    def __init__(self, page: Page) -> None:
        self._page = page
        self._lock = threading.Lock()
        self._conns: dict[Session, list[Outlet]] = {}
        # This hub's batch and held-back redraws in the event context.
        self._batch: Slot[Batch] = Slot("batch")
        self._held: Slot[dict[Widget, str]] = Slot("held")
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
        texts: dict[tuple[str, tuple[tuple[str, str], ...]], str] = {}
        for c in conns:
            if getattr(c, "render_waiting", False):
                continue
            view = self._page.page_view(session, c)
            key = (view.path, tuple(sorted(view.query.items())))
            if key not in texts:
                draw = next(self._draws)  # ops numbered below are older than this render
                msg = protocol.render_message(
                    view.title, self._page.render_roots(session, view.path), path=view.path,
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
        current = self._batch.get()
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

    @contextlib.contextmanager
    def batch(
        self, origin: Session | None = None, conn: Outlet | None = None, ack: int | None = None,
        client: str | None = None,
    ) -> Iterator[Batch]:
        """Collect every change made on this thread and push them at the end.

        Nested blocks join the outer one.  The flush happens even if the
        block raises, so that what did change is still shown.
        """
        current = self._batch.get()
        if current is not None:
            yield current
            return
        current = Batch(origin, conn, ack, client=client)
        self._batch.set(current)
        try:
            yield current
        finally:
            self._batch.set(None)
            self.flush(current)

    def _note(self, record: Callable[[Batch], None]) -> None:
        current = self._batch.get()
        if current is not None:
            record(current)
            return
        single = Batch()
        record(single)
        self.flush(single)

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
        self._note(lambda b: _merge(b.global_changes, widget, change))

    def widget_changed(self, session: Session, widget: Widget, change: str) -> None:
        """A session widget changed (SessionObserver)."""
        if change == "adopt":
            return
        if change == "flush":
            self.flush_pending()
            return
        self._note(lambda b: _merge(b.session_changes.setdefault(session, {}), widget, change))

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
        current = self._batch.get()
        if current is None:
            return
        early = Batch(current.origin, current.conn, None, client=current.client,
                      global_changes=current.global_changes,
                      session_changes=current.session_changes, state_keys=current.state_keys)
        current.global_changes, current.session_changes, current.state_keys = {}, {}, {}
        self.flush(early)

    def hold(self) -> None:
        """Until :meth:`release`, this thread's batches push their redraws of
        shared widgets only to the sessions they concern; everybody else gets
        them once, at the release (the I/O loop holds while it runs a turn's
        events: 40 clicks on a shared counter, one push to each tab).

        Only redraws that can be sent twice are held (``value``, ``update``,
        ``figure``); inserts, removals and new points go out at once.
        """
        self._held.set({})

    def release(self) -> None:
        """Push what :meth:`hold` kept back, to everybody, and stop holding."""
        held = self._held.get()
        self._held.set(None)
        if held:
            self.flush(Batch(global_changes=held))

    def _hold_back(self, batch: Batch) -> bool:
        """Keep *batch*'s repeatable shared redraws for :meth:`release`;
        whether the others may wait for it (this thread holds)."""
        held = self._held.get()
        if held is None or batch.origin is None:
            return False
        changes = batch.global_changes
        if any(change not in _REPEATABLE for change in changes.values()):
            for widget in changes:  # all of it goes out now, drawn afresh
                held.pop(widget, None)
            return False
        for widget, change in changes.items():
            _merge(held, widget, change)
        return True

    def state_changed(self, session: Session, key: str | None) -> None:
        """A session-state key changed (SessionObserver): inputs bound to it follow."""
        self._note(lambda b: b.state_keys.setdefault(session, set()).add(key))

    # -- flushing ------------------------------------------------------------------------------

    def flush(self, batch: Batch) -> None:
        """Turn *batch* into messages and queue them.

        Each op is scoped to the page it draws on (``None``: every page, as
        the sidebar's and session-wide widgets'); a tab gets the ops of the
        page it shows.
        """
        if batch.ack is not None and batch.global_changes and self.before_ack is not None:
            self.before_ack()
        global_changes = _collapse(batch.global_changes)
        shared: list[Scoped] = []
        per_session: list[tuple[Widget, str]] = []
        for widget, change in global_changes:
            if widget.per_session and change != "remove":
                per_session.append((widget, change))
            else:
                scope = None if change == "remove" else self._page.scope_of(widget)
                shared.extend((scope, op)
                              for op in _ops(widget, change, None, self._root_of(widget),
                                             self._draws))
        # page -> the shared message (its ops, text and outbox key), made once
        shared_out: dict[str, _Out] = {}
        shared_anywhere = all(where is None for where, _ in shared)
        touched = set(batch.session_changes) | set(batch.state_keys)
        if touched and not batch.local_only and self.on_sessions_changed is not None:
            self.on_sessions_changed(touched)
        # A state change may take a page away (a sign-out): asked once per
        # changed session here, not per op; such tabs are redrawn below.
        recheck = getattr(self._page, "recheck_access", None)
        lost = recheck(set(batch.state_keys)) if batch.state_keys and recheck else []
        only: set[Session] | None = None
        if (not shared and not per_session) or self._hold_back(batch):
            # Nothing global changed (or the others get it at the release):
            # visit only the sessions concerned, not every connected one (a
            # private click among 1,000 tabs).
            only = touched if batch.origin is None else touched | {batch.origin}
        for session, conns in self._targets(only):
            if session.ended:
                continue
            scoped, anywhere, outs = shared, shared_anywhere, shared_out
            if per_session or session in touched:
                scoped = shared + self._session_ops(session, batch, per_session)
                anywhere = all(where is None for where, _ in scoped)
                outs = {}
            ack = batch.ack if session is batch.origin else None
            if not scoped and ack is None:
                continue
            for c in conns:
                # Ops for every page (no app.page scoping) are the same for each tab.
                page = "/" if anywhere else self._page.page_of(c)
                if ack is not None and c is batch.conn:
                    c.send(protocol.encode(protocol.patch_message(_for_page(scoped, page), ack)))
                    continue
                out = outs.get(page)
                if out is None:
                    out = outs[page] = _Out(_for_page(scoped, page))
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

    def _session_ops(
        self, session: Session, batch: Batch, per_session: list[tuple[Widget, str]]
    ) -> list[Scoped]:
        scope = self._page.scope_of
        ops: list[Scoped] = []
        tracked = self.shown.tracked(session)

        def emit(widget: Widget, where: str | None, made: list[dict[str, Any]]) -> None:
            for op in made:
                if not tracked or self.shown.note(session, widget, op, batch.skip_unchanged):
                    ops.append((where, op))

        for widget, change in per_session:
            emit(widget, scope(widget), _ops(widget, change, session, self._root_of(widget)))
        changes = batch.session_changes.get(session)
        if changes:
            for widget, change in _collapse(changes):
                where = None if change == "remove" else scope(widget)
                # A slot's content is drawn in its slot, not at the end of the page.
                root = getattr(widget, "mount", None) or "session"
                emit(widget, where, _ops(widget, change, session, root))
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
