"""Column configuration for ``app.dataframe(..., column_config=...)`` and
``app.data_editor(..., column_config=...)``::

    app.dataframe(rows, column_config={
        "price": stgo.column.number(format="$%.2f", min=0),
        "sku": stgo.column.text(label="SKU", validate=r"[A-Z]{3}-\\d+"),
        "internal": None,                      # hidden (as hidden=True)
        "qty": "Quantity",                     # a label only
    })

Every constructor takes the common options ``label=``, ``help=``,
``disabled=``, ``required=``, ``width=`` (``"small"``, ``"medium"``,
``"large"`` or pixels), ``hidden=`` and ``default=`` (the value in a row the
user adds).  See docs/widgets.md, "Column configuration".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from .errors import WidgetError
from .widgets.columns import (
    CheckboxColumn,
    ColumnConfig,
    DateColumn,
    NumberColumn,
    SelectColumn,
    TextColumn,
)

__all__ = [
    "text", "number", "checkbox", "select", "date",
    "ColumnConfig", "TextColumn", "NumberColumn", "CheckboxColumn", "SelectColumn", "DateColumn",
]

Num = int | float


def text(label: str | None = None, *, max_chars: int | None = 1_000,
         validate: str | None = None, **options: Any) -> TextColumn:
    """A text column: at most *max_chars* characters a cell, and, with
    *validate*, only text the regular expression matches in full."""
    return TextColumn(label=label, max_chars=max_chars, validate=validate, **options)


def number(label: str | None = None, *, format: str | None = None, min: Num | None = None,
           max: Num | None = None, step: Num | None = None, min_value: Num | None = None,
           max_value: Num | None = None, **options: Any) -> NumberColumn:
    """A number column shown with *format* (``"$%.2f"``, ``"{:,.0f}"``,
    ``"percent"`` ...), taking values from *min* to *max* on steps of *step*
    (``min_value``/``max_value`` are Streamlit's names for the same)."""
    return NumberColumn(label=label, format=format, min=min if min is not None else min_value,
                        max=max if max is not None else max_value, step=step, **options)


def checkbox(label: str | None = None, **options: Any) -> CheckboxColumn:
    """A true/false column, edited with a checkbox."""
    return CheckboxColumn(label=label, **options)


def select(options: Iterable[Any], label: str | None = None, **kwargs: Any) -> SelectColumn:
    """A column whose cells hold one of *options*."""
    if isinstance(options, (str, bytes)):
        raise WidgetError("options must be a list of choices, not one string")
    return SelectColumn(label=label, options=tuple(options), **kwargs)


def date(label: str | None = None, *, min: dt.date | str | None = None,
         max: dt.date | str | None = None, min_value: dt.date | str | None = None,
         max_value: dt.date | str | None = None, **options: Any) -> DateColumn:
    """A date column, from *min* to *max* (dates or ``"YYYY-MM-DD"``)."""
    return DateColumn(label=label, min=min if min is not None else min_value,
                      max=max if max is not None else max_value, **options)
