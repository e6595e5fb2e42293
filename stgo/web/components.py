"""``GET static/components/<name>/<version>/<file>``: a component's own files.

Only a file that a loaded :class:`~stgo.Component` class declares (its
module, styles and other files), at that class's current version, from the
class's folder: nothing else of its package, and no path of the client's
making.  The version is a digest of the files, so the answer is cached for good.
"""

from __future__ import annotations

import mimetypes

from werkzeug.wrappers import Response

from ..widgets.component import find_component

__all__ = ["component_response"]

_TYPES = {".js": "text/javascript", ".mjs": "text/javascript", ".css": "text/css",
          ".json": "application/json"}


def component_response(ref: str) -> Response:
    """The file at *ref* (``<name>/<version>/<file>``), or a 404."""
    name, _, rest = ref.partition("/")
    version, _, file = rest.partition("/")
    path = find_component(name, version, file) if name and version and file else None
    if path is None or not path.is_file():
        return Response("no such component file\n", status=404, mimetype="text/plain")
    suffix = path.suffix.lower()
    mime = _TYPES.get(suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    response = Response(path.read_bytes(), mimetype=mime)
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
