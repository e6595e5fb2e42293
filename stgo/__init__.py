"""stgo: session-centric interactive web apps, with live shared widgets."""

__version__ = "0.1.0"

from .app import App, Sidebar
from .core.manager import SessionManager
from .core.session import Session
from .errors import (
    AppLoadError,
    CapacityError,
    CodecError,
    ConfigurationError,
    MissingExtraError,
    ProtocolError,
    StgoError,
    StoreError,
    WidgetError,
)
from .limits import UploadLimits
from .widgets import (
    Alert,
    AreaChart,
    BarChart,
    Button,
    Caption,
    Chart,
    ChatInput,
    ChatMessage,
    Checkbox,
    Choice,
    Code,
    ColorPicker,
    Column,
    Columns,
    Container,
    Dataframe,
    DateInput,
    Dialog,
    DownloadButton,
    ErrorAlert,
    Event,
    Expander,
    FileUploader,
    Form,
    Group,
    Header,
    Image,
    InfoAlert,
    InputWidget,
    Json,
    LineChart,
    Markdown,
    Metric,
    Multiselect,
    NumberInput,
    PlotlyChart,
    Popover,
    Progress,
    Pyplot,
    Radio,
    RangeSlider,
    ScatterChart,
    Selectbox,
    SelectSlider,
    Slider,
    Slot,
    SlotContent,
    Status,
    Subheader,
    SubmitButton,
    SuccessAlert,
    Tab,
    Table,
    Tabs,
    Text,
    TextArea,
    TextInput,
    TimeInput,
    Title,
    Toggle,
    UploadedFile,
    WarningAlert,
    Widget,
    Write,
)

# isort: split
# long-running work (issue 24): tasks, live changes, caching
from .cache import cache_data, cache_resource
from .core.tasks import Task
from .errors import Cancelled

__all__ = [
    "__version__",
    "App", "Sidebar", "Session", "SessionManager",
    "StgoError", "CapacityError", "ConfigurationError", "AppLoadError", "ProtocolError",
    "WidgetError", "MissingExtraError", "StoreError", "CodecError",
    "Widget", "InputWidget",
    "Title", "Header", "Subheader", "Text", "Caption", "Code", "Markdown", "Json", "Write",
    "Button", "TextInput", "TextArea", "NumberInput", "Checkbox", "Slider",
    "Choice", "Selectbox", "Radio",
    "Group", "Container", "Column", "Columns", "Expander", "Tab", "Tabs",
    "Table", "Dataframe", "Metric",
    "Chart", "LineChart", "AreaChart", "BarChart", "ScatterChart", "PlotlyChart", "Pyplot",
    "FileUploader", "UploadedFile", "DownloadButton", "UploadLimits",
    "Progress", "Alert", "InfoAlert", "SuccessAlert", "WarningAlert", "ErrorAlert", "Image",
    "Event", "DateInput", "TimeInput", "Multiselect", "Toggle", "ColorPicker", "SelectSlider",
    "RangeSlider", "Form", "SubmitButton", "Dialog", "Popover", "Status",
    "ChatInput", "ChatMessage", "Slot", "SlotContent",
    # long-running work (issue 24)
    "Cancelled", "Task", "cache_data", "cache_resource",
]
