"""Static files: stgo's own (``static/``), plotly.js from the installed plotly
package and the vega-embed bundle of the installed vl-convert-python package."""

from __future__ import annotations

import gzip
import mimetypes
import threading
from importlib import resources

from werkzeug.wrappers import Request, Response

from ..widgets.charts import plotly_js_path
from ..widgets.vega import vega_bundle

__all__ = ["Assets"]


class Assets:
    """Serves ``static/<name>`` and ``static/vendor/plotly.min.js``."""

    def __init__(self) -> None:
        self._static = resources.files("stgo") / "static"
        self._vendor_lock = threading.Lock()
        self._plotly: tuple[bytes, bytes] | None = None
        self._vega: tuple[bytes, bytes] | None = None

    def static(self, name: str) -> Response:
        """A file of stgo's ``static/`` folder, cached for an hour (no traversal)."""
        parts = name.split("/")
        if not name or any(p in ("", ".", "..") or "\\" in p for p in parts):
            return Response("not found\n", status=404, mimetype="text/plain")
        if len(parts) > 2 and parts[0] == "v":
            # static/v/<version>/<file>: the version keys the browser's cache
            # (as ?v= does), in the path so that the client's modules import
            # each other (relative URLs) at the same version.
            parts = parts[2:]
        target = self._static.joinpath(*parts)
        if not target.is_file():
            return Response("not found\n", status=404, mimetype="text/plain")
        mime = mimetypes.guess_type(parts[-1])[0] or "application/octet-stream"
        response = Response(target.read_bytes(), mimetype=mime)
        response.headers["Cache-Control"] = "public, max-age=3600"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    def plotly(self, request: Request) -> Response:
        """plotly.js from the installed plotly package, read once and kept (gzipped too)."""
        with self._vendor_lock:
            if self._plotly is None:
                path = plotly_js_path()
                if path is None:
                    return Response(
                        "plotly is not installed: pip install 'stgo[charts]'\n", status=404,
                        mimetype="text/plain")
                raw = path.read_bytes()
                self._plotly = (raw, gzip.compress(raw, 6))
            raw, packed = self._plotly
        return self._vendor(request, raw, packed)

    def vega(self, request: Request) -> Response:
        """vega-embed, Vega-Lite and Vega, bundled by the installed vl-convert-python
        (made once, a few seconds, and kept, gzipped too)."""
        with self._vendor_lock:
            if self._vega is None:
                bundle = vega_bundle()
                if bundle is None:
                    return Response(
                        "vl-convert-python is not installed: pip install 'stgo[charts]'\n",
                        status=404, mimetype="text/plain")
                raw = bundle.encode("utf-8")
                self._vega = (raw, gzip.compress(raw, 6))
            raw, packed = self._vega
        return self._vendor(request, raw, packed)

    @staticmethod
    def _vendor(request: Request, raw: bytes, packed: bytes) -> Response:
        response = Response(mimetype="text/javascript")
        if "gzip" in request.headers.get("Accept-Encoding", ""):
            response.set_data(packed)
            response.headers["Content-Encoding"] = "gzip"
        else:
            response.set_data(raw)
        response.headers["Vary"] = "Accept-Encoding"
        response.headers["Cache-Control"] = "public, max-age=86400"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response
