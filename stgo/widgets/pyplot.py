"""Pyplot: a matplotlib figure, rendered on the server to SVG (``stgo[pyplot]``).

No browser library is needed: the figure is an ``<img>`` whose source is the
SVG, so it draws under the strict CSP and cannot script the page.
"""

from __future__ import annotations

import base64
import io
from typing import Any, ClassVar

from ..errors import MissingExtraError, WidgetError
from .base import StateReader, Widget, esc

__all__ = ["Pyplot"]


class Pyplot(Widget):
    """A matplotlib figure, rendered on the server as SVG (``stgo[pyplot]``).

    :param figure: a matplotlib ``Figure``; ``None`` takes pyplot's current one.
    :param clear_figure: clear the figure once drawn (default: only when
        *figure* was ``None``, as pyplot's current figure would pile up).
    """

    kind: ClassVar[str] = "pyplot"

    def __init__(self, figure: Any = None, *, clear_figure: bool | None = None,
                 alt: str = "chart", key: str | None = None, visible: bool = True) -> None:
        super().__init__(key=key, visible=visible)
        self.alt = alt
        self._svg = self._draw(figure, clear_figure)

    @staticmethod
    def _draw(figure: Any, clear_figure: bool | None) -> bytes:
        if figure is None:
            try:
                import matplotlib.pyplot as plt
            except ImportError:
                raise MissingExtraError(
                    "pyplot() needs matplotlib: pip install 'stgo[pyplot]'"
                ) from None
            figure = plt.gcf()
            clear_figure = True if clear_figure is None else clear_figure
        if not callable(getattr(figure, "savefig", None)):
            raise WidgetError(f"pyplot takes a matplotlib Figure, got {type(figure).__name__}")
        out = io.BytesIO()
        figure.savefig(out, format="svg", bbox_inches="tight")
        if clear_figure:
            figure.clear()
        return out.getvalue()

    @property
    def svg(self) -> bytes:
        """The figure as SVG."""
        return self._svg

    def set_figure(self, figure: Any, *, clear_figure: bool | None = None) -> None:
        """Draw another figure and push it."""
        self._svg = self._draw(figure, clear_figure)
        self.changed()

    def render_body(self, state: StateReader | None) -> str:
        # An <img> and not inline SVG: whatever the figure holds cannot script
        # the page, and two figures' element IDs cannot collide.
        data = base64.b64encode(self._svg).decode("ascii")
        return (f'<img class="stgo-pyplot-img" alt="{esc(self.alt)}" '
                f'src="data:image/svg+xml;base64,{data}">')
