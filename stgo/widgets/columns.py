"""Column configuration, shared by ``dataframe`` (how a column is shown) and
``data_editor`` (how it is shown, edited and checked).

A :class:`ColumnConfig` says a column's label, help, width, whether it is
hidden, disabled or required, and for the editor which values a cell takes.
Every value a client sends for a cell goes through :meth:`ColumnConfig.check`
as an input widget's value goes through ``validate``: a wrong type, a number
out of range, an option not offered, text too long or not matching the
pattern is refused with a message naming the column, never stored.

The public constructors are in :mod:`stgo.column` (``stgo.column.number(...)``).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

from ..errors import WidgetError
from .base import _SURROGATE, esc, positive_int
from .choice import _index, _options
from .data import format_cell
from .inputs import _LARGEST, _exact, _fmt, _is_num

__all__ = [
    "ColumnConfig", "TextColumn", "NumberColumn", "CheckboxColumn", "SelectColumn",
    "DateColumn", "column_configs", "unknown_columns", "infer_column", "whole_numbers",
    "DEFAULT_CELL_CHARS", "WIDTHS",
]

#: A text cell's default ``max_chars``: what one cell of a client's draft may grow to.
DEFAULT_CELL_CHARS = 1_000
#: Named widths (a column's ``width=`` may also be a number of CSS pixels).
WIDTHS = {"small": 75, "medium": 200, "large": 400}

# Streamlit's named number formats, as stgo shows them.
_NUMBER_PRESETS = {
    "plain": lambda v: _fmt(v),
    "localized": lambda v: f"{v:,}",
    "percent": lambda v: f"{v * 100:.2f}%",
    "dollar": lambda v: f"${v:,.2f}" if v >= 0 else f"-${-v:,.2f}",
    "euro": lambda v: f"\u20ac{v:,.2f}" if v >= 0 else f"-\u20ac{-v:,.2f}",
    "scientific": lambda v: f"{v:.3E}",
}


@dataclass(frozen=True)
class ColumnConfig:
    """How one column is shown and edited (make one with :mod:`stgo.column`).

    :param label: the header's text (the column's name if ``None``).
    :param help: a tooltip on the header.
    :param disabled: shown but not editable in a data editor.
    :param required: an edit may not empty a cell of this column (new rows
        start with *default*, which may be empty until filled in).
    :param width: ``"small"``, ``"medium"``, ``"large"`` or CSS pixels.
    :param hidden: not shown at all (nor editable).
    :param default: the value of this column in a row the user adds.
    """

    #: The type of cell, as the client knows it.
    type: ClassVar[str] = "text"

    label: str | None = None
    help: str | None = None
    disabled: bool = False
    required: bool = False
    width: str | int | None = None
    hidden: bool = False
    default: Any = None

    def __post_init__(self) -> None:
        if self.width is not None and self.width not in WIDTHS and not positive_int(self.width):
            raise WidgetError(f'width must be "small", "medium", "large" or a number of pixels, '
                              f"got {self.width!r}")
        if self.label is not None and not isinstance(self.label, str):
            raise WidgetError(f"label must be text, got {self.label!r}")
        if self.default is not None:
            try:
                object.__setattr__(self, "default", self.check_value(self.default))
            except (TypeError, ValueError) as exc:
                raise WidgetError(f"bad default {self.default!r}: {exc}") from None

    # -- values ----------------------------------------------------------------------------

    def check(self, value: Any) -> Any:
        """*value* as this column keeps it, or raise ``ValueError``/``TypeError``
        saying why not (``None``, an empty cell, unless :attr:`required`)."""
        if value is None or (value == "" and self.type != "text"):
            if self.required:
                raise ValueError("a value is required")
            return None
        return self.check_value(value)

    def check_value(self, value: Any) -> Any:
        """A non-empty *value* checked; subclasses override."""
        return value

    def from_client(self, value: Any) -> Any:
        """What a browser sends for a cell, as :meth:`check` takes it."""
        return value

    def to_client(self, value: Any) -> str:
        """A cell's value as the text its field holds while edited."""
        return format_cell(value)

    def display(self, value: Any) -> str:
        """A cell's value as the table shows it."""
        return format_cell(value)

    @property
    def numeric(self) -> bool:
        """Whether the column is right-aligned."""
        return False

    def header_html(self, name: str, extra: str = "", *, numeric: bool | None = None) -> str:
        """The column's ``<th>`` (label, help, width); *extra* attributes, each
        with a leading space; right-aligned if *numeric* (``None``: if a number column)."""
        tip = f' title="{esc(self.help)}"' if self.help else ""
        width = WIDTHS.get(self.width, self.width) if isinstance(self.width, str) else self.width
        style = f' data-stgo-style="min-width: {int(width)}px"' if width else ""
        cls = ' class="stgo-num"' if (self.numeric if numeric is None else numeric) else ""
        return f'<th scope="col"{cls}{tip}{style}{extra}>{esc(self.label or name)}</th>'


@dataclass(frozen=True)
class TextColumn(ColumnConfig):
    """Text cells.

    :param max_chars: the longest text a cell takes (:data:`DEFAULT_CELL_CHARS`).
    :param validate: a regular expression the whole text must match.
    """

    max_chars: int | None = DEFAULT_CELL_CHARS
    validate: str | None = None
    _pattern: re.Pattern[str] | None = field(default=None, init=False, repr=False,
                                            compare=False)

    def __post_init__(self) -> None:
        if self.max_chars is not None and not positive_int(self.max_chars):
            raise WidgetError(f"max_chars must be a positive int or None, got {self.max_chars!r}")
        if self.validate is not None:
            try:
                object.__setattr__(self, "_pattern", re.compile(self.validate))
            except (re.error, TypeError) as exc:
                raise WidgetError(f"validate must be a regular expression: {exc}") from None
        super().__post_init__()

    def check(self, value: Any) -> Any:
        if value == "" and self.required:
            raise ValueError("a value is required")
        return super().check(value)

    def check_value(self, value: Any) -> Any:
        if not isinstance(value, str):
            raise TypeError(f"expected text, got {type(value).__name__}")
        if self.max_chars is not None and len(value) > self.max_chars:
            raise ValueError(f"at most {self.max_chars} characters")
        if not value.isascii() and _SURROGATE.search(value):
            raise ValueError("text must be valid Unicode: a lone surrogate is not")
        if self._pattern is not None and value and self._pattern.fullmatch(value) is None:
            raise ValueError(f"{value[:40]!r} does not match {self.validate}")
        return value


@dataclass(frozen=True)
class NumberColumn(ColumnConfig):
    """Number cells, right-aligned.

    :param format: a printf-style format (``"$%.2f"``, ``"%d %%"``), a
        ``str.format`` one (``"{:,.1f}"``), or one of ``"plain"``,
        ``"localized"``, ``"percent"``, ``"dollar"``, ``"euro"``, ``"scientific"``.
    :param min: the smallest value a cell takes; ``None`` for no bound.
    :param max: the largest; ``None`` for no bound.
    :param step: values must lie on steps of *step* from *min* (or 0); a
        whole *step* (or whole numbers in the data) makes a whole-number column.
    """

    type: ClassVar[str] = "number"

    format: str | None = None
    min: int | float | None = None
    max: int | float | None = None
    step: int | float | None = None
    #: Whole numbers only; ``None``: decided from *step* and the data.
    whole: bool | None = None

    def __post_init__(self) -> None:
        for name in ("min", "max", "step"):
            n = getattr(self, name)
            if n is not None and not (_is_num(n) and math.isfinite(n)):
                raise WidgetError(f"{name} must be a finite int or float, got {n!r}")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise WidgetError(f"min {self.min} is above max {self.max}")
        if self.step is not None and self.step <= 0:
            raise WidgetError(f"step must be positive, got {self.step}")
        if self.format is not None:
            if not isinstance(self.format, str):
                raise WidgetError(f"format must be text, got {self.format!r}")
            try:
                self._formatted(1.5)
            except (TypeError, ValueError, KeyError, IndexError) as exc:
                raise WidgetError(f"bad number format {self.format!r}: {exc}") from None
        super().__post_init__()

    @property
    def numeric(self) -> bool:
        return True

    def check_value(self, value: Any) -> Any:
        if not _is_num(value):
            shown = repr(value[:40]) if isinstance(value, str) else type(value).__name__
            raise TypeError(f"expected a number, got {shown}")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError("expected a finite number")
        exact = _exact(value)
        if self.min is not None and exact < _exact(self.min):
            raise ValueError(f"{_fmt(value)} is below the minimum {_fmt(self.min)}")
        if self.max is not None and exact > _exact(self.max):
            raise ValueError(f"{_fmt(value)} is above the maximum {_fmt(self.max)}")
        if abs(exact) > _LARGEST:
            raise ValueError(f"{_fmt(value)} is too large")
        if self.step is not None:
            base = _exact(self.min) if self.min is not None else 0
            if ((exact - base) / _exact(self.step)).denominator != 1:
                raise ValueError(f"{_fmt(value)} is not on a step of {_fmt(self.step)}")
        if self.whole:
            if isinstance(value, float) and not value.is_integer():
                raise ValueError(f"expected a whole number, got {_fmt(value)}")
            return int(value)
        if self.whole is False:
            return float(value)  # (a browser sends 2.0 as 2)
        return value

    def to_client(self, value: Any) -> str:
        return _fmt(value) if _is_num(value) else format_cell(value)

    def display(self, value: Any) -> str:
        if not _is_num(value) or (isinstance(value, float) and math.isnan(value)):
            return format_cell(value)
        try:
            return self._formatted(value)
        except (TypeError, ValueError, KeyError, IndexError, OverflowError):
            return format_cell(value)

    def _formatted(self, value: int | float) -> str:
        fmt = self.format
        if fmt is None:
            return format_cell(value)
        preset = _NUMBER_PRESETS.get(fmt)
        if preset is not None:
            return preset(value)
        if "{" in fmt:
            return fmt.format(value)
        return fmt % value


@dataclass(frozen=True)
class CheckboxColumn(ColumnConfig):
    """True/false cells, edited with a checkbox."""

    type: ClassVar[str] = "checkbox"

    def check_value(self, value: Any) -> Any:
        if not isinstance(value, bool):
            raise TypeError(f"expected true or false, got {type(value).__name__}")
        return value

    def display(self, value: Any) -> str:
        return "\u2713" if value is True else ("" if value is None else "\u2717")


@dataclass(frozen=True)
class SelectColumn(ColumnConfig):
    """Cells holding one of *options* (any values, shown as ``str``).

    A browser sends the option's index; an equal option is also taken.
    """

    type: ClassVar[str] = "select"

    options: tuple[Any, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "options", tuple(_options(self.options)))
        if not self.options:
            raise WidgetError("a select column needs options")
        super().__post_init__()

    def check_value(self, value: Any) -> Any:
        i = _index(self.options, value)
        if i < 0:
            raise ValueError(f"{str(value)[:40]!r} is not one of the options")
        return self.options[i]

    def from_client(self, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            if 0 <= value < len(self.options):
                return self.options[value]
            raise ValueError(f"no option number {value}")
        return value

    def index_of(self, value: Any) -> int:
        """The index of the option equal to *value*, or -1."""
        return _index(self.options, value)


def _as_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{value[:40]!r} is not a date (YYYY-MM-DD)") from None
    raise TypeError(f"expected a date, got {type(value).__name__}")


@dataclass(frozen=True)
class DateColumn(ColumnConfig):
    """Date cells (:class:`datetime.date`), edited with a date field.

    :param min: the earliest date a cell takes (a date or ``"YYYY-MM-DD"``).
    :param max: the latest.
    """

    type: ClassVar[str] = "date"

    min: dt.date | str | None = None
    max: dt.date | str | None = None

    def __post_init__(self) -> None:
        for name in ("min", "max"):
            bound = getattr(self, name)
            if bound is not None:
                try:
                    object.__setattr__(self, name, _as_date(bound))
                except (TypeError, ValueError) as exc:
                    raise WidgetError(f"bad {name}: {exc}") from None
        lo, hi = self.min, self.max
        if isinstance(lo, dt.date) and isinstance(hi, dt.date) and lo > hi:
            raise WidgetError(f"min {lo} is after max {hi}")
        super().__post_init__()

    def check_value(self, value: Any) -> Any:
        day = _as_date(value)
        if isinstance(self.min, dt.date) and day < self.min:
            raise ValueError(f"{day} is before the earliest date {self.min}")
        if isinstance(self.max, dt.date) and day > self.max:
            raise ValueError(f"{day} is after the latest date {self.max}")
        return day

    def to_client(self, value: Any) -> str:
        return value.isoformat() if isinstance(value, dt.date) else format_cell(value)

    def display(self, value: Any) -> str:
        return self.to_client(value)


def _all(cells: Sequence[Any], kind: type | tuple[type, ...]) -> bool:
    filled = [c for c in cells if c is not None]
    return bool(filled) and all(isinstance(c, kind) for c in filled)


def infer_column(cells: Sequence[Any]) -> ColumnConfig:
    """The column a column without configuration is, from its cells: ticks
    for booleans, numbers, dates, else text."""
    if _all(cells, bool):
        return CheckboxColumn()
    if _all(cells, (int, float)) and not any(isinstance(c, bool) for c in cells):
        return NumberColumn()
    if _all(cells, dt.date) and not _all(cells, dt.datetime):
        return DateColumn()
    return TextColumn()


def whole_numbers(config: ColumnConfig, cells: Iterable[Any]) -> ColumnConfig:
    """A number column told whether it holds whole numbers (from its step,
    bounds and cells: all ints make it whole); any other column as it is."""
    if not isinstance(config, NumberColumn) or config.whole is not None:
        return config
    numbers = [config.step, config.min, config.max, *cells]
    whole = not any(isinstance(n, float) for n in numbers if n is not None)
    return replace(config, whole=whole)


def unknown_columns(configs: Mapping[str, Any], names: Sequence[str]) -> None:
    """Refuse a configuration of a column that data with columns *names* lacks
    (a typo); data with no columns yet is not judged.

    :raises WidgetError: naming the first such column.
    """
    unknown = [n for n in configs if n not in names]
    if unknown and names:
        raise WidgetError(f"column_config names {unknown[0]!r}, which the data does not have "
                          f"(its columns: {list(names)})")


def column_configs(config: Mapping[str, Any] | None) -> dict[str, ColumnConfig]:
    """``column_config=`` checked: name to :class:`ColumnConfig`; a plain
    string is a label and ``None`` hides the column (as in Streamlit).

    :raises WidgetError: not a mapping, or a value of another kind.
    """
    if config is None:
        return {}
    if not isinstance(config, Mapping):
        raise WidgetError("column_config must be a dict of column name to stgo.column.*(...)")
    out: dict[str, ColumnConfig] = {}
    for name, value in config.items():
        if value is None:
            value = ColumnConfig(hidden=True)
        elif isinstance(value, str):
            value = ColumnConfig(label=value)
        elif not isinstance(value, ColumnConfig):
            raise WidgetError(
                f"column_config[{name!r}] must be stgo.column.text(...), number(...), "
                f"checkbox(...), select(...), date(...), a label or None; got {value!r}")
        out[str(name)] = value
    return out
