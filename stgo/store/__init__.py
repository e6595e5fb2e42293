"""Where sessions and shared state live: the store interface and its backends.

- ``memory`` (:class:`MemoryStore`, the default): everything in this process,
  as fast as ever; a restart forgets it.
- ``redis://host:port/db`` (:class:`RedisStore`): session
  records, ``app.state`` and global widget changes in Redis, so that they
  outlive the process.  Needs ``pip install 'stgo[redis]'``.

See docs/scaling.md for what is stored and what a restart loses.
"""

from __future__ import annotations

from ..errors import CodecError, StoreError, StoreUnavailableError
from .base import SessionRecord, StateView, Store
from .codec import Codec
from .memory import MemoryStore
from .redis import RedisStore  # redis-py itself is imported only when one opens

__all__ = [
    "Store", "StoreError", "StoreUnavailableError", "SessionRecord", "StateView",
    "Codec", "CodecError", "MemoryStore", "RedisStore", "open_store",
]


def open_store(spec: str | Store | None, *, pickle_key: bytes | None = None) -> Store:
    """The store *spec* names: ``"memory"`` (or ``None``), a ``redis://`` URL, or a
    :class:`Store` (returned as is).  Nothing is connected yet (see :meth:`Store.open`).

    :param pickle_key: allow pickled values in a Redis store, signed with this secret.
    :raises StoreError: *spec* is not a store this version knows.
    """
    if isinstance(spec, Store):
        return spec
    if spec is None or spec.strip() in ("", "memory", "memory://"):
        return MemoryStore()
    text = spec.strip()
    if text.startswith(("redis://", "rediss://", "unix://")):
        return RedisStore(text, codec=Codec(pickle_key))
    raise StoreError(
        f"unknown store {spec!r}: use 'memory' or a URL like redis://127.0.0.1:6379/0")
