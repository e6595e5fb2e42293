"""A widget's change as protocol ops, and one message of them for a page's tabs.

The hub (:meth:`stgo.core.hub.Hub.flush`) asks here what a change looks like
on the wire: an ``insert``, ``remove``, ``update``, ``value`` or a chart's own
op, each redraw of a shared widget numbered by its draw generation.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .. import protocol
from ..widgets.base import InputWidget, StateReader, Widget
from .batch import REPEATABLE

__all__ = ["Out", "Scoped", "coalesce_key", "for_page", "ops_of"]

# An op and the page it is for (``None``: every page).
Scoped = tuple["str | None", dict[str, Any]]

# Draw generations.  Two threads may redraw one shared widget at once and
# queue their ops in the other order than they read it (a click's flush and
# the relay's, say): the older value would land last and stay.  So a redraw
# takes the next number of its hub's counter (Hub._draws) *before* it reads
# the widget, the op carries it as ``g``, and a tab's outbox (see
# Connection.send) and the tab itself keep the op with the highest number:
# the one that read last, after every change whose own redraw it overtook.
# A full render carries one too, below which ops are old.


def ops_of(
    widget: Widget, change: str, state: StateReader | None, root: str,
    draws: Iterator[int] | None = None,
) -> list[dict[str, Any]]:
    """The ops that show *change* of *widget* (drawn for *state*; ``None``:
    shared) on a page, inserted under its parent or the page's *root*.

    :param draws: the hub's draw generations: a shared redraw takes the next.
    """
    if change == "remove":
        return [protocol.op_remove(widget.id)]
    if change in REPEATABLE and state is None and draws is not None:
        draw = next(draws)  # before the widget is read: see "Draw generations"
        ops = _redraw(widget, change, None)
        for op in ops:
            op["g"] = draw
        return ops
    if change != "insert" and change != "reinsert":
        return _redraw(widget, change, state)
    parent = widget.parent.id if widget.parent is not None else root
    ops = [protocol.op_insert(parent, widget.render(state))]
    if change == "reinsert":
        ops.insert(0, protocol.op_remove(widget.id))
    return ops


def _redraw(widget: Widget, change: str, state: StateReader | None) -> list[dict[str, Any]]:
    """The ops that redraw *widget* in place (``value``, ``extend``, ``figure``, ``update``)."""
    if change == "value" and isinstance(widget, InputWidget):
        return [protocol.op_value(widget.id, widget.client_value(state))]
    if change in ("extend", "figure"):
        op = widget.change_op(change)
        return [op] if op is not None else []
    return [protocol.op_update(widget.id, widget.render(state))]


def for_page(scoped: list[Scoped], page: str) -> list[dict[str, Any]]:
    """The ops a tab on *page* gets."""
    return [op for where, op in scoped if where is None or where == page]


class Out:
    """One message for the tabs of a page: its ops, encoded once if any tab takes it."""

    __slots__ = ("ops", "_text", "key")

    def __init__(self, ops: list[dict[str, Any]]) -> None:
        self.ops = ops
        self._text: str | None = None
        self.key = coalesce_key(ops)

    @property
    def text(self) -> str:
        """The message, encoded on first use."""
        if self._text is None:
            self._text = protocol.encode(protocol.patch_message(self.ops))
        return self._text


def coalesce_key(ops: list[dict[str, Any]]) -> tuple[str, str, int] | None:
    """The outbox key of a message holding one update or value op (see Connection.send)."""
    if len(ops) == 1 and ops[0]["op"] in ("update", "value"):
        return ops[0]["op"], ops[0]["id"], ops[0].get("g", 0)
    return None


