"""The factory mixin: ``owner.text(...)``, ``owner.button(...)`` and friends.

The App (global widgets), a Session (private widgets) and every container
inherit these methods; each builds a widget and hands it to the owner's
``_add``.  Layout factories (``container``, ``columns`` ...) live with the
containers in :mod:`.layout`, which keeps this module free of an import cycle.
"""

from __future__ import annotations

from typing import Any, TypeVar

from .base import Handler, Widget
from .inputs import Button, TextInput
from .text import Caption, Code, Header, Markdown, Subheader, Text, Title

__all__ = ["WidgetFactory"]

W = TypeVar("W", bound=Widget)


class WidgetFactory:
    """Methods that create a widget and add it to this owner."""

    def _add(self, widget: Widget) -> Widget:  # pragma: no cover - abstract
        raise NotImplementedError

    def _make(self, widget: W) -> W:
        self._add(widget)
        return widget

    # -- text -----------------------------------------------------------------

    def title(self, text: Any, **kwargs: Any) -> Title:
        """Add the page title (``<h1>``)."""
        return self._make(Title(text, **kwargs))

    def header(self, text: Any, *, divider: bool = False, **kwargs: Any) -> Header:
        """Add a section header, optionally with a divider line."""
        return self._make(Header(text, divider=divider, **kwargs))

    def subheader(self, text: Any, **kwargs: Any) -> Subheader:
        """Add a smaller header."""
        return self._make(Subheader(text, **kwargs))

    def text(self, text: Any = "", **kwargs: Any) -> Text:
        """Add a paragraph of plain text."""
        return self._make(Text(text, **kwargs))

    def caption(self, text: Any, **kwargs: Any) -> Caption:
        """Add small, muted text."""
        return self._make(Caption(text, **kwargs))

    def code(self, code: Any, language: str | None = None, **kwargs: Any) -> Code:
        """Add a code block."""
        return self._make(Code(code, language, **kwargs))

    def markdown(self, text: Any, **kwargs: Any) -> Markdown:
        """Add markdown (raw HTML escaped unless ``unsafe_allow_html=True``)."""
        return self._make(Markdown(text, **kwargs))

    # -- input ------------------------------------------------------------------

    def button(self, label: str, *, on_click: Handler | None = None, **kwargs: Any) -> Button:
        """Add a button; register handlers with ``@button.on_click``."""
        return self._make(Button(label, on_click=on_click, **kwargs))

    def text_input(self, label: str, value: str = "", **kwargs: Any) -> TextInput:
        """Add a one-line text field whose value lives in session state."""
        return self._make(TextInput(label, value, **kwargs))
