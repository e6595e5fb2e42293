"""Every stgo widget on one page: text, inputs, layout, data and feedback.

Run it with ``python -m stgo run examples/gallery.py``.  The browser tests use
:func:`make_app` for a fresh copy, and ``scripts/screenshots.py`` takes the
pictures in ``docs/images/`` from it.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import struct
import wave
import zlib
from typing import Any

import stgo

#: The input widgets: key -> label.  Tests find each one by its label.
INPUT_LABELS = {
    "name": "Your name",
    "bio": "About you",
    "age": "Age",
    "subscribe": "Subscribe to the newsletter",
    "volume": "Volume",
    "color": "Favourite colour",
    "size": "T-shirt size",
}

COLORS = ["Red", "Green", "Blue"]
SIZES = ["S", "M", "L", "XL"]


def png(width: int = 96, height: int = 48) -> bytes:
    """A small PNG (a diagonal colour gradient), made without any image library."""
    rows = []
    for y in range(height):
        row = bytearray([0])  # filter type 0 for every scanline
        for x in range(width):
            row += bytes((255 - 2 * x % 256, 75 + 3 * y, 75 + x + y))
        rows.append(bytes(row))

    def chunk(tag: bytes, data: bytes) -> bytes:
        body = tag + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"".join(rows), 9)) + chunk(b"IEND", b""))


def tone(hz: float = 440.0, seconds: float = 1.0, rate: int = 8000) -> bytes:
    """A sine tone as a WAV file, made with the standard library."""
    frames = b"".join(struct.pack("<h", int(12000 * math.sin(2 * math.pi * hz * i / rate)))
                      for i in range(int(seconds * rate)))
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(frames)
    return out.getvalue()


def make_app() -> stgo.App:
    """Build a fresh gallery App (a new one per call, so tests do not share state)."""
    app = stgo.App(title="stgo widget gallery")

    # -- sidebar ---------------------------------------------------------------------------
    app.sidebar.header("Sidebar")
    app.sidebar.caption("Global widgets that sit on the left.")
    app.sidebar.selectbox("Theme accent", ["Coral", "Ocean", "Forest"], key="accent")
    visitors = app.sidebar.metric("Sessions started", 0, key="visitors")

    # -- text ------------------------------------------------------------------------------
    app.title("Widget gallery")
    app.caption("Every stgo widget on one page. Change an input: your values are yours alone.")
    app.header("Text", divider=True)
    app.subheader("A subheader")
    app.text("Plain text keeps   spacing and <angle brackets> as typed.")
    app.markdown("**Markdown** with *emphasis*, `code` and a [link](https://example.com).")
    app.write("write() takes", 42, "or a dict:", {"ok": True})
    app.code("def hello(name):\n    return f'Hello, {name}!'", language="python")
    app.json({"session": "private", "widgets": ["text", "input", "layout"], "count": 3})

    # -- inputs ----------------------------------------------------------------------------
    app.header("Inputs", divider=True)
    left, right = app.columns(2)
    left.text_input(INPUT_LABELS["name"], key="name", placeholder="Ada")
    left.number_input(INPUT_LABELS["age"], 30, min_value=0, max_value=130, key="age")
    left.checkbox(INPUT_LABELS["subscribe"], key="subscribe")
    right.text_area(INPUT_LABELS["bio"], key="bio", rows=3)
    right.slider(INPUT_LABELS["volume"], 0, 10, 5, key="volume")
    app.selectbox(INPUT_LABELS["color"], COLORS, key="color")
    app.radio(INPUT_LABELS["size"], SIZES, index=1, key="size", horizontal=True)
    row = app.columns([1, 1, 3])
    press = row[0].button("Press me", key="press", type="primary")
    row[1].button("Reset", key="reset")

    @press.on_click
    def pressed(session: stgo.Session, event: str, value: Any) -> None:
        n = session.increment("presses")
        session.widget("echo").set_text(f"Pressed {n} times")

    for key in INPUT_LABELS:
        app.widget(key).on_change(_echo)

    @app.widget("reset").on_click
    def reset(session: stgo.Session, event: str, value: Any) -> None:
        for key in INPUT_LABELS:
            session.delete(key)
        session.widget("echo").set_text("Values reset")

    # -- more inputs, a form -----------------------------------------------------------------
    app.header("More inputs", divider=True)
    left, right = app.columns(2)
    left.date_input("A day", dt.date(2026, 6, 1), key="day")
    left.date_input("A trip", (dt.date(2026, 7, 1), dt.date(2026, 7, 14)), key="trip")
    left.time_input("Alarm", dt.time(7, 30), key="alarm")
    left.toggle("Dark mode", key="dark")
    right.multiselect("Toppings", ["Cheese", "Olives", "Basil"], ["Cheese"], key="toppings")
    right.color_picker("Accent colour", "#ff4b4b", key="accent_colour")
    right.select_slider("Spice", ["Mild", "Medium", "Hot"], "Medium", key="spice")
    right.slider("Price range", 0, 100, value=(20, 60), key="price")
    form = app.form("order")
    form.text_input("Order name", key="order_name")
    form.number_input("Quantity", 1, min_value=1, max_value=9, key="quantity")
    form.submit_button("Place order")

    @form.on_submit
    def ordered(session: stgo.Session, values: dict[str, Any]) -> None:
        session.toast(f"Ordered {values['quantity']} for {values['order_name'] or 'you'}")

    # -- overlays, chat, a slot -------------------------------------------------------------
    app.header("Overlays and chat", divider=True)
    bar = app.container(key="overlays")
    with bar.popover("A popover") as pop:
        pop.text("A small container that floats.")
    ask = bar.button("Open a dialog", key="ask")
    dialog = bar.dialog("A dialog", key="dialog")
    dialog.text("Modal, and opened for you alone.")
    toast = bar.button("Toast me", key="toast")
    slot = bar.session_slot("yours")
    done = app.status("A finished job", state="complete")
    done.text("Step one, step two.")
    # A container holding a chat input is a chat box: the input stays at its
    # bottom, under the messages added later, and the box scrolls.
    talk = app.container(key="talk", border=True)
    talk.chat_input("Say something")
    talk.chat_message("Ann").markdown("Hello!")
    talk.chat_message("assistant").markdown("Hi Ann! Ask me **anything**.")

    @ask.on_click
    def asked(session: stgo.Session, event: str, value: Any) -> None:
        dialog.open(session)

    @toast.on_click
    def toasted(session: stgo.Session, event: str, value: Any) -> None:
        session.toast("A toast, for you only")
        box = slot.for_session(session)
        box.clear()
        box.caption("(a session slot: only you see this line)")

    # -- layout ----------------------------------------------------------------------------
    app.header("Layout", divider=True)
    box = app.container(border=True)
    box.text("A container with a border.")
    a, b, c = box.columns([2, 1, 1])
    a.text("Wide column (2)")
    b.text("Column (1)")
    c.text("Column (1)")
    more = app.expander("Expander: click to open")
    more.text("Hidden until opened.")
    more.progress(40)
    first, second, third = app.tabs(["First tab", "Second tab", "Third tab"])
    first.text("Content of the first tab.")
    second.text("Content of the second tab.")
    third.text("Content of the third tab.")

    # -- data ------------------------------------------------------------------------------
    app.header("Data", divider=True)
    m1, m2, m3 = app.columns(3)
    m1.metric("Temperature", "21 °C", "+1.5 °C")
    m2.metric("Wind", "9 km/h", "-3 km/h")
    m3.metric("Humidity", "64 %", 0)
    app.table([{"city": "Lisbon", "population": 545_000}, {"city": "Oslo", "population": 709_000}])
    app.dataframe({"x": [1, 2, 3, 4], "x squared": [1, 4, 9, 16], "even": [False, True,
                                                                              False, True]},
                  selection="multi", row_style=lambda row: "highlight" if row["even"] else None)
    app.data_editor(
        [{"item": "Tea", "price": 3.5, "stock": 12, "organic": True, "kind": "drink"},
         {"item": "Cake", "price": 4.25, "stock": 3, "organic": False, "kind": "food"}],
        key="menu", label="Menu (edit me: each visitor edits their own copy)",
        num_rows="dynamic", column_config={
            "item": stgo.column.text("Item", max_chars=30, required=True, default="New item"),
            "price": stgo.column.number("Price", format="$%.2f", min=0, max=100),
            "stock": stgo.column.number("In stock", min=0, step=1, default=0),
            "organic": stgo.column.checkbox("Organic"),
            "kind": stgo.column.select(["drink", "food"], label="Kind", default="food"),
        })

    # -- charts and files ------------------------------------------------------------------
    app.header("Charts and files", divider=True)
    c1, c2 = app.columns(2)
    c1.line_chart({"day": [1, 2, 3, 4, 5], "visits": [3, 5, 4, 8, 6]}, x="day", y="visits",
                  height=240, title="Visits")
    c2.bar_chart([{"fruit": "apple", "sold": 4}, {"fruit": "pear", "sold": 7}], x="fruit",
                 y="sold", height=240, title="Sales")
    app.file_uploader("Upload a file", type=["csv", "txt"], max_size=1_000_000, key="upload")
    app.download_button("Download a CSV", data="x,y\n1,2\n", file_name="example.csv",
                        mime="text/csv")

    # -- Vega-Lite and media ----------------------------------------------------------------
    app.header("Vega-Lite and media", divider=True)
    app.vega_lite_chart(
        {"mark": {"type": "bar", "tooltip": True},
         "encoding": {"x": {"field": "fruit", "type": "nominal"},
                      "y": {"field": "sold", "type": "quantitative"}}},
        [{"fruit": "apple", "sold": 4}, {"fruit": "pear", "sold": 7}, {"fruit": "fig", "sold": 2}],
        height=200, title="Sales, drawn by Vega-Lite", key="vega")
    app.audio(tone(), label="A 440 Hz tone")
    app.camera_input("Take a photo", key="shot")

    # -- feedback --------------------------------------------------------------------------
    app.header("Feedback", divider=True)
    app.progress(0.7, "Loading… 70 %")
    app.info("Info: something worth knowing.")
    app.success("Success: it worked.")
    app.warning("Warning: check this.")
    app.error("Error: this went wrong.")
    app.image(png(), caption="A PNG made in code", width=192)

    @app.on_session_start
    def setup(session: stgo.Session) -> None:
        visitors.set_value(visitors.value + 1, delta=1)
        session.subheader("Only you see this")
        session.text("Nothing pressed yet", key="echo")

    return app


def _echo(session: stgo.Session, event: str, value: Any) -> None:
    session.widget("echo").set_text(f"You set {value!r}")


app = make_app()
