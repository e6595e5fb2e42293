"""stgo: session-centric interactive web apps, with live shared widgets."""

__version__ = "0.1.0"

from .app import App, Sidebar
from .errors import AppLoadError, ConfigurationError, ProtocolError, StgoError, WidgetError
from .manager import SessionManager
from .session import Session
from .widgets import (
    Button, Caption, Code, Container, Header, InputWidget, Markdown, Subheader, Text,
    TextInput, Title, Widget,
)

__all__ = [
    "__version__",
    "App", "Sidebar", "Session", "SessionManager",
    "StgoError", "ConfigurationError", "AppLoadError", "ProtocolError", "WidgetError",
    "Widget", "InputWidget",
    "Title", "Header", "Subheader", "Text", "Caption", "Code", "Markdown",
    "Button", "TextInput", "Container",
]
