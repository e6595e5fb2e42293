"""``live`` in NiceGUI: a value pushed to every user twice a second (``ui.timer`` per
page, NiceGUI's way; the value is the number of half seconds since the start)."""

import os
import time

from nicegui import ui

START = time.monotonic()


@ui.page("/")
def index():
    ui.label("Live").classes("text-h4")
    label = ui.label("Tick 0")
    ui.timer(0.5, lambda: label.set_text(f"Tick {int((time.monotonic() - START) * 2)}"))


ui.run(port=int(os.environ["PORT"]), host="127.0.0.1", reload=False, show=False)
