"""stgo: session-centric interactive web apps, with live shared widgets.

The public API is what this package exports (``__all__``) plus the modules
:mod:`stgo.config`, :mod:`stgo.store`, :mod:`stgo.server`, :mod:`stgo.testing`
and :mod:`stgo.cli` (each its own ``__all__``); every other module is internal
and may change (docs/architecture.md, "Public API").
"""

__version__ = "0.1.0"

from .app import App, Sidebar
from .core.manager import SessionManager
from .core.pages import Page
from .core.request import RequestInfo
from .core.session import Session
from .core.tabs import BrowserTab
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
from .widgets.bars import Topbar
from .widgets.nav import Navigation, PageLink

__all__ = [
    "__version__",
    "App", "Sidebar", "Topbar", "Session", "SessionManager", "Page", "BrowserTab", "RequestInfo",
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
    "ChatInput", "ChatMessage", "Slot", "SlotContent", "PageLink", "Navigation",
]

# Media, Vega-Lite charts and components (issue 26).
from .widgets.component import Component  # noqa: E402
from .widgets.media import Audio, CameraInput, Video  # noqa: E402
from .widgets.vega import VegaLiteChart  # noqa: E402

__all__ += ["Audio", "Video", "CameraInput", "VegaLiteChart", "Component"]
