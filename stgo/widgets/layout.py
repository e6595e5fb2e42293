"""Containers: widgets that hold other widgets.

:class:`Group` is the bare mechanics (children, attach/detach, walk).
:class:`Container` adds the factory methods, so ``box.text("hi")`` works;
:class:`Column` and :class:`Tab` are containers too.  :class:`Columns` and
:class:`Tabs` are groups whose children are fixed at creation: they hold the
columns or tab panels and draw the grid or the tab list around them.

DOM rule the client relies on: the first ``[data-children]`` element inside a
group's root holds that group's own children.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from numbers import Real
from typing import TYPE_CHECKING, Any, ClassVar

from ..errors import WidgetError
from .base import Notify, Parent, StateReader, Widget, esc
from .factory import WidgetFactory
from .media_factory import MediaFactory
from .nav import NavFactory

if TYPE_CHECKING:
    from .chat import ChatInput, ChatMessage
    from .forms import Form
    from .overlays import Dialog, Popover, Status
    from .slots import Slot

__all__ = [
    "Group", "Container", "Column", "Columns", "Expander", "Tab", "Tabs", "Factory",
]

_GAPS = ("small", "medium", "large")


class Group(Widget):
    """A widget with children; the base of every container."""

    kind: ClassVar[str] = "group"

    def __init__(self, *, key: str | None = None, visible: bool = True) -> None:
        super().__init__(key=key, visible=visible)
        self._children: list[Widget] = []

    @property
    def children(self) -> list[Widget]:
        """A copy of the children, in order."""
        with self._lock:
            return list(self._children)

    def _adopt(self, widget: Widget) -> Widget:
        """Append *widget* and push the insert to whoever sees this group.

        :raises WidgetError: *widget* is already on a page, or a key in it is
            already used on this group's page (the owner checks, on
            ``"adopt"``, before anything changes).
        """
        if widget.parent is not None or widget.attached:
            raise WidgetError(f"{widget!r} is already on a page; remove it first or create another")
        notify = self._notify
        if notify is not None:
            notify(widget, "adopt")
        with self._lock:
            if widget.parent is not None or widget.attached:
                raise WidgetError(
                    f"{widget!r} is already on a page; remove it first or create another"
                )
            self._children.append(widget)
            widget.parent = self
            notify = self._notify
        if notify is not None:
            widget.attach(self, notify)
            notify(widget, "insert")
        return widget

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

    def attach(self, parent: Parent | None, notify: Notify) -> None:
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
        """The children's HTML, in order; a chat input last (the client
        inserts new widgets above it too: stgo/static/patch.js)."""
        children = self.children
        last = [c for c in children if c.kind == "chat_input"]
        if last:
            children = [c for c in children if c.kind != "chat_input"] + last
        return "".join(child.render(state) for child in children)


class Factory(WidgetFactory, NavFactory, MediaFactory):
    """The full factory: content widgets plus layout containers."""

    def container(self, *, border: bool = False, **kwargs: Any) -> Container:
        """Add a container (optionally bordered) and return it to fill."""
        return self._make(Container(border=border, **kwargs))

    def columns(
        self, spec: int | Sequence[float], *, gap: str = "small", border: bool = False,
        **kwargs: Any,
    ) -> list[Column]:
        """Add side-by-side columns and return them, left to right.

        :param spec: how many equal columns, or their relative widths
            (``[2, 1]``: the first twice as wide as the second).
        :param gap: ``"small"``, ``"medium"`` or ``"large"`` space between them.
        :param border: draw a border around each column.
        """
        return self._make(Columns(spec, gap=gap, border=border, **kwargs)).columns

    def expander(self, label: str, *, expanded: bool = False, **kwargs: Any) -> Expander:
        """Add a collapsible section (``<details>``) and return it to fill."""
        return self._make(Expander(label, expanded=expanded, **kwargs))

    def tabs(self, labels: Sequence[str], **kwargs: Any) -> list[Tab]:
        """Add a tab set and return its tabs, one per label, to fill.

        Switching tabs happens in the browser; the first tab is shown first.
        """
        return self._make(Tabs(labels, **kwargs)).tabs

    # The containers below live in modules that import this one (they are
    # Containers), hence the imports inside the methods: the one import
    # circle of the widgets, kept on purpose (docs/architecture.md).

    def form(self, key: str, *, clear_on_submit: bool = False, enter_to_submit: bool = True,
             **kwargs: Any) -> Form:
        """Add a form: its inputs are sent together when its submit button is pressed."""
        from .forms import Form

        return self._make(Form(key, clear_on_submit=clear_on_submit,
                               enter_to_submit=enter_to_submit, **kwargs))

    def dialog(self, title: str, **kwargs: Any) -> Dialog:
        """Add a modal dialog, shown per session with ``dialog.open(session)``."""
        from .overlays import Dialog

        return self._make(Dialog(title, **kwargs))

    def popover(self, label: str, **kwargs: Any) -> Popover:
        """Add a button that unfolds a small container; return the container to fill."""
        from .overlays import Popover

        return self._make(Popover(label, **kwargs))

    def status(self, label: str, *, state: str = "running", expanded: bool = False,
               **kwargs: Any) -> Status:
        """Add a box for the steps of a long callback, pushed while it runs."""
        from .overlays import Status

        return self._make(Status(label, state=state, expanded=expanded, **kwargs))

    def chat_input(self, placeholder: str = "Your message", **kwargs: Any) -> ChatInput:
        """Add a message field; ``@chat.on_submit`` gets ``(session, event, text)``."""
        from .chat import ChatInput

        return self._make(ChatInput(placeholder, **kwargs))

    def chat_message(self, name: str, *, avatar: str | None = None,
                     **kwargs: Any) -> ChatMessage:
        """Add one chat message (``"user"``, ``"assistant"`` or a name); return it to fill."""
        from .chat import ChatMessage

        return self._make(ChatMessage(name, avatar=avatar, **kwargs))

    def session_slot(self, key: str | None = None, **kwargs: Any) -> Slot:
        """Add a place whose content is per session: ``slot.for_session(session)``."""
        from .slots import Slot

        return self._make(Slot(key=key, **kwargs))


class Container(Group, Factory):
    """A box of widgets, optionally with a border.

    Use the factory methods on it (``box.text("hi")``) or :meth:`add`.  A
    ``with box:`` block is only for readability: widgets made inside it still
    go where their factory method says.
    """

    kind: ClassVar[str] = "container"
    #: Class of the element holding the children.
    body_class: ClassVar[str] = "stgo-box"

    def __init__(
        self, *, border: bool = False, key: str | None = None, visible: bool = True
    ) -> None:
        super().__init__(key=key, visible=visible)
        self.border = border

    def __enter__(self) -> Container:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def add(self, widget: Widget) -> Widget:
        """Append *widget* and push the insert to whoever sees this container."""
        return self._adopt(widget)

    def _add(self, widget: Widget) -> Widget:
        return self.add(widget)

    def render_body(self, state: StateReader | None) -> str:
        cls = f"{self.body_class} stgo-border" if self.border else self.body_class
        return f'<div class="{cls}" data-children>{self.render_children(state)}</div>'


class Column(Container):
    """One column of a :class:`Columns` row; fill it like any container."""

    kind: ClassVar[str] = "column"
    body_class: ClassVar[str] = "stgo-column-body"

    def __enter__(self) -> Column:
        return self


def _ratios(spec: int | Sequence[float]) -> list[float]:
    if isinstance(spec, bool):
        raise WidgetError("columns() takes a count or a list of widths, not a bool")
    if isinstance(spec, int):
        if spec < 1:
            raise WidgetError(f"columns() needs at least one column, got {spec}")
        return [1.0] * spec
    ratios = list(spec)
    if not ratios:
        raise WidgetError("columns() needs at least one width")
    for r in ratios:
        if isinstance(r, bool) or not isinstance(r, Real) or not 0 < float(r) < float("inf"):
            raise WidgetError(f"column widths must be positive numbers, got {r!r}")
    return [float(r) for r in ratios]


class Columns(Group):
    """A row of :class:`Column` containers, drawn as a CSS grid.

    :param spec: a column count, or relative widths (used as ``fr`` units).
    :param gap: ``"small"``, ``"medium"`` or ``"large"``.
    :param border: draw a border around each column.
    """

    kind: ClassVar[str] = "columns"

    def __init__(
        self, spec: int | Sequence[float] = 2, *, gap: str = "small", border: bool = False,
        key: str | None = None, visible: bool = True,
    ) -> None:
        super().__init__(key=key, visible=visible)
        if gap not in _GAPS:
            raise WidgetError(f"gap must be one of {list(_GAPS)}, got {gap!r}")
        self.gap = gap
        self._ratios = _ratios(spec)
        for _ in self._ratios:
            self._adopt(Column(border=border))

    @property
    def columns(self) -> list[Column]:
        """The columns, left to right."""
        return [c for c in self.children if isinstance(c, Column)]

    @property
    def ratios(self) -> list[float]:
        """The relative widths of the remaining columns."""
        with self._lock:
            return list(self._ratios)

    def remove_child(self, widget: Widget) -> bool:
        with self._lock:
            index = next((i for i, c in enumerate(self._children) if c is widget), None)
            if index is not None:
                del self._ratios[index]
        removed = super().remove_child(widget)
        if removed:
            self.changed()  # the grid template changed too
        return removed

    def render_body(self, state: StateReader | None) -> str:
        template = " ".join(f"minmax(0, {r:g}fr)" for r in self.ratios)
        return (
            f'<div class="stgo-columns-grid stgo-gap-{self.gap}" data-children '
            f'data-stgo-style="grid-template-columns: {template}">'
            f"{self.render_children(state)}</div>"
        )


class Expander(Container):
    """A collapsible section: ``<details>`` with the label as ``<summary>``.

    Opening and closing happen in the browser; a redraw of the expander itself
    (say, after :meth:`set_label`) shows it as *expanded* says.
    """

    kind: ClassVar[str] = "expander"

    def __init__(
        self, label: str, *, expanded: bool = False, key: str | None = None,
        visible: bool = True,
    ) -> None:
        super().__init__(key=key, visible=visible)
        self.label = label
        self.expanded = expanded

    def __enter__(self) -> Expander:
        return self

    def set_label(self, label: str) -> None:
        """Change the summary text and push it."""
        self.label = label
        self.changed()

    def render_body(self, state: StateReader | None) -> str:
        opened = " open" if self.expanded else ""
        return (
            f'<details class="stgo-expander-details"{opened}>'
            f'<summary class="stgo-expander-label">{esc(self.label)}</summary>'
            f'<div class="stgo-expander-body" data-children>{self.render_children(state)}</div>'
            "</details>"
        )


class Tab(Container):
    """One tab of a :class:`Tabs` set: a panel to fill like any container.

    Its root element is the ``role="tabpanel"``; the button that shows it
    lives in the parent's tab list, so a new label or visibility redraws the
    whole tab set.
    """

    kind: ClassVar[str] = "tab"
    body_class: ClassVar[str] = "stgo-tab-body"

    def __init__(self, label: str, *, key: str | None = None, visible: bool = True) -> None:
        super().__init__(key=key, visible=visible)
        self.label = label

    def __enter__(self) -> Tab:
        return self

    @property
    def button_id(self) -> str:
        """DOM id of this tab's button in the tab list."""
        return f"{self.id}-tab"

    @property
    def active(self) -> bool:
        """Whether the server draws this tab as the shown one."""
        parent = self.parent
        return isinstance(parent, Tabs) and parent.active_tab is self

    def set_label(self, label: str) -> None:
        """Change the tab's label and push it."""
        self.label = label
        self.changed()

    def changed(self, change: str = "update") -> None:
        parent = self.parent
        if change == "update" and isinstance(parent, Tabs):
            parent.changed()  # the tab list shows our label and visibility
        else:
            super().changed(change)

    def root_attrs(self) -> str:
        hidden = " hidden" if self.visible and not self.active else ""
        return f' role="tabpanel" aria-labelledby="{self.button_id}" tabindex="0"{hidden}'


class Tabs(Group):
    """A set of :class:`Tab` panels with a ``role="tablist"`` of buttons.

    Each button carries ``data-tab-target`` = the panel's id; the browser
    shows that panel and hides its siblings without a round trip.

    :param labels: one label per tab.
    """

    kind: ClassVar[str] = "tabs"

    def __init__(
        self, labels: Sequence[str], *, key: str | None = None, visible: bool = True
    ) -> None:
        super().__init__(key=key, visible=visible)
        if isinstance(labels, str):
            raise WidgetError("tabs() takes a list of labels, e.g. tabs(['One', 'Two'])")
        labels = list(labels)
        if not labels:
            raise WidgetError("tabs() needs at least one label")
        for label in labels:
            self._adopt(Tab(label))

    @property
    def tabs(self) -> list[Tab]:
        """The tabs, in order."""
        return [t for t in self.children if isinstance(t, Tab)]

    @property
    def active_tab(self) -> Tab | None:
        """The tab drawn as shown: the first visible one."""
        return next((t for t in self.tabs if t.visible), None)

    def remove_child(self, widget: Widget) -> bool:
        removed = super().remove_child(widget)
        if removed:
            self.changed()  # its button goes too
        return removed

    def render_body(self, state: StateReader | None) -> str:
        active = self.active_tab
        buttons = []
        for tab in self.tabs:
            selected = "true" if tab is active else "false"
            hidden = "" if tab.visible else " hidden"
            # One Tab stop for the list (the ARIA tabs pattern): the arrow keys,
            # Home and End move between the tabs (stgo/static/layout.js).
            stop = "" if tab is active else ' tabindex="-1"'
            buttons.append(
                f'<button type="button" role="tab" class="stgo-tab-button" '
                f'id="{tab.button_id}" aria-controls="{tab.id}" aria-selected="{selected}" '
                f'data-tab-target="{tab.id}"{stop}{hidden}>{esc(tab.label)}</button>'
            )
        return (
            f'<div class="stgo-tablist" role="tablist">{"".join(buttons)}</div>'
            f'<div class="stgo-tab-panels" data-children>{self.render_children(state)}</div>'
        )
