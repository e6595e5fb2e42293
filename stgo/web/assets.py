"""Static files: stgo's own (``static/``), plotly.js from the installed plotly
package and the vega-embed bundle of the installed vl-convert-python package."""

from __future__ import annotations

import gzip
import logging
import mimetypes
import threading
from importlib import resources

from werkzeug.wrappers import Request, Response

from ..widgets.charts import plotly_js_path
from ..widgets.vega import vega_bundle
from .client import VERSION, bundle

__all__ = ["Assets"]

log = logging.getLogger("stgo")


class Assets:
    """Serves ``static/<name>``, ``static/vendor/plotly.min.js`` and ``static/vendor/vega.js``."""

    def __init__(self) -> None:
        self._static = resources.files("stgo") / "static"
        self._vendor_lock = threading.Lock()
        self._plotly: tuple[bytes, bytes] | None = None
        self._joined: tuple[bytes, bytes] | None = None  # the client, one file
        # The vega bundle takes seconds to make: its own lock, so that plotly
        # and the warming thread do not wait on each other.
        self._vega_lock = threading.Lock()
        self._vega: tuple[bytes, bytes] | None = None
        self._vega_warming = False
        self._vega_failed: str | None = None  # said once; not made again at each request

    def static(self, request: Request, name: str) -> Response:
        """A file of stgo's ``static/`` folder (no traversal), or the joined
        client (``client.js``).  Under ``static/v/<version>/`` with this
        process's version the browser may keep it for ever (the version is a
        digest of the files); otherwise for an hour."""
        parts = name.split("/")
        if not name or any(p in ("", ".", "..") or "\\" in p for p in parts):
            return Response("not found\n", status=404, mimetype="text/plain")
        forever = False
        if len(parts) > 2 and parts[0] == "v":
            # static/v/<version>/<file>: the version keys the browser's cache
            # (as ?v= does), in the path so that the client's modules import
            # each other (relative URLs) at the same version.
            forever, parts = parts[1] == VERSION, parts[2:]
        if parts == ["client.js"]:
            response = self._client(request)
        else:
            target = self._static.joinpath(*parts)
            if not target.is_file():
                return Response("not found\n", status=404, mimetype="text/plain")
            mime = mimetypes.guess_type(parts[-1])[0] or "application/octet-stream"
            response = Response(target.read_bytes(), mimetype=mime)
            response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Cache-Control"] = (
            "public, max-age=31536000, immutable" if forever else "public, max-age=3600")
        return response

    def _client(self, request: Request) -> Response:
        with self._vendor_lock:
            if self._joined is None:
                raw = bundle().encode("utf-8")
                self._joined = (raw, gzip.compress(raw, 6))
            raw, packed = self._joined
        return self._vendor(request, raw, packed)

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

    def warm_vega(self) -> None:
        """Start making the vega bundle in the background (once): a page that
        shows a Vega-Lite chart asks for it a moment later."""
        with self._vendor_lock:
            if self._vega is not None or self._vega_warming:
                return
            self._vega_warming = True
        threading.Thread(target=self._load_vega, name="stgo-vega-bundle", daemon=True).start()

    def _load_vega(self) -> tuple[bytes, bytes] | str:
        """The bundle, plain and gzipped, or why there is none."""
        with self._vega_lock:
            if self._vega_failed is not None:
                return self._vega_failed
            if self._vega is None:
                try:
                    bundle = vega_bundle()
                except RuntimeError as exc:
                    log.error("no vega bundle: %s", exc)
                    self._vega_failed = f"the vega bundle could not be made: {exc}"
                    return self._vega_failed
                if bundle is None:
                    return "vl-convert-python is not installed: pip install 'stgo[charts]'"
                raw = bundle.encode("utf-8")
                self._vega = (raw, gzip.compress(raw, 6))
            return self._vega

    def vega(self, request: Request) -> Response:
        """vega-embed, Vega-Lite and Vega, bundled by the installed vl-convert-python
        (made once, a few seconds, and kept, gzipped too)."""
        loaded = self._load_vega()
        if isinstance(loaded, str):
            return Response(loaded + "\n", status=404, mimetype="text/plain")
        return self._vendor(request, *loaded)

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
