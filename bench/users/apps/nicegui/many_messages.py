"""``many_messages`` in NiceGUI: a click writes 200 lines of text."""

import os

from nicegui import ui


@ui.page("/")
def index():
    ui.label("Many messages").classes("text-h4")

    def write():
        with box:
            for i in range(1, 201):
                ui.label(f"Message {i}")

    ui.button("Go", on_click=write)
    box = ui.column()


ui.run(port=int(os.environ["PORT"]), host="127.0.0.1", reload=False, show=False)
