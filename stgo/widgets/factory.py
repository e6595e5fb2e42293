"""The factory mixin: ``owner.text(...)``, ``owner.button(...)`` and friends.

The App (global widgets), a Session (private widgets) and every container
inherit these methods; each builds a widget and hands it to the owner's
``_add``.  Layout factories (``container``, ``columns`` ...) live with the
containers in :mod:`.layout`, which keeps this module free of an import cycle.

Every method takes the widget's keyword options too (``key=``, ``visible=``,
and for inputs ``shared=``, ``disabled=``, ``help=``, ``on_change=``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from .base import Handler, Widget
from .charts import AreaChart, BarChart, LineChart, PlotlyChart, ScatterChart
from .choice import Radio, Selectbox
from .data import Metric, Table
from .dataframe import Dataframe
from .editor import DataEditor
from .feedback import ErrorAlert, Image, InfoAlert, Progress, SuccessAlert, WarningAlert
from .files import DownloadButton, FileUploader
from .inputs import Button, Checkbox, NumberInput, Slider, TextArea, TextInput
from .pickers import (
    ColorPicker,
    DateInput,
    Multiselect,
    RangeSlider,
    SelectSlider,
    TimeInput,
    Toggle,
)
from .pyplot import Pyplot
from .text import Caption, Code, Header, Json, Markdown, Subheader, Text, Title, Write

__all__ = ["WidgetFactory"]

W = TypeVar("W", bound=Widget)
Num = int | float


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

    def json(self, data: Any, **kwargs: Any) -> Json:
        """Add a value shown as pretty-printed JSON."""
        return self._make(Json(data, **kwargs))

    def write(self, *objects: Any, **kwargs: Any) -> Write:
        """Add values shown the way they read best: text as (safe) markdown,
        numbers as text, table-like data as a table, dicts and lists as JSON."""
        return self._make(Write(*objects, **kwargs))

    # -- input ------------------------------------------------------------------

    def button(self, label: str, *, on_click: Handler | None = None, **kwargs: Any) -> Button:
        """Add a button; register handlers with ``@button.on_click``."""
        return self._make(Button(label, on_click=on_click, **kwargs))

    def text_input(self, label: str, value: str = "", **kwargs: Any) -> TextInput:
        """Add a one-line text field whose value lives in session state."""
        return self._make(TextInput(label, value, **kwargs))

    def text_area(self, label: str, value: str = "", **kwargs: Any) -> TextArea:
        """Add a multi-line text field whose value lives in session state."""
        return self._make(TextArea(label, value, **kwargs))

    def number_input(
        self, label: str, value: Num | None = None, *, min_value: Num | None = None,
        max_value: Num | None = None, step: Num | None = None, **kwargs: Any,
    ) -> NumberInput:
        """Add a number field; floats if any number given is a float, else ints."""
        return self._make(NumberInput(label, value, min_value=min_value, max_value=max_value,
                                      step=step, **kwargs))

    def checkbox(self, label: str, value: bool = False, **kwargs: Any) -> Checkbox:
        """Add a checkbox whose ``True``/``False`` lives in session state."""
        return self._make(Checkbox(label, value, **kwargs))

    def slider(
        self, label: str, min_value: Num | None = None, max_value: Num | None = None,
        value: Num | tuple[Num, Num] | None = None, *, step: Num | None = None,
        **kwargs: Any,
    ) -> Slider:
        """Add a slider (0..100 ints by default; floats if any number is a float).

        A ``(low, high)`` tuple as *value* makes a range slider with two
        handles (a :class:`~stgo.widgets.pickers.RangeSlider`) whose value is a tuple.
        """
        if isinstance(value, (tuple, list)):
            low, high = value
            return self._make(RangeSlider(label, min_value, max_value, (low, high), step=step,
                                          **kwargs))
        return self._make(Slider(label, min_value, max_value, value, step=step, **kwargs))

    def date_input(
        self, label: str, value: Any = None, *, min_value: Any = None, max_value: Any = None,
        **kwargs: Any,
    ) -> DateInput:
        """Add a date picker (today by default); a ``(start, end)`` value picks a range."""
        return self._make(DateInput(label, value, min_value=min_value, max_value=max_value,
                                    **kwargs))

    def time_input(self, label: str, value: Any = None, *, step: Any = 60,
                   **kwargs: Any) -> TimeInput:
        """Add a time-of-day field; *step* in seconds (60: minutes)."""
        return self._make(TimeInput(label, value, step=step, **kwargs))

    def multiselect(
        self, label: str, options: Iterable[Any], default: Iterable[Any] | None = None,
        **kwargs: Any,
    ) -> Multiselect:
        """Add a pick-several list; its value is the list of chosen options."""
        return self._make(Multiselect(label, options, default, **kwargs))

    def toggle(self, label: str, value: bool = False, **kwargs: Any) -> Toggle:
        """Add an on/off switch whose ``True``/``False`` lives in session state."""
        return self._make(Toggle(label, value, **kwargs))

    def color_picker(self, label: str, value: str | None = None, **kwargs: Any) -> ColorPicker:
        """Add a colour picker; its value is ``"#rrggbb"``."""
        return self._make(ColorPicker(label, value, **kwargs))

    def select_slider(
        self, label: str, options: Iterable[Any], value: Any = None, **kwargs: Any
    ) -> SelectSlider:
        """Add a slider over a list of options; its value is the chosen option."""
        return self._make(SelectSlider(label, options, value, **kwargs))

    def selectbox(
        self, label: str, options: Iterable[Any], index: int | None = 0, **kwargs: Any
    ) -> Selectbox:
        """Add a drop-down; its value is the chosen option itself (``None``: none yet)."""
        return self._make(Selectbox(label, options, index, **kwargs))

    def radio(
        self, label: str, options: Iterable[Any], index: int | None = 0, **kwargs: Any
    ) -> Radio:
        """Add radio buttons; the value is the chosen option itself (``None``: none yet)."""
        return self._make(Radio(label, options, index, **kwargs))

    # -- data -------------------------------------------------------------------

    def table(self, data: Any = None, **kwargs: Any) -> Table:
        """Add a static table (list of dicts, dict of lists, list of lists, pandas)."""
        return self._make(Table(data, **kwargs))

    def dataframe(self, data: Any = None, **kwargs: Any) -> Dataframe:
        """Add a scrolling table: sortable by header, paged (``page_size=``), with row
        ``selection="single"|"multi"`` (``@table.on_select``), ``row_style=`` and
        ``column_config=`` (:mod:`stgo.column`: formats, labels, hidden columns)."""
        return self._make(Dataframe(data, **kwargs))

    def data_editor(self, data: Any = None, **kwargs: Any) -> DataEditor:
        """Add an editable table (``num_rows="dynamic"`` to add and delete rows,
        ``column_config=`` with :mod:`stgo.column`); each session edits its own
        rows (``session.get(key)``) unless ``shared=True``."""
        return self._make(DataEditor(data, **kwargs))

    def metric(self, label: str, value: Any = None, delta: Any = None, **kwargs: Any) -> Metric:
        """Add a big number with a label and an optional delta."""
        return self._make(Metric(label, value, delta, **kwargs))

    # -- feedback ---------------------------------------------------------------

    def progress(self, value: Num = 0, text: str = "", **kwargs: Any) -> Progress:
        """Add a progress bar: an int 0..100 or a float 0.0..1.0."""
        return self._make(Progress(value, text, **kwargs))

    def info(self, text: Any, **kwargs: Any) -> InfoAlert:
        """Add an informative message box."""
        return self._make(InfoAlert(text, **kwargs))

    def success(self, text: Any, **kwargs: Any) -> SuccessAlert:
        """Add a success message box."""
        return self._make(SuccessAlert(text, **kwargs))

    def warning(self, text: Any, **kwargs: Any) -> WarningAlert:
        """Add a warning message box."""
        return self._make(WarningAlert(text, **kwargs))

    def error(self, text: Any, **kwargs: Any) -> ErrorAlert:
        """Add an error message box."""
        return self._make(ErrorAlert(text, **kwargs))

    def image(
        self, source: Any, *, caption: str | None = None, width: int | None = None,
        **kwargs: Any,
    ) -> Image:
        """Add an image: bytes (PNG, JPEG, GIF, WebP, BMP), a file path, an http(s) URL,
        a numpy array (H x W, H x W x 3, H x W x 4) or a PIL image."""
        return self._make(Image(source, caption=caption, width=width, **kwargs))


    # -- charts, files -------------------------------------------------------------------

    def line_chart(self, data: Any = None, **kwargs: Any) -> LineChart:
        """Add a line chart (``x=``, ``y=``, ``color=``...); grow it with ``add_rows``."""
        return self._make(LineChart(data, **kwargs))

    def area_chart(self, data: Any = None, **kwargs: Any) -> AreaChart:
        """Add a stacked area chart; grow it with ``add_rows``."""
        return self._make(AreaChart(data, **kwargs))

    def bar_chart(self, data: Any = None, **kwargs: Any) -> BarChart:
        """Add a bar chart (stacked when several series); grow it with ``add_rows``."""
        return self._make(BarChart(data, **kwargs))

    def scatter_chart(self, data: Any = None, **kwargs: Any) -> ScatterChart:
        """Add a scatter chart; grow it with ``add_rows``."""
        return self._make(ScatterChart(data, **kwargs))

    def plotly_chart(self, figure: Any, **kwargs: Any) -> PlotlyChart:
        """Add any plotly figure (graph objects, plotly express, or a dict)."""
        return self._make(PlotlyChart(figure, **kwargs))

    def pyplot(self, figure: Any = None, **kwargs: Any) -> Pyplot:
        """Add a matplotlib figure, drawn on the server as SVG (``None``: the current one)."""
        return self._make(Pyplot(figure, **kwargs))

    def file_uploader(
        self, label: str, type: str | Sequence[str] | None = None, **kwargs: Any
    ) -> FileUploader:
        """Add a file picker; its value (``session.get(key)``) is the uploaded file."""
        return self._make(FileUploader(label, type, **kwargs))

    def download_button(
        self, label: str, data: Any = None, file_name: str | None = None,
        mime: str | None = None, **kwargs: Any,
    ) -> DownloadButton:
        """Add a button that downloads *data* (bytes, text, or a callable made at click)."""
        return self._make(DownloadButton(label, data, file_name, mime, **kwargs))
