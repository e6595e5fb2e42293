"""Where an input's value lives: ``scope=`` and ``bind=`` of every input.

``scope="session"`` (the default) keeps one value per session, shared by
all of its browser tabs; ``scope="tab"`` one per browser tab, kept through a
reload of that tab.  ``bind="query"`` keeps the value in the tab's URL, as
the query parameter named by the input's key (``?region=north``): per tab,
shareable, reload-safe.  This module checks those options and turns values
into query text and back; the core keeps the values (:mod:`stgo.core.tabvalues`).
"""

from __future__ import annotations

import math
from typing import Any, Protocol

from ..errors import WidgetError

__all__ = ["SCOPES", "BINDS", "checked_scope", "from_query", "to_query"]

#: The values of ``scope=``.
SCOPES = ("session", "tab")
#: The values of ``bind=``.
BINDS = (None, "query")


class _Input(Protocol):
    """What turning query text into a value needs of an input (this module
    is below :mod:`.base`, which uses it)."""

    default: Any

    def program_value(self, value: Any) -> Any: ...


def checked_scope(scope: Any, bind: Any, key: str | None, shared: bool) -> tuple[str, str | None]:
    """``(scope, bind)`` as given, checked.

    :raises WidgetError: an unknown scope or binding, ``bind="query"``
        without a ``key`` (the query parameter's name), or a per-tab value
        on a ``shared=True`` input (one value for everybody).
    """
    if scope not in SCOPES:
        raise WidgetError(f"scope must be one of {list(SCOPES)}, got {scope!r}")
    if bind not in BINDS:
        raise WidgetError(f"bind must be None or 'query', got {bind!r}")
    if bind == "query" and key is None:
        raise WidgetError("bind='query' needs a key=: it names the query parameter")
    if shared and (scope != "session" or bind is not None):
        raise WidgetError("a shared=True input has one value for everybody: "
                          "it takes no scope='tab' or bind='query'")
    return scope, bind


def to_query(value: Any) -> str | None:
    """*value* as query text (``None``: no parameter): options and text as
    ``str()``, ``true``/``false``, dates in ISO form, lists joined by commas."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(to_query(v) or "" for v in value)
    if isinstance(value, float):
        return repr(value)
    isoformat = getattr(value, "isoformat", None)
    return str(isoformat()) if callable(isoformat) else str(value)


def _number(text: str) -> int | float:
    try:
        return int(text)
    except ValueError:
        number = float(text)  # a ValueError for anything else
    if not math.isfinite(number):
        raise ValueError(f"{text!r} is not a finite number")
    return number


def _option(options: list[Any], text: str) -> Any:
    for option in options:
        if to_query(option) == text:
            return option
    raise ValueError(f"{text!r} is not one of the options")


def from_query(widget: _Input, text: str) -> Any:
    """The value of *widget* that the query text *text* stands for, checked
    as a value the app gives (:meth:`~stgo.widgets.base.InputWidget.program_value`).

    :raises ValueError: *text* is no value of this input (not an option, not
        a number, out of bounds...): the caller keeps the default.
    """
    options = getattr(widget, "options", None)
    default = widget.default
    parts = text.split(",") if text else []
    candidate: Any
    if isinstance(options, list):
        if isinstance(default, list):  # a multiselect
            candidate = [_option(options, part) for part in parts]
        elif isinstance(default, tuple):  # a select slider's range
            candidate = tuple(_option(options, part) for part in parts)
        else:
            candidate = _option(options, text)
    elif isinstance(default, bool):
        if text not in ("true", "false"):
            raise ValueError(f"{text!r} is not true or false")
        candidate = text == "true"
    elif isinstance(default, (int, float)):
        candidate = _number(text)
    elif isinstance(default, tuple):  # a range: numbers, or dates in ISO form
        candidate = tuple(_number(p) if isinstance(d, (int, float)) else p
                          for p, d in zip(parts, default, strict=False))
    else:
        candidate = text
    try:
        return widget.program_value(candidate)
    except TypeError as exc:
        raise ValueError(str(exc)) from None
