"""Widgets: a base module and one module per family."""

from .base import InputWidget, Widget
from .inputs import Button, TextInput
from .layout import Container
from .text import Caption, Code, Header, Markdown, Subheader, Text, Title

__all__ = [
    "Widget", "InputWidget",
    "Title", "Header", "Subheader", "Text", "Caption", "Code", "Markdown",
    "Button", "TextInput",
    "Container",
]
