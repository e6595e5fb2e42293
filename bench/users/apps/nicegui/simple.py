"""``simple`` in NiceGUI: a title, a button and the user's own counter (a page per user)."""

import os

from nicegui import ui


@ui.page("/")
def index():
    count = {"n": 0}
    ui.label("Simple").classes("text-h4")

    def clicked():
        count["n"] += 1
        label.set_text(f"Count: {count['n']}")

    ui.button("Increment", on_click=clicked)
    label = ui.label("Count: 0")


ui.run(port=int(os.environ["PORT"]), host="127.0.0.1", reload=False, show=False)
