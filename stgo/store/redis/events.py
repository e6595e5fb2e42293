"""A session's events with the Redis store: one round trip to start, one write to end.

:meth:`Events.begin` takes the session's event lock and brings the
process's copy of its state up to date in one script (no round trip at all
on a lock kept from the session's last event here: :mod:`.holds`);
:meth:`Events.end` sends the event's buffered writes (:mod:`.txn`), the
unlock (or the keep) and the relay's notice as one script without waiting,
and :meth:`Events.settle` reads the answers later.  See
:mod:`stgo.store.redis.txn` for the whole design.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from ...context import Slot
from ...errors import StoreError, StoreUnavailableError
from .holds import WANT_MS, Hold, Holds, want_notice
from .layout import Layout
from .link import Link
from .scripts import COMMIT, num
from .state import Namespaces
from .txn import KEEP_USABLE, EventTxn, StateCache

__all__ = ["Events"]

log = logging.getLogger("stgo")

#: A commit sent and not yet answered: its connection, event, keys and args.
_Pending = tuple[Any, EventTxn, list[str], list[Any]]


def _lost(exc: BaseException) -> None:
    log.error("an event's writes to the store may be lost (%s: %s)", type(exc).__name__, exc)


class Events:
    """The open and the sent events of one store's sessions, and their locks."""

    def __init__(self, link: Link, layout: Layout, direct: Namespaces, holds: Holds) -> None:
        self._link = link
        self._layout = layout
        self._direct = direct
        #: The event locks this process keeps between events.
        self.holds = holds
        # The open event of each session, by ID (its state operations on the
        # event's thread go there), and each thread's commits sent but not
        # yet answered (read by settle()).
        self._txns: dict[str, EventTxn] = {}
        # Ended events whose commit is made or sent, its answer not yet read
        # (a rename from another thread meanwhile must find them: settle).
        self._sent: dict[str, EventTxn] = {}
        self._slots()

    def _slots(self) -> None:
        # This thread's open event and its commits sent but not yet answered,
        # in the one event context (new slots after a fork: the parent's
        # values are its own).
        self._txn: Slot[EventTxn] = Slot("store event")
        self._sending: Slot[list[_Pending]] = Slot("store commits sent")

    def after_fork(self) -> None:
        """Forget the parent's open events and kept locks: they are its own."""
        self._txns = {}
        self._sent = {}
        self._slots()
        self.holds.after_fork()

    # -- the open event ----------------------------------------------------------------

    def current(self, ns: str, *, writing: bool = True) -> EventTxn | None:
        """The open event of *ns*'s session on this thread, if any; else, for a
        write elsewhere (``app.state``, another session) from inside an event,
        the event's buffered writes go first, so that writes reach Redis in
        the order the callback made them (a kill between two keeps the first)."""
        if ns.startswith("s:"):
            txn = self._txns.get(ns[2:])
            if txn is not None and txn.thread == threading.get_ident():
                return txn
        current = self._txn.get()
        if writing and current is not None and current.ops:
            current.flush()
        return None

    def renaming(self, old_id: str) -> EventTxn | None:
        """A rename of *old_id* is about to happen: the event of the session
        that the renamed record's writes must follow, if any.  This thread's
        event has written what it buffered so far under the old ID."""
        txn = self.current(f"s:{old_id}")
        if txn is not None:
            txn.flush()  # the event's writes so far go under the old ID first
            return txn
        # An event of the session on another thread (a rotation from a
        # background thread), running or with its commit on its way: its
        # buffer is that thread's to send; renamed, its commit goes to the
        # new ID (or again, after it: see _settle_one).
        return self._txns.get(old_id) or self._sent.get(old_id)

    def renamed(self, old_id: str, new_id: str, txn: EventTxn) -> None:
        """The record of *txn*'s session was renamed: its event writes on under *new_id*."""
        for table in (self._txns, self._sent):
            if table.get(old_id) is txn:
                del table[old_id]
                table[new_id] = txn
        txn.rekeyed(new_id)

    def after_commit(self, session_id: str, fn: Callable[[], None]) -> None:
        """See :meth:`stgo.store.redis.RedisStore.after_commit`."""
        txn = self.current(f"s:{session_id}", writing=False)
        if txn is None:
            fn()
        else:
            txn.after.append(fn)

    # -- begin and end --------------------------------------------------------------

    def begin(self, session_id: str, token: str, lease: float,
              cache: StateCache) -> EventTxn | None:
        """See :meth:`stgo.store.redis.RedisStore.begin_event`."""
        self.settle()  # a commit of this thread's last event still unanswered
        hold = self.holds.take(session_id)
        txn: EventTxn | None
        if hold is not None and hold.usable(cache):
            txn = EventTxn(self._direct, self.commit_now, session_id, hold.token, cache,
                           kept=True, event_id=token)
        else:
            txn = self._take_lock(session_id, token, lease, cache)
            if txn is None:
                self.holds.contend(session_id)
                return None
        self._txns[session_id] = txn
        self._txn.set(txn)
        return txn

    def _take_lock(self, session_id: str, token: str, lease: float,
                   cache: StateCache) -> EventTxn | None:
        """The lock and the record's version in one script (and the state only
        when the version is not *cache*'s)."""
        layout = self._layout
        origin = token.split(".", 1)[0]
        found = self._link.script(
            "lock", [layout.lock(session_id), layout.wanted(session_id),
                     layout.meta(session_id)],
            [token, max(1, int(lease * 1000)), origin, WANT_MS,
             f"{layout.channel}:", want_notice(origin, session_id)])
        if not found:
            return None  # held by another, or another waits for it
        version, created = found
        if created is None:
            cache.invalidate()  # no record (ended elsewhere): the event writes nothing
        elif (version or b"0").decode("ascii") != cache.version:
            raw = self._link.call(lambda r: r.hgetall(layout.data(session_id)))
            cache.version = (version or b"0").decode("ascii")
            cache.raw = {k.decode("utf-8", "replace"): v for k, v in raw.items()}
        return EventTxn(self._direct, self.commit_now, session_id, token, cache)

    def end(self, txn: EventTxn, notice: str, keep: float = 0.0) -> None:
        """See :meth:`stgo.store.redis.RedisStore.end_event`."""
        self._sent[txn.session_id] = txn
        if self._txns.get(txn.session_id) is txn:
            del self._txns[txn.session_id]
        self._txn.set(None)
        renamed = txn.lock_id != txn.session_id  # the old ID's lock is of no more use
        if renamed or self.holds.contended_lately(txn.session_id):
            keep = 0.0
        lock = "0" if keep <= 0 else str(max(1, int(keep * 1000)))
        keys, args = self.commit_words(txn, txn.ops, lock=lock, notice=notice)
        txn.ops = []
        link = self._link
        for attempt in (1, 2):
            conn = link.checkout()
            txn.sent = time.monotonic()  # the kept lease starts later than this
            try:
                link.send(conn, "EVALSHA", link.sha("commit"), len(keys), *keys, *args)
            except link.errors as exc:
                link.checkin(conn, broken=True)
                if attempt == 2:
                    txn.cache.invalidate()
                    self._unsent(txn)
                    raise StoreUnavailableError(f"Redis is unavailable: {exc}") from None
                continue
            self._pending().append((conn, txn, keys, args))
            return

    def settle(self) -> None:
        """Read the answers to this thread's commits (see :meth:`end`):
        keep each cached copy that is current, drop the others."""
        pending = self._pending()
        while pending:
            conn, txn, keys, args = pending.pop(0)
            try:
                self._settle_one(conn, txn, keys, args)
            finally:
                self._unsent(txn)

    def _pending(self) -> list[_Pending]:
        pending = self._sending.get()
        if pending is None:
            pending = []
            self._sending.set(pending)
        return pending

    def _unsent(self, txn: EventTxn) -> None:
        if self._sent.get(txn.session_id) is txn:
            del self._sent[txn.session_id]

    def _settle_one(self, conn: Any, txn: EventTxn, keys: list[str], args: list[Any]) -> None:
        try:
            out = self._link.read_script_answer(conn, COMMIT, keys, args)
        except Exception as exc:
            broken = not self._link.is_script_error(exc)
            self._link.checkin(conn, broken=broken)
            txn.cache.invalidate()
            if broken:
                # Resent once: the commit ID makes a repeat harmless.
                self._resend(txn, keys, args)
            else:
                _lost(exc)
            return
        self._link.checkin(conn)
        if int(out[0]) == -2 and txn.session_id != args[0]:
            # Renamed by another thread after the commit was made: the record
            # had moved and nothing was applied; the writes follow it.
            self._resend(txn, *self.commit_words(txn, list(args[10:]), lock="",
                                                 notice=args[5]))
            return
        self._committed(txn, out, float(args[6]) / 1000 if args[6] else 0.0)

    def _resend(self, txn: EventTxn, keys: list[str], args: list[Any]) -> None:
        try:
            self._commit_sync(txn, keys, args)
        except StoreError as exc:
            _lost(exc)

    # -- commits ------------------------------------------------------------------------

    def commit_now(self, txn: EventTxn, ops: list[str | int]) -> None:
        """Write *ops* of *txn* now, keeping the lock, and wait for Redis (a
        flush mid-event)."""
        keys, args = self.commit_words(txn, ops, lock="", notice="")
        self._commit_sync(txn, keys, args)

    def _commit_sync(self, txn: EventTxn, keys: list[str], args: list[Any]) -> None:
        try:
            self._committed(txn, self._link.script("commit", keys, args), 0.0)
        except StoreError:
            txn.cache.invalidate()
            raise

    def commit_words(self, txn: EventTxn, ops: list[str | int], *, lock: str,
                     notice: str) -> tuple[list[str], list[Any]]:
        """The commit script's keys and args for *ops* of *txn* (see
        :data:`~.scripts.COMMIT`); each call is a new commit (its own ID)."""
        layout = self._layout
        sid = txn.session_id
        txn.commits += 1
        keys = [layout.meta(sid), layout.data(sid), layout.index("idle"),
                layout.index("pend"), layout.lock(txn.lock_id), layout.channel,
                layout.presence, layout.ups(sid), layout.wanted(txn.lock_id)]
        args: list[Any] = [sid, num(time.time()), txn.token, f"{txn.event_id}:{txn.commits}",
                           txn.cache.version, notice, lock, *layout.ttl,
                           "1" if txn.kept else "0", *ops]
        return keys, args

    def _committed(self, txn: EventTxn, answer: Any, keep: float) -> None:
        """Keep or drop *txn*'s copy by the commit's answer; with the lock
        kept, remember it for the session's next event (only if none began
        since this one)."""
        out, kept = int(answer[0]), int(answer[1])
        cache = txn.cache
        after, txn.after = txn.after, []
        if out == -4:
            log.warning("an event's writes were refused: the lock it kept was taken over "
                        "while its relay link was down")
        else:
            for fn in after:
                try:
                    fn()
                except Exception:
                    log.exception("a step after an event's commit failed")
        if out > 0:
            cache.version = str(out)  # nobody else wrote: the copy is current
        elif out < 0:
            cache.invalidate()
        if keep > 0 and not kept and out >= 0:
            self.holds.contend(txn.session_id)  # not kept: another process waits for it
        if kept and out >= 0 and cache.version and keep > 0:
            token = txn.token if txn.token.endswith("+") else f"{txn.token}+"
            hold = Hold(token, cache, txn.sent + keep * KEEP_USABLE, txn.sent + keep)
            self.holds.put(txn.session_id, hold, txn.serial)

    # -- kept locks ---------------------------------------------------------------------

    def give_back(self, session_id: str) -> None:
        """See :meth:`stgo.store.redis.RedisStore.give_back`."""
        self.holds.contend(session_id)
        hold = self.holds.take(session_id)
        if hold is not None:
            self._link.script("release", [self._layout.lock(session_id)], [hold.token])

    def give_back_all(self) -> None:
        """Let go of every kept lock (the store closes), if Redis is there."""
        holds = self.holds.take_all()
        if not self._link.connected:
            return
        for session_id, hold in holds.items():
            try:
                self._link.script("release", [self._layout.lock(session_id)], [hold.token])
            except StoreError:
                return  # Redis is away: they lapse by themselves

    def keep_leases(self, lease: float, after: float = 0.1) -> None:
        """See :meth:`stgo.store.redis.RedisStore.keep_leases`."""
        now = time.monotonic()
        self.holds.prune(now)
        for txn in tuple(self._txns.values()):
            if txn.lengthen and now - txn.begun >= after:
                txn.lengthen = False  # once: then it has as long as a lock taken afresh
                self._link.script("extend", [self._layout.lock(txn.lock_id)],
                                  [txn.token, max(1, int(lease * 1000))])
