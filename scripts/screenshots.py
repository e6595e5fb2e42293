"""Take the gallery screenshots in docs/images/ with headless Chromium.

    python scripts/screenshots.py [--out DIR] [--width PX]

Serves ``examples/gallery.py`` on a free local port, opens it once with the
light and once with the dark colour scheme, and saves full-page PNGs
``gallery-light.png`` and ``gallery-dark.png`` in DIR (default: docs/images).
Uses Debian's Chromium (``/usr/bin/chromium``, or ``$STGO_CHROMIUM``); it never
downloads a browser.
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import os
import shutil
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars", "--font-render-hinting=none",
]


def load_gallery() -> ModuleType:
    """Import examples/gallery.py (examples/ is not a package)."""
    spec = importlib.util.spec_from_file_location("stgo_gallery", ROOT / "examples" / "gallery.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def chromium() -> str:
    path = os.environ.get("STGO_CHROMIUM", "/usr/bin/chromium")
    found = path if os.path.exists(path) else shutil.which("chromium")
    if found is None:
        raise SystemExit("no Chromium at /usr/bin/chromium: apt-get install chromium")
    return found


def take(out: Path, width: int = 1100) -> list[Path]:
    """Serve the gallery and save one full-page screenshot per colour scheme."""
    sys.path.insert(0, str(ROOT))
    from playwright.sync_api import sync_playwright

    from stgo.server import Server

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no access log lines
    server = Server(load_gallery().make_app(), "127.0.0.1", 0)
    server.start()
    out.mkdir(parents=True, exist_ok=True)
    saved = []
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium(), args=FLAGS)
            try:
                for scheme in ("light", "dark"):
                    context = browser.new_context(
                        color_scheme=scheme, viewport={"width": width, "height": 900},
                        device_scale_factor=1, reduced_motion="reduce",
                    )
                    page = context.new_page()
                    page.goto(server.url)
                    # Functions, not expressions: the page's CSP refuses Playwright's eval.
                    page.wait_for_function("() => window.stgo && window.stgo.connected",
                                           timeout=10_000)
                    # Open the expander so that its content shows in the picture.
                    page.locator("summary", has_text="Expander").click()
                    # Images load lazily: bring each into view, wait, go back up.
                    for image in page.locator("img").all():
                        image.scroll_into_view_if_needed()
                    page.wait_for_function(
                        "() => [...document.images].every(i => i.complete && i.naturalWidth > 0)",
                        timeout=10_000,
                    )
                    # Charts draw once plotly.js has loaded.
                    page.wait_for_function(
                        "() => [...document.querySelectorAll('.stgo-plot')].every(p => p.data)",
                        timeout=20_000,
                    )
                    page.evaluate("() => window.scrollTo(0, 0)")
                    # A viewport as tall as the page: the chat input, pinned
                    # to the viewport's bottom, is drawn at the page's end.
                    height = page.evaluate("() => document.documentElement.scrollHeight")
                    page.set_viewport_size({"width": width, "height": int(height)})
                    path = out / f"gallery-{scheme}.png"
                    page.screenshot(path=str(path), full_page=True)
                    saved.append(path)
                    context.close()
            finally:
                browser.close()
    finally:
        server.stop()
    return saved


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images",
                        help="directory for the PNGs (default: docs/images)")
    parser.add_argument("--width", type=int, default=1100, help="viewport width in CSS px")
    args = parser.parse_args(argv)
    for path in take(args.out, args.width):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
