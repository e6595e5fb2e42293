"""Uploads in Redis: bytes any process can read (see :mod:`stgo.store.files`).

An upload is received by whichever process the request reaches, and staged
for the session's change event under a token (``upst:<id>``); the event,
maybe on another process, takes it once: its bytes (``up:<ref>``) then live
as long as the session (``ups:<id>``), and the session's state holds only
its name, size, type and reference.
"""

from __future__ import annotations

import json
import logging
import secrets
from typing import Any

from ...errors import StagingFullError, StoreUnavailableError
from ..files import UploadedFile
from .layout import Layout
from .link import Link
from .scripts import RESERVE_UPLOAD

__all__ = ["Blobs"]

log = logging.getLogger("stgo")


def _full() -> StagingFullError:
    """What an upload meets when Redis is at its ``maxmemory`` (``noeviction``)."""
    log.warning("Redis is at its maxmemory: an upload was refused")
    return StagingFullError("memory")


class Blobs:
    """Staged and kept uploads' bytes; a :class:`~stgo.store.files.BlobSource`."""

    def __init__(self, link: Link, layout: Layout) -> None:
        self._link = link
        self._layout = layout

    def put_upload(self, session_id: str, token: str, entry: dict[str, Any], stream: Any,
                   length: int, ttl: float, chunk: int = 256 * 1024, *,
                   max_staged: int = 1 << 30, max_bytes: int = 1 << 62) -> int:
        """See :meth:`stgo.store.redis.RedisStore.put_upload`."""
        import redis

        ref = secrets.token_urlsafe(24)
        blob, staged = self._layout.blob(ref), self._layout.staged(session_id)
        ms = max(1, int(ttl * 1000))
        pending = json.dumps({**entry, "ref": ref, "pending": 1})
        try:
            full = self._link.call(lambda r: r.register_script(RESERVE_UPLOAD)(
                keys=[staged], args=[token, pending, max_staged, length, max_bytes, ms]))
        except redis.exceptions.OutOfMemoryError:
            raise _full() from None
        if int(full):
            raise StagingFullError("count" if int(full) == 1 else "bytes")
        got = 0
        done = False

        def write(r: Any) -> None:
            nonlocal got, done
            r.set(blob, b"", px=ms)
            while got < length:
                data = stream.read(min(chunk, length - got))
                if not data:
                    break
                r.append(blob, data)
                got += len(data)
            if got != length:
                return
            pipe = r.pipeline(transaction=True)
            pipe.pexpire(blob, ms)
            pipe.hset(staged, token, json.dumps({**entry, "ref": ref}))
            pipe.pexpire(staged, ms)
            pipe.execute()
            done = True

        try:
            self._link.call(write)
        except redis.exceptions.OutOfMemoryError:
            raise _full() from None
        finally:
            if not done:
                self._drop_upload(staged, token, blob)
        return got

    def _drop_upload(self, staged: str, token: str, blob: str) -> None:
        """Forget an upload that did not come in whole: its bytes and its place."""
        def drop(r: Any) -> None:
            # No MULTI: at maxmemory Redis refuses a transaction, a plain DEL never.
            pipe = r.pipeline(transaction=False)
            pipe.delete(blob)
            pipe.hdel(staged, token)
            pipe.execute()

        try:
            self._link.call(drop)
        except StoreUnavailableError:
            # Both expire with the staging TTL; nothing else to do.
            log.warning("could not drop a cut-short upload: Redis is unavailable")

    def staged_uploads(self, session_id: str) -> int:
        """How many uploads of *session_id* wait for their change event."""
        return int(self._link.call(lambda r: r.hlen(self._layout.staged(session_id))))

    def take_upload(self, session_id: str, token: str, widget: str) -> UploadedFile | None:
        """See :meth:`stgo.store.redis.RedisStore.take_upload`."""
        staged = self._layout.staged(session_id)

        def take(r: Any) -> Any:
            pipe = r.pipeline(transaction=True)
            pipe.hget(staged, token)
            pipe.hdel(staged, token)
            return pipe.execute()

        raw, taken = self._link.call(take)
        if raw is None or not taken:
            return None
        try:
            entry = json.loads(raw)
            name, size, mime, ref = entry["name"], entry["size"], entry["type"], entry["ref"]
        except (ValueError, KeyError, TypeError):
            log.warning("a staged upload with a bad entry in the store: ignored")
            return None
        if entry.get("widget") != widget or entry.get("pending"):
            return None
        ttl = self._layout.ttl[0] or "86400"
        ms = max(1, int(float(ttl) * 1000))
        ups, blob = self._layout.ups(session_id), self._layout.blob(ref)

        def attach(r: Any) -> None:
            pipe = r.pipeline(transaction=True)
            pipe.sadd(ups, blob)
            pipe.pexpire(blob, ms)
            pipe.pexpire(ups, ms)
            pipe.execute()

        self._link.call(attach)
        return UploadedFile(name, size, mime, ref=ref, blobs=self)

    def read_blob(self, ref: str, start: int, end: int) -> bytes | None:
        """Bytes *start* to *end* (excluded) of upload *ref*; ``None``: it is gone."""
        blob = self._layout.blob(ref)
        if end <= start:
            return b"" if self._link.call(lambda r: r.exists(blob)) else None

        def read(r: Any) -> list[Any]:
            pipe = r.pipeline(transaction=True)
            pipe.exists(blob)
            pipe.getrange(blob, start, end - 1)
            return list(pipe.execute())

        there, data = self._link.call(read)
        return bytes(data) if there else None

    def delete_blob(self, ref: str) -> None:
        """Drop upload *ref*'s bytes."""
        self._link.call(lambda r: r.delete(self._layout.blob(ref)))
