"""Many processes, one app: what one process changes, the others show, live.

With a Redis store every process of an app subscribes to one pub/sub
channel (``<prefix>relay``) and tells the others, in one short line, *what*
changed; the values themselves are always read from the store, so a lost or
late notice costs only latency, never correctness (see docs/scaling.md):

``g <origin> <time> <version> <name>``
    a keyed shared widget's attributes were saved under *version* (*name*:
    :func:`stgo.cluster.persist.stored_name`, which says its page): the
    change's stamp on a hybrid logical clock (microseconds of wall time,
    moved past every stamp this process has seen), taken when the change was
    made.  The store keeps a write only if its version is newer than the
    stored one (one Lua step with the notice), so the latest change wins in
    whatever order the writes arrive.  A process applies the store's
    attributes when their version is newer than the one it shows; older
    notices are ignored.
``s <origin> <time> <session id>``
    a session's private state or widgets changed.  A process with a tab of
    that session open redraws it from the state (``session_page``), in the
    session's own event queue, and sends its tabs only what changed; a burst
    of notices is coalesced (see :mod:`stgo.cluster.redraw`).
``r <origin> <time> <old session id>``
    a session was rotated: tabs on the old ID are closed everywhere.
``e <origin> <time> <session id>``
    a session ended (its end was claimed: expiry, ``delete``, eviction):
    every process drops it at once and tells its tabs "session expired",
    instead of serving it until its own cleanup pass finds it gone.
``l <origin> <time> <session id>``
    sent by Redis (the store's lock and write scripts) on the channel of the
    process that keeps the session's event lock between events: *origin*
    waits for it, so the holder lets go now.

While the link is down messages are lost, so every (re)subscription is
followed by a *resync*: every global widget whose stored version is newer
is applied, and every session with a tab open here is redrawn.

Three threads, all named ``stgo-relay*`` and stopped by :meth:`Relay.stop`:
the listener (supervised: any error is logged, counted, and followed by a
reconnect with backoff), the sender (which retries notices whose publish
failed; a batch publishes its own before its ack goes out) and the redraw
scheduler (which queues the coalesced redraws when their time comes).  No lock is held
while waiting on Redis.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import secrets
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from ..context import Slot
from ..errors import SessionBusyError
from ..ids import redact
from ..store.redis import EVENT_LEASE, KEEP_LEASE, StateCache
from .persist import apply_attrs
from .redraw import Redraws

if TYPE_CHECKING:
    from ..core.hub import Hub
    from ..core.manager import SessionManager
    from ..core.pages import Door
    from ..core.session import Session
    from ..metrics import Metrics
    from ..store.redis import RedisStore
    from ..widgets.base import Widget

__all__ = ["Relay", "EVENT_LEASE"]


#: Seconds between the sender's looks at long events on kept locks (well
#: under the margin the rest of a kept lease leaves them).
_KEEP_CHECK = 0.25

#: Seconds :meth:`Relay.start` waits for the listener's first subscription
#: and resync: a process started by its first request then loads no session
#: for that request while the resync lets go of the ones it holds.
_START_WAIT = 2.0


log = logging.getLogger("stgo")


class Relay:
    """The pub/sub link of one process to the other processes of its app.

    :param store: the app's Redis store.
    :param metrics: the app's counters.
    :param sessions: the app's sessions (redrawn, dropped or rotated here
        when another process says so).
    :param hub: the app's connections, whose tabs follow the others' changes.
    :param find_global: ``find_global(name)``: the keyed shared widget stored
        as *name* (see :func:`stgo.cluster.persist.stored_name`), or ``None``.
    :param redraw: ``redraw(session)``: draw *session*'s private widgets anew
        from its state (``session_page``); ``False`` if the app draws none.
    :param max_backoff: longest wait in seconds between reconnect attempts (5).
    """

    def __init__(self, store: RedisStore, *, metrics: Metrics, sessions: SessionManager,
                 hub: Hub, find_global: Callable[[str], Widget | None],
                 redraw: Callable[[Session], bool], max_backoff: float = 5.0) -> None:
        self._metrics = metrics
        self._sessions = sessions
        self._hub = hub
        self._find_global = find_global
        # The throttled redraws of sessions changed elsewhere (their thread).
        self._redraws = Redraws(hub=hub, metrics=metrics, redraw=redraw)
        #: The one door of every shared widget's change (the App's router's,
        #: set by the App): what is applied here from the store goes through
        #: it, as ``applied`` (pushed, not saved again nor told onward).
        self.door: Door | None = None
        #: ``pending(name)``: whether a change of this process to the shared
        #: widget stored as *name* still waits to be saved (the saver's, set
        #: by the App once it has one; ``None``: no saver).
        self.pending: Callable[[str], bool] | None = None
        self._store = store
        self.max_backoff = max_backoff
        #: This process's name on the channel (its own notices are skipped).
        self.origin = secrets.token_hex(8)
        self._tokens = itertools.count(1)
        store.origin = self.origin
        store.presence = f"{store.channel}:{self.origin}"
        self._lock = threading.Lock()
        self._versions: dict[str, int] = {}
        # Global widgets whose notice came while a change of ours was pending.
        self._passed_over: set[str] = set()
        # Keys with a write of ours on its way to the store (how many): they
        # count as pending whatever the saver says.
        self._saving: dict[str, int] = {}
        self._clock = 0  # the last stamp given or seen (hybrid logical clock)
        self._outbox: dict[str, str] = {}  # notices waiting to be sent (ordered, no repeats)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._pubsub: Any = None
        self._threads: list[threading.Thread] = []
        self._listening = threading.Event()  # subscribed and resynced
        # This process's copy of each session's state, for its events.
        self._caches: weakref.WeakKeyDictionary[Session, StateCache] = (
            weakref.WeakKeyDictionary())
        self._announced_slot: Slot[set[Session]] = Slot("announced")
        self.connected = False
        #: Seconds from publish to receipt of the last notice heard.
        self.lag = 0.0
        metrics.gauge("stgo_relay_connected",
                      "1 while the pub/sub link to the other processes is up.",
                      lambda: 1.0 if self.connected else 0.0)
        metrics.gauge("stgo_relay_lag_seconds",
                      "Publish-to-receipt delay of the last notice from another process.",
                      lambda: self.lag)

    # -- running ------------------------------------------------------------------------

    def start(self) -> None:
        """Start the listener and the sender (idempotent)."""
        if any(t.is_alive() for t in self._threads):
            return
        self._stop.clear()
        self._listening.clear()
        self._threads = [
            threading.Thread(target=self._listen, name="stgo-relay", daemon=True),
            threading.Thread(target=self._send, name="stgo-relay-send", daemon=True),
            self._redraws.thread(),
        ]
        for thread in self._threads:
            thread.start()
        # Bounded: with Redis away the listener keeps trying on its own.
        self._listening.wait(_START_WAIT)

    def after_fork(self) -> None:
        """In a forked child: a name of its own on the channel (a sibling
        with the parent's would skip the parent's notices as its own), no
        threads yet, and none of the parent's links, locks, queue or caches."""
        self.origin = secrets.token_hex(8)
        self._store.origin = self.origin
        self._store.presence = f"{self._store.channel}:{self.origin}"
        self._lock = threading.Lock()
        self._outbox = {}
        self._passed_over = set()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._pubsub = None
        self._threads = []
        self._listening = threading.Event()
        self._saving = {}
        self._redraws.after_fork()
        self._caches = weakref.WeakKeyDictionary()
        self._announced_slot = Slot("announced")
        self.connected = False

    def stop(self, timeout: float = 5.0) -> None:
        """Send what is queued, then stop the threads and join them."""
        self._stop.set()
        self._wake.set()
        self._redraws.stop()
        threads, self._threads = self._threads, []
        for thread in threads:
            thread.join(timeout)
        self._flush_outbox()

    @contextlib.contextmanager
    def event_lock(self, session: Session) -> Iterator[None]:
        """Run the block as the only event of *session* in any process.

        A Redis lock with a lease, waited for with backoff (no local lock is
        held meanwhile).  Taking it also brings this process's cached copy of
        the session's state up to date (one round trip); the block reads from
        that copy and its state writes are buffered.  At the end the writes,
        the ``s`` notice and the lock's fate are sent to Redis as one script
        before the event is acknowledged; :meth:`settle` reads the answer
        after.  The lock is kept for :data:`~stgo.store.redis.KEEP_LEASE`
        seconds unless another process waits for it (or this one's link is
        down), so that the session's next event here needs no round trip
        before its callback.

        :raises SessionBusyError: not had within :data:`EVENT_LEASE` seconds.
        """
        store = self._store
        token = f"{self.origin}.{next(self._tokens)}"  # unique in every process, no syscall
        cache = self._caches.get(session)
        if cache is None:
            cache = self._caches[session] = StateCache()
        deadline = time.monotonic() + EVENT_LEASE
        delay = 0.001
        while (txn := store.begin_event(session.id, token, EVENT_LEASE, cache)) is None:
            if time.monotonic() > deadline:
                raise SessionBusyError("this session is busy in another process")
            time.sleep(delay)  # waiting for another process's event: no lock held
            delay = min(delay * 2, 0.02)
        try:
            yield
        finally:
            notice = ""
            if txn.changed or self._touched_in_batch(session):
                notice = f"{self._head('s')} {session.id}"
                self._announced().add(session)
                self._metrics.inc("stgo_relay_sent_total", "session")
            # Kept only while others can ask for it (a lock kept by a process
            # that does not listen is void to them).
            store.end_event(txn, notice, KEEP_LEASE if self.connected else 0.0)

    def settle(self) -> None:
        """After an event's batch is pushed: read what Redis answered to its
        commit (see :meth:`event_lock`)."""
        self._announced().clear()
        try:
            self._store.settle()
        except Exception as exc:
            self._redis_error("commit", exc)

    def _touched_in_batch(self, session: Session) -> bool:
        batch = self._hub.current_event(session)
        return batch is not None and (session in batch.session_changes
                                      or session in batch.state_keys)

    def _announced(self) -> set[Session]:
        """Sessions whose ``s`` notice this thread's event sent with its commit."""
        announced = self._announced_slot.get()
        if announced is None:
            announced = set()
            self._announced_slot.set(announced)
        return announced

    # -- telling the others ---------------------------------------------------------------

    def stamp(self) -> int:
        """A version for a change made now: later than every one given or seen here."""
        with self._lock:
            self._clock = max(int(time.time() * 1e6), self._clock + 1)
            return self._clock

    def _seen(self, version: int) -> None:
        with self._lock:
            self._clock = max(self._clock, version)

    def save_global(self, key: str, attrs: dict[str, Any], version: int) -> None:
        """Save a global widget's attributes under *version* and tell the
        others (the GlobalSaver's thread calls this).  When a newer change
        is stored already, this process shows that one instead."""
        with self._lock:
            self._saving[key] = self._saving.get(key, 0) + 1
        stored = False
        try:
            stored = bool(self._store.save_global(key, attrs, version, self._head("g")))
        finally:
            with self._lock:
                if stored and version > self._versions.get(key, 0):
                    self._versions[key] = version
                left = self._saving.pop(key) - 1
                if left:
                    self._saving[key] = left
        if stored:
            self._metrics.inc("stgo_relay_sent_total", "global")
        else:
            self._apply_global(key, mine_pending=True)

    def global_written(self, key: str) -> None:
        """This process's write of global widget *key* is done: a notice of
        another's change passed over while it was pending (ours might have
        been the newer) is looked at now, or it would be lost."""
        with self._lock:
            passed = key in self._passed_over
            self._passed_over.discard(key)
        if passed:
            self._apply_global(key, mine_pending=True)

    def sessions_changed(self, sessions: Iterable[Session]) -> None:
        """Tell the others "these sessions changed", now: the hub calls this
        before the batch's acknowledgement goes out, so a process killed
        after the ack has told the others (whose cached copies would be
        stale).  No lock is held; a failed publish is retried by the sender."""
        announced = self._announced()
        notices = [f"s {{head}} {s.id}" for s in sessions
                   if not s.ended and s not in announced]
        if notices:
            self._queue(notices)
            self._flush_outbox()

    def tell_changed(self, session_ids: Iterable[str]) -> None:
        """Queue "these sessions changed" by ID (a user's state changed: the
        processes holding their tabs redraw them)."""
        self._queue([f"s {{head}} {sid}" for sid in session_ids])

    def rotated(self, old_id: str) -> None:
        """Queue "*old_id* is gone: close its tabs"."""
        self._queue([f"r {{head}} {old_id}"])

    def ended(self, session_id: str) -> None:
        """Queue "*session_id* ended: drop it, tell its tabs" (this process
        claimed its end)."""
        self._queue([f"e {{head}} {session_id}"])

    def _queue(self, notices: list[str]) -> None:
        if not notices:
            return
        with self._lock:
            for notice in notices:
                self._outbox[notice] = notice
        self._wake.set()

    def _head(self, kind: str) -> str:
        return f"{kind} {self.origin} {time.time():.6f}"

    def _send(self) -> None:
        while not self._stop.is_set():
            # Woken for notices, and a few times a second to lengthen the
            # leases of long events that began on a kept lock.
            self._wake.wait(_KEEP_CHECK)
            self._wake.clear()
            if not self._flush_outbox() or not self._keep_leases():
                self._stop.wait(0.5)  # Redis trouble: try again shortly

    def _keep_leases(self) -> bool:
        try:
            self._store.keep_leases(EVENT_LEASE)
        except Exception as exc:
            self._redis_error("lease", exc)
            return False
        return True

    def _flush_outbox(self) -> bool:
        with self._lock:
            notices, self._outbox = list(self._outbox), {}
        for i, notice in enumerate(notices):
            kind, rest = notice.split(" ", 1)
            try:
                self._store.publish(rest.replace("{head}", self._head(kind), 1))
            except Exception as exc:
                self._redis_error("publish", exc)
                with self._lock:
                    for left in notices[i:]:
                        self._outbox.setdefault(left, left)
                return False
            self._metrics.inc("stgo_relay_sent_total",
                                  {"s": "session", "r": "rotation", "e": "end"}.get(kind, kind))
        return True

    # -- hearing the others ---------------------------------------------------------------

    def _listen(self) -> None:
        delay = 0.05
        presence = self._store.presence.encode("utf-8")
        while not self._stop.is_set():
            try:
                pubsub = self._pubsub = self._store.pubsub()
                # Its own channel first: others see it listening before it
                # counts as connected (and keeps event locks).
                pubsub.subscribe(self._store.presence, self._store.channel)
                while not self._stop.is_set():
                    msg = pubsub.get_message(timeout=0.5)
                    if msg is None:
                        continue
                    if msg["type"] == "subscribe" and msg["channel"] != presence:
                        # (Re)subscribed: what was said meanwhile is lost.
                        self.connected = True
                        delay = 0.05
                        self._resync()
                        self._listening.set()
                    elif msg["type"] == "message":
                        self._hear(msg["data"])
            except Exception as exc:
                self.connected = False
                self._store.forget_holds()
                if self._stop.is_set():
                    break
                self._redis_error("subscribe", exc)
                self._stop.wait(delay)
                delay = min(delay * 2, self.max_backoff)
            finally:
                self._close_pubsub()
        self.connected = False

    def _close_pubsub(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            try:
                pubsub.close()
            except Exception:  # already broken: nothing to release
                log.debug("closing the relay's pub/sub link failed", exc_info=True)

    def _redis_error(self, where: str, exc: Exception) -> None:
        self._metrics.inc("stgo_redis_errors_total", where)
        log.warning("relay: %s failed (%s: %s); retrying", where, type(exc).__name__, exc)

    def _hear(self, data: bytes | str) -> None:
        text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
        parts = text.split(" ", 4 if text.startswith("g ") else 3)
        if len(parts) < 4 or parts[1] == self.origin:
            return
        kind = parts[0]
        try:
            self.lag = max(0.0, time.time() - float(parts[2]))
        except ValueError:
            return
        self._metrics.inc("stgo_relay_received_total", {
            "g": "global", "s": "session", "r": "rotation", "e": "end",
            "l": "lock"}.get(kind, "other"))
        try:
            if kind == "g" and len(parts) == 5:
                version, key = int(parts[3]), parts[4]
                self._seen(version)
                with self._lock:
                    stale = version <= self._versions.get(key, 0)
                if not stale:
                    self._apply_global(key)
            elif kind == "s":
                self._session_changed(parts[3])
            elif kind == "r":
                self._session_rotated(parts[3])
            elif kind == "e":
                self._session_ended(parts[3])
            elif kind == "l":
                self._store.give_back(parts[3])
        except Exception as exc:
            # A Redis error propagates to _listen (reconnect, resync); anything
            # else is a bug of ours, logged without ending the thread.
            if self._store.is_connection_error(exc):
                raise
            log.exception("relay: applying a notice failed")

    def _resync(self) -> None:
        self._metrics.inc("stgo_relay_resyncs_total")
        for key, version in self._store.global_versions().items():
            self._seen(version)
            with self._lock:
                stale = version <= self._versions.get(key, 0)
            if not stale:
                self._apply_global(key)
        for session in self._sessions.sessions():
            self._refresh(session)

    def _apply_global(self, key: str, *, mine_pending: bool = False) -> None:
        """Show the stored attributes of global widget *key* if they are newer.

        A local change still waiting to be saved wins over a notice (it is
        newer, or its save is refused and lands here with *mine_pending*)."""
        pending = self.pending
        if not mine_pending and pending is not None:
            # Noted before the look, so that a write finishing in between
            # still finds it (global_written).
            with self._lock:
                self._passed_over.add(key)
            if pending(key):
                return
            with self._lock:
                self._passed_over.discard(key)
        attrs, version = self._store.load_global(key)
        self._seen(version)
        widget = self._find_global(key)  # on any page ("<path> <key>" off "/")
        with self._lock:
            if version <= self._versions.get(key, 0):
                return
            if not mine_pending and (key in self._saving or (
                    pending is not None and pending(key))):
                # A change made here while we read the store, stamped after
                # everything seen here: its write looks again once done
                # (global_written).  Applied now, this older value would stay
                # on show under our write's newer version.  (A change marked
                # only after this look is saved from the widget as applied:
                # this process and the store still agree.)
                self._passed_over.add(key)
                return
            self._versions[key] = version
            if widget is None or not isinstance(attrs, dict):
                return
            # Checked and applied in one step: two threads applying two
            # versions (the listener, and the saver after a refused write)
            # would otherwise check in one order and apply in the other,
            # leaving this process on the older one for good.
            apply_attrs(widget, attrs)
        self._metrics.inc("stgo_relay_applied_total", "global")
        door = self.door
        if door is not None:
            door(widget, "update", applied=True)

    def _session_changed(self, session_id: str) -> None:
        session = self._sessions.cached(session_id)
        if session is not None:
            self._refresh(session)

    def _refresh(self, session: Session) -> None:
        """*session* may have changed elsewhere: redraw its tabs here, or, with
        none open here, let go of it (the next request rebuilds it from the store)."""
        if session.connections or self._hub.connections(session):
            self._redraws.soon(session)
        else:
            self._sessions.forget(session)

    def _session_rotated(self, old_id: str) -> None:
        from ..protocol import CLOSE_ROTATED

        session = self._sessions.cached(old_id)
        if session is None:
            return
        for conn in self._hub.connections(session):
            conn.close(CLOSE_ROTATED, "session rotated")
        log.debug("relay: session %s rotated elsewhere", redact(old_id))
        self._sessions.get(old_id)  # no record any more: dropped from the cache

    def _session_ended(self, session_id: str) -> None:
        if self._sessions.cached(session_id) is None:
            return
        # No record any more: dropped from the cache here, and its tabs are
        # told "session expired" and closed (the manager's gone hooks).
        self._sessions.get(session_id)
        log.debug("relay: session %s ended elsewhere", redact(session_id))
