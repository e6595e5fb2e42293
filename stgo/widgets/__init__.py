"""Widgets: a base module and one module per family."""

from .base import Event, InputWidget, Widget
from .charts import AreaChart, BarChart, Chart, LineChart, PlotlyChart, ScatterChart
from .chat import ChatInput, ChatMessage
from .choice import Choice, Radio, Selectbox
from .data import Metric, Table
from .dataframe import Dataframe, SelectedRows
from .editor import DataEditor, EditedRows
from .feedback import (
    Alert,
    ErrorAlert,
    Image,
    InfoAlert,
    Progress,
    SuccessAlert,
    WarningAlert,
)
from .files import DownloadButton, FileUploader, UploadedFile
from .forms import Form, SubmitButton
from .inputs import Button, Checkbox, NumberInput, Slider, TextArea, TextInput
from .layout import Column, Columns, Container, Expander, Group, Tab, Tabs
from .media import Audio, CameraInput, Video
from .overlays import Dialog, Popover, Status
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
from .slots import Slot, SlotContent
from .text import Caption, Code, Header, Json, Markdown, Subheader, Text, Title, Write
from .vega import VegaLiteChart

__all__ = [
    "Widget", "InputWidget", "Event",
    "Title", "Header", "Subheader", "Text", "Caption", "Code", "Markdown", "Json", "Write",
    "Button", "TextInput", "TextArea", "NumberInput", "Checkbox", "Slider",
    "Choice", "Selectbox", "Radio",
    "Group", "Container", "Column", "Columns", "Expander", "Tab", "Tabs",
    "Table", "Dataframe", "Metric",
    "Chart", "LineChart", "AreaChart", "BarChart", "ScatterChart", "PlotlyChart", "Pyplot",
    "FileUploader", "UploadedFile", "DownloadButton", "SelectedRows",
    "Progress", "Alert", "InfoAlert", "SuccessAlert", "WarningAlert", "ErrorAlert", "Image",
    "DateInput", "TimeInput", "Multiselect", "Toggle", "ColorPicker", "SelectSlider",
    "RangeSlider", "Form", "SubmitButton", "Dialog", "Popover", "Status",
    "ChatInput", "ChatMessage", "Slot", "SlotContent", "DataEditor", "EditedRows",
    "VegaLiteChart", "Audio", "Video", "CameraInput",
]
