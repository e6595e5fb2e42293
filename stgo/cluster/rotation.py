"""Session ID rotation: a session gets a new ID, its tabs trade a one-time
token for the new cookie (see :meth:`stgo.App.rotate_session`).

With a shared store (:attr:`~stgo.store.Store.shared`: Redis) the token is
kept in the store, so that any process may be asked to trade it; otherwise in
this process, in insertion order.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
from collections.abc import Callable

from .. import protocol
from ..core.hub import Hub
from ..core.manager import SessionManager
from ..core.session import Session
from ..ids import new_session_id, redact
from ..store import Store

__all__ = ["Rotations", "ROTATION_TOKEN_TTL"]

#: Seconds a rotation token may wait to be traded for the new cookie.
ROTATION_TOKEN_TTL = 60.0

log = logging.getLogger("stgo")


class Rotations:
    """Gives sessions new IDs and trades the tokens their tabs get for them.

    :param sessions: the sessions (rekeyed here; their clock dates tokens).
    :param hub: the connections, and the event being handled for a session.
    :param store: if :attr:`~stgo.store.Store.shared` (Redis), where tokens
        are kept for every process.
    :param rotated: told a rotated session's old ID (the relay closes its
        tabs on other processes), or ``None`` with one process.
    """

    def __init__(self, sessions: SessionManager, hub: Hub, store: Store,
                 rotated: Callable[[str], None] | None = None) -> None:
        self._sessions = sessions
        self._hub = hub
        self._store = store if store.shared else None
        self._rotated = rotated
        self._lock = threading.Lock()
        self._tokens: dict[str, tuple[Session, str, float]] = {}
        #: ``moved(old_id, session)``: told after a rotation (the user index
        #: follows the session's new ID), or ``None``.
        self.moved: Callable[[str, Session], None] | None = None

    def after_fork(self) -> None:
        """A new lock in a forked child (a thread of the parent may hold the old one)."""
        self._lock = threading.Lock()

    def rotate(self, session: Session, *, cookie_follows: bool = False) -> str:
        """Give *session* a new ID at once; return it (see :meth:`stgo.App.rotate_session`).

        :param cookie_follows: the HTTP response being made carries the new
            cookie (a sign-in's callback): every tab is closed as rotated, so
            it reconnects once its browser has that cookie, instead of reloading.
        """
        old_id = session.id
        new_id = new_session_id(self._sessions.clock())
        self._sessions.rekey(session, new_id)
        if self.moved is not None:
            self.moved(old_id, session)
        event = self._hub.current_event(session)
        rotating = event.conn if event is not None else None
        final: str | None = None
        if self._rotated is not None:
            self._rotated(old_id)  # its tabs on other processes close too
        if rotating is not None:
            token = secrets.token_urlsafe(32)
            now = self._sessions.clock()
            if self._store is not None:
                # Any process may be asked to trade it: the store keeps it.
                self._store.put_token(_token_hash(token), new_id, ROTATION_TOKEN_TTL)
            with self._lock:
                # Tokens expire in insertion order (a fixed TTL): drop the stale
                # ones from the front instead of rebuilding the map each time.
                while self._tokens:
                    first = next(iter(self._tokens))
                    if self._tokens[first][2] > now:
                        break
                    del self._tokens[first]
                self._tokens[token] = (session, new_id, now + ROTATION_TOKEN_TTL)
            final = protocol.encode(protocol.cookie_message(token))
        for conn in self._hub.connections(session):
            if rotating is None and not cookie_follows:
                conn.close(protocol.CLOSE_MOVED, "session moved")
            else:
                # The token goes out before the close frame, to its own tab only.
                conn.close(protocol.CLOSE_ROTATED, "session rotated",
                           final=final if conn is rotating else None)
        log.info("session %s rotated to %s", redact(old_id), redact(new_id))
        return new_id

    def redeem(self, token: str) -> str | None:
        """Trade a rotation token for the session's new ID (once), or ``None``."""
        with self._lock:
            entry = self._tokens.pop(token, None)
        if self._store is not None:
            stored = self._store.take_token(_token_hash(token))  # once, on any process
            if stored is None:
                return None
            session = self._sessions.get(stored)
            return None if session is None or session.ended else stored
        if entry is None:
            return None
        session, new_id, expires = entry
        if expires < self._sessions.clock() or session.ended or session.id != new_id:
            return None
        return new_id


def _token_hash(token: str) -> str:
    """How a rotation token is named in the store (never the token itself)."""
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()
