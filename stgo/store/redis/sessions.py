"""Session records in Redis: create, load, touch, claim the end, rename, find.

Each change two processes could race on is one script (:mod:`.scripts`):
creating under a limit, claiming a session's end (only the claimer runs its
end hooks), renaming on rotation.  The indexes ``idle``, ``born`` and
``pend`` (see :mod:`.layout`) find what expired and count the sessions.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from ...errors import StoreError
from ...ids import redact
from ..base import MISSING, SessionRecord
from ..codec import Codec
from .events import Events
from .layout import Layout
from .link import Link
from .scripts import num
from .state import decode

__all__ = ["Sessions"]

log = logging.getLogger("stgo")


def _times(created: bytes, accessed: bytes) -> tuple[float, float] | None:
    """A record's created and last-access times, or ``None`` if either is no number."""
    try:
        times = float(created), float(accessed)
    except ValueError:
        return None
    return times if all(math.isfinite(t) for t in times) else None


class Sessions:
    """The session-record operations of :class:`~stgo.store.base.Store` on Redis."""

    def __init__(self, link: Link, layout: Layout, codec: Codec, events: Events) -> None:
        self._link = link
        self._layout = layout
        self._codec = codec
        self._events = events

    def create(self, session_id: str, now: float, *, limit: int | None = None,
               pending: bool = False) -> bool:
        """See :meth:`stgo.store.base.Store.create_session`."""
        k = self._layout
        done = self._link.script(
            "create", [k.meta(session_id), k.index("idle"), k.index("born"), k.index("pend"),
                       k.data(session_id), k.ups(session_id)],
            [session_id, num(now), -1 if limit is None else limit, "1" if pending else "0",
             *k.ttl])
        if done == -1:
            raise StoreError("session ID already in the store")
        return bool(done == 1)

    def load(self, session_id: str) -> SessionRecord | None:
        """See :meth:`stgo.store.base.Store.load_session`."""
        import redis

        try:
            meta = self._link.call(lambda r: r.hgetall(self._layout.meta(session_id)))
        except redis.exceptions.ResponseError:  # not a hash: corrupt, like bad times below
            log.warning("a session record of the wrong type in the store: ignored")
            return None
        if not meta:
            return None
        try:
            return SessionRecord(float(meta[b"c"]), float(meta[b"a"]), meta.get(b"p") != b"1")
        except (KeyError, ValueError):
            log.warning("a session record with bad times in the store: ignored")
            return None

    def touch(self, session_id: str, now: float, *, activate: bool = False) -> None:
        """See :meth:`stgo.store.base.Store.touch_session`."""
        k = self._layout
        self._link.script("touch", [k.meta(session_id), k.index("idle"), k.index("pend"),
                                    k.data(session_id), k.ups(session_id)],
                          [session_id, num(now), "1" if activate else "0", *k.ttl])

    def claim_end(self, session_id: str, *, idle_before: float | None = None,
                  created_before: float | None = None,
                  pending_idle_before: float | None = None) -> SessionRecord | None:
        """See :meth:`stgo.store.base.Store.claim_end`."""
        self._events.holds.spoil(session_id)
        k = self._layout
        out = self._link.script(
            "claim", [k.meta(session_id), k.data(session_id), k.index("idle"),
                      k.index("born"), k.index("pend"), k.ups(session_id),
                      k.staged(session_id)],
            [session_id, "" if idle_before is None else num(idle_before),
             "" if created_before is None else num(created_before),
             "" if pending_idle_before is None else num(pending_idle_before)])
        if not out:
            return None
        c, a, p, *flat = out
        ns = f"s:{session_id}"
        state: dict[str, Any] = {}
        for k_, v in zip(flat[::2], flat[1::2], strict=True):
            key = k_.decode("utf-8", "replace")
            value = decode(self._codec, ns, key, v)
            if value is not MISSING:
                state[key] = value
        times = _times(c, a)
        if times is None:
            log.warning("ended session %s: its record in the store had bad times (corrupt?)",
                        redact(session_id))
            times = (0.0, 0.0)
        return SessionRecord(times[0], times[1], p != b"1", state)

    def rename(self, old_id: str, new_id: str) -> bool:
        """See :meth:`stgo.store.base.Store.rename_session`: an event of the
        session running meanwhile writes on under the new ID."""
        self._events.holds.spoil(old_id)
        txn = self._events.renaming(old_id)
        k = self._layout
        done = bool(self._link.script(
            "rename", [k.meta(old_id), k.data(old_id), k.meta(new_id), k.data(new_id),
                       k.index("idle"), k.index("born"), k.index("pend"), k.ups(old_id),
                       k.staged(old_id), k.ups(new_id), k.staged(new_id)],
            [old_id, new_id]))
        if done and txn is not None:
            self._events.renamed(old_id, new_id, txn)
        return done

    def expired(self, *, idle_before: float, pending_idle_before: float,
                created_before: float | None, limit: int = 1000) -> list[str]:
        """See :meth:`stgo.store.base.Store.expired_sessions`."""
        k = self._layout

        def find(r: Any) -> list[str]:
            pipe = r.pipeline(transaction=False)
            pipe.zrangebyscore(k.index("idle"), "-inf", f"({num(idle_before)}",
                               start=0, num=limit)
            pipe.zrangebyscore(k.index("pend"), "-inf", f"({num(pending_idle_before)}",
                               start=0, num=limit)
            if created_before is not None:
                pipe.zrangebyscore(k.index("born"), "-inf", f"({num(created_before)}",
                                   start=0, num=limit)
            found: dict[str, None] = {}
            for batch in pipe.execute():
                for raw in batch:
                    found[raw.decode("ascii", "replace")] = None
            return list(found)

        return self._link.call(find)

    def oldest_pending(self) -> str | None:
        """See :meth:`stgo.store.base.Store.oldest_pending`."""
        first = self._link.call(lambda r: r.zrange(self._layout.index("pend"), 0, 0))
        return first[0].decode("ascii", "replace") if first else None

    def count(self) -> int:
        """See :meth:`stgo.store.base.Store.session_count`."""
        return int(self._link.call(lambda r: r.zcard(self._layout.index("born"))))

    def ids(self) -> list[str]:
        """See :meth:`stgo.store.base.Store.session_ids`."""
        raw = self._link.call(lambda r: r.zrange(self._layout.index("born"), 0, -1))
        return [x.decode("ascii", "replace") for x in raw]

    def exist(self, session_ids: list[str]) -> list[bool]:
        """See :meth:`stgo.store.base.Store.sessions_exist`."""
        def check(r: Any) -> list[bool]:
            pipe = r.pipeline(transaction=False)
            for sid in session_ids:
                pipe.exists(self._layout.meta(sid))
            return [bool(x) for x in pipe.execute()]

        return self._link.call(check) if session_ids else []
