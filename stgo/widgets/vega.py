"""Altair and Vega-Lite charts, drawn in the browser by vega-embed (``stgo[charts]``).

The browser library is the bundle of vega-embed, Vega-Lite and Vega that the
``vl-convert-python`` package makes offline (``vl_convert.javascript_bundle()``),
served by the app like plotly.js (``static/vendor/vega.js``, see
:mod:`stgo.web.assets`) and loaded only on pages that show such a chart.  The
page's strict policy has no ``'unsafe-eval'``: ``static/vega.js`` embeds with
``ast: true``, so that Vega evaluates expressions with its interpreter, never
``new Function``.

The spec (data inlined) lives on the server; :meth:`VegaLiteChart.set_spec`
and :meth:`VegaLiteChart.set_data` redraw the widget with the new one.  A chart's
selections (Altair's ``selection_point`` / ``selection_interval`` params) come
back as ``select`` events: ``@chart.on_select`` gets ``{param name: value}``.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from ..errors import MissingExtraError, ProtocolError, WidgetError
from .base import StateReader, Widget, esc
from .charts import chart_columns, json_value

__all__ = ["VegaLiteChart", "vega_bundle", "VEGA_SCRIPTS"]

#: What a page needs to draw Vega-Lite charts, loaded in order by the client.
VEGA_SCRIPTS = "static/vendor/vega.js static/vega.js"
_EXTRA = "pip install 'stgo[charts]'"
#: A selection's value sent back by a browser, at most this long as JSON.
MAX_SELECTION_JSON = 64 * 1024


def vega_bundle(timeout: float = 180.0) -> str | None:
    """The vega-embed + Vega-Lite + Vega bundle of the installed ``vl-convert-python``,
    or ``None`` when it is not installed.

    Made in a child process: ``javascript_bundle()`` takes seconds and holds
    the GIL meanwhile, which in this process would stall every session.

    :raises RuntimeError: the child failed or took longer than *timeout* seconds.
    """
    if importlib.util.find_spec("vl_convert") is None:
        return None
    code = "import sys, vl_convert; sys.stdout.write(vl_convert.javascript_bundle())"
    try:
        done = subprocess.run([sys.executable, "-c", code], capture_output=True,
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"vl_convert took over {timeout:g} s to make its bundle") from None
    if done.returncode != 0 or not done.stdout:
        why = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
        raise RuntimeError(f"vl_convert could not make its bundle: {why[0]}")
    return done.stdout.decode("utf-8")


def _require_bundle(what: str) -> None:
    if importlib.util.find_spec("vl_convert") is None:
        raise MissingExtraError(
            f"{what} is drawn by vega-embed from the vl-convert-python package, which is "
            f"not installed: {_EXTRA}"
        )


def _spec_of(chart: Any) -> dict[str, Any]:
    """A Vega-Lite spec (a JSON-able dict) from an Altair chart or a dict."""
    if callable(getattr(chart, "to_dict", None)) and not isinstance(chart, Mapping):
        try:
            spec = chart.to_dict()
        except Exception as exc:  # Altair's own validation of the chart
            raise WidgetError(f"this Altair chart cannot be drawn: {exc}") from None
    elif isinstance(chart, Mapping):
        spec = dict(chart)
    else:
        raise WidgetError(
            f"altair_chart takes an Altair chart and vega_lite_chart a Vega-Lite spec "
            f"(a dict), not {type(chart).__name__}"
        )
    try:
        out = json.loads(json.dumps(spec, default=json_value, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise WidgetError(f"the Vega-Lite spec is not JSON: {exc}") from None
    if not isinstance(out, dict):
        raise WidgetError("a Vega-Lite spec is a JSON object")
    return out


def _selection_names(spec: Any) -> set[str]:
    """The names of the selection params anywhere in *spec* (those a view can send)."""
    names: set[str] = set()
    if isinstance(spec, dict):
        for param in spec.get("params") or ():
            if isinstance(param, dict) and "select" in param and isinstance(
                    param.get("name"), str):
                names.add(param["name"])
        for key in ("layer", "hconcat", "vconcat", "concat"):
            for part in spec.get(key) or ():
                names |= _selection_names(part)
        if isinstance(spec.get("spec"), dict):
            names |= _selection_names(spec["spec"])
    return names


class VegaLiteChart(Widget):
    """A Vega-Lite chart (``app.vega_lite_chart``) or an Altair chart (``app.altair_chart``).

    :param spec: an Altair chart (anything with ``to_dict()``) or a Vega-Lite
        spec as a dict, its data inline (``{"values": [...]}``) or in ``datasets``.
    :param data: rows for the spec's top-level data (a dict of lists, a list
        of dicts or a pandas DataFrame), as ``st.vega_lite_chart(data, spec)``.
    :param height: in CSS pixels, when the spec gives none.
    :param use_container_width: as wide as its column (``width: "container"``),
        when the spec gives no width.
    :param theme: ``"stgo"`` follows the page's light or dark colours;
        ``None`` keeps the spec's own.
    :param title: the chart's accessible name (default: the spec's title or
        description).
    :param on_select: ``fn(session, event, selection)``, as ``@chart.on_select``.
    """

    kind: ClassVar[str] = "vega_chart"
    events: ClassVar[tuple[str, ...]] = ("select",)

    def __init__(
        self, spec: Any, data: Any = None, *, height: int | None = None,
        use_container_width: bool = False, theme: str | None = "stgo", title: str | None = None,
        on_select: Callable[[Any, str, Any], None] | None = None,
        key: str | None = None, visible: bool = True,
    ) -> None:
        _require_bundle(type(self).__name__)
        super().__init__(key=key, visible=visible)
        if height is not None and (isinstance(height, bool) or not isinstance(height, int)
                                   or height <= 0):
            raise WidgetError(f"height must be a positive number of pixels, got {height!r}")
        if theme not in ("stgo", None):
            raise WidgetError(f'theme must be "stgo" or None, got {theme!r}')
        self.height = height
        self.use_container_width = bool(use_container_width)
        self.theme = theme
        self.title = title
        self._spec = self._prepare(_spec_of(spec), data)
        self._version = 0
        if on_select is not None:
            self.on_select(on_select)

    def _prepare(self, spec: dict[str, Any], data: Any) -> dict[str, Any]:
        if data is not None:
            spec["data"] = {"values": _rows(data)}
        if self.height is not None and "height" not in spec:
            spec["height"] = self.height
        if self.use_container_width and "width" not in spec:
            spec["width"] = "container"
        return spec

    @property
    def spec(self) -> dict[str, Any]:
        """The Vega-Lite spec drawn now (a copy)."""
        with self._lock:
            copy: dict[str, Any] = json.loads(json.dumps(self._spec))
            return copy

    @property
    def selections(self) -> list[str]:
        """The names of the chart's selection params, which ``select`` events name."""
        with self._lock:
            return sorted(_selection_names(self._spec))

    def on_select(self, fn: Callable[[Any, str, Any], None]) -> Callable[[Any, str, Any], None]:
        """Register ``fn(session, "select", selection)``; usable as a decorator.

        *selection* is ``{param name: value}``: a point selection's value is
        ``{field: [values]}`` (empty when cleared), an interval's
        ``{field: [low, high]}``.
        """
        return self.on("select", fn)

    def set_spec(self, spec: Any, data: Any = None) -> None:
        """Draw another chart (a new Altair chart or spec) and push it."""
        new = self._prepare(_spec_of(spec), data)
        with self._lock:
            self._spec = new
        self.changed()

    def set_data(self, data: Any, *, name: str | None = None) -> None:
        """Replace the chart's data and push it: the top-level ``data``, or
        the dataset *name* (Altair puts a chart's data in ``datasets``; with
        one dataset, *name* may be left out)."""
        rows = _rows(data)
        with self._lock:
            spec = self._spec
            datasets = spec.get("datasets")
            if name is None and isinstance(datasets, dict) and len(datasets) == 1:
                name = next(iter(datasets))
            if name is not None:
                if not isinstance(datasets, dict) or name not in datasets:
                    raise WidgetError(f"chart {self.key!r} has no dataset {name!r}")
                datasets[name] = rows
            else:
                spec["data"] = {"values": rows}
        self.changed()

    def coerce(self, event: str, value: Any) -> Any:
        super().coerce(event, value)
        with self._lock:
            names = _selection_names(self._spec)
        if not isinstance(value, dict) or len(value) != 1:
            raise ProtocolError(f"bad selection for {self.key!r}: {{name: value}}")
        (name, selected), = value.items()
        if name not in names:
            raise ProtocolError(f"chart {self.key!r} has no selection {name!r}")
        if selected is not None and not isinstance(selected, dict):
            raise ProtocolError(f"bad value of selection {name!r} of {self.key!r}")
        if len(json.dumps(selected)) > MAX_SELECTION_JSON:
            raise ProtocolError(f"selection {name!r} of {self.key!r} is too large")
        # Vega-Lite's own bookkeeping ("vlPoint") means nothing to the app.
        clean = {k: v for k, v in (selected or {}).items() if not k.startswith("vl")}
        return {name: clean}

    def root_attrs(self) -> str:
        return f' data-requires="{VEGA_SCRIPTS}"'

    def _label(self) -> str:
        if self.title:
            return self.title
        title = self._spec.get("title")
        if isinstance(title, dict):
            title = title.get("text")
        text = title or self._spec.get("description")
        return str(text) if text else "chart"

    def render_body(self, state: StateReader | None) -> str:
        with self._lock:
            text = json.dumps(self._spec, separators=(",", ":"))
            label = self._label()
            names = " ".join(sorted(_selection_names(self._spec)))
        theme = f' data-theme="{esc(self.theme)}"' if self.theme else ""
        return (
            f'<div class="stgo-vega" role="figure" aria-label="{esc(label)}"{theme} '
            f'data-selections="{esc(names)}" data-spec="{esc(text)}"></div>'
        )


def _rows(data: Any) -> list[dict[str, Any]]:
    """*data* (as charts take it) as Vega's rows: a list of dicts."""
    columns, index, index_name = chart_columns(data)
    if index is not None:
        columns = {index_name or "index": index, **columns}
    height = len(next(iter(columns.values()), []))
    names = list(columns)
    return [{n: columns[n][i] for n in names} for i in range(height)]
