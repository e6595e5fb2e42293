"""Uploads and downloads over HTTP: the server side of the file widgets.

``POST upload?widget=<id>`` takes one file as the raw request body, its name
in ``X-Stgo-Filename`` (percent-encoded) and its type in ``Content-Type``.
Everything is checked before a byte of the body is read: the caller (the
:class:`~stgo.web.endpoints.Endpoints`) has checked Origin and the session cookie;
here the widget must be an uploader that session can see and use, the
``Content-Length`` must be given and within ``max_size``, the name plain and
of an accepted type, and the upload must fit the :class:`~stgo.limits.UploadLimits`
(taken atomically: a place is reserved before the body is read, and given
back on every path).  The body is spooled to the session's own temporary
directory under a random name (or into the shared store); whatever stops it
midway leaves nothing behind.  The answer is a token the client puts in the
uploader's ``change`` event (see :mod:`stgo.widgets.files`).

``POST download?widget=<id>`` mints a token for a download button the
session can see, good for :data:`DOWNLOAD_TTL` seconds and only with that
session's cookie; ``GET download/<token>`` serves the file as an attachment.
"""

from __future__ import annotations

import io
import json
import logging
import mimetypes
import re
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from werkzeug.exceptions import ClientDisconnected
from werkzeug.utils import send_file
from werkzeug.wrappers import Request, Response

from ..core.session import Session
from ..errors import StagingFullError, StoreUnavailableError
from ..ids import redact
from ..limits import UploadLimits
from ..transport.wsio import BODY_DEADLINE
from ..widgets.base import Parent, StateReader, Widget
from ..widgets.files import (
    STAGED_TTL,
    DownloadButton,
    FileUploader,
    UploadedFile,
    _size_text,
    safe_file_name,
    shared_uploads,
)

__all__ = ["Transfers", "DOWNLOAD_TTL", "MAX_STAGED"]

log = logging.getLogger("stgo")

#: Seconds a download link stays good.
DOWNLOAD_TTL = 60.0
#: Uploads one session may have staged by default (``UploadLimits.max_staged``).
MAX_STAGED = UploadLimits.max_staged
_CHUNK = 64 * 1024
# A MIME type as RFC 6838 names them, parameters left out (a bounded length).
_MIME = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}")


def upload_type(mime: str | None, name: str) -> str:
    """The MIME type to keep for an upload named *name* that the client said is
    *mime*: a plain ``type/subtype`` (lower case, bounded), else a guess
    from the name, else ``application/octet-stream``."""
    mime = (mime or "").strip().lower()
    if not _MIME.fullmatch(mime) or mime in ("application/x-www-form-urlencoded",
                                             "multipart/form-data"):  # a client's default
        mime = "application/octet-stream"
    if mime == "application/octet-stream":
        mime = mimetypes.guess_type(name)[0] or mime
    return mime

Finder = Callable[[Session, str], "Widget | None"]


def _json(status: int, **body: Any) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json",
                    headers={"Cache-Control": "no-store"})


def refusal(status: int, message: str) -> Response:
    """An error answer the client shows to the user as it is."""
    return _json(status, error=message)


def _cut_off(exc: ClientDisconnected, length: int) -> tuple[int, str]:
    """The refusal for a body that stopped coming: too slow, or cut off."""
    if isinstance(exc.__context__, TimeoutError):
        return 408, f"the upload was too slow: the {_size_text(length)} did not come in time"
    return 400, "the upload was cut off before its end"


def shown_to(widget: Widget, state: StateReader | None = None) -> bool:
    """Whether *widget* and every container around it are shown to the session
    *state* (``None``: to anyone; a dialog is shown only to who opened it)."""
    node: Widget | Parent | None = widget
    while node is not None:
        if not node.shown_to(state):
            return False
        node = node.parent
    return True


class Transfers:
    """Per-session upload directories and download tokens, owned by the App.

    :param find_widget: ``fn(session, widget_id)``, the widget that session
        can see with that DOM id (the App's ``find_widget``).
    :param upload_dir: where the per-session directories go (``None``: the
        system's temporary directory).
    :param limits: what uploads may hold (:class:`~stgo.limits.UploadLimits`).
    :param clock: monotonic seconds, injectable for tests.
    """

    def __init__(self, find_widget: Finder, *, upload_dir: str | None = None,
                 limits: UploadLimits | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._find = find_widget
        #: The widget a session can see, by DOM id (media widgets' bytes, stgo.web.media).
        self.find = find_widget
        self._upload_dir = upload_dir
        #: The caps on uploads.
        self.limits = limits or UploadLimits()
        self._clock = clock
        # Bodies being received: their sizes per session, and in total.
        self._receiving: dict[Session, list[int]] = {}
        self._receiving_bodies = 0
        self._receiving_bytes = 0
        self._lock = threading.Lock()
        self._dirs: dict[Session, Path] = {}
        self._uploaders: dict[Session, set[FileUploader]] = {}
        self._downloads: dict[str, tuple[Session, DownloadButton, float]] = {}

    # -- uploads --------------------------------------------------------------------------

    def directory(self, session: Session) -> Path:
        """*session*'s upload directory, made on first use."""
        with self._lock:
            path = self._dirs.get(session)
            if path is None:
                path = self._dirs[session] = Path(
                    tempfile.mkdtemp(prefix="stgo-upload-", dir=self._upload_dir))
            return path

    def upload(self, request: Request, session: Session) -> Response:
        """Handle ``POST upload?widget=<id>`` for *session* (Origin already checked)."""
        widget = self._find(session, request.args.get("widget", ""))
        length = request.content_length
        name = unquote(request.headers.get("X-Stgo-Filename", ""))
        # stgo's server lets us bound the time the body may take (see UploadLimits).
        deadline = request.environ.get(BODY_DEADLINE)
        checked = self.check(session, widget, name, length)
        if isinstance(checked, tuple):
            return refusal(*checked)
        assert length is not None and isinstance(widget, FileUploader)
        seconds = self.limits.body_seconds(length)
        if callable(deadline) and seconds is not None:
            deadline(seconds)
        first, second = self.store(session, widget, checked, length, request.mimetype,
                                   request.stream)
        if isinstance(first, int):
            return refusal(first, second)
        return _json(201, token=first, name=checked, size=length, type=second)

    def check(self, session: Session, widget: Widget | None, name: str,
              length: int | None) -> str | tuple[int, str]:
        """The safe file name, or why the upload is refused (HTTP status, message).

        Everything that can be known before the body is read.
        """
        if not isinstance(widget, FileUploader) or not shown_to(widget, session):
            return 404, "no such file uploader on your page (reload it?)"
        if length is None:
            return 411, "the upload needs a Content-Length"
        safe = safe_file_name(name)
        if safe is None:
            return 400, "the file name must be a plain name (no path)"
        refused = widget.check_file(safe, length)
        if refused is not None:
            return refused
        if session.ended:
            return 403, "your session ended: reload the page"
        return safe

    def store(self, session: Session, widget: FileUploader, name: str, length: int,
              mime: str | None, stream: Any) -> tuple[str, str] | tuple[int, str]:
        """Spool *length* bytes of *stream* and stage them; ``(token, type)`` or a refusal.

        A place within the :attr:`limits` is taken before the first byte is
        read and given back however this ends.
        """
        mime = upload_type(mime, name)
        shared = shared_uploads(session)
        refused = self._reserve(session, widget, length, shared is not None)
        if refused is not None:
            return refused
        try:
            if shared is not None:
                return self._store_shared(shared, session, widget, name, length, mime, stream)
            return self._store_local(session, widget, name, length, mime, stream)
        finally:
            self._unreserve(session, length)

    def _reserve(self, session: Session, widget: FileUploader, length: int,
                 shared: bool) -> tuple[int, str] | None:
        """Count one more body of *length* bytes for *session*, or say why not.

        In memory mode the staged uploads are this process's: counted here,
        under the same lock, so that parallel uploads cannot all pass.  With
        a shared store the store counts them (:meth:`_store_shared`).
        """
        limits, now = self.limits, self._clock()
        with self._lock:
            mine = self._receiving.get(session, [])
            if self._receiving_bodies >= limits.max_bodies:
                return 503, "the server is receiving too many uploads: try again in a moment"
            if len(mine) >= limits.max_session_bodies:
                return 429, "too many uploads at once: wait for the others to finish"
            held = self._receiving_bytes
            if not shared:
                count = staged = 0
                for other in self._uploaders.get(session, ()):
                    n, size = other.staged_usage(session, now)
                    count, staged = count + n, staged + size
                if len(mine) + count >= limits.max_staged:
                    return 429, "too many uploads waiting: try again in a moment"
                if sum(mine) + staged + length > limits.max_session_bytes:
                    return 413, (f"your uploads waiting would exceed "
                                 f"{_size_text(limits.max_session_bytes)}: use them first")
                every = {w for ws in self._uploaders.values() for w in ws}
                held += sum(w.staged_usage(None, now)[1] for w in every)
            if held + length > limits.max_process_bytes:
                return 503, "the server holds too many uploads: try again later"
            self._receiving[session] = [*mine, length]
            self._receiving_bodies += 1
            self._receiving_bytes += length
            if not shared:
                self._uploaders.setdefault(session, set()).add(widget)
        return None

    def _unreserve(self, session: Session, length: int) -> None:
        with self._lock:
            mine = self._receiving.get(session, [])
            if length in mine:
                mine.remove(length)
                self._receiving_bodies -= 1
                self._receiving_bytes -= length
            if not mine:
                self._receiving.pop(session, None)

    def receiving(self) -> tuple[int, int]:
        """``(bodies, bytes)`` of uploads being received now (tests, metrics)."""
        with self._lock:
            return self._receiving_bodies, self._receiving_bytes

    def _store_local(self, session: Session, widget: FileUploader, name: str, length: int,
                     mime: str, stream: Any) -> tuple[str, str] | tuple[int, str]:
        """Spool the upload to *session*'s directory and stage it in *widget*."""
        path = self.directory(session) / secrets.token_hex(16)
        staged = False
        try:
            got = self._spool(stream, path, length)
            if got != length:
                return 400, f"the upload was cut short ({got} of {length} bytes)"
            if session.ended:
                return 403, "your session ended: reload the page"
            token = widget.stage(session, UploadedFile(name, length, mime, path),
                                 now=self._clock())
            staged = True
        except ClientDisconnected as exc:
            return _cut_off(exc, length)
        except OSError as exc:  # the session ended meanwhile, or the disk is full
            log.warning("could not spool an upload for %s: %s", redact(session.id), exc)
            return 503, "the server could not store the file"
        finally:
            if not staged:  # whatever stopped it: no bytes left behind
                path.unlink(missing_ok=True)
        log.debug("upload of %d bytes staged for %s", length, redact(session.id))
        return token, mime

    def _store_shared(self, store: Any, session: Session, widget: FileUploader, name: str,
                      length: int, mime: str, stream: Any) -> tuple[str, str] | tuple[int, str]:
        """Stage the upload in the persistent store, for whichever process
        gets the uploader's change event (see :meth:`FileUploader.receive`)."""
        token = secrets.token_urlsafe(24)
        entry = {"widget": widget.key, "name": name, "size": length, "type": mime}
        limits = self.limits
        try:
            got = store.put_upload(session.id, token, entry, stream, length, STAGED_TTL,
                                   max_staged=limits.max_staged,
                                   max_bytes=limits.max_session_bytes)
        except StagingFullError as full:
            if full.reason == "count":
                return 429, "too many uploads waiting: try again in a moment"
            if full.reason == "memory":
                return 503, "the server could not store the file: its store is full"
            return 413, (f"your uploads waiting would exceed "
                         f"{_size_text(limits.max_session_bytes)}: use them first")
        except ClientDisconnected as exc:
            return _cut_off(exc, length)
        except StoreUnavailableError:
            return 503, "the server could not store the file"
        if got != length:
            return 400, f"the upload was cut short ({got} of {length} bytes)"
        log.debug("upload of %d bytes staged in the store for %s", length, redact(session.id))
        return token, mime

    @staticmethod
    def _spool(stream: Any, path: Path, length: int) -> int:
        got = 0
        with path.open("wb") as out:
            while got < length:
                chunk = stream.read(min(_CHUNK, length - got))
                if not chunk:
                    break
                out.write(chunk)
                got += len(chunk)
        return got

    def discard(self, session: Session) -> None:
        """Remove *session*'s uploads and download links (it ended)."""
        with self._lock:
            path = self._dirs.pop(session, None)
            uploaders = self._uploaders.pop(session, set())
            for token in [t for t, (s, _, _) in self._downloads.items() if s is session]:
                del self._downloads[token]
        for widget in uploaders:
            widget.forget(session)
        if path is not None:
            shutil.rmtree(path, ignore_errors=True)

    def sessions_with_files(self) -> int:
        """How many sessions have an upload directory (for tests and metrics)."""
        with self._lock:
            return len(self._dirs)

    # -- downloads ---------------------------------------------------------------------------

    def begin_download(self, request: Request, session: Session) -> Response:
        """Handle ``POST download?widget=<id>``: a token for one download button."""
        widget = self._find(session, request.args.get("widget", ""))
        if not isinstance(widget, DownloadButton) or not shown_to(widget, session):
            return refusal(404, "no such download on your page (reload it?)")
        if widget.disabled:
            return refusal(403, f"{widget.label!r} is disabled")
        token = secrets.token_urlsafe(32)
        now = self._clock()
        with self._lock:
            for old in [t for t, (_, _, exp) in self._downloads.items() if exp < now]:
                del self._downloads[old]
            self._downloads[token] = (session, widget, now + DOWNLOAD_TTL)
        return _json(201, url=f"download/{token}", expires_in=DOWNLOAD_TTL)

    def download(self, request: Request, session: Session | None, token: str) -> Response:
        """Handle ``GET download/<token>``: the file, for the session that asked for it."""
        with self._lock:
            entry = self._downloads.get(token)
        if entry is None or entry[2] < self._clock() or session is None or entry[0] is not session:
            return Response("this download link is unknown, expired or not yours: click the "
                            "button again\n", status=404, mimetype="text/plain",
                            headers={"Cache-Control": "no-store"})
        widget = entry[1]
        if self._find(session, widget.id) is not widget or not shown_to(widget, session):
            # Its page refuses the session now (or it is gone): no file.
            return Response("this download is no longer on your page: reload it\n",
                            status=404, mimetype="text/plain",
                            headers={"Cache-Control": "no-store"})
        try:
            body, mime = widget.produce(session)
        except Exception:
            # The traceback goes to the log; the user learns only that it failed.
            log.exception("download %r failed for %s", widget.key, redact(session.id))
            return Response("the server could not make this file; its log says why\n",
                            status=500, mimetype="text/plain")
        response = send_file(io.BytesIO(body), request.environ, mimetype=mime,
                             as_attachment=True, download_name=widget.file_name,
                             conditional=False, etag=False)
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response
