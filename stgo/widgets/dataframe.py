"""The interactive dataframe: sorting, paging, row selection and row/cell styling.

Each session has its own view of a dataframe (sort column, page), so two
users of one global table sort it their own way; only the rows of the page
shown are ever rendered, so a 100,000-row table costs one page of HTML.  The
client (``static/table.js``) sends ``sort`` (a column number), ``page`` (a
page number) and ``select`` (the row numbers now selected); the server checks
each against the data before anything changes.

Row numbers are positions in the data as given (0 for the first row),
whatever the sort.
"""

from __future__ import annotations

import inspect
import json
import logging
import math
import weakref
from array import array
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from ..errors import ProtocolError, WidgetError
from ..limits import TokenBucket
from .base import StateReader, esc, positive_int
from .columns import ColumnConfig, column_configs, unknown_columns
from .data import Table, TableData, format_cell

__all__ = ["Dataframe", "SelectedRows", "STYLE_NAMES", "SORT_ROWS_RATE", "SORT_ROWS_BURST"]

log = logging.getLogger("stgo")

#: What a row or cell style function may return (``None``: no style).  Each is
#: a CSS class of the theme, readable in light and dark mode.
STYLE_NAMES = frozenset({"highlight", "success", "warning", "error", "info", "muted", "bold"})
_SELECTION = (None, "single", "multi")

#: Rows a session may have sorted per second in one table, on average, and
#: back to back: a sort costs as many rows as the table has (a sort already
#: made of the same data costs nothing).  Past that a sort is refused.
SORT_ROWS_RATE = 100_000
SORT_ROWS_BURST = 500_000

# Bytes of sorted orders kept per table (4 per row each, the most recently
# used kept): every order of a 100,000-row table with 20 columns or so.
_ORDER_BYTES = 16 << 20


class SelectedRows(list[dict[str, Any]]):
    """The selected rows as dicts (column name to value), in data order.

    :ivar indices: their row numbers in the data.
    """

    def __init__(self, rows: list[dict[str, Any]], indices: list[int]) -> None:
        super().__init__(rows)
        self.indices = indices


@dataclass
class _View:
    sort: int | None = None
    descending: bool = False
    page: int = 0
    #: This session's sorting budget for this table (rows; see SORT_ROWS_RATE).
    sorts: TokenBucket | None = None


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return (3, 0)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (0, value)
    if isinstance(value, str):
        return (1, value.casefold())
    return (2, str(value))


def _arity(fn: Callable[..., Any]) -> int:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return 1
    return sum(1 for p in params if p.default is p.empty
               and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD))


class Dataframe(Table):
    """A table in a scrolling box: sortable, paged, selectable, styled.

    :param height: the box's largest height in CSS pixels (400).
    :param selection: ``None`` (no selection), ``"single"`` or ``"multi"``:
        each row gets a checkbox; the row numbers chosen are the session's
        value (``session.get(key)``), and ``@table.on_select`` handlers get
        ``fn(session, "select", rows)`` with the rows as dicts.
    :param page_size: rows per page (100); a bigger table gets a pager.
    :param sortable: clicking a column's header sorts by it (up, down, off).
    :param row_style: ``fn(row)`` or ``fn(session, row)``, *row* a dict of
        the row's values, returning one of :data:`STYLE_NAMES` or ``None``:
        highlight a row, say, above a threshold the user set.
    :param cell_style: ``fn(value, column)`` or ``fn(session, value, column)``,
        the same for single cells.
    :param column_config: ``{name: stgo.column.number(format="$%.2f") ...}``:
        a column's label, help, width, number or date format; ``hidden=True``
        (or ``None`` for the column) leaves it out.
    """

    kind: ClassVar[str] = "dataframe"
    events: ClassVar[tuple[str, ...]] = ("sort", "page", "select")
    redraw_on_state: ClassVar[bool] = True  # session.set(key, rows) selects them

    def __init__(
        self, data: Any = None, *, height: int = 400, selection: str | None = None,
        page_size: int = 100, sortable: bool = True,
        row_style: Callable[..., str | None] | None = None,
        cell_style: Callable[..., str | None] | None = None,
        on_select: Callable[[Any, str, Any], None] | None = None,
        column_config: dict[str, Any] | None = None, **kwargs: Any,
    ) -> None:
        self.column_config: dict[str, ColumnConfig] = column_configs(column_config)
        styler = _styler_data(data)
        super().__init__(styler if styler is not None else data, **kwargs)
        unknown_columns(self.column_config, self._table.columns)
        if not positive_int(height):
            raise WidgetError(f"height must be a positive number of pixels, got {height!r}")
        if selection not in _SELECTION:
            raise WidgetError(f'selection must be None, "single" or "multi", got {selection!r}')
        if not positive_int(page_size):
            raise WidgetError(f"page_size must be a positive number of rows, got {page_size!r}")
        for name, fn in (("row_style", row_style), ("cell_style", cell_style)):
            if fn is not None and not callable(fn):
                raise WidgetError(f"{name} must be a function returning a style name or None")
        self.height = height
        self.selection = selection
        self.page_size = page_size
        self.sortable = sortable
        self.row_style = row_style
        self.cell_style = cell_style
        self._views: weakref.WeakKeyDictionary[Any, _View] = weakref.WeakKeyDictionary()
        # Sorted orders of the data in _orders_of, by (column, descending),
        # least recently used first: another data is another version.
        self._orders: OrderedDict[tuple[int, bool], array[int]] = OrderedDict()
        self._orders_of: TableData | None = None
        if on_select is not None:
            self.on_select(on_select)

    def on_select(self, fn: Callable[[Any, str, Any], None]) -> Callable[[Any, str, Any], None]:
        """Register ``fn(session, "select", rows)``; usable as a decorator.

        *rows* is a :class:`SelectedRows`: the rows as dicts, with ``.indices``.
        """
        if self.selection is None:
            raise WidgetError(
                f"{self!r} has no selection: make it with selection='single' or 'multi'"
            )
        return self.on("select", fn)

    def set_data(self, data: Any, *, columns: Sequence[Any] | None = None) -> None:
        styler = _styler_data(data)
        super().set_data(styler if styler is not None else data, columns=columns)
        with self._lock:
            self._drop_orders(self._table)  # (a render in between keys its own by its data)

    # -- per-session view ----------------------------------------------------------------

    @property
    def per_session(self) -> bool:
        return bool(self.selection or len(self._views) or self._session_styled())

    def _session_styled(self) -> bool:
        return (self.row_style is not None and _arity(self.row_style) >= 2) or (
            self.cell_style is not None and _arity(self.cell_style) >= 3)

    def view(self, session: Any) -> tuple[int | None, bool, int]:
        """``(sort column or None, descending, page)`` as *session* sees the table."""
        with self._lock:
            v = self._views.get(session) if session is not None else None
            return (v.sort, v.descending, v.page) if v else (None, False, 0)

    def selected(self, session: Any) -> list[int]:
        """The row numbers *session* has selected (those still in the data)."""
        value = session.get(self.key) if session is not None else None
        n = len(self._table.rows)
        if not isinstance(value, list):
            return []
        return [i for i in value if isinstance(i, int) and 0 <= i < n]

    def pages(self) -> int:
        """How many pages the data fills (at least 1)."""
        return max(1, math.ceil(len(self._table.rows) / self.page_size))

    def coerce(self, event: str, value: Any) -> Any:
        super().coerce(event, value)
        n = len(self._table.rows)
        if event == "sort":
            if not self.sortable:
                raise ProtocolError(f"table {self.key!r} is not sortable")
            if type(value) is not int or not 0 <= value < len(self._table.columns):
                raise ProtocolError(f"bad column for {self.key!r}: {value!r}")
        elif event == "page":
            if type(value) is not int or not 0 <= value < self.pages():
                raise ProtocolError(f"bad page for {self.key!r}: {value!r}")
        else:
            if self.selection is None:
                raise ProtocolError(f"table {self.key!r} has no selection")
            if (not isinstance(value, list) or not all(type(i) is int for i in value)
                    or len(set(value)) != len(value) or any(not 0 <= i < n for i in value)):
                raise ProtocolError(
                    f"bad selection for {self.key!r}: a list of distinct row numbers 0..{n - 1}"
                )
            if self.selection == "single" and len(value) > 1:
                raise ProtocolError(f"table {self.key!r} takes one row at a time")
            return SelectedRows(self.rows_at(sorted(value)), sorted(value))
        return value

    def rows_at(self, indices: Sequence[int]) -> list[dict[str, Any]]:
        """The rows at *indices* as dicts."""
        columns, rows = self._table.columns, self._table.rows
        return [dict(zip(columns, rows[i], strict=False)) for i in indices]

    def receive(self, session: Any, event: str, value: Any) -> Any:
        if event == "select":
            session.set(self.key, list(value.indices))
        else:
            with self._lock:
                view = self._views.setdefault(session, _View())
                if event == "sort":
                    if view.sort != value:
                        sort, descending = value, False
                    elif not view.descending:
                        sort, descending = value, True
                    else:
                        sort, descending = None, False
                    self._charge(view, sort, descending)
                    view.sort, view.descending = sort, descending
                    view.page = 0
                else:
                    view.page = value
        session.redraw(self)
        return value

    def _charge(self, view: _View, sort: int | None, descending: bool) -> None:
        """Take a sort of the data from the session's budget, unless it is made
        already (called with the lock held).

        :raises ProtocolError: past the budget (the view stays as it was).
        """
        rows = len(self._table.rows)
        if sort is None or self._cached(sort, descending) is not None:
            return
        if view.sorts is None:
            view.sorts = TokenBucket(SORT_ROWS_RATE, SORT_ROWS_BURST)
        if not view.sorts.allow(min(rows, SORT_ROWS_BURST)):
            raise ProtocolError(f"table {self.key!r} is sorted too often: try again in a moment")

    # -- rendering ----------------------------------------------------------------------------

    def _drop_orders(self, table: TableData) -> None:
        # Called with the lock held: orders of another data are of no use.
        if self._orders_of is not table:
            self._orders.clear()
            self._orders_of = table

    def _cached(self, sort: int, descending: bool) -> array[int] | None:
        # Called with the lock held.
        self._drop_orders(self._table)
        order = self._orders.get((sort, descending))
        if order is not None:
            self._orders.move_to_end((sort, descending))
        return order

    def _order(self, sort: int | None, descending: bool) -> Sequence[int]:
        table = self._table
        if sort is None:
            return range(len(table.rows))
        with self._lock:
            if table is self._table:
                cached = self._cached(sort, descending)
                if cached is not None:
                    return cached
        order = self._compute_order(table.rows, sort, descending)
        with self._lock:
            if self._orders_of is table:  # (not replaced meanwhile)
                self._orders[(sort, descending)] = order
                size = sum(o.itemsize * len(o) for o in self._orders.values())
                while size > _ORDER_BYTES and len(self._orders) > 1:
                    _, dropped = self._orders.popitem(last=False)
                    size -= dropped.itemsize * len(dropped)
        return order

    def _compute_order(self, rows: list[list[Any]], sort: int,
                       descending: bool) -> array[int]:
        """The row numbers of *rows* sorted by column *sort* (empty cells last).

        The costly part of sorting a big table: each is made once per data.
        """
        present = [i for i in range(len(rows)) if _sort_key(rows[i][sort])[0] != 3]
        missing = [i for i in range(len(rows)) if _sort_key(rows[i][sort])[0] == 3]
        present.sort(key=lambda i: _sort_key(rows[i][sort]), reverse=descending)
        # 4 bytes a row, not a list's 36: more orders kept for the same memory.
        return array("I" if len(rows) < 1 << 32 else "Q", present + missing)

    def _style(self, fn: Callable[..., str | None] | None, state: Any, *args: Any) -> str | None:
        if fn is None:
            return None
        try:
            name = fn(state, *args) if _arity(fn) > len(args) else fn(*args)
        except Exception:
            log.exception("style function %s raised", getattr(fn, "__qualname__", fn))
            return None
        if name is None or name == "":
            return None
        if name not in STYLE_NAMES:
            log.warning("style %r is not one of %s; ignored", name, sorted(STYLE_NAMES))
            return None
        return str(name)

    def render_body(self, state: StateReader | None) -> str:
        table = self._table
        sort, descending, page = self.view(state)
        page = min(page, self.pages() - 1)
        order = self._order(sort, descending)
        first = page * self.page_size
        shown = order[first:first + self.page_size]
        selected = set(self.selected(state)) if self.selection else set()
        show_index = self._show_index()
        show_index = table.index is not None if show_index is None else show_index
        index = table.index if table.index is not None else list(range(len(table.rows)))
        numeric = self._numeric()
        configs = [self.column_config.get(name) for name in table.columns]
        head = []
        if self.selection:
            head.append('<th scope="col" class="stgo-select"><span class="stgo-sr">select'
                        '</span></th>')
        if show_index:
            head.append(f'<th scope="col" class="stgo-index">{esc(table.index_name)}</th>')
        for i, name in enumerate(table.columns):
            config = configs[i]
            if config is not None and config.hidden:
                continue
            num = numeric[i] or (config is not None and config.numeric)
            attrs = ' class="stgo-num"' if num and config is None else ""
            if self.sortable:
                state_ = ("ascending" if not descending else "descending") if sort == i \
                    else "none"
                attrs += f' data-sort="{i}" aria-sort="{state_}" tabindex="0"'
            head.append(config.header_html(name, attrs, numeric=num) if config is not None
                        else f'<th scope="col"{attrs}>{esc(name)}</th>')
        body = []
        kind = "radio" if self.selection == "single" else "checkbox"
        for i in shown:
            row = table.rows[i]
            record = dict(zip(table.columns, row, strict=False)) if self.row_style else {}
            style = self._style(self.row_style, state, record)
            attrs = f' data-row="{i}"'
            if style:
                attrs += f' class="stgo-row-{style}"'
            cells = []
            if self.selection:
                on = i in selected
                attrs += f' aria-selected="{"true" if on else "false"}"'
                cells.append(
                    f'<td class="stgo-select"><input type="{kind}" data-select '
                    f'aria-label="select row {i}"{" checked" if on else ""}></td>')
            if show_index:
                cells.append(f'<th scope="row">{esc(format_cell(index[i]))}</th>')
            for c, value in enumerate(row):
                config = configs[c] if c < len(configs) else None
                if config is not None and config.hidden:
                    continue
                num = numeric[c] or (config is not None and config.numeric)
                classes = ["stgo-num"] if num else []
                cell = self._style(self.cell_style, state, value, table.columns[c])
                if cell:
                    classes.append(f"stgo-cell-{cell}")
                cls = f' class="{" ".join(classes)}"' if classes else ""
                text = config.display(value) if config is not None else format_cell(value)
                cells.append(f"<td{cls}>{esc(text)}</td>")
            body.append(f"<tr{attrs}>{''.join(cells)}</tr>")
        # No aria-multiselectable: a table role does not take it (only a grid,
        # whose arrow-key pattern this table does not claim); the rows' check
        # boxes or radios say what is selected and how many may be.
        chosen = ""
        if self.selection:
            chosen = f' data-selected="{esc(json.dumps(sorted(selected)))}"'
        html = (
            f'<div class="stgo-dataframe-scroll" role="region" aria-label="data" tabindex="0" '
            f'data-stgo-style="max-height: {self.height}px">'
            f'<table class="stgo-datatable"{chosen}>'
            f'<thead><tr>{"".join(head)}</tr></thead><tbody>{"".join(body)}</tbody></table></div>'
        )
        if self.pages() > 1:
            last = self.pages() - 1
            html += (
                '<div class="stgo-pager">'
                f'<button type="button" class="stgo-btn stgo-btn-secondary" data-page="{page - 1}"'
                f'{" disabled" if page == 0 else ""}>\u2039 Previous</button>'
                f'<span class="stgo-page-info">Rows {first + 1}\u2013{first + len(shown)} of '
                f'{len(table.rows)}</span>'
                f'<button type="button" class="stgo-btn stgo-btn-secondary" data-page="{page + 1}"'
                f'{" disabled" if page >= last else ""}>Next \u203a</button></div>'
            )
        return html

    def _numeric(self) -> list[bool]:
        rows = self._table.rows
        out = []
        for i in range(len(self._table.columns)):
            cells = [r[i] for r in rows[:1000] if i < len(r) and r[i] is not None]
            out.append(bool(cells) and all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in cells))
        return out

    def root_attrs(self) -> str:
        return ' data-requires="static/table.js"'


def _styler_data(data: Any) -> Any:
    """The frame behind a pandas ``Styler``, or ``None`` if *data* is not one."""
    if type(data).__name__ == "Styler" and hasattr(data, "data"):
        return data.data
    return None
