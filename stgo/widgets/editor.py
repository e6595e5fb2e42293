"""The data editor: a table whose cells the user edits, rows they add and delete.

Its value is the rows, a list of dicts (column name to value).  As with any
input, each session edits its own copy: a draft kept in its state under the
editor's key (``session.get("ed")``), starting from the rows the app gave;
``shared=True`` makes one table that every session edits and sees.

The client (``static/editor.js``) sends one event per change:

- ``edited``: ``{"row": n, "column": name, "value": v}`` (a select cell's
  value is the option's index, a date's ``"YYYY-MM-DD"``);
- ``added``: ``null`` or ``{column: value}`` for the new row's cells
  (``num_rows="dynamic"`` only; other cells get their column's ``default``);
- ``deleted``: the row numbers to delete (``num_rows="dynamic"`` only);
- ``change``: the whole table, a list of dicts (``stgo.testing``'s ``set_value``);
- ``page``: a page number from 0 (each session pages on its own; no handlers).

Each value is checked by its column (:mod:`.columns`) before anything is
stored; a refused one is an error to that tab, which the client shows on the
cell.  Handlers get ``fn(session, event, rows)``: *event* is the kind of
change, *rows* an :class:`EditedRows`.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any, ClassVar

from ..errors import ProtocolError, WidgetError
from .base import InputWidget, StateReader, _named, esc, positive_int, widget_name
from .columns import (
    ColumnConfig,
    SelectColumn,
    column_configs,
    infer_column,
    unknown_columns,
    whole_numbers,
)
from .data import table_data

__all__ = ["DataEditor", "EditedRows", "NUM_ROWS", "DEFAULT_MAX_ROWS", "CHANGES"]

NUM_ROWS = ("fixed", "dynamic")
#: The most rows an editor holds unless the app says otherwise (``max_rows=``):
#: each session's draft is bounded.
DEFAULT_MAX_ROWS = 1_000
#: The events (kinds of change) a data editor has.
CHANGES = ("edited", "added", "deleted", "change")

_BASE_FIELDS = tuple(f.name for f in fields(ColumnConfig))


class EditedRows(list[dict[str, Any]]):
    """The editor's rows after a change (dicts, in order), and what changed.

    :ivar change: ``"edited"``, ``"added"``, ``"deleted"`` or ``"change"``
        (the whole table replaced), as the event is.
    :ivar indices: the row numbers concerned: the edited row, the added one
        (the last), or the deleted ones (numbered as they were before).
    :ivar column: the edited column (``None`` for other changes).
    :ivar value: the edited cell's new value.
    :ivar previous: the edited cell's value before.
    :ivar removed: the deleted rows, as dicts.
    """

    def __init__(self, rows: list[dict[str, Any]], change: str, indices: list[int], *,
                 column: str | None = None, value: Any = None, previous: Any = None,
                 removed: list[dict[str, Any]] | None = None) -> None:
        super().__init__(rows)
        self.change = change
        self.indices = indices
        self.column = column
        self.value = value
        self.previous = previous
        self.removed = removed or []


@dataclass(frozen=True)
class _Edit:
    row: int
    column: str
    value: Any


class DataEditor(InputWidget):
    """An editable table; its value is a list of row dicts.

    :param data: the initial rows: anything ``dataframe`` takes (a list of
        dicts, a dict of lists, a pandas frame ...); the value is always a
        list of dicts.
    :param column_config: ``{name: stgo.column.number(...) ...}``: how each
        column is shown, edited and checked; other columns are typed from
        their cells (booleans, numbers, dates, else text).  A column named
        here that the data lacks is an error, unless the data has no columns
        at all: an empty table takes its columns from here.
    :param num_rows: ``"fixed"`` (cells only) or ``"dynamic"`` (the user
        adds and deletes rows too).
    :param max_rows: the most rows the table may hold (rows beyond are not added).
    :param disabled: ``True`` for a read-only table, or the names of the
        columns that cannot be edited.
    :param label: a caption above the table (also its accessible name).
    :param height: the scroll box's largest height in CSS pixels.
    :param page_size: rows drawn at a time (100); a longer table gets a pager,
        each session its own page.
    """

    kind: ClassVar[str] = "data_editor"
    events: ClassVar[tuple[str, ...]] = (*CHANGES, "page")
    redraw_on_state: ClassVar[bool] = True

    def __init__(
        self, data: Any = None, *, column_config: Mapping[str, Any] | None = None,
        num_rows: str = "fixed", max_rows: int = DEFAULT_MAX_ROWS,
        disabled: bool | Sequence[str] = False, label: str = "", height: int = 400,
        page_size: int = 100, columns: Sequence[Any] | None = None, key: str | None = None,
        **kwargs: Any,
    ) -> None:
        try:
            if num_rows not in NUM_ROWS:
                raise WidgetError(f'num_rows must be "fixed" or "dynamic", got {num_rows!r}')
            if not positive_int(max_rows):
                raise WidgetError(f"max_rows must be a positive number, got {max_rows!r}")
            if not positive_int(page_size):
                raise WidgetError(f"page_size must be a positive number of rows, got {page_size!r}")
            if not positive_int(height):
                raise WidgetError(f"height must be a positive number of pixels, got {height!r}")
            table = table_data(data, columns)
            configs = column_configs(column_config)
            unknown_columns(configs, table.columns)
            names = table.columns or list(configs)
            locked = set() if isinstance(disabled, bool) else {str(n) for n in disabled}
            self.columns: list[str] = names
            self.configs: dict[str, ColumnConfig] = {}
            for i, name in enumerate(names):
                cells = [row[i] for row in table.rows[:1000]]
                config = _resolved(configs.get(name), cells)
                if name in locked:
                    config = replace(config, disabled=True)
                self.configs[name] = config
            self.num_rows = num_rows
            self.max_rows = max_rows
            self.height = height
            self.page_size = page_size
            # The page each session is on (a session that never paged: the first).
            self._pages: weakref.WeakKeyDictionary[Any, int] = weakref.WeakKeyDictionary()
            rows = [dict(zip(names, row, strict=False)) for row in table.rows]
            # A read-only table still pages: its cells are disabled, not the widget.
            self.read_only = disabled is True
            super().__init__(label, rows, key=key, **kwargs)
        except WidgetError as exc:
            if getattr(exc, "names_widget", False):
                raise
            name = widget_name(DataEditor, label or None, key)
            raise _named(WidgetError(f"{name}: {exc}")) from None

    def __repr__(self) -> str:
        key = None if self.key == self.id else self.key
        return f"<{widget_name(type(self), self.label or None, key)}>"

    # -- the value --------------------------------------------------------------------------

    def empty_value(self) -> Any:
        return []

    def program_value(self, value: Any) -> Any:
        """Rows from the app (initial value, ``session.set``): anything
        table-like, as a list of dicts with every column (missing cells ``None``)."""
        if isinstance(value, list) and all(isinstance(r, Mapping) for r in value):
            records = value
        else:
            table = table_data(value, self.columns)
            records = [dict(zip(table.columns, row, strict=False)) for row in table.rows]
        out = []
        for record in records:
            extra = [k for k in record if k not in self.configs]
            if extra:
                raise ValueError(f"no column {extra[0]!r} (the columns: {self.columns})")
            out.append({c: record.get(c) for c in self.columns})
        return out

    def validate(self, value: Any) -> Any:
        """A whole table from a client (``change``): rows of known columns,
        every cell checked by its column."""
        if not isinstance(value, list) or not all(isinstance(r, dict) for r in value):
            raise TypeError("expected a list of rows (objects of column to value)")
        if len(value) > self.max_rows:
            raise ValueError(f"at most {self.max_rows} rows")
        return [self._checked_row(r, i) for i, r in enumerate(value)]

    def rows(self, state: StateReader | None) -> list[dict[str, Any]]:
        """The rows *state* (a session) sees: its draft, or the shared rows."""
        value = self.value_for(state)
        return value if isinstance(value, list) else list(self.default)

    # -- events -----------------------------------------------------------------------------

    def on_change(self, fn: Any = None, *, args: tuple[Any, ...] = (),
                  kwargs: dict[str, Any] | None = None) -> Any:
        """Register ``fn(session, event, rows)`` for every change: *event* is
        ``"edited"``, ``"added"``, ``"deleted"`` (or ``"change"``, the whole
        table), *rows* the :class:`EditedRows` after it; usable as a decorator."""
        def register(f: Callable[..., None]) -> Callable[..., None]:
            for event in CHANGES:
                self.on(event, f, args=args, kwargs=kwargs)
            return f
        return register if fn is None else register(fn)

    @property
    def per_session(self) -> bool:
        return not self.shared or bool(len(self._pages))

    def pages(self, rows: Sequence[Any]) -> int:
        """How many pages *rows* fill (at least 1)."""
        return max(1, math.ceil(len(rows) / self.page_size))

    def page_of(self, session: Any) -> int:
        """The page (from 0) *session* is on."""
        with self._lock:
            return self._pages.get(session, 0) if session is not None else 0

    def _locked(self) -> bool:
        return self.read_only or bool(self.disabled)

    def coerce(self, event: str, value: Any) -> Any:
        if event not in self.events:
            raise ProtocolError(f"widget {self.key!r} has no event {event!r}")
        if self.read_only and event != "page":
            raise ProtocolError(f"{self._name()} is read-only")
        if event == "page":
            if type(value) is not int or value < 0:
                raise ProtocolError(f"bad page for {self.key!r}: {str(value)[:20]!r}")
            return value
        try:
            if event == "edited":
                return self._coerce_edit(value)
            if event in ("added", "deleted") and self.num_rows != "dynamic":
                raise ValueError('rows cannot be added or deleted (num_rows="fixed")')
            if event == "added":
                if value is not None and not isinstance(value, dict):
                    raise TypeError("expected null or an object of column to value")
                return self._checked_row(value or {}, None)
            if event == "deleted":
                if (not isinstance(value, list) or not value
                        or not all(type(i) is int and i >= 0 for i in value)
                        or len(set(value)) != len(value) or len(value) > self.max_rows):
                    raise TypeError("expected a list of distinct row numbers")
                return sorted(value)
            return self.validate(value)
        except (TypeError, ValueError) as exc:
            raise ProtocolError(f"{self._name()}: {exc}") from None

    def _name(self) -> str:
        return repr(self.label) if self.label else repr(self.key)

    def _editable(self, column: Any) -> ColumnConfig:
        config = self.configs.get(column) if isinstance(column, str) else None
        if config is None:
            raise ValueError(f"no column {str(column)[:40]!r}")
        if config.hidden or config.disabled:
            raise ValueError(f"column {column!r} cannot be edited")
        return config

    def _cell(self, config: ColumnConfig, column: str, value: Any, row: int | None) -> Any:
        where = f"{config.label or column}" + (f", row {row + 1}" if row is not None else "")
        try:
            return config.check(config.from_client(value))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{where}: {exc}") from None

    def _coerce_edit(self, value: Any) -> _Edit:
        if not isinstance(value, dict) or set(value) != {"row", "column", "value"}:
            raise TypeError('expected {"row": n, "column": name, "value": v}')
        row = value["row"]
        if type(row) is not int or row < 0:
            raise TypeError(f"bad row number {str(row)[:20]!r}")
        column = value["column"]
        config = self._editable(column)
        return _Edit(row, column, self._cell(config, column, value["value"], row))

    def _checked_row(self, given: dict[str, Any], row: int | None) -> dict[str, Any]:
        """A new or whole row: the cells given, checked; the others their default."""
        out = {c: config.default for c, config in self.configs.items()}
        for column, value in given.items():
            out[column] = self._cell(self._editable(column), column, value, row)
        return out

    def receive(self, session: Any, event: str, value: Any) -> Any:
        if event == "page":
            if value >= self.pages(self.rows(session)):
                raise ProtocolError(f"bad page for {self.key!r}: {value}")
            with self._lock:
                self._pages[session] = value
            session.redraw(self)
            return value
        if event not in CHANGES:
            return value
        if event == "added":  # the new row is on the last page: show it
            with self._lock:
                self._pages[session] = self.pages(range(len(self.rows(session)) + 1)) - 1
        if self.shared:
            with self._lock:  # one read-modify-write at a time across sessions
                result = self._change(self._shared_value, event, value)
                self._shared_value = [dict(r) for r in result]
            self.changed()
        else:
            result = self._change(self.rows(session), event, value)
            session.set(self.key, [dict(r) for r in result])
        return result

    def _change(self, current: list[dict[str, Any]], event: str, value: Any) -> EditedRows:
        """The rows after *event*; raises ProtocolError if it cannot apply to *current*."""
        n = len(current)
        rows = [dict(r) for r in current]
        if event == "edited":
            if value.row >= n:
                raise ProtocolError(f"{self._name()}: no row {value.row + 1} (it has {n})")
            previous = rows[value.row].get(value.column)
            rows[value.row][value.column] = value.value
            return EditedRows(rows, event, [value.row], column=value.column, value=value.value,
                              previous=previous)
        if event == "added":
            if n >= self.max_rows:
                raise ProtocolError(f"{self._name()}: at most {self.max_rows} rows")
            return EditedRows(rows + [value], event, [n])
        if event == "deleted":
            if value[-1] >= n:
                raise ProtocolError(f"{self._name()}: no row {value[-1] + 1} (it has {n})")
            gone = set(value)
            return EditedRows([r for i, r in enumerate(rows) if i not in gone], event, value,
                              removed=[rows[i] for i in value])
        if self.num_rows == "fixed" and len(value) != n:
            raise ProtocolError(f'{self._name()}: rows cannot be added or deleted '
                                '(num_rows="fixed")')
        # Cells a user cannot edit keep what they held (a new row: the default).
        for i, row in enumerate(value):
            for column, config in self.configs.items():
                if config.hidden or config.disabled:
                    row[column] = rows[i][column] if i < n else config.default
        return EditedRows(value, event, list(range(len(value))))

    def apply(self, session: Any, value: Any) -> None:
        # A shared table is redrawn whole: it has no single element to set.
        if self.shared:
            self._shared_value = value
            self.changed()
        else:
            session.set(self.key, value)

    def set_value(self, value: Any) -> None:
        """Replace the shared rows and push them (``shared=True`` only; a
        session's own rows: ``session.set(key, rows)``)."""
        if not self.shared:
            super().set_value(value)  # (raises, saying so)
        self._shared_value = self._checked(value, "value")
        self.changed()  # redrawn whole: a table has no one element to set

    def to_client(self, value: Any) -> Any:
        """Rows as a client sends them in a ``change`` (without the cells a
        user cannot edit)."""
        out = []
        for row in value if isinstance(value, list) else []:
            out.append({column: self.cell_to_client(column, cell) for column, cell in row.items()
                        if column in self.configs and not self.configs[column].hidden
                        and not self.configs[column].disabled})
        return out

    def cell_to_client(self, column: str, value: Any) -> Any:
        """A cell's value as the browser sends it: a select cell's option as
        its index, a date as ``"YYYY-MM-DD"``; anything else as it is."""
        config = self.configs.get(column)
        if isinstance(config, SelectColumn) and value is not None:
            i = config.index_of(value)
            return i if i >= 0 else value
        if config is not None and config.type == "date" and value is not None:
            return config.to_client(value)
        return value

    # -- rendering ------------------------------------------------------------------------

    def render_body(self, state: StateReader | None) -> str:
        rows = self.rows(state)
        pages = self.pages(rows)
        page = min(self.page_of(state), pages - 1)
        first = page * self.page_size
        shown = [(j, c) for j, c in enumerate(self.columns) if not self.configs[c].hidden]
        dynamic = self.num_rows == "dynamic" and not self._locked()
        head = "".join(self.configs[c].header_html(c) for _, c in shown)
        if dynamic:
            head += '<th scope="col" class="stgo-editor-action"><span class="stgo-sr">delete' \
                    '</span></th>'
        body = []
        for i in range(first, min(first + self.page_size, len(rows))):
            row = rows[i]
            cells = "".join(self._cell_html(i, j, c, row.get(c)) for j, c in shown)
            if dynamic:
                cells += (f'<td class="stgo-editor-action"><button type="button" '
                          f'id="{self.id}-r{i}-del" class="stgo-editor-delete" data-delete-row '
                          f'aria-label="Delete row {i + 1}">\u2715</button></td>')
            body.append(f'<tr data-row="{i}">{cells}</tr>')
        if self.label:
            tip = f' title="{esc(self.help)}"' if self.help else ""
            name = f' aria-labelledby="{self.id}-label"'
            caption = f'<div class="stgo-editor-label" id="{self.id}-label"{tip}>' \
                      f'{esc(self.label)}</div>'
        else:
            name, caption = ' aria-label="data editor"', ""
        html = (
            f'{caption}<div class="stgo-dataframe-scroll stgo-editor-scroll" '
            f'data-stgo-style="max-height: {self.height}px">'
            f'<table class="stgo-datatable stgo-editor-table"{name}>'
            f'<thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>'
        )
        if pages > 1:
            last = min(first + self.page_size, len(rows))
            html += (
                '<div class="stgo-pager">'
                f'<button type="button" class="stgo-btn stgo-btn-secondary" data-page="{page - 1}"'
                f'{" disabled" if page == 0 else ""}>\u2039 Previous</button>'
                f'<span class="stgo-page-info">Rows {first + 1}\u2013{last} of {len(rows)}</span>'
                f'<button type="button" class="stgo-btn stgo-btn-secondary" data-page="{page + 1}"'
                f'{" disabled" if page >= pages - 1 else ""}>Next \u203a</button></div>')
        if dynamic:
            full = " disabled" if len(rows) >= self.max_rows else ""
            html += (f'<div class="stgo-editor-bar"><button type="button" id="{self.id}-add" '
                     f'class="stgo-btn stgo-btn-secondary" data-add-row{full}>+ Add row</button>'
                     '</div>')
        return html

    def _cell_html(self, row: int, col: int, column: str, value: Any) -> str:
        """One cell: its value's text if it cannot be edited, else a field
        named for screen readers by column and row."""
        config = self.configs[column]
        num = ' class="stgo-num"' if config.numeric else ""
        if config.disabled or self._locked():
            return f"<td{num}>{esc(config.display(value))}</td>"
        attrs = (f'id="{self.id}-r{row}-c{col}" class="stgo-cell" data-cell '
                 f'data-type="{config.type}" data-column="{esc(column)}" '
                 f'aria-label="{esc(config.label or column)}, row {row + 1}"')
        if config.required:
            attrs += ' aria-required="true"'
        if config.type == "checkbox":
            checked = " checked" if value is True else ""
            return f'<td class="stgo-editor-check"><input type="checkbox" {attrs}{checked}></td>'
        if isinstance(config, SelectColumn):
            chosen = config.index_of(value) if value is not None else -1
            options = "" if config.required and chosen >= 0 else \
                f'<option value=""{" selected" if chosen < 0 else ""}></option>'
            options += "".join(
                f'<option value="{k}"{" selected" if k == chosen else ""}>{esc(o)}</option>'
                for k, o in enumerate(config.options))
            return f"<td><select {attrs}>{options}</select></td>"
        raw = esc(config.to_client(value))
        if config.type == "date":
            bounds = "".join(f' {b}="{getattr(config, b).isoformat()}"' for b in ("min", "max")
                             if getattr(config, b) is not None)
            return f'<td><input type="date" {attrs} value="{raw}"{bounds}></td>'
        extra = ' inputmode="decimal"' if config.numeric else ""
        limit = getattr(config, "max_chars", None)
        if limit:
            extra += f' maxlength="{limit}"'
        return (f'<td{num}><input type="text" {attrs} value="{esc(config.display(value))}" '
                f'data-raw="{raw}" autocomplete="off" spellcheck="false"{extra}></td>')

    def root_attrs(self) -> str:
        return ' data-requires="static/editor.js"'


def _resolved(config: ColumnConfig | None, cells: list[Any]) -> ColumnConfig:
    """A column's configuration with its type settled: given, or from its cells
    (a label-only configuration keeps the type its cells give)."""
    inferred = infer_column(cells)
    if config is None:
        config = inferred
    elif type(config) is ColumnConfig:
        config = replace(inferred, **{f: getattr(config, f) for f in _BASE_FIELDS})
    return whole_numbers(config, cells)
