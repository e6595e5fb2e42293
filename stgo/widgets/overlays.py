"""Overlays and progress of long callbacks: dialog, popover, status.

A :class:`Dialog` is a modal container that each session opens and closes
for itself (``dialog.open(session)``); a :class:`Popover` is a button that
unfolds a small container in the browser; a :class:`Status` is an expandable
box that shows the steps of a long callback *while it runs*: each change to
it is pushed at once instead of at the end of the callback.

Toasts and spinners are not widgets: they are short-lived client messages,
sent by ``session.toast(...)`` / ``app.toast(...)`` and
``with session.spinner(...)`` (see :mod:`stgo.session`).
"""

from __future__ import annotations

import weakref
from typing import Any, ClassVar

from ..errors import ProtocolError, WidgetError
from .base import Handler, StateReader, Widget, esc
from .layout import Container

__all__ = ["Dialog", "Popover", "Status", "STATUS_STATES"]

#: What a :class:`Status` can show.
STATUS_STATES = ("running", "complete", "error")
_STATUS_ICONS = {"running": "\u23f3", "complete": "\u2714", "error": "\u2716"}


class Dialog(Container):
    """A modal dialog (``<dialog>``) that each session opens and closes for itself.

    Its content is the same for whoever opens it (a dialog made on a session
    is private, like any session widget).  The user closes it with Escape or
    its close button; ``@dialog.on_dismiss`` handlers then run.

    :param title: the heading at the top of the dialog.
    :param dismissible: whether the user may close it (Escape, the x button);
        with ``False`` only :meth:`close` does.
    """

    kind: ClassVar[str] = "dialog"
    events: ClassVar[tuple[str, ...]] = ("close",)

    def __init__(
        self, title: str, *, dismissible: bool = True, key: str | None = None,
        visible: bool = True,
    ) -> None:
        super().__init__(key=key, visible=visible)
        #: The heading (``title`` is the factory method that adds a title widget).
        self.label = title
        self.dismissible = dismissible
        self._open: weakref.WeakSet[Any] = weakref.WeakSet()

    def __enter__(self) -> Dialog:
        return self

    def is_open(self, session: Any) -> bool:
        """Whether *session*'s tabs show the dialog."""
        with self._lock:
            return session in self._open

    def open(self, session: Any) -> None:
        """Show the dialog on every tab of *session* (only there)."""
        self._set_open(session, True)

    def close(self, session: Any) -> None:
        """Close the dialog on every tab of *session*."""
        self._set_open(session, False)

    def _set_open(self, session: Any, opened: bool) -> None:
        if not self.attached:
            raise WidgetError(f"{self!r} is not on a page: add it before opening it")
        with self._lock:
            if opened:
                self._open.add(session)
            else:
                self._open.discard(session)
        session.send_client({"type": "dialog", "id": self.id, "open": opened})

    def shown_to(self, state: Any) -> bool:
        """Shown only to the sessions that opened it (any, with *state* ``None``):
        what it holds takes no events from the others."""
        return self.visible and (state is None or self.is_open(state))

    def on_dismiss(self, fn: Handler) -> Handler:
        """Register ``fn(session, event, value)``, run when the user closes the dialog."""
        return self.on("close", fn)

    def coerce(self, event: str, value: Any) -> Any:
        super().coerce(event, value)
        if not self.dismissible:
            raise ProtocolError(f"dialog {self.key!r} can only be closed by the app")
        return True

    def receive(self, session: Any, event: str, value: Any) -> Any:
        self._set_open(session, False)  # its other tabs close it too
        return value

    @property
    def per_session(self) -> bool:
        return True

    def render_body(self, state: StateReader | None) -> str:
        opened = " data-open" if state is not None and self.is_open(state) else ""
        close = (
            '<button type="button" class="stgo-dialog-close" data-dialog-close '
            'aria-label="Close" data-say-label="close">\u00d7</button>' if self.dismissible else ""
        )
        tid = f"{self.id}-title"
        return (
            f'<dialog class="stgo-dialog-box" aria-labelledby="{tid}"{opened}>'
            f'<div class="stgo-dialog-head"><h2 id="{tid}">{esc(self.label)}</h2>{close}</div>'
            f'<div class="stgo-dialog-body" data-children>{self.render_children(state)}</div>'
            "</dialog>"
        )


class Popover(Container):
    """A button that unfolds a small floating container (``<details>``).

    Opening and closing happen in the browser, as for an expander.

    :param label: the button's text.
    """

    kind: ClassVar[str] = "popover"

    def __init__(self, label: str, *, key: str | None = None, visible: bool = True) -> None:
        super().__init__(key=key, visible=visible)
        self.label = label

    def __enter__(self) -> Popover:
        return self

    def set_label(self, label: str) -> None:
        """Change the button's text and push it."""
        self.label = label
        self.changed()

    def render_body(self, state: StateReader | None) -> str:
        return (
            '<details class="stgo-popover-details">'
            f'<summary class="stgo-btn stgo-btn-secondary">{esc(self.label)}</summary>'
            f'<div class="stgo-popover-body" data-children>{self.render_children(state)}</div>'
            "</details>"
        )


class Status(Container):
    """An expandable box for the steps of a long callback, pushed as they happen.

    Everything done to it (a step added inside, :meth:`update`) reaches the
    browser at once, even in the middle of a callback whose other changes
    wait for its end.  As a context manager it ends ``"complete"``, or
    ``"error"`` if the block raised::

        with session.status("Downloading...") as status:
            status.write("Fetching the list")
            ...
            status.update(label="Done")

    :param label: the text on the box.
    :param state: ``"running"`` (a spinner), ``"complete"`` or ``"error"``.
    :param expanded: shown open.
    """

    # Not "status": the class stgo-status is the page's connection banner.
    kind: ClassVar[str] = "status_box"

    def __init__(
        self, label: str, *, state: str = "running", expanded: bool = False,
        key: str | None = None, visible: bool = True,
    ) -> None:
        super().__init__(key=key, visible=visible)
        self.label = label
        self.state = _state(state)
        self.expanded = expanded

    def __enter__(self) -> Status:
        self.changed("flush")
        return self

    def __exit__(self, *exc: object) -> None:
        self.update(state="error" if exc and exc[0] is not None else "complete")

    def update(
        self, *, label: str | None = None, state: str | None = None,
        expanded: bool | None = None,
    ) -> None:
        """Change the label, state or openness, and push it now."""
        with self._lock:
            if label is not None:
                self.label = label
            if state is not None:
                self.state = _state(state)
            if expanded is not None:
                self.expanded = expanded
        self.changed()
        self.changed("flush")

    def _adopt(self, widget: Widget) -> Widget:
        added = super()._adopt(widget)
        self.changed("flush")
        return added

    def render_body(self, state: StateReader | None) -> str:
        opened = " open" if self.expanded else ""
        icon = (
            '<span class="stgo-spinner" aria-hidden="true"></span>' if self.state == "running"
            else f'<span class="stgo-status-icon" aria-hidden="true">'
                 f"{_STATUS_ICONS[self.state]}</span>"
        )
        return (
            f'<details class="stgo-expander-details stgo-status-{self.state}"{opened}>'
            f'<summary class="stgo-expander-label">{icon}'
            f'<span aria-live="polite">{esc(self.label)}</span>'
            "</summary>"
            f'<div class="stgo-expander-body" data-children>{self.render_children(state)}</div>'
            "</details>"
        )


def _state(state: str) -> str:
    if state not in STATUS_STATES:
        raise WidgetError(f"status state must be one of {list(STATUS_STATES)}, got {state!r}")
    return state
