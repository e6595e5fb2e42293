"""The identity service of one App: signing sessions in and out, the user
index (user id -> their sessions, for every process with Redis), ending a
user's sessions everywhere, ``login_max_age``, and ``session.user_state``.

A sign-in is kept in the session's own state (:data:`~stgo.core.identity.USER_KEY`),
so it lives, moves and ends with the session.  Each sign-in and sign-out
gives the session a new ID and draws its private widgets anew
(``session_page``); ending a user's sessions claims each session's end in
the store (one process wins, runs the hooks, tells the others' tabs at once).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..core.hooks import call_hook
from ..core.identity import USER_KEY, User, user_from, user_record
from ..errors import AuthError
from ..ids import redact
from ..store.users import user_ns
from .userstate import UserState

if TYPE_CHECKING:
    from ..cluster.relay import Relay
    from ..cluster.rotation import Rotations
    from ..core.hub import Hub
    from ..core.manager import SessionManager
    from ..core.session import Session
    from ..store.base import Store

__all__ = ["Identity", "LoginHook", "LogoutHook", "LOGOUT_REASONS"]

log = logging.getLogger("stgo")

LoginHook = Callable[["Session", User], None]
LogoutHook = Callable[["Session", User, str], None]

#: Why ``on_logout`` runs: the user signed out, signed out everywhere (this
#: and their other sessions), the sign-in reached ``login_max_age``, or the
#: session ended otherwise (``end_user_sessions``, idle timeout, ...).
LOGOUT_REASONS = ("logout", "everywhere", "expired", "ended")

#: Seconds at most between two looks for sign-ins past ``login_max_age``.
SWEEP_INTERVAL = 0.5


class Identity:
    """Signs sessions in and out (the App builds one when it has ``auth=``).

    :param sessions: the app's sessions (their end claimed here, for every process).
    :param hub: the connections (redraws go out through its batches).
    :param store: where the user index and users' state live.
    :param rotations: gives a session its new ID on sign-in and sign-out.
    :param redraw: ``redraw(session)``: draw its private widgets anew (``session_page``).
    :param relay: with Redis, the link to the other processes, else ``None``.
    :param login_max_age: seconds a sign-in lasts at most (``None``: while
        the session lives).
    :param user_state_ttl: seconds a user's state is kept after its last use.
    """

    def __init__(self, *, sessions: SessionManager, hub: Hub, store: Store,
                 rotations: Rotations, redraw: Callable[[Session], bool],
                 relay: Relay | None, login_max_age: float | None,
                 user_state_ttl: float) -> None:
        self._sessions = sessions
        self._hub = hub
        self._store = store
        self._rotations = rotations
        self._redraw = redraw
        self._relay = relay
        self.login_max_age = login_max_age
        self.user_state_ttl = user_state_ttl
        #: Which sessions are signed in as whom (memory, or Redis for every process).
        self.index = store.user_index()
        #: ``on_login`` hooks, ``fn(session, user)``.
        self.login_hooks: list[LoginHook] = []
        #: ``on_logout`` hooks, ``fn(session, user, reason)``.
        self.logout_hooks: list[LogoutHook] = []
        self._lock = threading.Lock()
        self._sweeper: threading.Thread | None = None
        self._sweeper_pid = 0
        self._used: dict[str, float] = {}  # user id -> when its state TTL was last renewed
        sessions.identity = self
        rotations.moved = self._moved
        sessions.on_session_end(self._ended)

    @property
    def clock(self) -> Callable[[], float]:
        """Epoch seconds (the sessions' clock)."""
        return self._sessions.clock

    # -- signing in and out -------------------------------------------------------------

    def sign_in(self, session: Session, user: User, *, cookie_follows: bool = False) -> str:
        """Sign *session* in as *user*: kept in its state, a new session ID
        (returned), its widgets drawn anew, the ``on_login`` hooks run.

        :param cookie_follows: called while making an HTTP response that
            carries the new cookie (the provider's callback).
        """
        if not isinstance(user, User):
            raise AuthError(f"sign_in needs a stgo.User, got {type(user).__name__}")
        now = self.clock()
        deadline = None if self.login_max_age is None else now + self.login_max_age
        before = _raw_user(session)
        if before is not None and before.id != user.id:
            self.index.remove(before.id, session.id)
        session.set(USER_KEY, user_record(user, now, deadline))
        new_id = self._rotations.rotate(session, cookie_follows=cookie_follows)
        self.index.add(user.id, new_id, deadline)
        log.info("session %s signed in as user %r", redact(new_id), user.id)
        self._ensure_sweeper()
        self._drawn_anew(session, [(hook, (session, user)) for hook in self.login_hooks])
        return new_id

    def sign_out(self, session: Session, reason: str = "logout", *,
                 cookie_follows: bool = False) -> User | None:
        """Sign *session* out: forgotten from its state and the index, a new
        session ID, its widgets drawn anew, the ``on_logout`` hooks run with
        *reason*.  Return who was signed in (``None``: nobody, nothing done)."""
        user = _raw_user(session)
        if user is None:
            return None
        session.delete(USER_KEY)
        self.index.remove(user.id, session.id)
        self._rotations.rotate(session, cookie_follows=cookie_follows)
        log.info("session %s signed out (%s) from user %r", redact(session.id), reason, user.id)
        self._drawn_anew(session, [(hook, (session, user, reason)) for hook in self.logout_hooks])
        return user

    def logout(self, session: Session, everywhere: bool) -> None:
        """``session.logout()``: sign out here; *everywhere*: also end every
        other session of the user, on every process."""
        user = self.sign_out(session, "everywhere" if everywhere else "logout")
        if user is not None and everywhere:
            self.end_user_sessions(user.id, reason="everywhere")

    def end_user_sessions(self, user_id: str, reason: str = "ended") -> int:
        """End every session signed in as *user_id*, on every process (each
        end claimed once; every process tells its tabs at once; their
        cookies are refused from now on).  Return how many ended."""
        ids = self.index.sessions(user_id)
        ended = self._sessions.delete_many(ids, reason)
        for sid in ids:  # ended elsewhere, or long gone: out of the index too
            self.index.remove(user_id, sid)
        if ended:
            log.info("ended %d session(s) of user %r (%s)", ended, user_id, reason)
        return ended

    def erase_user(self, user_id: str) -> int:
        """Forget *user_id*: their state erased, every session of theirs
        ended (as :meth:`end_user_sessions`).  Return how many sessions ended."""
        ended = self.end_user_sessions(user_id)
        self._store.clear(user_ns(user_id))
        self.index.forget_state(user_id)
        with self._lock:
            self._used.pop(user_id, None)
        log.info("erased user %r", user_id)
        return ended

    def _drawn_anew(self, session: Session, hooks: list[tuple[Callable[..., None],
                                                              tuple[Any, ...]]]) -> None:
        def job() -> None:
            # One batch: what the hooks change and the redraw go out together;
            # the hooks first, so that session_page draws what they set.
            try:
                with self._hub.batch():
                    for hook, args in hooks:
                        call_hook(hook, *args)
                    if not session.ended:
                        self._redraw(session)
                        self._hub.state_changed(session, None)
            except Exception:
                log.exception("drawing session %s anew after its sign-in changed failed",
                              redact(session.id))

        # In the session's own queue: never in the middle of one of its events
        # (from a callback of it, right after that callback).
        session.events.submit(job)

    # -- the session's side (stgo.core.identity.IdentityLink) ---------------------------------

    def adopt(self, session: Session) -> None:
        """A session object was made here: the sweeper runs in this process."""
        self._ensure_sweeper()

    def user_state(self, session: Session) -> UserState:
        """``session.user_state``: the state of its signed-in user."""
        user = session.user
        if user is None:
            raise AuthError("session.user_state needs a signed-in user (session.user is None)")
        return UserState(self._store, user.id, session, self)

    def state_of(self, user_id: str) -> UserState:
        """The state of *user_id*, from outside their sessions."""
        return UserState(self._store, user_id, None, self)

    def state_used(self, user_id: str) -> None:
        """*user_id*'s state was used: it lives ``user_state_ttl`` more
        (said to the store at most once a minute per user and process)."""
        now = self.clock()
        with self._lock:
            due = now - self._used.get(user_id, float("-inf")) >= 60.0
            if due:
                self._used[user_id] = now
        if due:
            self.index.state_used(user_id, now, self.user_state_ttl)

    def state_changed(self, user_id: str, origin: Session | None) -> None:
        """*user_id*'s state changed (by *origin*): redraw their other open
        sessions, here at once, elsewhere through the relay."""
        ids = [sid for sid in self.index.sessions(user_id)
               if origin is None or sid != origin.id]
        if not ids:
            return
        for sid in ids:
            held = self._sessions.cached(sid)
            if held is not None and self._hub.connections(held):
                self._redraw_soon(held)
        if self._relay is not None:
            self._relay.tell_changed(ids)

    def _redraw_soon(self, session: Session) -> None:
        hub = self._hub

        def job() -> None:
            try:
                if session.ended:
                    return
                with hub.batch() as batch:
                    batch.local_only = True  # the other processes were told themselves
                    self._redraw(session)
                    hub.state_changed(session, None)
            except Exception:
                log.exception("redrawing session %s for its user's state failed",
                              redact(session.id))

        session.events.submit(job)

    # -- the index follows the sessions -----------------------------------------------------

    def _moved(self, old_id: str, session: Session) -> None:
        user = _raw_user(session)
        if user is not None:
            self.index.rename(user.id, old_id, session.id)

    def _ended(self, session: Session, reason: str) -> None:
        user = _raw_user(session)
        if user is None:
            return
        self.index.remove(user.id, session.id)
        why = reason if reason in LOGOUT_REASONS else "ended"
        for hook in list(self.logout_hooks):
            call_hook(hook, session, user, why)

    # -- login_max_age: the sweeper ----------------------------------------------------------

    def sweep(self, now: float | None = None) -> int:
        """End the sessions whose sign-in is past ``login_max_age`` (reason
        ``"expired"``), and drop users' state unused for ``user_state_ttl``
        (where the store does not expire it itself).  Return how many ended."""
        now = self.clock() if now is None else now
        ended = 0
        # Taken, so one process ends each (and tells the others' tabs).
        due = self.index.take_due(now)
        if due:
            ended = self._sessions.delete_many(due, "expired")
        for user_id in self.index.stale_states(now):
            self._store.clear(user_ns(user_id))
            self.index.forget_state(user_id)
        return ended

    def _ensure_sweeper(self) -> None:
        if self.login_max_age is None and self._store.persistent:
            return  # nothing to end on time, and Redis expires users' state itself
        if not self._sessions.running:
            return  # not started in this process (AppTester: call sweep())
        pid = os.getpid()
        with self._lock:
            alive = self._sweeper is not None and self._sweeper.is_alive()
            if alive and self._sweeper_pid == pid:
                return
            self._sweeper_pid = pid
            self._sweeper = threading.Thread(target=_sweep_loop, args=(weakref.ref(self),),
                                             name="stgo-auth-sweep", daemon=True)
            self._sweeper.start()

    def sweep_interval(self) -> float:
        """Seconds between two sweeps: a fraction of ``login_max_age``."""
        if self.login_max_age is None:
            return 60.0
        return max(0.05, min(SWEEP_INTERVAL, self.login_max_age / 4))


def _sweep_loop(ref: weakref.ref[Identity]) -> None:
    """Sweep while the identity lives and its app runs in this process."""
    while True:
        identity = ref()
        if identity is None or not identity._sessions.running:
            return
        interval = identity.sweep_interval()
        try:
            identity.sweep()
        except Exception as exc:  # Redis away for a moment: try again next time
            log.warning("auth: sweeping expired sign-ins failed (%s: %s)",
                        type(exc).__name__, exc)
        del identity
        # Short naps: the loop ends soon after its app stops.
        until = time.monotonic() + interval
        while time.monotonic() < until:
            time.sleep(min(0.25, max(0.0, until - time.monotonic())))
            identity = ref()
            if identity is None or not identity._sessions.running:
                return
            del identity


def _raw_user(session: Session) -> User | None:
    """Who *session* is signed in as, even past ``login_max_age``."""
    with contextlib.suppress(Exception):
        return user_from(session.get(USER_KEY), float("-inf"))
    return None
