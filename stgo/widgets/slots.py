"""Session slots: a place in the shared layout whose content is per session.

Global widgets are the same for everybody, and session widgets used to come
after all of them.  A :class:`Slot` is a global widget that holds, for each
session, that session's own container::

    slot = app.session_slot("my_vote")      # here, between shared widgets
    ...
    def voted(session, event, value):
        slot.for_session(session).success(f"You voted {value}")

``slot.for_session(session)`` returns a :class:`SlotContent`: an ordinary
container owned by the session (its widgets are private, their events run in
that session, a change reaches only that session's tabs) that is drawn
inside the slot instead of at the end of the page.

Why this shape rather than a callback that draws the slot: the content is
then a live container like any other, changed in place from handlers or
background threads with partial updates, instead of being redrawn whole.
"""

from __future__ import annotations

from typing import Any, ClassVar

from .base import StateReader, Widget
from .layout import Container

__all__ = ["Slot", "SlotContent"]


class SlotContent(Container):
    """One session's content of a :class:`Slot`; fill it like any container."""

    kind: ClassVar[str] = "slot_content"

    def __init__(self, slot: Slot, *, key: str | None = None) -> None:
        super().__init__(key=key)
        self.slot = slot

    def __enter__(self) -> SlotContent:
        return self

    @property
    def mount(self) -> str:
        """The DOM id of the element this content is drawn in (the slot's)."""
        return self.slot.id


class Slot(Widget):
    """A global widget showing each session its own :class:`SlotContent`."""

    kind: ClassVar[str] = "slot"

    def for_session(self, session: Any) -> SlotContent:
        """*session*'s container in this slot, made (empty) on first use."""
        with self._lock:  # two threads asking at once get the same one
            found = self.content_for(session)
            if found is None:
                found = SlotContent(self)
                session.add_widget(found)
            return found

    def content_for(self, state: StateReader | None) -> SlotContent | None:
        """*state*'s content, if it has any."""
        for widget in getattr(state, "widgets", ()):
            if isinstance(widget, SlotContent) and widget.slot is self:
                return widget
        return None

    def clear_for(self, session: Any) -> None:
        """Empty *session*'s content of this slot."""
        content = self.content_for(session)
        if content is not None:
            content.clear()

    @property
    def per_session(self) -> bool:
        return True

    def render_body(self, state: StateReader | None) -> str:
        content = self.content_for(state)
        inner = content.render(state) if content is not None else ""
        return f'<div class="stgo-slot-body" data-children>{inner}</div>'
