"""``GET download/media/<widget id>``: the bytes of an audio or video widget.

Served only with the cookie of a session that can see the widget (as a
download), with its MIME type, and with byte ranges: werkzeug's conditional
``send_file`` answers ``Range`` requests with ``206 Partial Content``, which
players need to seek.  The URL carries the widget's version (``?v=``), so a
new source is a new URL and the browser may keep the bytes for the session.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

from werkzeug.utils import send_file
from werkzeug.wrappers import Request, Response

from ..core.session import Session
from ..widgets.base import Widget
from ..widgets.media import Media
from .transfers import shown_to

__all__ = ["media_response"]


def _missing(message: str) -> Response:
    return Response(message + "\n", status=404, mimetype="text/plain",
                    headers={"Cache-Control": "no-store"})


def media_response(request: Request, session: Session | None, widget_id: str,
                   find: Callable[[Session, str], Widget | None]) -> Response:
    """The media of widget *widget_id* for *session* (``None``: no valid cookie)."""
    if session is None:
        return _missing("no session: reload the page")
    widget = find(session, widget_id)
    if not isinstance(widget, Media) or not shown_to(widget, session):
        return _missing("no such media on your page (reload it?)")
    source = widget.source()
    if source is None:
        return _missing("this media is played from its own URL")
    body, mime = source
    try:
        if isinstance(body, Path):
            response = send_file(body, request.environ, mimetype=mime, conditional=True,
                                 etag=True, max_age=None)
        else:
            response = send_file(io.BytesIO(body), request.environ, mimetype=mime,
                                 conditional=True, etag=False)
    except OSError:
        return _missing("the media file is gone")
    response.headers["Cache-Control"] = "private, max-age=3600"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
