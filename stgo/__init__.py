"""stgo: session-centric interactive web apps, with live shared widgets.

The public API is what this package exports (``__all__``) plus the modules
:mod:`stgo.config`, :mod:`stgo.store`, :mod:`stgo.server`, :mod:`stgo.testing`
and :mod:`stgo.cli` (each its own ``__all__``); every other module is internal
and may change (docs/architecture.md, "Public API").
"""

__version__ = "0.1.0"

from . import column
from .app import App, Sidebar
from .auth import OIDC, ProxyAuth, User, signed_in
from .cache import cache_data, cache_resource
from .core.manager import SessionManager
from .core.pages import Page
from .core.request import RequestInfo
from .core.session import Session
from .core.tabs import BrowserTab
from .core.tasks import Task
from .core.timers import Tick, TimerHandle, current_tick
from .errors import (
    AppLoadError,
    AuthError,
    Cancelled,
    CapacityError,
    CodecError,
    ConfigurationError,
    MissingExtraError,
    ProtocolError,
    SignInError,
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
from .widgets.component import Component
from .widgets.editor import DataEditor, EditedRows
from .widgets.media import Audio, CameraInput, Video
from .widgets.nav import Navigation, PageLink
from .widgets.vega import VegaLiteChart

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
    # data editor and column configuration (issue 26)
    "DataEditor", "EditedRows", "column",
    # long-running work (issue 24)
    "Cancelled", "Task", "cache_data", "cache_resource",
    # sign-in (issue 25: docs/auth.md)
    "OIDC", "ProxyAuth", "User", "signed_in", "AuthError", "SignInError",
    # timers and presence (issue 24)
    "Tick", "TimerHandle", "current_tick",
    # media, Vega-Lite charts and components (issue 26)
    "Audio", "Video", "CameraInput", "VegaLiteChart", "Component",
]
