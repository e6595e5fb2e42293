"""The factory methods of the media and Vega-Lite widgets (``app.audio(...)``,
``app.altair_chart(...)`` ...), mixed into every owner's factory
(:class:`~stgo.widgets.layout.Factory`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .base import Widget
from .media import Audio, CameraInput, Video
from .vega import VegaLiteChart

__all__ = ["MediaFactory"]


class MediaFactory:
    """``altair_chart``, ``vega_lite_chart``, ``audio``, ``video`` and ``camera_input``."""

    def _add(self, widget: Widget) -> Widget:  # pragma: no cover - abstract
        raise NotImplementedError

    def altair_chart(self, chart: Any, *, on_select: Callable[[Any, str, Any], None] | None = None,
                     **kwargs: Any) -> VegaLiteChart:
        """Add an Altair chart, drawn by vega-embed in the browser (``stgo[charts]``).

        Selections (``alt.selection_point(name=...)``) come back to
        ``@chart.on_select`` as ``{name: value}``; :meth:`~VegaLiteChart.set_data`
        and :meth:`~VegaLiteChart.set_spec` redraw it.
        """
        widget = VegaLiteChart(chart, on_select=on_select, **kwargs)
        self._add(widget)
        return widget

    def vega_lite_chart(self, spec: Any, data: Any = None, *,
                        on_select: Callable[[Any, str, Any], None] | None = None,
                        **kwargs: Any) -> VegaLiteChart:
        """Add a chart from a Vega-Lite spec (a dict), *data* (optional) as its
        rows; drawn by vega-embed in the browser (``stgo[charts]``)."""
        widget = VegaLiteChart(spec, data, on_select=on_select, **kwargs)
        self._add(widget)
        return widget

    def audio(self, data: Any, format: str | None = None, **kwargs: Any) -> Audio:
        """Add an audio player: bytes, a file path, an http(s) URL, or a numpy
        array of samples with ``sample_rate=``."""
        widget = Audio(data, format, **kwargs)
        self._add(widget)
        return widget

    def video(self, data: Any, format: str | None = None, **kwargs: Any) -> Video:
        """Add a video player: bytes, a file path or an http(s) URL."""
        widget = Video(data, format, **kwargs)
        self._add(widget)
        return widget

    def camera_input(self, label: str, **kwargs: Any) -> CameraInput:
        """Add a camera: its value (``session.get(key)``) is the photo taken,
        an :class:`~stgo.UploadedFile` (PNG), or ``None``."""
        widget = CameraInput(label, **kwargs)
        self._add(widget)
        return widget
