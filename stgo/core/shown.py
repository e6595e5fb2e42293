"""What a session's tabs were last sent: so a redraw sends only what differs.

A redraw of a session made for another process's change (see
:mod:`stgo.cluster.redraw`) draws all of its widgets; :class:`Shown` lets the
hub send its tabs only the ops that differ from what they have.
"""

from __future__ import annotations

import hashlib
import json
import threading
import weakref
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..widgets.base import Widget
    from .session import Session

__all__ = ["Shown"]


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
