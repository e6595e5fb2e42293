"""scripts/screenshots.py takes the light and dark gallery pictures."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def png_info(path: Path) -> tuple[int, int, tuple[int, ...]]:
    """Width, height and the top-left pixel's RGB of a PNG (8-bit, not interlaced).

    The first pixel of the first row is stored unfiltered whatever the row's
    filter, so decompressing the image data is all it takes.
    """
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    pos, idat, width, height = 8, b"", 0, 0
    while pos < len(data):
        (length,), tag = struct.unpack(">I", data[pos:pos + 4]), data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        if tag == b"IHDR":
            width, height, depth, _color, _c, _f, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and interlace == 0
        elif tag == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompressobj().decompress(idat, 16)
    return width, height, tuple(raw[1:4])


def test_screenshot_script_takes_light_and_dark_pictures(browser, tmp_path) -> None:
    # `browser` only makes this skip (or fail under STGO_REQUIRE_BROWSER=1)
    # like the other browser tests when Chromium is missing.
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "screenshots.py"), "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=60, env=env,
    )
    assert done.returncode == 0, done.stderr
    light, dark = tmp_path / "gallery-light.png", tmp_path / "gallery-dark.png"
    assert light.exists() and dark.exists()
    assert light.read_bytes() != dark.read_bytes()
    lw, lh, lpixel = png_info(light)
    dw, dh, dpixel = png_info(dark)
    assert lw == dw == 1100
    assert lh > 2000 and dh > 2000, "not a full-page picture of the gallery"
    # The page background: light is light, dark is dark.
    assert min(lpixel) > 200, lpixel
    assert max(dpixel) < 60, dpixel
