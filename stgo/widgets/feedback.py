"""Feedback widgets: progress bar, alerts (info, success, warning, error), image."""

from __future__ import annotations

import base64
import math
import os
import re
from pathlib import Path
from typing import Any, ClassVar

from ..errors import WidgetError
from .arrays import is_array_image, png_of
from .base import StateReader, Widget, esc, positive_int

__all__ = [
    "Progress", "Alert", "InfoAlert", "SuccessAlert", "WarningAlert", "ErrorAlert", "Image",
    "sniff_image", "image_src",
]


def _percent(value: Any) -> float:
    """0..100 for an int percentage or a 0.0..1.0 float fraction."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise WidgetError(f"progress takes an int 0..100 or a float 0.0..1.0, got {value!r}")
    if isinstance(value, int):
        if not 0 <= value <= 100:
            raise WidgetError(f"an int progress must be 0..100, got {value}")
        return float(value)
    if not (math.isfinite(value) and 0.0 <= value <= 1.0):
        raise WidgetError(f"a float progress must be 0.0..1.0, got {value}")
    return value * 100.0


class Progress(Widget):
    """A progress bar (``<progress>``) with an optional text above it.

    :param value: an int percentage 0..100 or a float fraction 0.0..1.0.
    :param text: what is progressing.
    """

    kind: ClassVar[str] = "progress"

    def __init__(
        self, value: int | float = 0, text: str = "", *, key: str | None = None,
        visible: bool = True,
    ) -> None:
        super().__init__(key=key, visible=visible)
        self._percent = _percent(value)
        self._value = value
        self.text = text

    @property
    def value(self) -> int | float:
        """The value as last given (int percentage or float fraction)."""
        return self._value

    @property
    def percent(self) -> float:
        """The value as a percentage, 0..100."""
        return self._percent

    def set_progress(self, value: int | float, text: str | None = None) -> None:
        """Move the bar (and change the text, if given) and push it."""
        percent = _percent(value)
        with self._lock:
            self._percent, self._value = percent, value
            if text is not None:
                self.text = text
        self.changed()

    def render_body(self, state: StateReader | None) -> str:
        bar = f"{self.id}-bar"
        shown = f"{self._percent:.0f}%"
        if self.text:
            label = f'<label class="stgo-progress-text" for="{bar}">{esc(self.text)}</label>'
            name = ""
        else:
            label, name = "", ' aria-label="Progress"'
        return (
            f'{label}<progress class="stgo-progress-bar" id="{bar}" max="100" '
            f'value="{self._percent:g}"{name}>{shown}</progress>'
        )


class Alert(Widget):
    """A coloured message box; use the subclasses or ``app.info(...)`` and friends.

    :param text: the message.
    :param icon: a short text or emoji shown before it.
    """

    kind: ClassVar[str] = "alert"
    level: ClassVar[str] = "info"
    role: ClassVar[str] = "status"

    def __init__(
        self, text: Any = "", *, icon: str | None = None, key: str | None = None,
        visible: bool = True,
    ) -> None:
        super().__init__(key=key, visible=visible)
        self._text = str(text)
        self.icon = icon

    @property
    def text(self) -> str:
        """The current message."""
        return self._text

    def set_text(self, text: Any) -> None:
        """Replace the message and push it."""
        self._text = str(text)
        self.changed()

    def render_body(self, state: StateReader | None) -> str:
        icon = (
            f'<span class="stgo-alert-icon" aria-hidden="true">{esc(self.icon)}</span>'
            if self.icon else ""
        )
        return (
            f'<div class="stgo-alert stgo-alert-{self.level}" role="{self.role}">'
            f'{icon}<div class="stgo-alert-text">{esc(self._text)}</div></div>'
        )


class InfoAlert(Alert):
    """A neutral, informative message."""

    kind: ClassVar[str] = "info"
    level: ClassVar[str] = "info"


class SuccessAlert(Alert):
    """Something went well."""

    kind: ClassVar[str] = "success"
    level: ClassVar[str] = "success"


class WarningAlert(Alert):
    """Something needs attention (announced at once by screen readers)."""

    kind: ClassVar[str] = "warning"
    level: ClassVar[str] = "warning"
    role: ClassVar[str] = "alert"


class ErrorAlert(Alert):
    """Something failed (announced at once by screen readers)."""

    kind: ClassVar[str] = "error"
    level: ClassVar[str] = "error"
    role: ClassVar[str] = "alert"


# Raster formats a browser shows in <img>; SVG is left out on purpose: it is a
# document that can carry script and links, not just pixels.
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"BM", "image/bmp"),
)
_DATA_URL = re.compile(r"data:image/(png|jpeg|gif|webp|bmp);base64,[A-Za-z0-9+/=\s]*", re.I)
_SCHEME = re.compile(r"([a-z][a-z0-9+.\-]+):", re.I)
# What browsers drop from a URL before reading its scheme.
_URL_JUNK = re.compile(r"[\x00-\x20]")


def sniff_image(data: bytes) -> str:
    """The MIME type of PNG, JPEG, GIF, WebP or BMP *data*.

    :raises WidgetError: any other content (SVG included).
    """
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    for magic, mime in _MAGIC:
        if data.startswith(magic):
            return mime
    head = data[:256].lstrip().lower()
    if head.startswith((b"<svg", b"<?xml", b"<!doctype svg")):
        raise WidgetError("SVG images are refused (they can carry script); convert to PNG")
    raise WidgetError("not a PNG, JPEG, GIF, WebP or BMP image")


def image_src(source: Any) -> str:
    """A safe ``src`` for *source*: image bytes, a file path, an http(s) URL, a
    numpy array or a PIL image (encoded to PNG, see :mod:`stgo.widgets.arrays`).

    :raises WidgetError: unknown content, a missing file, or another URL
        scheme (``javascript:``, ``file:`` ...).
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        mime = sniff_image(data)
        return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
    if isinstance(source, str):
        text = source.strip()
        bare = _URL_JUNK.sub("", text)
        scheme = _SCHEME.match(bare)
        if scheme is not None:
            name = scheme.group(1).lower()
            if name in ("http", "https") and bare == text:
                return text
            if name == "data" and _DATA_URL.fullmatch(text):
                return text
            raise WidgetError(f"image URLs must be http(s) or raster data: URLs, not {name}:")
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise WidgetError(f"cannot read image {str(path)!r}: {exc.strerror}") from None
        return image_src(data)
    if is_array_image(source):  # a numpy array or a PIL image: encoded to PNG
        return image_src(png_of(source))
    raise WidgetError(
        f"image() takes bytes, a file path, an http(s) URL, a numpy array or a PIL image, "
        f"not {type(source).__name__}"
    )


class Image(Widget):
    """A picture: bytes (sent inline), a file path (read now), an http(s) URL,
    or a numpy array or PIL image (encoded to PNG).

    :param caption: text under the image (also its ``alt`` unless *alt* is given).
    :param width: display width in CSS pixels; ``None`` fits the column.
    :param alt: the text alternative for screen readers.
    """

    kind: ClassVar[str] = "image"

    def __init__(
        self, source: Any, *, caption: str | None = None, width: int | None = None,
        alt: str | None = None, key: str | None = None, visible: bool = True,
    ) -> None:
        super().__init__(key=key, visible=visible)
        if width is not None and not positive_int(width):
            raise WidgetError(f"width must be a positive number of pixels, got {width!r}")
        self._src = image_src(source)
        self.caption = caption
        self.width = width
        self.alt = alt

    @property
    def src(self) -> str:
        """The ``src`` attribute: a ``data:`` URL or an http(s) URL."""
        return self._src

    def set_image(self, source: Any) -> None:
        """Show another picture and push it."""
        self._src = image_src(source)
        self.changed()

    def set_caption(self, caption: str | None) -> None:
        """Change the caption and push it."""
        self.caption = caption
        self.changed()

    def render_body(self, state: StateReader | None) -> str:
        alt = self.alt if self.alt is not None else (self.caption or "")
        width = f' width="{self.width}"' if self.width else ""
        caption = (
            f'<figcaption class="stgo-image-caption">{esc(self.caption)}</figcaption>'
            if self.caption else ""
        )
        return (
            f'<figure class="stgo-figure"><img class="stgo-img" src="{esc(self._src)}" '
            f'alt="{esc(alt)}"{width} loading="lazy" referrerpolicy="no-referrer">'
            f"{caption}</figure>"
        )
