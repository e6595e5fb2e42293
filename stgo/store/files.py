"""The value of a file uploader: a file a user uploaded, wherever its bytes are.

In memory mode the bytes are on disk, in the session's temporary directory
(``path``).  With a persistent store they are in the store under a reference
(``ref``), so that any process can read them (the upload may have reached
another process than the tab's events): the session's state then holds only
the name, size, type and reference (the codec's ``$file``), and the bytes are
read when asked for, a range at a time.
"""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path
from typing import Protocol

__all__ = ["UploadedFile", "BlobSource"]


class BlobSource(Protocol):
    """Where a stored upload's bytes are (a persistent store)."""

    def read_blob(self, ref: str, start: int, end: int) -> bytes | None:
        """Bytes *start* to *end* (excluded) of upload *ref*; ``None``: it is gone."""

    def delete_blob(self, ref: str) -> None:
        """Drop upload *ref*'s bytes."""


class UploadedFile:
    """A file a user uploaded: the value of a :class:`~stgo.FileUploader`.

    The bytes stay until the user replaces or clears the upload or the
    session ends.

    :ivar name: the file's name as the user's browser gave it (no path).
    :ivar size: in bytes.
    :ivar type: its MIME type (what the browser said, else a guess from the name).
    """

    def __init__(self, name: str, size: int, type: str, path: Path | None = None, *,
                 ref: str | None = None, blobs: BlobSource | None = None) -> None:
        self.name = name
        self.size = size
        self.type = type
        #: Where the bytes are in memory mode (``None`` with a persistent store).
        self.path = path
        #: The stored bytes' reference with a persistent store (else ``None``).
        self.ref = ref
        self._blobs = blobs
        self._pos = 0
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<UploadedFile {self.name!r} {self.size} bytes {self.type}>"

    def same_file(self, other: object) -> bool:
        """Whether *other* is this upload (the same bytes), as another object too."""
        return isinstance(other, UploadedFile) and (
            other is self or (self.ref is not None and other.ref == self.ref)
            or (self.path is not None and other.path == self.path))

    def _gone(self) -> ValueError:
        return ValueError(f"the upload {self.name!r} is gone: it was replaced or cleared, "
                          "or its session ended")

    def _bytes(self, start: int, end: int) -> bytes:
        if self.path is not None:
            try:
                with self.path.open("rb") as f:
                    f.seek(start)
                    return f.read(max(0, end - start))
            except FileNotFoundError:
                raise self._gone() from None
        data = None
        if self.ref is not None and self._blobs is not None:
            data = self._blobs.read_blob(self.ref, start, end)
        if data is None:
            raise self._gone()
        return data

    def getvalue(self) -> bytes:
        """All of the file's bytes."""
        return self._bytes(0, self.size)

    def read(self, size: int = -1) -> bytes:
        """Read up to *size* bytes (all, if negative) from the current position."""
        with self._lock:
            end = self.size if size < 0 else min(self.size, self._pos + size)
            data = self._bytes(self._pos, end) if end > self._pos else b""
            self._pos += len(data)
            return data

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        """Move the read position, as ``io`` files do; return the new one."""
        with self._lock:
            base = {os.SEEK_SET: 0, os.SEEK_CUR: self._pos, os.SEEK_END: self.size}[whence]
            self._pos = max(0, base + offset)
            return self._pos

    def tell(self) -> int:
        """The read position."""
        return self._pos

    def text(self, encoding: str = "utf-8") -> str:
        """The file decoded as text."""
        return self.getvalue().decode(encoding)

    def release(self) -> None:
        """Delete the bytes (the upload was replaced or cleared)."""
        if self.path is not None:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
        elif self.ref is not None and self._blobs is not None:
            self._blobs.delete_blob(self.ref)
