"""Data widgets: table and metric (the interactive dataframe is in :mod:`.dataframe`).

Tables take a list of dicts, a dict of lists, a list of lists (or of plain
values), any iterable of those, and a pandas ``DataFrame`` or ``Series`` when
pandas is installed.  pandas is never imported here: a frame can only exist
if the program imported pandas itself, so looking in ``sys.modules`` is enough.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from numbers import Number, Real
from typing import Any, ClassVar

from ..errors import WidgetError
from .base import StateReader, Widget, esc

__all__ = ["TableData", "table_data", "is_table_like", "render_table", "Table", "Metric"]

_DELTA_COLORS = ("normal", "inverse", "off")


@dataclass(frozen=True)
class TableData:
    """Rows and columns, ready to draw.

    :param index: the data's own row labels (pandas), or ``None``.
    """

    columns: list[str]
    rows: list[list[Any]]
    index: list[Any] | None = None
    index_name: str = ""


def _pandas_kind(data: Any) -> str | None:
    pd = sys.modules.get("pandas")
    if pd is None:
        return None
    if isinstance(data, pd.DataFrame):
        return "frame"
    if isinstance(data, pd.Series):
        return "series"
    return None


def _is_sequence(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes, bytearray))


def table_data(data: Any, columns: Sequence[Any] | None = None) -> TableData:
    """Turn table-like *data* into :class:`TableData`.

    :param columns: column names for rows given as lists; ``None`` numbers
        them from 0.
    :raises WidgetError: *data* is not table-like.
    """
    kind = _pandas_kind(data)
    if kind == "series":
        data = data.to_frame()
        kind = "frame"
    if kind == "frame":
        index = list(data.index)
        name = data.index.name
        return TableData(
            [str(c) for c in data.columns],
            [list(row) for row in data.itertuples(index=False, name=None)],
            index, "" if name is None else str(name),
        )
    if data is None:
        return TableData([str(c) for c in columns or ()], [])
    if isinstance(data, Mapping):
        return _from_mapping(data)
    if hasattr(data, "tolist") and not isinstance(data, (str, bytes)):
        data = data.tolist()  # numpy arrays and friends
    if isinstance(data, (str, bytes, bytearray)) or not isinstance(data, Iterable):
        raise WidgetError(
            f"cannot show {type(data).__name__} as a table: give a list of dicts, a dict "
            "of lists, a list of lists or a pandas DataFrame"
        )
    rows = list(data)
    if not rows:
        return TableData([str(c) for c in columns or ()], [])
    if all(isinstance(r, Mapping) for r in rows):
        names: dict[Any, None] = {}
        for r in rows:
            names.update(dict.fromkeys(r))
        keys = list(names)
        return TableData([str(k) for k in keys], [[r.get(k) for k in keys] for r in rows])
    if all(_is_sequence(r) for r in rows):
        width = max(len(r) for r in rows)
        cells = [list(r) + [None] * (width - len(r)) for r in rows]
        return TableData(_names(columns, width), cells)
    if any(isinstance(r, Mapping) or _is_sequence(r) for r in rows):
        raise WidgetError("table rows must be all dicts, all lists, or all plain values")
    return TableData(_names(columns, 1), [[r] for r in rows])


def _names(columns: Sequence[Any] | None, width: int) -> list[str]:
    if columns is None:
        return [str(i) for i in range(width)]
    names = [str(c) for c in columns]
    if len(names) != width:
        raise WidgetError(f"{len(names)} column names for rows {width} cells wide")
    return names


def _from_mapping(data: Mapping[Any, Any]) -> TableData:
    names = [str(k) for k in data]
    values = list(data.values())
    if values and all(_is_sequence(v) for v in values):
        height = max(len(v) for v in values)
        padded = [list(v) + [None] * (height - len(v)) for v in values]
        return TableData(names, [list(row) for row in zip(*padded, strict=True)])
    return TableData(names, [values] if values else [])


def is_table_like(data: Any) -> bool:
    """Whether ``write()`` should show *data* as a table rather than JSON."""
    if _pandas_kind(data) is not None:
        return True
    if type(data).__module__ == "numpy" and getattr(data, "ndim", 0) == 2:
        return True
    if isinstance(data, Mapping):
        values = list(data.values())
        return bool(values) and all(_is_sequence(v) for v in values) and \
            len({len(v) for v in values}) == 1
    if isinstance(data, list) and data:
        return all(isinstance(r, Mapping) for r in data)
    return False


def format_cell(value: Any) -> str:
    """A cell's text: ``None`` and NaN show empty, everything else as ``str``."""
    if value is None:
        return ""
    if isinstance(value, float) and math.isnan(value):
        return ""
    return str(value)


_NUM_CLASS = ' class="stgo-num"'


def _is_number(value: Any) -> bool:
    return isinstance(value, Number) and not isinstance(value, bool)


def _cell(tag: str, value: Any, extra: str = "") -> str:
    num = _NUM_CLASS if _is_number(value) else ""
    return f"<{tag}{extra}{num}>{esc(format_cell(value))}</{tag}>"


def render_table(table: TableData, *, show_index: bool | None = None) -> str:
    """``<table class="stgo-datatable">`` with every header and cell escaped.

    :param show_index: draw a row-label column; ``None`` draws it when the
        data has its own index (pandas).  Without one, rows are numbered from 0.
    """
    show = table.index is not None if show_index is None else show_index
    index = table.index if table.index is not None else list(range(len(table.rows)))
    # A column whose filled cells are all numbers is right-aligned, header too.
    columns = [[row[i] for row in table.rows if i < len(row) and row[i] is not None]
               for i in range(len(table.columns))]
    numeric = [bool(cells) and all(map(_is_number, cells)) for cells in columns]
    head = "".join(
        f'<th scope="col"{_NUM_CLASS if num else ""}>{esc(c)}</th>'
        for c, num in zip(table.columns, numeric, strict=False)
    )
    if show:
        head = f'<th scope="col" class="stgo-index">{esc(table.index_name)}</th>' + head
    body = []
    for label, row in zip(index, table.rows, strict=False):
        cells = "".join(_cell("td", v) for v in row)
        if show:
            cells = _cell("th", label, ' scope="row"') + cells
        body.append(f"<tr>{cells}</tr>")
    return (
        f'<table class="stgo-datatable"><thead><tr>{head}</tr></thead>'
        f'<tbody>{"".join(body)}</tbody></table>'
    )


class Table(Widget):
    """A static table of all the data.

    :param data: see :func:`table_data`.
    :param columns: names for columns of list rows.
    :param hide_index: ``True`` never shows the row-label column, ``False``
        always does; ``None`` shows it only for data with its own index.
    """

    kind: ClassVar[str] = "table"

    def __init__(
        self, data: Any = None, *, columns: Sequence[Any] | None = None,
        hide_index: bool | None = None, key: str | None = None, visible: bool = True,
    ) -> None:
        super().__init__(key=key, visible=visible)
        self.hide_index = hide_index
        self._columns = columns
        self._table = table_data(data, columns)

    @property
    def data(self) -> TableData:
        """The current rows and columns."""
        return self._table

    def set_data(self, data: Any, *, columns: Sequence[Any] | None = None) -> None:
        """Replace the data and push the new table."""
        self._table = table_data(data, columns if columns is not None else self._columns)
        self.changed()

    def _show_index(self) -> bool | None:
        return None if self.hide_index is None else not self.hide_index

    def render_body(self, state: StateReader | None) -> str:
        table = render_table(self._table, show_index=self._show_index())
        return f'<div class="stgo-table-wrap">{table}</div>'


def delta_direction(delta: Any) -> str:
    """``"up"``, ``"down"`` or ``"flat"`` for a number or a text like ``"-3 %"``."""
    if isinstance(delta, Real) and not isinstance(delta, bool):
        number = float(delta)
        if math.isnan(number) or number == 0:
            return "flat"
        return "up" if number > 0 else "down"
    text = str(delta).strip()
    if not text:
        return "flat"
    return "down" if text[0] in "-\u2212" else "up"


class Metric(Widget):
    """A big number with a label and an optional change ("delta").

    :param label: what the number is.
    :param value: the number (or any text).
    :param delta: the change; its sign picks the arrow.
    :param delta_color: ``"normal"`` (up is good), ``"inverse"`` (up is bad)
        or ``"off"`` (no colour).
    """

    kind: ClassVar[str] = "metric"

    def __init__(
        self, label: str, value: Any = None, delta: Any = None, *,
        delta_color: str = "normal", help: str | None = None, key: str | None = None,
        visible: bool = True,
    ) -> None:
        super().__init__(key=key, visible=visible)
        if delta_color not in _DELTA_COLORS:
            raise WidgetError(f"delta_color must be one of {list(_DELTA_COLORS)}, got "
                              f"{delta_color!r}")
        self.label = label
        self._value = value
        self._delta = delta
        self.delta_color = delta_color
        self.help = help

    @property
    def value(self) -> Any:
        """The current value."""
        return self._value

    @property
    def delta(self) -> Any:
        """The current delta (``None``: none shown)."""
        return self._delta

    def set_value(self, value: Any, delta: Any = ...) -> None:
        """Show a new value (and delta, if given) and push it."""
        with self._lock:
            self._value = value
            if delta is not ...:
                self._delta = delta
        self.changed()

    def set_delta(self, delta: Any) -> None:
        """Show a new delta (``None`` hides it) and push it."""
        self._delta = delta
        self.changed()

    def increment(self, amount: float = 1) -> Any:
        """Add *amount* to a numeric value atomically, push it, return the new value."""
        with self._lock:
            self._value = (self._value or 0) + amount
            value = self._value
        self.changed()
        return value

    def set_label(self, label: str) -> None:
        """Change the label and push it."""
        self.label = label
        self.changed()

    def render_body(self, state: StateReader | None) -> str:
        tip = f' title="{esc(self.help)}"' if self.help else ""
        value = "\u2014" if self._value is None else self._value
        out = (
            f'<div class="stgo-metric-label"{tip}>{esc(self.label)}</div>'
            f'<div class="stgo-metric-value">{esc(value)}</div>'
        )
        delta = self._delta
        if delta is not None:
            direction = delta_direction(delta)
            if self.delta_color == "off" or direction == "flat":
                tone = "neutral"
            else:
                good = (direction == "up") == (self.delta_color == "normal")
                tone = "good" if good else "bad"
            arrow = {"up": "\u25b2", "down": "\u25bc", "flat": ""}[direction]
            icon = f'<span class="stgo-metric-arrow" aria-hidden="true">{arrow}</span> ' \
                if arrow else ""
            out += (
                f'<div class="stgo-metric-delta stgo-{direction} stgo-{tone}">'
                f"{icon}{esc(delta)}</div>"
            )
        return out
