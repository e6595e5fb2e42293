"""Global widgets' changes in Redis, and the relay's channel between processes.

A global widget's saved attributes live in the ``globals`` namespace with a
version each (``gver``, the change's hybrid clock stamp): a write lands only
when newer than the stored one, and the write, its version and the notice to
the other processes are one script (:data:`~.scripts.SAVE_GLOBAL`).  The
relay (:mod:`stgo.relay`) listens on :attr:`~.layout.Layout.channel`.
"""

from __future__ import annotations

from typing import Any

from ..base import MISSING
from ..codec import Codec
from .layout import Layout
from .link import Link
from .state import decode

__all__ = ["Globals"]


class Globals:
    """The global widgets' saved changes and the processes' channel."""

    def __init__(self, link: Link, layout: Layout, codec: Codec) -> None:
        self._link = link
        self._layout = layout
        self._codec = codec

    def save(self, key: str, value: Any, version: int, head: str) -> bool:
        """See :meth:`stgo.store.redis.RedisStore.save_global`."""
        text = self._codec.encode(value, key)
        k = self._layout
        return bool(self._link.script("save_global", [k.hash("globals"), k.index("gver"),
                                                      k.channel], [key, text, head, version]))

    def load(self, key: str) -> tuple[Any, int]:
        """See :meth:`stgo.store.redis.RedisStore.load_global`."""
        k = self._layout

        def read(r: Any) -> list[Any]:
            pipe = r.pipeline(transaction=True)
            pipe.hget(k.hash("globals"), key)
            pipe.hget(k.index("gver"), key)
            return list(pipe.execute())

        raw, version = self._link.call(read)
        value = None if raw is None else decode(self._codec, "globals", key, raw)
        return (None if value is MISSING else value), int(version or 0)

    def versions(self) -> dict[str, int]:
        """Every saved global widget's version, by key."""
        raw = self._link.call(lambda r: r.hgetall(self._layout.index("gver")))
        return {k.decode("utf-8", "replace"): int(v) for k, v in raw.items()}

    def publish(self, message: str) -> int:
        """Send *message* on the channel; return how many processes heard it."""
        return int(self._link.call(lambda r: r.publish(self._layout.channel, message)))
