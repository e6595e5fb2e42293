"""Choice widgets: selectbox and radio, one option out of a list.

The value (in session state, in handlers) is the option itself.  On the wire
the client speaks in option *indexes*: it sends the index of the chosen
option, and a value push tells it which index to select.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, ClassVar

from ..errors import ProtocolError, WidgetError
from .base import InputWidget, StateReader, esc

__all__ = ["Choice", "Selectbox", "Radio"]


#: ``value=`` not given (``value=None`` means "nothing chosen").
_UNSET: Any = object()


def _same(a: Any, b: Any) -> bool:
    # True == 1 in Python, but a bool option and an int option are different choices.
    return a is b or (isinstance(a, bool) == isinstance(b, bool) and bool(a == b))


def _index(options: Sequence[Any], value: Any) -> int:
    """The index of the option equal to *value*, or -1 (the pickers' too)."""
    for i, option in enumerate(options):
        if _same(option, value):
            return i
    return -1


def _options(options: Iterable[Any]) -> list[Any]:
    """*options* as a list, checked (the pickers' too)."""
    if isinstance(options, (str, bytes)):
        raise WidgetError("options must be a list of choices, not one string")
    return list(options)


class Choice(InputWidget):
    """Base of the one-of-many inputs.

    :param options: the choices, any values; shown with *format_func*.
    :param index: the option chosen at first (0); ``None`` for none chosen.
    :param value: the option chosen at first, instead of *index*;
        ``value=None`` also means none chosen.
    :param format_func: turns an option into its visible text (``str``).

    With nothing chosen the value is ``None`` until the user picks an option;
    ``session.set(key, None)`` clears a choice again.
    """

    def __init__(
        self,
        label: str,
        options: Iterable[Any] = (),
        index: int | None = 0,
        *,
        value: Any = _UNSET,
        format_func: Callable[[Any], Any] = str,
        **kwargs: Any,
    ) -> None:
        self._options = _options(options)
        if value is None:
            index = None
        self._index = self._check_index(index, self._options)
        self.format_func = format_func
        super().__init__(label, None if value is _UNSET else value, **kwargs)

    @staticmethod
    def _check_index(index: int | None, options: list[Any]) -> int | None:
        if index is None:
            return None
        if isinstance(index, bool) or not isinstance(index, int):
            raise WidgetError(f"index must be an int or None, got {index!r}")
        if options and not 0 <= index < len(options):
            raise WidgetError(f"index {index} is outside the {len(options)} options")
        return index

    @property
    def options(self) -> list[Any]:
        """A copy of the options."""
        return list(self._options)

    def index_of(self, value: Any) -> int:
        """The index of the option equal to *value*, or -1."""
        return _index(self._options, value)

    def empty_value(self) -> Any:
        if self._index is None or not self._options:
            return None
        return self._options[self._index]

    def validate(self, value: Any) -> Any:
        if value is None and self.index_of(None) < 0:
            return None  # nothing chosen
        i = self.index_of(value)
        if i < 0:
            raise ValueError(f"{value!r} is not one of the options")
        return self._options[i]

    def coerce(self, event: str, value: Any) -> Any:
        """A client sends the chosen option's index (an int); an equal option is also taken."""
        if event not in self.events:
            raise ProtocolError(f"widget {self.key!r} has no event {event!r}")
        if isinstance(value, int) and not isinstance(value, bool):
            if 0 <= value < len(self._options):
                return self._options[value]
            raise ProtocolError(f"bad value for {self.key!r}: no option number {value}")
        if isinstance(value, (str, float)) and self.index_of(value) >= 0:
            return self._options[self.index_of(value)]
        raise ProtocolError(f"bad value for {self.key!r}: expected an option index")

    def value_for(self, state: StateReader | None) -> Any:
        value = super().value_for(state)
        # A value from before set_options() that is gone now shows as the default.
        return value if self.index_of(value) >= 0 else self.default

    def client_value(self, state: StateReader | None) -> Any:
        """The index of the chosen option (-1: none), as the client selects it."""
        return self.index_of(self.value_for(state))

    def set_options(self, options: Iterable[Any], index: int | None = 0) -> None:
        """Offer other options and push them.

        The default becomes ``options[index]`` (none chosen for ``None``); a
        session whose chosen value is no longer offered sees the default.
        """
        opts = _options(options)
        index = self._check_index(index, opts)
        with self._lock:
            self._options = opts
            self._index = index
            self.default = self.empty_value()
            if self.index_of(self._shared_value) < 0:
                self._shared_value = self.default
        self.changed()

    def option_text(self, option: Any) -> str:
        """The escaped visible text of *option*."""
        return esc(self.format_func(option))


class Selectbox(Choice):
    """A drop-down list (``<select>``)."""

    kind: ClassVar[str] = "selectbox"

    def __init__(self, label: str, options: Iterable[Any] = (), index: int | None = 0, *,
                 placeholder: str = "Choose an option", **kwargs: Any) -> None:
        super().__init__(label, options, index, **kwargs)
        #: Shown while nothing is chosen.
        self.placeholder = placeholder

    def render_body(self, state: StateReader | None) -> str:
        fid = f"{self.id}-in"
        chosen = self.client_value(state)
        items = "".join(
            f'<option value="{i}"{" selected" if i == chosen else ""}>'
            f"{self.option_text(o)}</option>"
            for i, o in enumerate(self._options)
        )
        if chosen < 0:
            # Without it the browser would show (not choose) the first option.
            # Last, so that option indexes stay those of the options.
            say = ' data-say="choose"' if self.placeholder == "Choose an option" else ""
            items += (f'<option value="" selected disabled hidden{say}>'
                      f'{esc(self.placeholder)}</option>')
        disabled = " disabled" if self.disabled else ""
        return (
            f'{self.label_html(fid)}<select id="{fid}" data-event="change"{disabled}>'
            f"{items}</select>"
        )


class Radio(Choice):
    """Radio buttons in a ``<fieldset>``, one ``<label>`` per option.

    :param horizontal: lay the options out in a row.
    """

    kind: ClassVar[str] = "radio"

    def __init__(self, label: str, options: Iterable[Any] = (), index: int | None = 0, *,
                 horizontal: bool = False, **kwargs: Any) -> None:
        super().__init__(label, options, index, **kwargs)
        self.horizontal = horizontal

    def render_body(self, state: StateReader | None) -> str:
        chosen = self.client_value(state)
        disabled = " disabled" if self.disabled else ""
        items = []
        for i, option in enumerate(self._options):
            rid = f"{self.id}-r{i}"
            checked = " checked" if i == chosen else ""
            items.append(
                f'<div class="stgo-radio-option"><input type="radio" id="{rid}" '
                f'name="{self.id}" value="{i}" data-event="change"{checked}>'
                f'<label for="{rid}">{self.option_text(option)}</label></div>'
            )
        row = " stgo-horizontal" if self.horizontal else ""
        tip = f' title="{esc(self.help)}"' if self.help else ""
        return (
            f'<fieldset class="stgo-radio-group{row}"{disabled}>'
            f"<legend{tip}>{esc(self.label)}</legend>{''.join(items)}</fieldset>"
        )
