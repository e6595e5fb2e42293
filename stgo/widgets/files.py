"""File widgets: the uploader and the download button.

Bytes never travel over the WebSocket.  An upload is a ``POST upload`` of the
raw file (see :mod:`stgo.web.transfers`, which checks the cookie, Origin, widget,
size, type and name before reading the body and spools it to the session's
own temporary directory); the server answers with a token, and the client then
sends the uploader's ``change`` event with the tokens of the files it chose,
so the new value reaches the callbacks in the session's event order, like any
other input.

A download is a ``POST download`` that mints a short-lived token bound to the
session's cookie, followed by a ``GET download/<token>`` of the file, made at
that moment when ``data`` is a callable.
"""

from __future__ import annotations

import inspect
import mimetypes
import os
import re
import secrets
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from ..errors import ProtocolError, WidgetError
from ..store.files import UploadedFile
from .base import Handler, InputWidget, StateReader, esc
from .inputs import Button

__all__ = ["UploadedFile", "FileUploader", "DownloadButton", "safe_file_name",
           "shared_uploads", "DEFAULT_MAX_UPLOAD", "STAGED_TTL"]

#: The default ``max_size`` of an uploader: 200 MiB, as in Streamlit.
DEFAULT_MAX_UPLOAD = 200 * 1024 * 1024
#: Seconds an uploaded file waits for the client's change event.
STAGED_TTL = 600.0
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,100}$")
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f/\\]")
# C1 controls, and the bidirectional marks, embeddings, overrides and
# isolates: a real file may have them, but shown to a user they can make
# "invoice\u202egpj.exe" read as "invoice.exe.jpg".
_HIDDEN_IN_NAME = re.compile("[\x80-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def safe_file_name(name: str) -> str | None:
    """*name* if it is a plain file name (no path, no control characters), else ``None``.

    Browsers send only the last part of a file's path; anything with a
    separator, a ``..`` or a C0 control character was made by hand.  C1
    controls and bidirectional formatting characters are removed; the name
    must then be at most 255 characters.
    """
    name = _HIDDEN_IN_NAME.sub("", name).strip()
    if not name or name in (".", "..") or len(name) > 255 or _UNSAFE_NAME.search(name):
        return None
    return name


def _size_text(size: int) -> str:
    """``"950 bytes"``, ``"1.5 MB"``: decimal units, as browsers and file managers show."""
    if size < 1000:
        return f"{size} bytes"
    amount = float(size)
    for unit in ("KB", "MB", "GB"):
        amount /= 1000
        if amount < 1000 or unit == "GB":
            break
    return f"{amount:.1f} {unit}"


class FileUploader(InputWidget):
    """A file picker whose value is the uploaded file (``session.get(key)``).

    The value is an :class:`UploadedFile`, a list of them with
    ``accept_multiple_files=True`` (each choice replaces the list), or ``None``
    until something is uploaded and once the user clears it.

    :param type: the accepted file name extensions (``["csv", ".txt"]``);
        ``None`` accepts any file.
    :param accept_multiple_files: let the user pick several files at once.
    :param max_size: the largest file accepted, in bytes (200 MiB).
    :param max_files: how many files one choice may hold (multiple files only; 20).
    """

    kind: ClassVar[str] = "file_uploader"
    redraw_on_state: ClassVar[bool] = True

    def __init__(
        self, label: str, type: str | Sequence[str] | None = None, *,
        accept_multiple_files: bool = False, max_size: int = DEFAULT_MAX_UPLOAD,
        max_files: int = 20, key: str | None = None, disabled: bool = False,
        help: str | None = None, on_change: Handler | None = None, visible: bool = True,
    ) -> None:
        super().__init__(label, None, key=key, disabled=disabled, help=help,
                         on_change=on_change, visible=visible)
        if isinstance(max_size, bool) or not isinstance(max_size, int) or max_size <= 0:
            raise WidgetError(f"max_size must be a positive number of bytes, got {max_size!r}")
        self.types = _extensions(type)
        self.accept_multiple_files = bool(accept_multiple_files)
        self.max_size = max_size
        self.max_files = max_files if self.accept_multiple_files else 1
        self._staged: dict[str, tuple[weakref.ref[Any], UploadedFile, float]] = {}
        self._staged_lock = threading.Lock()

    # -- what the endpoint checks -----------------------------------------------------

    def check_file(self, name: str, size: int) -> tuple[int, str] | None:
        """Why a file of *name* and *size* bytes is refused (HTTP status, message), or ``None``."""
        if self.disabled:
            return 403, f"{self.label!r} is disabled"
        if size > self.max_size:
            return 413, (f"{name!r} is too large ({_size_text(size)}): "
                         f"{self.label!r} takes files up to {_size_text(self.max_size)}")
        if self.types is not None and _extension(name) not in self.types:
            allowed = ", ".join(self.types)
            return 415, f"{name!r} is not an accepted type: {self.label!r} takes {allowed}"
        return None

    def stage(self, session: Any, upload: UploadedFile, *, now: float | None = None) -> str:
        """Hold *upload* for *session* until its client's change event; return its token."""
        token = secrets.token_urlsafe(24)
        stamp = time.monotonic() if now is None else now
        with self._staged_lock:
            self._sweep(stamp)
            self._staged[token] = (weakref.ref(session), upload, stamp + STAGED_TTL)
        return token

    def _sweep(self, now: float) -> None:
        # Expired (or of a session gone): their bytes go (under _staged_lock).
        for old, (ref, stale, expires) in list(self._staged.items()):
            if expires < now or ref() is None:
                del self._staged[old]
                stale.release()

    def staged_usage(self, session: Any | None, now: float) -> tuple[int, int]:
        """``(uploads, bytes)`` staged here (memory mode) for *session*, or for
        every session when ``None``; the expired ones are removed first."""
        with self._staged_lock:
            self._sweep(now)
            sizes = [upload.size for ref, upload, _ in self._staged.values()
                     if session is None or ref() is session]
        return len(sizes), sum(sizes)

    def forget(self, session: Any) -> None:
        """Drop what *session* staged (it ended; its directory goes with it)."""
        with self._staged_lock:
            for token, (ref, upload, _) in list(self._staged.items()):
                if ref() is session or ref() is None:
                    del self._staged[token]
                    upload.release()

    # -- the change event ------------------------------------------------------------------

    def validate(self, value: Any) -> Any:
        if value is None or isinstance(value, UploadedFile):
            return value
        if isinstance(value, list) and all(isinstance(v, UploadedFile) for v in value):
            return value
        raise ValueError("the value is an uploaded file, a list of them, or None")

    def coerce(self, event: str, value: Any) -> Any:
        if event not in self.events:
            raise ProtocolError(f"widget {self.key!r} has no event {event!r}")
        if value is None:
            return []
        if (not isinstance(value, list) or len(value) > self.max_files
                or not all(isinstance(t, str) and _TOKEN.match(t) for t in value)):
            raise ProtocolError(
                f"bad value for {self.key!r}: a list of at most {self.max_files} upload tokens"
            )
        return value

    def receive(self, session: Any, event: str, value: Any) -> Any:
        if event != "change":
            return value
        files = self._take(session, value)
        new: Any = files if self.accept_multiple_files else (files[0] if files else None)
        old = session.get(self.key)
        session.set(self.key, new)  # redraws the list of files (redraw_on_state)
        shared = shared_uploads(session)
        for gone in _as_list(old):
            if not any(gone.same_file(f) for f in files):
                if shared is None:
                    gone.release()
                else:
                    # The stored state names the old file until the event's
                    # writes are in: another process may read it meanwhile.
                    shared.after_commit(session.id, gone.release)
        return new

    def _take(self, session: Any, tokens: list[str]) -> list[UploadedFile]:
        """The uploads staged under *tokens* for *session*, each once."""
        shared = shared_uploads(session)
        if shared is not None:
            # Staged in the store: the upload may have reached another process.
            taken = [shared.take_upload(session.id, token, self.key) for token in tokens]
            if any(f is None for f in taken):
                raise ProtocolError(
                    f"unknown or expired upload for {self.key!r}: choose the file again")
            return [f for f in taken if f is not None]
        with self._staged_lock:
            entries = [self._staged.get(token) for token in tokens]
            if any(e is None or e[0]() is not session for e in entries):
                raise ProtocolError(
                    f"unknown or expired upload for {self.key!r}: choose the file again"
                )
            return [self._staged.pop(token)[1] for token in tokens]

    @property
    def per_session(self) -> bool:
        return True

    def root_attrs(self) -> str:
        return ' data-requires="static/files.js"'

    def render_body(self, state: StateReader | None) -> str:
        fid = f"{self.id}-file"
        files = _as_list(self.value_for(state))
        accept = f' accept="{esc(",".join(self.types))}"' if self.types else ""
        multiple = " multiple" if self.accept_multiple_files else ""
        disabled = " disabled" if self.disabled else ""
        listing = "".join(
            f'<li><span class="stgo-file-name">{esc(f.name)}</span> '
            f'<span class="stgo-file-size">{esc(_size_text(f.size))}</span></li>'
            for f in files
        )
        clear = (f'<button type="button" class="stgo-btn stgo-btn-secondary stgo-file-clear" '
                 f'data-upload-clear data-say="remove"{disabled}>Remove</button>' if files else "")
        limit = f"Up to {_size_text(self.max_size)}"
        if self.types:
            limit += " \u00b7 " + ", ".join(t.lstrip(".").upper() for t in self.types)
        return (
            f"{self.label_html(fid)}"
            f'<div class="stgo-upload-zone"><input type="file" id="{fid}" data-upload'
            f' data-max-size="{self.max_size}"{accept}{multiple}{disabled}>'
            f'<span class="stgo-upload-hint">{esc(limit)}</span></div>'
            f'<progress class="stgo-upload-progress" max="100" value="0" hidden></progress>'
            f'<div class="stgo-upload-status" role="status" aria-live="polite"></div>'
            f'<ul class="stgo-file-list">{listing}</ul>{clear}'
        )


def shared_uploads(session: Any) -> Any:
    """*session*'s persistent store when it keeps uploads for every process
    (:meth:`~stgo.store.redis.RedisStore.put_upload`), else ``None``."""
    return getattr(session, "blob_store", None)


def _as_list(value: Any) -> list[UploadedFile]:
    if isinstance(value, UploadedFile):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, UploadedFile)]
    return []


def _extensions(types: str | Sequence[str] | None) -> tuple[str, ...] | None:
    if types is None:
        return None
    items = [types] if isinstance(types, str) else list(types)
    if not items or not all(isinstance(t, str) and t.strip(". ") for t in items):
        raise WidgetError(f"type must be extensions like ['csv', 'txt'] or None, got {types!r}")
    return tuple(dict.fromkeys("." + t.strip().lstrip(".").lower() for t in items))


def _extension(name: str) -> str:
    return os.path.splitext(name)[1].lower()


class DownloadButton(Button):
    """A button that downloads a file.

    :param data: the file: bytes, text (sent as UTF-8), a binary file object,
        or a callable returning one of those, called at each click with the
        session (``fn(session)``) or without arguments (``fn()``).
    :param file_name: the name the browser saves it under (``"download"``
        plus an extension from *mime*).
    :param mime: its MIME type (default: guessed from *file_name*, else
        ``text/plain`` for text and ``application/octet-stream`` for bytes).
    """

    kind: ClassVar[str] = "download_button"

    def __init__(self, label: str, data: Any = None, file_name: str | None = None,
                 mime: str | None = None, **kwargs: Any) -> None:
        super().__init__(label, **kwargs)
        self._data = _check_data(data)
        self.file_name = _clean_download_name(file_name or _default_name(data, mime))
        self.mime = mime

    def set_data(self, data: Any, *, file_name: str | None = None,
                 mime: str | None = None) -> None:
        """Serve other content from now on (nothing to redraw)."""
        self._data = _check_data(data)
        if file_name is not None:
            self.file_name = _clean_download_name(file_name)
        if mime is not None:
            self.mime = mime

    def produce(self, session: Any) -> tuple[bytes, str]:
        """The file's bytes and MIME type for *session*, now (runs a callable *data*).

        Text is UTF-8; a ``text/*`` type gets ``charset=utf-8`` when served.
        """
        data = self._data
        if callable(data):
            data = data(session) if _takes_argument(data) else data()
        if isinstance(data, str):
            body, text = data.encode("utf-8"), True
        elif isinstance(data, (bytes, bytearray, memoryview)):
            body, text = bytes(data), False
        elif callable(getattr(data, "read", None)):
            got = data.read()
            body, text = (got.encode("utf-8"), True) if isinstance(got, str) else (bytes(got),
                                                                                 False)
        else:
            raise WidgetError(
                f"download data must be bytes, str or a binary file, got {type(data).__name__}"
            )
        mime = self.mime or mimetypes.guess_type(self.file_name)[0] or (
            "text/plain" if text else "application/octet-stream")
        return body, mime

    def render_body(self, state: StateReader | None) -> str:
        disabled = " disabled" if self.disabled else ""
        return (
            f'<button type="button" class="stgo-btn stgo-btn-{esc(self.type)}" '
            f'data-event="click" data-download{disabled}>{esc(self.label)}</button>'
        )

    def root_attrs(self) -> str:
        return ' data-requires="static/files.js"'


def _check_data(data: Any) -> Any:
    if data is None or callable(data) or isinstance(data, (str, bytes, bytearray, memoryview)) \
            or callable(getattr(data, "read", None)):
        return b"" if data is None else data
    raise WidgetError(
        f"download data must be bytes, str, a binary file or a callable, got "
        f"{type(data).__name__}"
    )


def _takes_argument(fn: Callable[..., Any]) -> bool:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)
               for p in params)


def _default_name(data: Any, mime: str | None) -> str:
    ext = mimetypes.guess_extension(mime.split(";")[0].strip()) if mime else None
    if ext is None:
        ext = ".txt" if isinstance(data, str) else ".bin"
    return "download" + ext


def _clean_download_name(name: str) -> str:
    base = re.split(r"[/\\]", str(name))[-1]
    base = _HIDDEN_IN_NAME.sub("", _UNSAFE_NAME.sub("", base)).strip().lstrip(".")
    return base or "download"
