"""Input widgets: button and text input (the rest of the family comes here too)."""

from __future__ import annotations

from typing import Any, ClassVar

from .base import Handler, InputWidget, StateReader, Widget, esc

__all__ = ["Button", "TextInput"]


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
        visible: bool = True,
    ) -> None:
        super().__init__(key=key, visible=visible)
        self.label = label
        self.type = type
        self.disabled = disabled
        if on_click is not None:
            self.on_click(on_click)

    def on_click(self, fn: Handler) -> Handler:
        """Register ``fn(session, event, value)`` for clicks; usable as a decorator."""
        return self.on("click", fn)

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

    :param max_chars: longest accepted value; ``None`` means no limit.
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
        max_chars: int | None = None,
        placeholder: str = "",
        password: bool = False,
        **kwargs: Any,
    ) -> None:
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
        return value

    def render_body(self, state: StateReader | None) -> str:
        fid = f"{self.id}-in"
        extra = f' maxlength="{self.max_chars}"' if self.max_chars else ""
        if self.placeholder:
            extra += f' placeholder="{esc(self.placeholder)}"'
        if self.disabled:
            extra += " disabled"
        kind = "password" if self.password else self.input_type
        return (
            f"{self.label_html(fid)}"
            f'<input id="{fid}" type="{kind}" data-event="change" '
            f'value="{esc(self.value_for(state))}"{extra}>'
        )
