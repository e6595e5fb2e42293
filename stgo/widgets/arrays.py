"""Pictures from arrays: ``app.image(numpy_array)`` and ``app.image(pil_image)``.

A numpy array is encoded to PNG here with the standard library (zlib), so it
needs only numpy, which the caller already has; a PIL image is saved as PNG
by Pillow, which likewise came with it.  Neither is imported unless such a
value is passed (``stgo[media]`` installs both).
"""

from __future__ import annotations

import io
import struct
import zlib
from typing import Any

from ..errors import MissingExtraError, WidgetError

__all__ = ["is_array_image", "png_of"]

# Colour types of PNG by channels: grey, grey + alpha, RGB, RGBA.
_COLOUR_TYPE = {1: 0, 2: 4, 3: 2, 4: 6}


def is_array_image(value: Any) -> bool:
    """Whether *value* is a numpy array or a PIL image (by duck type: no import)."""
    return (hasattr(value, "ndim") and hasattr(value, "dtype")) or (
        callable(getattr(value, "save", None)) and hasattr(value, "mode")
        and hasattr(value, "size"))


def png_of(value: Any) -> bytes:
    """*value* (a numpy array or a PIL image) as PNG bytes.

    Arrays are ``H x W`` (grey), ``H x W x 1``, ``H x W x 3`` (RGB) or
    ``H x W x 4`` (RGBA): ``uint8`` (0-255), other integers within 0-255,
    booleans (black and white) or floats within 0.0-1.0.

    :raises WidgetError: another shape, or values out of range.
    """
    if not hasattr(value, "ndim"):
        out = io.BytesIO()
        try:
            image = value if value.mode in ("1", "L", "LA", "RGB", "RGBA", "P") \
                else value.convert("RGBA")
            image.save(out, format="PNG")
        except (OSError, ValueError) as exc:
            raise WidgetError(f"cannot encode this PIL image as PNG: {exc}") from None
        return out.getvalue()
    try:
        import numpy as np
    except ImportError:  # an array-like of another library, without numpy here
        raise MissingExtraError("image arrays need numpy: pip install 'stgo[media]'") from None
    array = np.asarray(value)
    if array.ndim == 2:
        array = array[:, :, np.newaxis]
    if array.ndim != 3 or array.shape[2] not in _COLOUR_TYPE or 0 in array.shape:
        raise WidgetError(
            f"an image array is H x W, H x W x 3 (RGB) or H x W x 4 (RGBA), got shape "
            f"{array.shape}")
    if array.dtype == np.bool_:
        array = array.astype(np.uint8) * 255
    elif np.issubdtype(array.dtype, np.floating):
        if not np.isfinite(array).all() or array.min() < 0 or array.max() > 1:
            raise WidgetError("float image arrays hold values from 0.0 to 1.0 (scale or "
                              "np.clip them first)")
        array = np.rint(array * 255).astype(np.uint8)
    elif np.issubdtype(array.dtype, np.integer):
        if array.dtype != np.uint8 and (array.min() < 0 or array.max() > 255):
            raise WidgetError("integer image arrays hold values from 0 to 255 (as uint8)")
        array = array.astype(np.uint8)
    else:
        raise WidgetError(f"an image array holds numbers, not {array.dtype}")
    height, width, channels = array.shape
    # Each row starts with its filter byte (0: none).
    rows = np.zeros((height, 1 + width * channels), dtype=np.uint8)
    rows[:, 1:] = array.reshape(height, width * channels)
    header = struct.pack(">IIBBBBB", width, height, 8, _COLOUR_TYPE[channels], 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", zlib.compress(rows.tobytes(), 6)) + _chunk(b"IEND", b""))


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
