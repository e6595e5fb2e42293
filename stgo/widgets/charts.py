"""Charts: line, area, bar and scatter charts, and any plotly figure.

The browser draws with plotly.js, served by the app from the installed
``plotly`` package (``pip install 'stgo[charts]'``) and loaded only on pages
that show a chart (the ``data-requires`` attribute; see ``static/charts.js``).

A chart keeps its data on the server, as columns.  :meth:`Chart.add_rows`
appends and pushes only the new points (an ``extend`` op, plotly's
``extendTraces``); :meth:`Chart.set_data` pushes a new figure (a ``figure``
op, plotly's ``react``), which keeps the user's zoom (``uirevision``).  Rows
are numbered from the chart's first row on, and every op says which rows it
carries, so a tab that already has them (a full render raced the push)
ignores them.

matplotlib figures (:class:`~stgo.widgets.pyplot.Pyplot`) are in :mod:`stgo.widgets.pyplot`.
"""

from __future__ import annotations

import datetime as dt
import decimal
import importlib.util
import json
import math
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from ..errors import MissingExtraError, WidgetError
from .base import StateReader, Widget, esc
from .data import table_data

__all__ = ["Chart", "LineChart", "AreaChart", "BarChart", "ScatterChart", "PlotlyChart",
           "plotly_js_path", "chart_columns", "CHART_SCRIPTS"]

#: What a page needs to draw charts, loaded in order by the client.
CHART_SCRIPTS = "static/charts-style.js static/vendor/plotly.min.js static/charts.js"
_CHARTS_EXTRA = "pip install 'stgo[charts]'"


def plotly_js_path() -> Path | None:
    """Where the installed ``plotly`` package keeps ``plotly.min.js``, or ``None``.

    Found without importing plotly (its import takes a while and is not needed).
    """
    spec = importlib.util.find_spec("plotly")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "package_data" / "plotly.min.js"
    return path if path.is_file() else None


def _require_plotly(what: str) -> None:
    if plotly_js_path() is None:
        raise MissingExtraError(
            f"{what} is drawn by plotly.js from the plotly package, which is not "
            f"installed: {_CHARTS_EXTRA}"
        )


def json_value(value: Any) -> Any:
    """*value* as JSON the browser can parse: NaN and infinities become ``null``,
    numpy scalars plain numbers, dates ISO text."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value != value or str(value) in ("NaT", "<NA>"):  # NaN, pandas' NaT and NA
        return None
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()  # pandas Timestamps too
    if isinstance(value, decimal.Decimal):
        return json_value(float(value))
    if type(value).__module__ == "numpy":
        if type(value).__name__ == "datetime64":
            return str(value)  # ISO text; .item() would give nanoseconds as an int
        item = getattr(value, "item", None)
        if callable(item):
            return json_value(item())
    return str(value)


def _has_own_index(data: Any) -> bool:
    """Whether *data* is a pandas object whose index says something (not 0, 1, 2...)."""
    pd = sys.modules.get("pandas")
    if pd is None or not isinstance(data, (pd.DataFrame, pd.Series)):
        return False
    index = data.index
    return not (isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1)


def chart_columns(data: Any) -> tuple[dict[str, list[Any]], list[Any] | None, str]:
    """Turn chart data into columns.

    :returns: ``(columns, index, index_name)``; *index* is the data's own row
        labels (a pandas index other than 0, 1, 2...), else ``None``.
    :raises WidgetError: the data is not a dict of lists, a list of dicts,
        a list of numbers or a pandas DataFrame/Series.
    """
    if isinstance(data, (str, bytes, bytearray)) or (
        data is not None and not isinstance(data, (Mapping, Sequence))
        and not hasattr(data, "tolist") and not hasattr(data, "itertuples")
        and not hasattr(data, "to_frame")
    ):
        raise WidgetError(
            f"cannot draw {type(data).__name__} as a chart: give a dict of lists, a list "
            "of dicts, a list of numbers or a pandas DataFrame"
        )
    own_index = _has_own_index(data)
    if isinstance(data, Mapping):
        # A dict of numpy arrays (or pandas Series): columns, not one row of arrays.
        # list(), not tolist(): numpy datetimes stay datetimes, not nanosecond ints.
        data = {k: list(v) if hasattr(v, "tolist") and getattr(v, "ndim", 0) == 1
                or _pandas(v) is not None else v for k, v in data.items()}
    try:
        table = table_data(data)
    except WidgetError as exc:
        raise WidgetError(f"cannot draw this data as a chart: {exc}") from None
    if table.columns == ["0"] and not isinstance(data, Mapping) and _pandas(data) is None:
        names = ["value"]  # a plain list of numbers
    else:
        names = table.columns
    columns = {name: [json_value(row[i]) for row in table.rows] for i, name in enumerate(names)}
    index = [json_value(v) for v in table.index] if own_index and table.index else None
    return columns, index, table.index_name


def _pandas(data: Any) -> Any:
    pd = sys.modules.get("pandas")
    if pd is not None and isinstance(data, (pd.DataFrame, pd.Series)):
        return pd
    return None


def _is_number(value: Any) -> bool:
    return value is None or (isinstance(value, (int, float)) and not isinstance(value, bool))


class _Figure(Widget):
    """A widget drawn by plotly.js from a figure (``{"data": [...], "layout": {...}}``)."""

    kind: ClassVar[str] = "chart"

    #: ``"stgo"``: the page's colours (light and dark); ``None``: the figure's own.
    theme: str | None = "stgo"

    def root_attrs(self) -> str:
        return f' data-requires="{CHART_SCRIPTS}"'

    def figure(self) -> dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _rows_total(self) -> int:
        return 0

    def _label(self) -> str:
        return "chart"

    def render_body(self, state: StateReader | None) -> str:
        with self._lock:
            figure = self.figure()
            total = self._rows_total()
        theme = f' data-theme="{esc(self.theme)}"' if self.theme else ""
        text = json.dumps(figure, separators=(",", ":"), allow_nan=False)
        return (
            f'<div class="stgo-plot" role="figure" aria-label="{esc(self._label())}"{theme} '
            f'data-total="{total}" data-figure="{esc(text)}"></div>'
        )

    def change_op(self, change: str) -> dict[str, Any] | None:
        if change != "figure":
            return None
        with self._lock:
            return {"op": "figure", "id": self.id, "figure": self.figure(),
                    "total": self._rows_total()}


class Chart(_Figure):
    """A chart of columns of data; see :class:`LineChart` and friends.

    :param data: a dict of lists, a list of dicts, a list of numbers or a
        pandas DataFrame (``None``: empty until :meth:`add_rows`).
    :param x: the column along the x axis; ``None`` uses the data's own
        index (pandas) or numbers the rows 0, 1, 2...
    :param y: the column (or list of columns) to draw; ``None`` draws every
        numeric column but *x* and *color*.
    :param color: a column whose values split the rows into series (one
        line per value), or a colour (``"#ff4b4b"``, ``"teal"``) or one per
        *y* column.
    :param title: a title above the chart.
    :param x_label: the x axis title (default: the *x* column's name).
    :param y_label: the y axis title (default: the *y* column, if only one).
    :param height: in CSS pixels (350).
    :param max_points: keep only the last this many rows (``None``: all).
    """

    #: plotly trace settings for this kind of chart.
    trace: ClassVar[dict[str, Any]] = {"type": "scatter", "mode": "lines"}
    layout_extra: ClassVar[dict[str, Any]] = {}

    def __init__(
        self, data: Any = None, *, x: str | None = None, y: str | Sequence[str] | None = None,
        color: str | Sequence[str] | None = None, title: str | None = None,
        x_label: str | None = None, y_label: str | None = None, height: int = 350,
        max_points: int | None = None, key: str | None = None, visible: bool = True,
    ) -> None:
        _require_plotly(type(self).__name__)
        super().__init__(key=key, visible=visible)
        if isinstance(height, bool) or not isinstance(height, int) or height <= 0:
            raise WidgetError(f"height must be a positive number of pixels, got {height!r}")
        self.max_points = _check_max_points(max_points)
        if x is not None and not isinstance(x, str):
            raise WidgetError(f"x must be a column name, got {x!r}")
        self.x = x
        self._y_given: list[str] | None = None
        if y is not None:
            ys = [y] if isinstance(y, str) else list(y)
            if not ys or not all(isinstance(n, str) for n in ys):
                raise WidgetError(f"y must be a column name or a list of them, got {y!r}")
            self._y_given = ys
        self.color = color
        self.title = title
        self.x_label = x_label
        self.y_label = y_label
        self.height = height
        self._x: list[Any] = []
        self._cols: dict[str, list[Any]] = {}
        self._y: list[str] = []
        self._group: str | None = None
        self._index_name = ""
        self._dropped = 0      # rows trimmed by max_points (or replaced by set_data)
        self._pushed = 0       # rows already sent to the tabs
        self._next_x = 0       # the next row number, when x is the row number
        self._trace_names: list[str] = []
        self._load(data, replace=True)
        # Whoever sees the chart first gets all of this in a full render.
        self._pushed = self._rows_total()

    # -- data ---------------------------------------------------------------------

    @property
    def data(self) -> dict[str, list[Any]]:
        """The chart's rows as columns (x first), a copy."""
        with self._lock:
            out = {self._x_name(): list(self._x)}
            out.update({name: list(values) for name, values in self._cols.items()})
            return out

    def __len__(self) -> int:
        with self._lock:
            return len(self._x)

    def add_rows(self, data: Any, *, max_points: int | None = None) -> None:
        """Append rows (same shapes as the constructor) and push only the new points.

        Without ``y=``, a numeric column new to the chart becomes a new series
        (the earlier rows have no value for it), and a series the rows lack
        gets a gap.

        :param max_points: keep only the last this many rows from now on
            (``None``: the chart's own ``max_points``).
        :raises WidgetError: the x column, the color column or a ``y=``
            column is missing, or a value is not a number.
        """
        if max_points is not None:
            self.max_points = _check_max_points(max_points)
        with self._lock:
            new_trace = self._load(data, replace=False)
        self.changed("figure" if new_trace else "extend")

    def set_data(self, data: Any) -> None:
        """Replace every row and push the new figure (the user's zoom stays)."""
        with self._lock:
            self._load(data, replace=True)
        self.changed("figure")

    def clear(self) -> None:
        """Remove every row."""
        self.set_data(None)

    def set_title(self, title: str | None) -> None:
        """Change the title and push it."""
        self.title = title
        self.changed("figure")

    def _x_name(self) -> str:
        return self.x or self._index_name or "index"

    def _load(self, data: Any, *, replace: bool) -> bool:
        """Take in rows (lock held); return whether they start a new series."""
        columns, index, index_name = chart_columns(data)
        height = len(next(iter(columns.values()), []))
        if height == 0 and index:
            height = len(index)
        if replace:
            self._dropped += len(self._x)
            self._x, self._cols, self._next_x = [], {}, 0
            self._index_name = index_name
            self._settle_columns(columns)
        if height == 0:
            return replace
        if not self._y:
            self._settle_columns(columns)
        elif self._y_given is None:
            self._add_series(columns)
        needed = [*self._y] + ([self._group] if self._group else [])
        if self._y_given is None:
            # A series these rows lack gets a gap, as the new one got for older rows.
            for name in self._y:
                if name not in columns:
                    columns[name] = [None] * height
        missing = [n for n in needed if n not in columns]
        if self.x is not None and self.x not in columns:
            missing.insert(0, self.x)
        if missing:
            raise WidgetError(
                f"the rows lack column(s) {missing} that chart {self.key!r} draws; "
                f"they have {list(columns)}"
            )
        for name in self._y:
            bad = next((v for v in columns[name] if not _is_number(v)), _NONE)
            if bad is not _NONE:
                raise WidgetError(
                    f"column {name!r} of chart {self.key!r} holds {bad!r}: y values must "
                    "be numbers (or None for a gap)"
                )
        if self.x is not None:
            xs = columns[self.x]
        elif index is not None:
            xs = index
        else:
            xs = list(range(self._next_x, self._next_x + height))
        self._next_x += height
        self._x.extend(xs)
        for name in needed:
            self._cols.setdefault(name, []).extend(columns[name])
        self._trim()
        names = self._names()
        fresh = names != self._trace_names
        if fresh:
            self._trace_names = names
        return fresh or replace

    def _settle_columns(self, columns: dict[str, list[Any]]) -> None:
        """Decide which columns are series (once the first rows are known)."""
        group = self.color if isinstance(self.color, str) and self.color in columns else None
        self._group = group
        if self._y_given is not None:
            self._y = list(self._y_given)
            return
        skip = {self.x, group}
        self._y = [
            n for n, values in columns.items()
            if n not in skip and values and all(_is_number(v) for v in values)
        ]

    def _add_series(self, columns: dict[str, list[Any]]) -> None:
        """Draw numeric columns that later rows bring (a host that joined later):
        the rows before them get no value (a gap), never a silent drop."""
        skip = {self.x, self._group, *self._y}
        for name, values in columns.items():
            if name not in skip and values and all(_is_number(v) for v in values):
                self._y.append(name)
                self._cols[name] = [None] * len(self._x)

    def _trim(self) -> None:
        limit = self.max_points
        if limit is not None and len(self._x) > limit:
            cut = len(self._x) - limit
            del self._x[:cut]
            for values in self._cols.values():
                del values[:cut]
            self._dropped += cut

    def _rows_total(self) -> int:
        return self._dropped + len(self._x)

    # -- traces --------------------------------------------------------------------------

    def _groups(self, start: int = 0) -> list[tuple[str, str, list[int]]]:
        """``(trace name, y column, row positions)`` for each series, from row *start* on."""
        rows = range(start, len(self._x))
        if self._group is None:
            return [(name, name, list(rows)) for name in self._y]
        labels = self._cols.get(self._group, [])
        order: dict[str, list[int]] = {}
        for i in range(len(self._x)):
            order.setdefault(str(labels[i]), [])
        for i in rows:
            order[str(labels[i])].append(i)
        out = []
        for name in self._y:
            for value, where in order.items():
                out.append((value if len(self._y) == 1 else f"{name} {value}", name, where))
        return out

    def _names(self) -> list[str]:
        return [name for name, _, _ in self._groups(len(self._x))]

    def _colours(self) -> list[str | None]:
        color = self.color
        if isinstance(color, str) and color != self._group:
            return [color] * len(self._y)
        if color is not None and not isinstance(color, str):
            return list(color) + [None] * len(self._y)
        return [None] * len(self._y)

    def figure(self) -> dict[str, Any]:
        traces = []
        colours = dict(zip(self._y, self._colours(), strict=False))
        for name, column, where in self._groups():
            values = self._cols.get(column, [])
            trace = {**self.trace, "name": name, "x": [self._x[i] for i in where],
                     "y": [values[i] for i in where]}
            if colours.get(column) and self._group is None:
                trace["marker"] = {"color": colours[column]}
                if self.trace.get("type") == "scatter":
                    trace["line"] = {"color": colours[column]}
            traces.append(trace)
        # The legend stands right of the plot (plotly makes room for it): below
        # it, it ran into the x axis title.  A title sits on the plot's top
        # left, under the strip where the mode bar shows on hover.
        layout: dict[str, Any] = {
            "height": self.height, "uirevision": "stgo", "autosize": True,
            "margin": {"l": 56, "r": 16, "t": 64 if self.title else 16, "b": 48},
            "showlegend": len(traces) > 1,
            "legend": {"x": 1.02, "xanchor": "left", "y": 1, "yanchor": "top"},
            "xaxis": {"title": {"text": self.x_label if self.x_label is not None
                                else (self.x or self._index_name)}},
            "yaxis": {"title": {"text": self.y_label if self.y_label is not None
                                else (self._y[0] if len(self._y) == 1 else "")}},
            **self.layout_extra,
        }
        if self.title:
            layout["title"] = {"text": self.title, "x": 0, "xref": "paper", "xanchor": "left",
                               "y": 1, "yref": "paper", "yanchor": "bottom", "pad": {"b": 12}}
        return {"data": traces, "layout": layout}

    def change_op(self, change: str) -> dict[str, Any] | None:
        if change == "figure":
            with self._lock:
                self._pushed = self._rows_total()
            return super().change_op(change)
        if change != "extend":
            return None
        with self._lock:
            total = self._rows_total()
            start = max(self._pushed, self._dropped)
            if start >= total:
                return None
            self._pushed = total
            groups = self._groups(start - self._dropped)
            return {
                "op": "extend", "id": self.id, "start": start, "count": total - start,
                "traces": list(range(len(groups))),
                "x": [[self._x[i] for i in where] for _, _, where in groups],
                "y": [[self._cols[col][i] for i in where] for _, col, where in groups],
                "max": self.max_points, "aligned": self._group is None,
            }

    def _label(self) -> str:
        return self.title or f"{self.trace.get('mode', self.trace['type'])} chart of " + (
            ", ".join(self._y) or "no data")


_NONE = object()


def _check_max_points(value: int | None) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise WidgetError(f"max_points must be a positive number of rows or None, got {value!r}")
    return value


class LineChart(Chart):
    """Lines through the points of each series (``app.line_chart``)."""


class AreaChart(Chart):
    """Stacked, filled areas (``app.area_chart``)."""

    trace: ClassVar[dict[str, Any]] = {"type": "scatter", "mode": "lines", "stackgroup": "one"}


class BarChart(Chart):
    """Bars, stacked when there are several series (``app.bar_chart``)."""

    trace: ClassVar[dict[str, Any]] = {"type": "bar"}
    layout_extra: ClassVar[dict[str, Any]] = {"barmode": "relative"}


class ScatterChart(Chart):
    """Points without lines (``app.scatter_chart``)."""

    trace: ClassVar[dict[str, Any]] = {"type": "scatter", "mode": "markers"}


class PlotlyChart(_Figure):
    """Any plotly figure (``plotly.graph_objects.Figure``, plotly express, or a dict).

    :param figure: the figure; change it later with :meth:`set_figure`.
    :param theme: ``"stgo"`` (default) draws it in the page's colours, light
        or dark, instead of the figure's template; ``None`` keeps the figure's own.
    """

    def __init__(self, figure: Any, *, theme: str | None = "stgo", key: str | None = None,
                 visible: bool = True) -> None:
        _require_plotly("plotly_chart")
        super().__init__(key=key, visible=visible)
        if theme not in ("stgo", None):
            raise WidgetError(f'theme must be "stgo" or None, got {theme!r}')
        self.theme = theme
        self._figure = self._convert(figure)

    def _convert(self, figure: Any) -> dict[str, Any]:
        if hasattr(figure, "to_json"):
            spec = json.loads(figure.to_json())
        elif isinstance(figure, Mapping) and "data" in figure:
            try:
                spec = json.loads(json.dumps(figure, default=json_value))
            except (TypeError, ValueError) as exc:
                raise WidgetError(f"the figure is not JSON-able: {exc}") from None
        else:
            raise WidgetError(
                f"plotly_chart takes a plotly figure or a dict with 'data', got "
                f"{type(figure).__name__}"
            )
        if not isinstance(spec, dict) or not isinstance(spec.get("data", []), list):
            raise WidgetError("a figure's 'data' must be a list of traces")
        layout = dict(spec.get("layout") or {})
        if self.theme == "stgo":
            layout.pop("template", None)
        layout.setdefault("uirevision", "stgo")
        return {"data": spec.get("data", []), "layout": layout}

    def figure(self) -> dict[str, Any]:
        return self._figure

    def set_figure(self, figure: Any) -> None:
        """Show another figure (the user's zoom stays if the axes do)."""
        spec = self._convert(figure)
        with self._lock:
            self._figure = spec
        self.changed("figure")

    def _label(self) -> str:
        title = self._figure["layout"].get("title")
        text = title.get("text") if isinstance(title, dict) else title
        return str(text) if text else "chart"
