"""Richer inputs: date, time, multiselect, toggle, colour, select slider, range slider.

Each checks on the server what its element can send (a browser's ``min`` and
``max`` are hints a hand-written frame ignores): dates and times in ISO form
within bounds, options by index, a range in order.  A bad value is refused
with an error to that tab and never reaches state or handlers.

Widgets made of several elements (a range has two ends, a multiselect one
box per option) mark their root ``data-compound``; the client sends the
values of their ``[data-part]`` elements as one list.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

from ..errors import ProtocolError, WidgetError
from .base import InputWidget, StateReader, esc, positive_int
from .choice import _index, _options
from .inputs import Checkbox, Num, Slider, _fmt

__all__ = [
    "DateInput", "TimeInput", "Multiselect", "Toggle", "ColorPicker", "SelectSlider",
    "RangeSlider",
]


def _as_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a date (YYYY-MM-DD)") from None
    raise TypeError(f"expected a date, got {type(value).__name__}")


class DateInput(InputWidget):
    """A date picker (``<input type="date">``), or two for a range.

    :param value: a :class:`datetime.date` (``None``: today), or a
        ``(start, end)`` tuple for a range, whose value is then a tuple too.
    :param min_value: earliest accepted date; ``None`` for no bound.
    :param max_value: latest accepted date; ``None`` for no bound.
    :param today: what "today" is when *value* is ``None`` (injectable).
    """

    kind: ClassVar[str] = "date_input"

    def __init__(
        self, label: str, value: Any = None, *, min_value: dt.date | None = None,
        max_value: dt.date | None = None, today: Callable[[], dt.date] = dt.date.today,
        **kwargs: Any,
    ) -> None:
        self.is_range = isinstance(value, (tuple, list))
        self.min_value = None if min_value is None else _as_date(min_value)
        self.max_value = None if max_value is None else _as_date(max_value)
        if self.min_value and self.max_value and self.min_value > self.max_value:
            raise WidgetError(f"min_value {self.min_value} is after max_value {self.max_value}")
        self._today = today
        super().__init__(label, tuple(value) if self.is_range else value, **kwargs)

    def empty_value(self) -> Any:
        today = self._today()
        if self.min_value and today < self.min_value:
            today = self.min_value
        if self.max_value and today > self.max_value:
            today = self.max_value
        return (today, today) if self.is_range else today

    def _one(self, value: Any) -> dt.date:
        day = _as_date(value)
        if self.min_value is not None and day < self.min_value:
            raise ValueError(f"{day} is before the earliest date {self.min_value}")
        if self.max_value is not None and day > self.max_value:
            raise ValueError(f"{day} is after the latest date {self.max_value}")
        return day

    def validate(self, value: Any) -> Any:
        if not self.is_range:
            return self._one(value)
        if not isinstance(value, (tuple, list)) or len(value) != 2:
            raise TypeError("expected a (start, end) pair of dates")
        start, end = self._one(value[0]), self._one(value[1])
        if start > end:
            raise ValueError(f"the start {start} is after the end {end}")
        return (start, end)

    def to_client(self, value: Any) -> Any:
        if self.is_range and isinstance(value, (tuple, list)):
            return [v.isoformat() if isinstance(v, dt.date) else v for v in value]
        return value.isoformat() if isinstance(value, dt.date) else value

    def _field(self, fid: str, value: dt.date, part: bool, label: str = "") -> str:
        extra = ""
        if self.min_value is not None:
            extra += f' min="{self.min_value.isoformat()}"'
        if self.max_value is not None:
            extra += f' max="{self.max_value.isoformat()}"'
        if self.disabled:
            extra += " disabled"
        if part:
            extra += f' data-part aria-label="{esc(self.label)}: {label}"'
        return (f'<input id="{fid}" type="date" data-event="change" '
                f'value="{value.isoformat()}"{extra}>')

    def render_body(self, state: StateReader | None) -> str:
        value = self.value_for(state)
        if not self.is_range:
            fid = f"{self.id}-in"
            return self.label_html(fid) + self._field(fid, value, False)
        start, end = value
        return (
            f"{self.label_html(self.id + '-in')}<div class=\"stgo-range-row\">"
            f"{self._field(self.id + '-in', start, True, 'start')}"
            '<span class="stgo-range-sep" aria-hidden="true">\u2013</span>'
            f"{self._field(self.id + '-in2', end, True, 'end')}</div>"
        )

    def root_attrs(self) -> str:
        return ' data-compound="list"' if self.is_range else ""


_TIME = re.compile(r"\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?")


class TimeInput(InputWidget):
    """A time-of-day field (``<input type="time">``); the value is a :class:`datetime.time`.

    :param value: the initial time; ``None`` means 00:00.
    :param step: granularity in seconds or a :class:`datetime.timedelta` (60:
        minutes; below 60 shows seconds); the arrow keys move by it.
    """

    kind: ClassVar[str] = "time_input"

    def __init__(self, label: str, value: dt.time | None = None, *,
                 step: int | dt.timedelta = 60, **kwargs: Any) -> None:
        if isinstance(step, dt.timedelta):
            step = int(step.total_seconds())
        if isinstance(step, bool) or not isinstance(step, int) or step < 1:
            raise WidgetError(f"step must be a positive number of seconds, got {step!r}")
        self.step = step
        super().__init__(label, value, **kwargs)

    def empty_value(self) -> Any:
        return dt.time(0, 0)

    def validate(self, value: Any) -> Any:
        if isinstance(value, dt.datetime):
            value = value.time()
        if isinstance(value, str):
            if not _TIME.fullmatch(value):
                raise ValueError(f"{value!r} is not a time (HH:MM or HH:MM:SS)")
            try:
                value = dt.time.fromisoformat(value)
            except ValueError:
                raise ValueError(f"{value!r} is not a time of day") from None
        if not isinstance(value, dt.time):
            raise TypeError(f"expected a time, got {type(value).__name__}")
        return value.replace(tzinfo=None)

    def to_client(self, value: Any) -> Any:
        if isinstance(value, dt.time):
            return value.isoformat("seconds" if self.step < 60 else "minutes")
        return value

    def render_body(self, state: StateReader | None) -> str:
        fid = f"{self.id}-in"
        disabled = " disabled" if self.disabled else ""
        return (
            f"{self.label_html(fid)}<input id=\"{fid}\" type=\"time\" data-event=\"change\" "
            f'step="{self.step}" value="{esc(self.client_value(state))}"{disabled}>'
        )


class Multiselect(InputWidget):
    """Several options out of a list, one check box each; the value is the list
    of chosen options, in the options' order.

    :param options: the choices, any values; shown with *format_func*.
    :param default: the options chosen at first (none).
    :param max_selections: most options one may choose; ``None`` for no limit.
    """

    kind: ClassVar[str] = "multiselect"

    def __init__(
        self, label: str, options: Iterable[Any] = (), default: Iterable[Any] | None = None,
        *, max_selections: int | None = None, format_func: Callable[[Any], Any] = str,
        **kwargs: Any,
    ) -> None:
        self._options = _options(options)
        if max_selections is not None and not positive_int(max_selections):
            raise WidgetError(f"max_selections must be a positive int, got {max_selections!r}")
        self.max_selections = max_selections
        self.format_func = format_func
        chosen = None if default is None else list(_options(default))
        super().__init__(label, chosen, **kwargs)

    @property
    def options(self) -> list[Any]:
        """A copy of the options."""
        return list(self._options)

    def empty_value(self) -> Any:
        return []

    def validate(self, value: Any) -> Any:
        if not isinstance(value, (list, tuple)):
            raise TypeError(f"expected a list of options, got {type(value).__name__}")
        picked: set[int] = set()
        for item in value:
            i = _index(self._options, item)
            if i < 0:
                raise ValueError(f"{item!r} is not one of the options")
            if i in picked:
                raise ValueError(f"{item!r} is chosen twice")
            picked.add(i)
        if self.max_selections is not None and len(picked) > self.max_selections:
            raise ValueError(f"at most {self.max_selections} options")
        return [self._options[i] for i in sorted(picked)]

    def coerce(self, event: str, value: Any) -> Any:
        """A client sends the chosen options' indexes."""
        if event not in self.events:
            raise ProtocolError(f"widget {self.key!r} has no event {event!r}")
        if not isinstance(value, list) or not all(
            isinstance(i, int) and not isinstance(i, bool) for i in value
        ):
            raise ProtocolError(f"bad value for {self.key!r}: expected a list of option indexes")
        if any(not 0 <= i < len(self._options) for i in value):
            raise ProtocolError(f"bad value for {self.key!r}: no such option number")
        return super().coerce(event, [self._options[i] for i in value])

    def to_client(self, value: Any) -> Any:
        if isinstance(value, (list, tuple)):
            return [_index(self._options, v) if _index(self._options, v) >= 0 else v
                    for v in value]
        return value

    def root_attrs(self) -> str:
        return ' data-compound="checked"'

    def render_body(self, state: StateReader | None) -> str:
        chosen = set(self.client_value(state))
        disabled = " disabled" if self.disabled else ""
        items = []
        for i, option in enumerate(self._options):
            oid = f"{self.id}-o{i}"
            checked = " checked" if i in chosen else ""
            items.append(
                f'<label class="stgo-chip" for="{oid}"><input type="checkbox" id="{oid}" '
                f'value="{i}" data-part data-event="change"{checked}>'
                f"{esc(self.format_func(option))}</label>"
            )
        tip = f' title="{esc(self.help)}"' if self.help else ""
        limit = (f' data-max="{self.max_selections}"' if self.max_selections else "")
        return (
            f'<fieldset class="stgo-multiselect-group"{limit}{disabled}>'
            f"<legend{tip}>{esc(self.label)}</legend>{''.join(items)}</fieldset>"
        )


class Toggle(Checkbox):
    """An on/off switch (a check box with ``role="switch"``); ``True`` or ``False``."""

    kind: ClassVar[str] = "toggle"
    _input_attrs: ClassVar[str] = ' role="switch" class="stgo-switch"'


_COLOR = re.compile(r"#[0-9a-fA-F]{6}")


class ColorPicker(InputWidget):
    """A colour well (``<input type="color">``); the value is ``"#rrggbb"`` (lower case).

    :param value: the initial colour (``"#000000"``).
    """

    kind: ClassVar[str] = "color_picker"

    def __init__(self, label: str, value: str | None = None, **kwargs: Any) -> None:
        super().__init__(label, value, **kwargs)

    def empty_value(self) -> Any:
        return "#000000"

    def validate(self, value: Any) -> Any:
        if not isinstance(value, str):
            raise TypeError(f"expected a colour, got {type(value).__name__}")
        if not _COLOR.fullmatch(value):
            raise ValueError(f"{value!r} is not a colour like #1f77b4")
        return value.lower()

    def render_body(self, state: StateReader | None) -> str:
        fid = f"{self.id}-in"
        disabled = " disabled" if self.disabled else ""
        value = esc(self.value_for(state))
        return (
            f'{self.label_html(fid)}<div class="stgo-color-row"><input id="{fid}" type="color" '
            f'data-event="change" value="{value}"{disabled}>'
            f'<output class="stgo-color-value" for="{fid}">{value}</output></div>'
        )


class SelectSlider(InputWidget):
    """A slider over a list of options (sizes, ratings); the value is the option.

    :param options: the stops, left to right.
    :param value: the option chosen at first (the first), or a ``(low, high)``
        pair of options for a range with two handles, whose value is a tuple.
    """

    kind: ClassVar[str] = "select_slider"

    def __init__(
        self, label: str, options: Iterable[Any] = (), value: Any = None, *,
        format_func: Callable[[Any], Any] = str, **kwargs: Any,
    ) -> None:
        self._options = _options(options)
        if not self._options:
            raise WidgetError("select_slider() needs at least one option")
        self.format_func = format_func
        self.is_range = isinstance(value, tuple)
        super().__init__(label, value, **kwargs)

    @property
    def options(self) -> list[Any]:
        """A copy of the options."""
        return list(self._options)

    def empty_value(self) -> Any:
        return self._options[0]

    def _one(self, value: Any) -> int:
        i = _index(self._options, value)
        if i < 0:
            raise ValueError(f"{value!r} is not one of the options")
        return i

    def validate(self, value: Any) -> Any:
        if not self.is_range:
            return self._options[self._one(value)]
        if not isinstance(value, (tuple, list)) or len(value) != 2:
            raise TypeError("expected a (low, high) pair of options")
        low, high = self._one(value[0]), self._one(value[1])
        if low > high:
            raise ValueError(f"{value[0]!r} comes after {value[1]!r}")
        return (self._options[low], self._options[high])

    def _stop(self, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ProtocolError(f"bad value for {self.key!r}: expected an option index")
        if not 0 <= value < len(self._options):
            raise ProtocolError(f"bad value for {self.key!r}: no option number {value}")
        return self._options[value]

    def coerce(self, event: str, value: Any) -> Any:
        """A client sends the chosen stop's index (a pair of them for a range)."""
        if event not in self.events:
            raise ProtocolError(f"widget {self.key!r} has no event {event!r}")
        if not self.is_range:
            return self._stop(value)
        if not isinstance(value, list) or len(value) != 2:
            raise ProtocolError(f"bad value for {self.key!r}: expected two option indexes")
        return super().coerce(event, (self._stop(value[0]), self._stop(value[1])))

    def to_client(self, value: Any) -> Any:
        if self.is_range and isinstance(value, (tuple, list)):
            return [self.to_client_one(v) for v in value]
        return self.to_client_one(value)

    def to_client_one(self, value: Any) -> Any:
        """The index of one option (as the element sends it)."""
        i = _index(self._options, value)
        return i if i >= 0 else value

    def root_attrs(self) -> str:
        return ' data-compound="list"' if self.is_range else ""

    def render_body(self, state: StateReader | None) -> str:
        chosen = self.client_value(state)
        stops = chosen if self.is_range else [chosen]
        names = [str(self.format_func(o)) for o in self._options]
        disabled = " disabled" if self.disabled else ""
        # The visible text of each stop rides along so the client can show it while dragging.
        labels = esc(json.dumps(names, ensure_ascii=False))
        fields = []
        for n, index in enumerate(stops):
            fid = f"{self.id}-in" if n == 0 else f"{self.id}-in2"
            part = ""
            if self.is_range:
                part = f' data-part aria-label="{esc(self.label)}: {("low", "high")[n]}"'
            fields.append(
                f'<input id="{fid}" type="range" data-event="change" min="0" '
                f'max="{len(names) - 1}" step="1" value="{index}" '
                f'aria-valuetext="{esc(names[index])}" data-labels="{labels}"{part}{disabled}>'
            )
        shown = " \u2013 ".join(esc(names[i]) for i in stops)
        row = "stgo-slider-row stgo-range-row" if self.is_range else "stgo-slider-row"
        return (
            f"{self.label_html(self.id + '-in')}<div class=\"{row}\">{''.join(fields)}"
            f'<output class="stgo-slider-value" for="{self.id}-in">{shown}</output></div>'
        )


class RangeSlider(Slider):
    """A slider with two handles; the value is a ``(low, high)`` tuple.

    ``app.slider(..., value=(a, b))`` makes one.  Same bounds and step as
    :class:`~stgo.widgets.inputs.Slider`.
    """

    kind: ClassVar[str] = "range_slider"

    def __init__(
        self, label: str, min_value: Num | None = None, max_value: Num | None = None,
        value: tuple[Num, Num] | None = None, *, step: Num | None = None, **kwargs: Any,
    ) -> None:
        if value is not None and (not isinstance(value, (tuple, list)) or len(value) != 2):
            raise WidgetError(f"a range slider's value is a (low, high) pair, got {value!r}")
        numbers = {"min_value": min_value, "max_value": max_value, "step": step}
        if value is not None:
            numbers.update(low=value[0], high=value[1])
        self._setup(numbers)
        self._set_range(min_value, max_value, step)
        InputWidget.__init__(self, label, None if value is None else tuple(value), **kwargs)

    def empty_value(self) -> Any:
        return (self.min_value, self.max_value)

    def validate(self, value: Any) -> Any:
        return self._pair(value, on_step=True)

    def program_value(self, value: Any) -> Any:
        return self._pair(value, on_step=False)

    def _pair(self, value: Any, *, on_step: bool) -> Any:
        if not isinstance(value, (tuple, list)) or len(value) != 2:
            raise TypeError("expected a (low, high) pair of numbers")
        low = self._number(value[0], on_step=on_step)
        high = self._number(value[1], on_step=on_step)
        if low > high:
            raise ValueError(f"the low end {_fmt(low)} is above the high end {_fmt(high)}")
        return (low, high)

    def to_client(self, value: Any) -> Any:
        return list(value) if isinstance(value, tuple) else value

    def root_attrs(self) -> str:
        return ' data-compound="list"'

    def render_body(self, state: StateReader | None) -> str:
        low, high = self.value_for(state)
        disabled = " disabled" if self.disabled else ""
        ends = []
        for n, (end, value) in enumerate((("low", low), ("high", high))):
            fid = f"{self.id}-in" if n == 0 else f"{self.id}-in2"
            ends.append(
                f'<input id="{fid}" type="range" data-event="change" data-part '
                f'aria-label="{esc(self.label)}: {end}" value="{esc(_fmt(value))}"'
                f"{self._bounds_html()}{disabled}>"
            )
        return (
            f"{self.label_html(self.id + '-in')}<div class=\"stgo-slider-row stgo-range-row\">"
            f"{ends[0]}{ends[1]}<output class=\"stgo-slider-value\">"
            f"{esc(_fmt(low))} \u2013 {esc(_fmt(high))}</output></div>"
        )
