"""Forms: inputs that send nothing until the user submits them all at once.

Inside a :class:`Form`, the client keeps what the user types or picks to
itself: no event, no state change, no handler.  Pressing the form's submit
button (or Enter in a one-line text field) sends one ``submit`` event whose
value maps each input's DOM id to what its element holds.  The server checks
**every** value first; one bad value refuses the whole submit (state
unchanged, one error naming each bad field).  Then the values are stored in
one batch and ``@form.on_submit`` handlers run with ``{key: value}``.

The client also keeps a draft safe: a value pushed from elsewhere (another
tab of the same session) never overwrites a field the user has edited since
the last submit, and the submit button stays disabled until the server
acknowledges the submit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from ..errors import ProtocolError, WidgetError
from .base import InputWidget, StateReader, Widget, check_callback, esc
from .inputs import Button
from .layout import Container

__all__ = ["Form", "SubmitButton", "SubmitHandler"]

#: ``fn(session, values)`` with ``values`` = ``{key: value}`` of every input in the form.
SubmitHandler = Callable[[Any, dict[str, Any]], None]


class SubmitButton(Button):
    """A form's submit button: pressing it sends the whole form.

    Its own ``on_click`` handlers run after the form's ``on_submit`` ones, with
    ``value`` the submitted ``{key: value}`` dict.
    """

    kind: ClassVar[str] = "submit_button"

    def __init__(self, label: str = "Submit", *, type: str = "primary", **kwargs: Any) -> None:
        super().__init__(label, type=type, **kwargs)

    def coerce(self, event: str, value: Any) -> Any:
        """Refused: pressing it sends the form's ``submit`` event instead."""
        raise ProtocolError(f"{self.key!r} submits its form: send the form's submit event")

    def render_body(self, state: StateReader | None) -> str:
        disabled = " disabled" if self.disabled else ""
        return (
            f'<button type="button" class="stgo-btn stgo-btn-{esc(self.type)}" '
            f'data-form-submit{disabled}>{esc(self.label)}</button>'
        )


class Form(Container):
    """A container whose inputs are sent together, on submit.

    :param key: the form's name (required, unique on the page).
    :param clear_on_submit: after a successful submit, put every input of the
        form back to its initial value.
    :param border: draw a border around it (on by default, like Streamlit's).
    :param enter_to_submit: Enter in a one-line field submits the form (on).
    """

    kind: ClassVar[str] = "form"
    events: ClassVar[tuple[str, ...]] = ("submit",)

    def __init__(
        self, key: str, *, clear_on_submit: bool = False, border: bool = True,
        enter_to_submit: bool = True, visible: bool = True,
    ) -> None:
        if not isinstance(key, str) or not key:
            raise WidgetError("a form needs a key: app.form('signup')")
        super().__init__(border=border, key=key, visible=visible)
        self.clear_on_submit = clear_on_submit
        self.enter_to_submit = enter_to_submit

    def __enter__(self) -> Form:
        return self

    def _adopt(self, widget: Widget) -> Widget:
        for w in widget.walk():
            if w.kind == "data_editor":  # (it sends each edit as it is made)
                raise WidgetError(f"{w!r} cannot be in form {self.key!r}: put it beside the form")
            if isinstance(w, InputWidget) and w.handlers("change"):
                raise WidgetError(
                    f"{w!r} is in form {self.key!r}: its value comes with the submit, so "
                    "it has no change events; use @form.on_submit instead of on_change"
                )
        return super()._adopt(widget)

    # -- building -------------------------------------------------------------

    def submit_button(self, label: str = "Submit", **kwargs: Any) -> SubmitButton:
        """Add the button that submits the form."""
        return self._make(SubmitButton(label, **kwargs))

    def form(self, key: str, **kwargs: Any) -> Form:
        """Forms do not nest."""
        raise WidgetError("a form cannot hold another form; add it beside this one")

    def on_submit(self, fn: SubmitHandler) -> SubmitHandler:
        """Register ``fn(session, values)``, run after a valid submit; usable as a decorator.

        *values* maps each input's key to its new value.
        """
        check_callback(fn, ("session", "values"), "an on_submit handler")

        def handler(session: Any, event: str, value: Any) -> None:
            fn(session, dict(value))

        handler.__qualname__ = getattr(fn, "__qualname__", repr(fn))
        self._handlers.setdefault("submit", []).append(handler)
        return fn

    # -- what the form holds ----------------------------------------------------

    def inputs(self) -> list[InputWidget]:
        """Every input in the form, nested containers included, in page order."""
        return [w for w in self.walk() if isinstance(w, InputWidget)]

    def submit_buttons(self) -> list[SubmitButton]:
        """The form's submit buttons."""
        return [w for w in self.walk() if isinstance(w, SubmitButton)]

    # -- events -----------------------------------------------------------------

    def refusal(self, state: StateReader | None = None) -> str | None:
        """As for any widget; and a form whose submit buttons are all disabled
        or hidden cannot be submitted (nor one without any, unless Enter
        submits it): the user has nothing to press."""
        refused = super().refusal(state)
        if refused is not None:
            return refused
        buttons = self.submit_buttons()
        if any(b.refusal(state) is None for b in buttons):
            return None
        if not buttons and self.enter_to_submit:
            return None
        what = " that is enabled and shown" if buttons else ""
        return f"form {self.key!r} has no submit button{what}"

    def coerce(self, event: str, value: Any) -> Any:
        """Check every submitted value; return ``{key: value}`` or refuse them all.

        A client sends ``{widget id: element value}``; an input it leaves out
        keeps its value.
        """
        if event not in self.events:
            raise ProtocolError(f"widget {self.key!r} has no event {event!r}")
        if not isinstance(value, dict):
            raise ProtocolError(f"bad submit for form {self.key!r}: expected an object")
        by_id = {w.id: w for w in self.inputs()}
        unknown = [k for k in value if k not in by_id]
        if unknown:
            raise ProtocolError(f"bad submit for form {self.key!r}: no input {unknown[0]!r}")
        values: dict[str, Any] = {}
        problems: list[str] = []
        for wid, raw in value.items():
            widget = by_id[wid]
            if widget.refusal() is not None:
                continue  # a disabled or hidden field (or one in a hidden box) cannot change
            try:
                values[widget.key] = widget.coerce("change", raw)
            except ProtocolError as exc:
                problems.append(f"{widget.label or widget.key}: {_reason(exc)}")
        if problems:
            raise ProtocolError(f"form {self.key!r} not submitted: " + "; ".join(problems))
        return values

    def receive(self, session: Any, event: str, value: Any) -> Any:
        """Store every submitted value (the dispatcher's batch pushes them as one);
        the handlers get ``{key: value}`` of every input in the form."""
        for widget in self.inputs():
            # A field the session is not shown (in a dialog it has not
            # opened) keeps its value, as a hidden one does.
            if widget.key in value and widget.refusal(session) is None:
                widget.apply(session, value[widget.key])
        return self.values_for(session)

    def values_for(self, state: StateReader | None) -> dict[str, Any]:
        """``{key: value}`` of every input as *state* (a session) sees it."""
        return {w.key: w.value_for(state) for w in self.inputs()}

    def after_event(self, session: Any, event: str, value: Any) -> None:
        """Once the handlers are done: clear the inputs if asked."""
        if self.clear_on_submit:
            for widget in self.inputs():
                if widget.shared:
                    widget.set_value(widget.default)
                else:
                    session.set(widget.key, widget.default)

    def root_attrs(self) -> str:
        return "" if self.enter_to_submit else " data-no-enter"

    def handlers(self, event: str) -> list[Callable[..., None]]:
        """For ``"submit"``: the form's handlers, then its buttons' click handlers."""
        found = super().handlers(event)
        if event == "submit":
            for button in self.submit_buttons():
                found.extend(button.handlers("click"))
        return found


def _reason(exc: ProtocolError) -> str:
    # "bad value for 'age': 5 is below the minimum 18" -> "5 is below the minimum 18"
    text = str(exc)
    _, sep, rest = text.partition(": ")
    return rest if sep else text


def form_of(widget: Widget) -> Form | None:
    """The form *widget* sits in, if any."""
    node = widget.parent
    while node is not None:
        if isinstance(node, Form):
            return node
        node = node.parent
    return None
