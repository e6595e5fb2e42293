"""Media widgets: audio and video players, and the camera input.

An :class:`Audio` or :class:`Video` given bytes, a file path or a numpy
array is served over HTTP at ``download/media/<widget id>`` (see
:mod:`stgo.web.media`): only to a session that can see the widget, with its
MIME type and byte ranges (a player seeks with ``Range`` requests), never
inline in the page or over the WebSocket.  An http(s) URL is used as is.

:class:`CameraInput` is a file uploader whose file comes from the camera: the
browser takes a still from ``getUserMedia`` and uploads it as PNG through the
same path and checks as any upload (size caps, :class:`~stgo.limits.UploadLimits`);
the server then checks that the bytes are an image.
"""

from __future__ import annotations

import io
import mimetypes
import os
import re
import wave
from pathlib import Path
from typing import Any, ClassVar

from ..errors import MissingExtraError, ProtocolError, WidgetError
from .base import Handler, StateReader, Widget, esc
from .feedback import sniff_image
from .files import FileUploader, UploadedFile, _as_list, _size_text

__all__ = ["Audio", "Video", "Media", "CameraInput", "sniff_media", "MEDIA_PATH"]

#: Where a media widget's bytes are served, followed by its DOM id.
MEDIA_PATH = "download/media/"
#: The default ``max_size`` of a camera still: 20 MB.
DEFAULT_MAX_PHOTO = 20 * 1000 * 1000
_URL = re.compile(r"https?://[^\s\"'<>\\]+", re.I)
_SCHEME = re.compile(r"\s*([a-z][a-z0-9+.\-]*):", re.I)
_MIME = re.compile(r"(audio|video)/[a-z0-9][a-z0-9.+-]{0,63}", re.I)


def sniff_media(data: bytes) -> str | None:
    """The MIME type of common audio or video *data* (WAV, MP3, Ogg, FLAC,
    MP4/M4A, WebM), or ``None``."""
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "audio/wav"
    if data.startswith(b"ID3") or data[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"):
        return "audio/mpeg"
    if data.startswith(b"OggS"):
        return "audio/ogg"
    if data.startswith(b"fLaC"):
        return "audio/flac"
    if data[4:8] == b"ftyp":
        return "audio/mp4" if data[8:11] == b"M4A" else "video/mp4"
    if data.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/webm"
    return None


def wav_bytes(samples: Any, sample_rate: int) -> bytes:
    """*samples* (a numpy array: one row per channel, or 1-D for mono;
    floats in [-1, 1] or integers as 16-bit PCM) as a WAV file."""
    try:
        import numpy as np
    except ImportError:  # an array-like of another library, without numpy here
        raise MissingExtraError("audio arrays need numpy: pip install 'stgo[media]'") from None
    array = np.asarray(samples)
    if array.ndim not in (1, 2) or array.size == 0:
        raise WidgetError(
            f"an audio array is 1-D (mono) or 2-D (channels, samples), got shape {array.shape}")
    if array.ndim == 1:
        array = array[np.newaxis, :]
    if array.shape[0] > 8:
        raise WidgetError(
            f"an audio array is (channels, samples): {array.shape[0]} channels is too many "
            "(transpose it?)")
    if np.issubdtype(array.dtype, np.floating):
        if not np.isfinite(array).all():
            raise WidgetError("an audio array must not hold NaN or infinities")
        pcm = (np.clip(array, -1.0, 1.0) * 32767).astype("<i2")
    elif np.issubdtype(array.dtype, np.integer):
        pcm = np.clip(array, -32768, 32767).astype("<i2")
    else:
        raise WidgetError(f"an audio array holds numbers, not {array.dtype}")
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(pcm.shape[0])
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(pcm.T.tobytes())  # interleaved: one frame = one sample per channel
    return out.getvalue()


class Media(Widget):
    """Base of :class:`Audio` and :class:`Video`: a player of bytes, a file or a URL.

    :param data: bytes, a file path, an http(s) URL, or (audio) a numpy array
        with *sample_rate*.
    :param format: the MIME type (``"audio/wav"``); default: from the file's
        name, else from the bytes themselves.
    :param start_time: seconds into the media to start at.
    :param loop: start again at the end.
    :param autoplay: start playing at once (browsers allow that only muted, for video).
    :param label: the player's accessible name.
    """

    media: ClassVar[str] = "audio"

    def __init__(
        self, data: Any, format: str | None = None, *, start_time: float = 0,
        sample_rate: int | None = None, loop: bool = False, autoplay: bool = False,
        label: str | None = None, key: str | None = None, visible: bool = True,
    ) -> None:
        super().__init__(key=key, visible=visible)
        if isinstance(start_time, bool) or not isinstance(start_time, (int, float)) or not (
                0 <= start_time < float("inf")):
            raise WidgetError(f"start_time must be seconds (0 or more), got {start_time!r}")
        self.start_time = float(start_time)
        self.loop = bool(loop)
        self.autoplay = bool(autoplay)
        self.label = label or self.media
        self._version = 0
        self._load(data, format, sample_rate)

    def _load(self, data: Any, format: str | None, sample_rate: int | None) -> None:
        """Take in a new source (all checked before anything changes)."""
        if format is not None and not (isinstance(format, str) and _MIME.fullmatch(format)):
            raise WidgetError(f"format must be an audio/... or video/... MIME type, got {format!r}")
        url: str | None = None
        body: bytes | None = None
        path: Path | None = None
        mime = format
        if sample_rate is not None or (hasattr(data, "ndim") and hasattr(data, "dtype")):
            if self.media != "audio":
                raise WidgetError("only audio takes an array of samples")
            if isinstance(sample_rate, bool) or not isinstance(sample_rate, int) or not (
                    1 <= sample_rate <= 768_000):
                raise WidgetError(
                    f"an audio array needs sample_rate= (samples a second), got {sample_rate!r}")
            body, mime = wav_bytes(data, sample_rate), "audio/wav"
        elif isinstance(data, (bytes, bytearray, memoryview)):
            body = bytes(data)
            mime = mime or sniff_media(body)
            if mime is None:
                raise WidgetError(
                    f"cannot tell what kind of {self.media} these bytes are: give format= "
                    f"(say, '{self.media}/{'wav' if self.media == 'audio' else 'mp4'}')")
        elif isinstance(data, str) and _SCHEME.match(data) and not os.path.exists(data):
            scheme = _SCHEME.match(data)
            assert scheme is not None
            if scheme.group(1).lower() not in ("http", "https") or not _URL.fullmatch(data):
                raise WidgetError(f"{self.media} URLs must be http(s), not {scheme.group(1)}:")
            url = data
        elif isinstance(data, (str, os.PathLike)):
            path = Path(data)
            if not path.is_file():
                raise WidgetError(f"no {self.media} file at {str(path)!r}")
            if mime is None:
                mime = mimetypes.guess_type(path.name)[0]
                if mime is None or not mime.startswith(("audio/", "video/")):
                    with path.open("rb") as f:
                        mime = sniff_media(f.read(64))
            if mime is None:
                raise WidgetError(f"cannot tell what kind of {self.media} {path.name!r} is: "
                                  "give format=")
        else:
            raise WidgetError(
                f"{self.media}() takes bytes, a file path, an http(s) URL"
                f"{' or a numpy array' if self.media == 'audio' else ''}, "
                f"not {type(data).__name__}")
        self._url, self._bytes, self._path = url, body, path
        self.mime = mime or ""
        self._version += 1

    def set_source(self, data: Any, format: str | None = None, *,
                   sample_rate: int | None = None) -> None:
        """Play other media and push it."""
        with self._lock:
            self._load(data, format, sample_rate)
        self.changed()

    def source(self) -> tuple[bytes | Path, str] | None:
        """The bytes (or the file) to serve and their MIME type; ``None`` for a URL."""
        with self._lock:
            if self._bytes is not None:
                return self._bytes, self.mime
            if self._path is not None:
                return self._path, self.mime
            return None

    @property
    def src(self) -> str:
        """The player's ``src``: the URL, or where the app serves the bytes."""
        if self._url is not None:
            return self._url
        fragment = f"#t={self.start_time:g}" if self.start_time else ""
        return f"{MEDIA_PATH}{self.id}?v={self._version}{fragment}"

    def render_body(self, state: StateReader | None) -> str:
        flags = "".join(f" {name}" for name, on in (
            ("loop", self.loop), ("autoplay", self.autoplay),
            ("muted", self.autoplay and self.media == "video"),
            ("playsinline", self.media == "video")) if on)
        kind = f' type="{esc(self.mime)}"' if self.mime else ""
        return (
            f'<{self.media} class="stgo-{self.media}-player" controls preload="metadata"'
            f' aria-label="{esc(self.label)}"{flags}>'
            f'<source src="{esc(self.src)}"{kind}>'
            f"Your browser cannot play this {self.media}.</{self.media}>"
        )


class Audio(Media):
    """An audio player (``app.audio``); see :class:`Media`."""

    kind: ClassVar[str] = "audio"
    media: ClassVar[str] = "audio"


class Video(Media):
    """A video player (``app.video``); see :class:`Media`."""

    kind: ClassVar[str] = "video"
    media: ClassVar[str] = "video"


class CameraInput(FileUploader):
    """A photo from the user's camera: its value (``session.get(key)``) is an
    :class:`~stgo.UploadedFile` (a PNG), or ``None`` until one is taken and
    once it is cleared.

    The browser asks for the camera when the user presses "Start camera",
    shows its picture and uploads a still on "Take photo", through the
    uploads' path and checks (size, :class:`~stgo.limits.UploadLimits`); the
    server keeps it only if its bytes are a PNG, JPEG or WebP image.

    :param max_size: the largest photo accepted, in bytes (20 MB).
    """

    kind: ClassVar[str] = "camera_input"

    def __init__(
        self, label: str, *, max_size: int = DEFAULT_MAX_PHOTO, key: str | None = None,
        disabled: bool = False, help: str | None = None, on_change: Handler | None = None,
        visible: bool = True,
    ) -> None:
        super().__init__(label, ["png", "jpg", "jpeg", "webp"], max_size=max_size, key=key,
                         disabled=disabled, help=help, on_change=on_change, visible=visible)

    def _take(self, session: Any, tokens: list[str]) -> list[UploadedFile]:
        files = super()._take(session, tokens)
        for photo in files:
            try:
                head = photo.read(64)
                photo.seek(0)
                kind = sniff_image(head)
            except (WidgetError, ValueError):
                kind = ""
            if kind not in ("image/png", "image/jpeg", "image/webp"):
                for f in files:
                    f.release()
                raise ProtocolError(f"{self.label!r} takes camera photos (PNG, JPEG or WebP): "
                                    "this upload is not one")
            photo.type = kind
        return files

    def root_attrs(self) -> str:
        return ' data-requires="static/files.js static/camera.js"'

    def render_body(self, state: StateReader | None) -> str:
        photos = _as_list(self.value_for(state))
        disabled = " disabled" if self.disabled else ""
        vid = f"{self.id}-camera"
        taken = (
            f'<p class="stgo-camera-taken">Photo taken ({esc(_size_text(photos[0].size))})</p>'
            f'<button type="button" class="stgo-btn stgo-btn-secondary" data-upload-clear'
            f"{disabled}>Clear photo</button>" if photos else "")
        tip = f' title="{esc(self.help)}"' if self.help else ""
        return (
            f'<span class="stgo-camera-label" id="{vid}-label"{tip}>{esc(self.label)}</span>'
            f'<video class="stgo-camera-preview" id="{vid}" muted playsinline hidden '
            f'aria-labelledby="{vid}-label"></video>'
            f'<div class="stgo-camera-buttons">'
            f'<button type="button" class="stgo-btn stgo-btn-secondary" data-camera-start'
            f' data-max-size="{self.max_size}"{disabled}>Start camera</button>'
            f'<button type="button" class="stgo-btn stgo-btn-primary" data-camera-shoot hidden'
            f"{disabled}>Take photo</button>{taken}</div>"
            f'<div class="stgo-upload-status" role="status" aria-live="polite"></div>'
        )
