"""``widget_heavy`` in NiceGUI: 100 widgets of six kinds; a click names the button."""

import os

from nicegui import ui


@ui.page("/")
def index():
    ui.label("Widget heavy").classes("text-h4")
    for i in range(20):
        ui.button(f"Button {i}", on_click=lambda i=i: last.set_text(f"Clicked: {i}"))
    for i in range(20):
        ui.checkbox(f"Check {i}")
    for i in range(20):
        ui.label(f"Slider {i}")
        ui.slider(min=0, max=100, value=50)
    for i in range(20):
        ui.number(f"Number {i}", value=i)
    for i in range(10):
        ui.select(["a", "b", "c"], label=f"Select {i}", value="a")
    for i in range(10):
        ui.input(f"Text {i}", value="x")
    last = ui.label("Clicked: none")


ui.run(port=int(os.environ["PORT"]), host="127.0.0.1", reload=False, show=False)
