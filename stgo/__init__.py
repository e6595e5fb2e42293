"""stgo: session-centric interactive web apps, with live shared widgets."""

__version__ = "0.1.0"

from .app import App, Sidebar
from .errors import (
    AppLoadError,
    CapacityError,
    ConfigurationError,
    ProtocolError,
    StgoError,
    WidgetError,
)
from .manager import SessionManager
from .session import Session
from .widgets import (
    Alert,
    Button,
    Caption,
    Checkbox,
    Choice,
    Code,
    Column,
    Columns,
    Container,
    Dataframe,
    ErrorAlert,
    Expander,
    Group,
    Header,
    Image,
    InfoAlert,
    InputWidget,
    Json,
    Markdown,
    Metric,
    NumberInput,
    Progress,
    Radio,
    Selectbox,
    Slider,
    Subheader,
    SuccessAlert,
    Tab,
    Table,
    Tabs,
    Text,
    TextArea,
    TextInput,
    Title,
    WarningAlert,
    Widget,
    Write,
)

__all__ = [
    "__version__",
    "App", "Sidebar", "Session", "SessionManager",
    "StgoError", "CapacityError", "ConfigurationError", "AppLoadError", "ProtocolError",
    "WidgetError",
    "Widget", "InputWidget",
    "Title", "Header", "Subheader", "Text", "Caption", "Code", "Markdown", "Json", "Write",
    "Button", "TextInput", "TextArea", "NumberInput", "Checkbox", "Slider",
    "Choice", "Selectbox", "Radio",
    "Group", "Container", "Column", "Columns", "Expander", "Tab", "Tabs",
    "Table", "Dataframe", "Metric",
    "Progress", "Alert", "InfoAlert", "SuccessAlert", "WarningAlert", "ErrorAlert", "Image",
]
