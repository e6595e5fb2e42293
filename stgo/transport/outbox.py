"""One connection's bounded outbox: what waits to become frames, merged per widget.

Pure bookkeeping (no sockets, no threads, no clock): the connection that
owns an :class:`Outbox` holds its own lock around every call.

A message that holds one op on one widget carries a key ``(op, widget ID,
draw generation)`` (:data:`~stgo.protocol.OutKey`).  While such a message
waits, a newer one for the same op and widget replaces it: a background loop
that moves a progress bar 10,000 times queues one message per widget, not
10,000.  Newer is by the draw generation (see ``stgo.hub``, "Draw
generations"): an op drawn before one of the same op, or a whole ``update``,
of the same widget already queued for this tab (waiting, or sent) is
dropped, so a redraw that lost a race to a newer one never reaches the tab;
an op without a number (a session's own) is newer.
:data:`~stgo.protocol.RENDER_KEY` marks a full render: while one waits,
another is dropped (the waiting one, with the patches queued after it,
already brings the page up to date).  A message without a key (on many
widgets) is never replaced, and nothing queued before it may be replaced any
more (an older state would land after it).
"""

from __future__ import annotations

from ..protocol import RENDER_KEY, OutKey

__all__ = ["Outbox"]


class _Entry:
    """One waiting message (its key and text may be replaced by a newer one)."""

    __slots__ = ("key", "text")

    def __init__(self, key: OutKey | None, text: str) -> None:
        self.key = key
        self.text = text


class Outbox:
    """Messages waiting for one client, bounded in count and in bytes.

    :param max_messages: messages that may wait; past that :meth:`add` refuses.
    :param max_bytes: bytes that may wait (with the *in_flight* bytes that
        :meth:`add` is told of); past that :meth:`add` refuses.  One message
        bigger than this is still taken when nothing else waits.
    """

    __slots__ = ("max_messages", "max_bytes", "_entries", "_latest", "_drawn", "_bytes")

    def __init__(self, max_messages: int, max_bytes: int) -> None:
        self.max_messages = max_messages
        self.max_bytes = max_bytes
        self._entries: list[_Entry] = []
        # (op, widget ID) -> its waiting entry, while it may still be replaced.
        self._latest: dict[tuple[str, str], _Entry] = {}
        # (op, widget ID) -> the highest draw generation queued for this tab
        # (sent or waiting): an op drawn before it is older.
        self._drawn: dict[tuple[str, str], int] = {}
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def bytes(self) -> int:
        """Characters of text waiting (the bound counts these as bytes)."""
        return self._bytes

    @property
    def render_waiting(self) -> bool:
        """Whether a full render waits."""
        return RENDER_KEY[:2] in self._latest

    @property
    def pressing(self) -> bool:
        """Whether half the message bound is reached (time to make frames of it)."""
        return len(self._entries) >= self.max_messages // 2

    def merge(self, text: str, key: OutKey | None) -> bool:
        """Whether *text* needs no entry of its own: it replaced a waiting
        message of the same op and widget, or it is older than what this tab
        has or awaits (dropped).  Else the caller sends it or :meth:`add`\\ s it."""
        if key is None:
            return False
        if key[2]:
            drawn = self._drawn
            newest = max(drawn.get(key[:2], 0), drawn.get(("update", key[1]), 0))
            if key[2] < newest:
                return True  # drawn before what this tab has: older
            drawn[key[:2]] = key[2]
        waiting = self._latest.get(key[:2])
        if waiting is None:
            return False
        # Only a numbered op can be older (unnumbered: in order).
        waiting_draw = waiting.key[2] if waiting.key is not None else 0
        if key != RENDER_KEY and (not key[2] or key[2] >= waiting_draw):
            self._bytes += len(text) - len(waiting.text)
            waiting.key, waiting.text = key, text
        return True

    def add(self, text: str, key: OutKey | None, in_flight: int = 0) -> bool:
        """Queue *text*; ``False`` (nothing queued) if a bound would be passed.

        :param in_flight: bytes already on their way to the socket, which
            count against :attr:`max_bytes` too.
        """
        waiting = self._bytes + in_flight
        if len(self._entries) >= self.max_messages or (
                waiting and waiting + len(text) > self.max_bytes):
            return False
        entry = _Entry(key, text)
        self._entries.append(entry)
        self._bytes += len(text)
        if key is None or key == RENDER_KEY:
            # A message on many widgets: nothing queued before it may be
            # replaced any more, or an older state would land after it.
            self._latest.clear()
            if key is not None:
                self._latest[key[:2]] = entry
        else:
            self._latest[key[:2]] = entry
            if key[0] == "update":
                # A redraw carries the value; a later value op must follow it.
                self._latest.pop(("value", key[1]), None)
        return True

    def add_final(self, text: str) -> None:
        """Queue the last message before a close (past the bounds)."""
        self._entries.append(_Entry(None, text))
        self._bytes += len(text)

    def take(self) -> list[str]:
        """Every waiting text, in order; the outbox is then empty (what was
        drawn stays known, to drop older drawings that come later)."""
        texts = [entry.text for entry in self._entries]
        self._entries.clear()
        self._latest.clear()
        self._bytes = 0
        return texts

    def clear(self) -> None:
        """Forget everything (the connection is dropped or over)."""
        self._entries.clear()
        self._latest.clear()
        self._drawn.clear()
        self._bytes = 0
