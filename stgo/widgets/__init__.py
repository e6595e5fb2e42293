"""Widgets: a base module and one module per family."""

from .base import InputWidget, Widget
from .charts import AreaChart, BarChart, Chart, LineChart, PlotlyChart, Pyplot, ScatterChart
from .choice import Choice, Radio, Selectbox
from .data import Metric, Table
from .dataframe import Dataframe, SelectedRows
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
from .inputs import Button, Checkbox, NumberInput, Slider, TextArea, TextInput
from .layout import Column, Columns, Container, Expander, Group, Tab, Tabs
from .text import Caption, Code, Header, Json, Markdown, Subheader, Text, Title, Write

__all__ = [
    "Widget", "InputWidget",
    "Title", "Header", "Subheader", "Text", "Caption", "Code", "Markdown", "Json", "Write",
    "Button", "TextInput", "TextArea", "NumberInput", "Checkbox", "Slider",
    "Choice", "Selectbox", "Radio",
    "Group", "Container", "Column", "Columns", "Expander", "Tab", "Tabs",
    "Table", "Dataframe", "Metric",
    "Chart", "LineChart", "AreaChart", "BarChart", "ScatterChart", "PlotlyChart", "Pyplot",
    "FileUploader", "UploadedFile", "DownloadButton", "SelectedRows",
    "Progress", "Alert", "InfoAlert", "SuccessAlert", "WarningAlert", "ErrorAlert", "Image",
]
