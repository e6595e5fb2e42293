"""Input widgets: button, text input, text area, checkbox, number input, slider.

The choice widgets (selectbox, radio) are in :mod:`.choice`.  Every value a
client sends goes through :meth:`~stgo.widgets.base.InputWidget.validate`:
a wrong type or an out-of-range number is refused, never stored.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any, ClassVar

from ..errors import WidgetError
from .base import _SURROGATE, Handler, InputWidget, StateReader, Widget, esc, positive_int

__all__ = [
    "Button", "TextInput", "TextArea", "Checkbox", "NumberInput", "Slider",
    "DEFAULT_MAX_CHARS", "DEFAULT_MAX_CHARS_AREA",
]

#: A text input's default ``max_chars``: state a client can grow is bounded
#: unless the app asks for more (``max_chars=None`` for no limit).
DEFAULT_MAX_CHARS = 10_000
#: A text area's default ``max_chars``.
DEFAULT_MAX_CHARS_AREA = 100_000


class Button(Widget):
    """A push button.  Handlers get ``(session, "click", True)``.

    :param label: the button's text.
    :param kind_: ``"primary"`` or ``"secondary"`` (styling).
    """

    kind: ClassVar[str] = "button"
    events: ClassVar[tuple[str, ...]] = ("click",)

    def __init__(
        self,
        label: str,
        *,
        key: str | None = None,
        type: str = "secondary",
        disabled: bool = False,
        on_click: Handler | None = None,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
        visible: bool = True,
    ) -> None:
        super().__init__(key=key, visible=visible)
        self.label = label
        self.type = type
        self.disabled = disabled
        if on_click is not None:
            self.on_click(on_click, args=args, kwargs=kwargs)

    def on_click(
        self, fn: Handler | None = None, *, args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        """Register ``fn(session, event, value)`` for clicks; usable as a decorator
        (``@b.on_click`` or ``@b.on_click(args=(row,))``)."""
        return self._register("click", fn, args, kwargs)

    def on_change(
        self, fn: Handler | None = None, *, args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        """Same as :meth:`on_click`: a button's only change is being clicked."""
        return self._register("click", fn, args, kwargs)

    def set_disabled(self, disabled: bool = True) -> None:
        """Grey the button out (or enable it again) and push that."""
        self.disabled = bool(disabled)
        self.changed()

    def set_label(self, label: str) -> None:
        """Change the button's text and push it."""
        self.label = label
        self.changed()

    def coerce(self, event: str, value: Any) -> Any:
        super().coerce(event, value)
        return True

    def render_body(self, state: StateReader | None) -> str:
        disabled = " disabled" if self.disabled else ""
        return (
            f'<button type="button" class="stgo-btn stgo-btn-{esc(self.type)}" '
            f'data-event="click"{disabled}>{esc(self.label)}</button>'
        )


class TextInput(InputWidget):
    """A one-line text field.  Sends ``change`` on Enter, blur and typing pauses.

    :param max_chars: longest accepted value in characters
        (:data:`DEFAULT_MAX_CHARS`, 10,000); ``None`` means no limit.
    :param placeholder: grey hint shown while empty.
    :param password: hide what is typed.
    """

    kind: ClassVar[str] = "text_input"
    input_type: ClassVar[str] = "text"

    def __init__(
        self,
        label: str,
        value: str = "",
        *,
        max_chars: int | None = DEFAULT_MAX_CHARS,
        placeholder: str = "",
        password: bool = False,
        **kwargs: Any,
    ) -> None:
        if max_chars is not None and not positive_int(max_chars):
            raise WidgetError(f"max_chars must be a positive int or None, got {max_chars!r}")
        self.max_chars = max_chars
        super().__init__(label, value, **kwargs)
        self.placeholder = placeholder
        self.password = password

    def empty_value(self) -> Any:
        return ""

    def validate(self, value: Any) -> Any:
        if not isinstance(value, str):
            raise TypeError(f"expected text, got {type(value).__name__}")
        if self.max_chars is not None and len(value) > self.max_chars:
            raise ValueError(f"at most {self.max_chars} characters")
        if not value.isascii() and _SURROGATE.search(value):
            raise ValueError("text must be valid Unicode: a lone surrogate is not")
        return value

    def _text_attrs(self) -> str:
        """The field's ``maxlength`` and ``placeholder`` attributes (text area too)."""
        extra = f' maxlength="{self.max_chars}"' if self.max_chars else ""
        if self.placeholder:
            extra += f' placeholder="{esc(self.placeholder)}"'
        return extra

    def render_body(self, state: StateReader | None) -> str:
        fid = f"{self.id}-in"
        extra = self._text_attrs()
        if self.disabled:
            extra += " disabled"
        kind = "password" if self.password else self.input_type
        return (
            f"{self.label_html(fid)}"
            f'<input id="{fid}" type="{kind}" data-event="change" '
            f'value="{esc(self.value_for(state))}"{extra}>'
        )


class TextArea(TextInput):
    """A multi-line text field.  Sends ``change`` on blur and typing pauses.

    :param height: the box's height in CSS pixels; ``None`` for the default.
    :param rows: visible text lines (3).
    :param max_chars: longest accepted value (:data:`DEFAULT_MAX_CHARS_AREA`,
        100,000); ``None`` means no limit.
    """

    kind: ClassVar[str] = "text_area"

    def __init__(
        self, label: str, value: str = "", *, height: int | None = None, rows: int = 3,
        max_chars: int | None = DEFAULT_MAX_CHARS_AREA, placeholder: str = "", **kwargs: Any,
    ) -> None:
        super().__init__(label, value, max_chars=max_chars, placeholder=placeholder, **kwargs)
        self.height = height
        self.rows = rows

    def render_body(self, state: StateReader | None) -> str:
        fid = f"{self.id}-in"
        extra = self._text_attrs()
        if self.height:
            extra += f' data-stgo-style="height: {int(self.height)}px"'
        if self.disabled:
            extra += " disabled"
        return (
            f"{self.label_html(fid)}"
            f'<textarea id="{fid}" rows="{int(self.rows)}" data-event="change"{extra}>'
            f"{esc(self.value_for(state))}</textarea>"
        )


class Checkbox(InputWidget):
    """A box to tick; its value is ``True`` or ``False``."""

    kind: ClassVar[str] = "checkbox"
    # More attributes of its <input> (a toggle's role and class).
    _input_attrs: ClassVar[str] = ""

    def __init__(self, label: str, value: bool = False, **kwargs: Any) -> None:
        super().__init__(label, value, **kwargs)

    def empty_value(self) -> Any:
        return False

    def validate(self, value: Any) -> Any:
        if not isinstance(value, bool):
            raise TypeError(f"expected true or false, got {type(value).__name__}")
        return value

    def render_body(self, state: StateReader | None) -> str:
        fid = f"{self.id}-in"
        checked = " checked" if self.value_for(state) is True else ""
        disabled = " disabled" if self.disabled else ""
        return (
            f'<input id="{fid}" type="checkbox"{self._input_attrs} '
            f'data-event="change"{checked}{disabled}>{self.label_html(fid)}'
        )


Num = int | float


def _is_num(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _fmt(value: Any) -> str:
    return repr(value) if isinstance(value, float) else str(value)


def _exact(n: Num) -> Fraction:
    # A float as the decimal it prints as (0.1 is 1/10, not 0.1000000000000000055...):
    # that is the number the user typed and the browser's step arithmetic uses.
    return Fraction(repr(n)) if isinstance(n, float) else Fraction(n)


#: Largest magnitude a whole-number input takes: beyond 2**53 a browser's
#: numbers are no longer exact integers.
_LARGEST = 2**53


class _Numeric(InputWidget):
    """Shared checks of number input and slider: int or float, within bounds.

    The type is float when any of the numbers given is a float, else int.
    """

    min_value: Num | None
    max_value: Num | None
    step: Num
    is_float: bool

    def _setup(self, numbers: dict[str, Any]) -> None:
        for name, n in numbers.items():
            if n is not None and not (_is_num(n) and math.isfinite(n)):
                raise WidgetError(f"{name} must be a finite int or float, got {n!r}")
        self.is_float = any(isinstance(n, float) for n in numbers.values())
        lo, hi = numbers.get("min_value"), numbers.get("max_value")
        if lo is not None and hi is not None and lo > hi:
            raise WidgetError(f"min_value {lo} is above max_value {hi}")
        step = numbers.get("step")
        if step is not None and step <= 0:
            raise WidgetError(f"step must be positive, got {step}")

    #: Where steps count from: *min_value*, else the initial value (as in
    #: HTML); ``None`` while the initial value itself is being checked.
    _step_base: Num | None = None

    def validate(self, value: Any) -> Any:
        return self._number(value, on_step=True)

    def program_value(self, value: Any) -> Any:
        # As Streamlit does: the app may start (or set) the input off the step
        # grid (slider("Separation", 0.7, 2.0, 0.7885)); only a browser's
        # value must be on a step, as the element's own arithmetic keeps it.
        return self._number(value, on_step=False)

    def _number(self, value: Any, *, on_step: bool) -> Any:
        """*value* checked and of this input's type; off-step refused if *on_step*."""
        if not _is_num(value):
            raise TypeError(f"expected a number, got {type(value).__name__}")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError("expected a finite number")
        # Exact comparisons: a 400-digit int must be refused with a message,
        # not raise OverflowError on the way to a float.
        exact = _exact(value)
        lo, hi = self.min_value, self.max_value
        if lo is not None and exact < _exact(lo):
            raise ValueError(f"{_fmt(value)} is below the minimum {_fmt(lo)}")
        if hi is not None and exact > _exact(hi):
            raise ValueError(f"{_fmt(value)} is above the maximum {_fmt(hi)}")
        if not self.is_float and abs(exact) > _LARGEST:
            raise ValueError(f"{_fmt(value)} is too large for a whole-number input")
        if self.is_float:
            try:
                value = float(value)
            except OverflowError:
                raise ValueError(f"{_fmt(value)} is too large") from None
        elif isinstance(value, float):
            if not value.is_integer():
                raise ValueError(f"expected a whole number, got {value}")
            value = int(value)
        base = self.min_value if self.min_value is not None else self._step_base
        # The initial value may be off-step; a number field sends it back unchanged.
        initial: Any = getattr(self, "default", None)
        if not on_step or (_is_num(initial) and exact == _exact(initial)):
            return value
        if base is not None and ((exact - _exact(base)) / _exact(self.step)).denominator != 1:
            raise ValueError(
                f"{_fmt(value)} is not on a step of {_fmt(self.step)} from {_fmt(base)}"
            )
        return value

    def _as_type(self, n: Num) -> Num:
        return float(n) if self.is_float else n

    def _step_or_default(self, step: Num | None) -> Num:
        return self._as_type(step if step is not None else (0.01 if self.is_float else 1))

    def _bounds_html(self) -> str:
        out = ""
        if self.min_value is not None:
            out += f' min="{_fmt(self.min_value)}"'
        if self.max_value is not None:
            out += f' max="{_fmt(self.max_value)}"'
        return out + f' step="{_fmt(self.step)}"'


class NumberInput(_Numeric):
    """A number field with optional bounds and a step for its arrows.

    :param value: initial value; ``None`` means *min_value*, or 0.
    :param min_value: smallest accepted value; ``None`` for no bound.
    :param max_value: largest accepted value; ``None`` for no bound.
    :param step: arrow-key step (1, or 0.01 for floats).
    """

    kind: ClassVar[str] = "number_input"

    def __init__(
        self, label: str, value: Num | None = None, *, min_value: Num | None = None,
        max_value: Num | None = None, step: Num | None = None, **kwargs: Any,
    ) -> None:
        self._setup({"value": value, "min_value": min_value, "max_value": max_value,
                     "step": step})
        self.min_value = None if min_value is None else self._as_type(min_value)
        self.max_value = None if max_value is None else self._as_type(max_value)
        self.step = self._step_or_default(step)
        super().__init__(label, value, **kwargs)
        self._step_base = self.default

    def empty_value(self) -> Any:
        return self._as_type(self.min_value if self.min_value is not None else 0)

    def render_body(self, state: StateReader | None) -> str:
        fid = f"{self.id}-in"
        disabled = " disabled" if self.disabled else ""
        return (
            f"{self.label_html(fid)}"
            f'<input id="{fid}" type="number" data-event="change" '
            f'value="{esc(_fmt(self.value_for(state)))}"{self._bounds_html()}{disabled}>'
        )


class Slider(_Numeric):
    """A slider between two bounds; an ``<output>`` shows the value.

    :param min_value: the left end (0, or 0.0 for floats).
    :param max_value: the right end (100, or 1.0 for floats).
    :param step: the value's granularity (1, or 0.01 for floats).
    :param value: initial value; ``None`` means *min_value*.
    """

    kind: ClassVar[str] = "slider"

    def __init__(
        self, label: str, min_value: Num | None = None, max_value: Num | None = None,
        value: Num | None = None, *, step: Num | None = None, **kwargs: Any,
    ) -> None:
        self._setup({"value": value, "min_value": min_value, "max_value": max_value,
                     "step": step})
        self._set_range(min_value, max_value, step)
        super().__init__(label, value, **kwargs)

    def _set_range(self, min_value: Num | None, max_value: Num | None,
                   step: Num | None) -> None:
        """The ends (0 to 100, or 0.0 to 1.0 for floats) and step, once
        :meth:`_setup` checked them; a range slider's too."""
        lo = self._as_type(min_value if min_value is not None else 0)
        hi = self._as_type(max_value if max_value is not None else (1 if self.is_float else 100))
        if lo >= hi:
            raise WidgetError(f"slider min_value {lo} must be below max_value {hi}")
        self.min_value, self.max_value = lo, hi
        self.step = self._step_or_default(step)

    def empty_value(self) -> Any:
        return self.min_value

    def render_body(self, state: StateReader | None) -> str:
        fid = f"{self.id}-in"
        value = esc(_fmt(self.value_for(state)))
        disabled = " disabled" if self.disabled else ""
        return (
            f"{self.label_html(fid)}"
            f'<div class="stgo-slider-row"><input id="{fid}" type="range" data-event="change" '
            f'value="{value}"{self._bounds_html()}{disabled}>'
            f'<output class="stgo-slider-value" for="{fid}">{value}</output></div>'
        )
