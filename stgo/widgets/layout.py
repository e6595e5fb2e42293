"""Containers: widgets that hold other widgets and offer the factory methods."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from .base import Notify, StateReader, Widget
from .factory import WidgetFactory

__all__ = ["Container", "Factory"]


class Factory(WidgetFactory):
    """The full factory: content widgets plus layout containers."""

    def container(self, *, border: bool = False, **kwargs: Any) -> Container:
        """Add a container (optionally bordered) and return it to fill."""
        return self._make(Container(border=border, **kwargs))


class Container(Widget, Factory):
    """A box of widgets, optionally with a border.

    Use the factory methods on it (``box.text("hi")``) or :meth:`add`; a
    ``with box:`` block is only for readability.
    """

    kind: ClassVar[str] = "container"

    def __init__(self, *, border: bool = False, key: str | None = None, visible: bool = True) -> None:
        super().__init__(key=key, visible=visible)
        self.border = border
        self._children: list[Widget] = []

    def __enter__(self) -> Container:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    @property
    def children(self) -> list[Widget]:
        """A copy of the children, in order."""
        with self._lock:
            return list(self._children)

    def add(self, widget: Widget) -> Widget:
        """Append *widget* and push the insert to whoever sees this container."""
        with self._lock:
            if widget.parent is not None or widget.attached:
                from ..errors import WidgetError

                raise WidgetError(f"{widget!r} is already on a page")
            self._children.append(widget)
            widget.parent = self
            notify = self._notify
        if notify is not None:
            widget.attach(self, notify)
            notify(widget, "insert")
        return widget

    def _add(self, widget: Widget) -> Widget:
        return self.add(widget)

    def remove_child(self, widget: Widget) -> bool:
        """Remove a direct child; return whether it was there."""
        with self._lock:
            if widget not in self._children:
                return False
            self._children.remove(widget)
            notify = self._notify
        if notify is not None:
            notify(widget, "remove")
        widget.detach()
        return True

    def clear(self) -> None:
        """Remove every child."""
        for child in self.children:
            self.remove_child(child)

    def attach(self, parent: Container | None, notify: Notify) -> None:
        super().attach(parent, notify)
        for child in self.children:
            child.attach(self, notify)

    def detach(self) -> None:
        for child in self.children:
            child.detach()
        super().detach()

    def walk(self) -> Iterator[Widget]:
        yield self
        for child in self.children:
            yield from child.walk()

    @property
    def per_session(self) -> bool:
        return any(child.per_session for child in self.children)

    def render_children(self, state: StateReader | None) -> str:
        return "".join(child.render(state) for child in self.children)

    def render_body(self, state: StateReader | None) -> str:
        cls = "stgo-box stgo-border" if self.border else "stgo-box"
        return f'<div class="{cls}" data-children>{self.render_children(state)}</div>'
