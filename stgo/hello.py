# The tour finds widgets by key (``session.widget("state")`` is a plain Widget to
# mypy), as a user would write it: no casts in a text meant to be read.
# mypy: disable-error-code="attr-defined"
"""A tour of stgo: global widgets everybody shares, session widgets only you see.

Run it with ``stgo hello`` (or ``make run``, ``python -m stgo run examples/hello.py``),
then open the page in two browsers (or a normal and a private window) and click
in both.  It ships inside the package so that ``stgo hello`` works after a
plain ``pip install stgo``.
"""

from typing import Any

import stgo

app = stgo.App(title="Hello, stgo")

# -- the sidebar: global, like every widget added to the App ------------------------
app.sidebar.header("About")
app.sidebar.markdown(
    "Widgets added to the **App** are *global*: one object, shared and pushed live "
    "to every open tab. Widgets added to a **session** are private to one browser."
)
online = app.sidebar.metric("Sessions open", 0, key="online")

# -- global widgets ----------------------------------------------------------------------
app.title("Hello, stgo")
app.markdown("Every browser gets its own session. Click, then open a second browser.")
app.header("Shared by everybody", divider=True)
total = app.metric("Clicks by everyone", 0, key="total")
button = app.button("Increment", key="increment", type="primary")
mood = app.slider("Team mood (one value for everybody)", 0, 10, 5, key="mood", shared=True)
# An input's value lives in each session's state, even when the widget is global.
name = app.text_input("Your name (each browser has its own)", key="name",
                      placeholder="Type and press Enter")
app.header("Only yours", divider=True)


@app.on_session_start
def setup(session: stgo.Session) -> None:
    """Runs once per new browser: its private widgets go below the global ones."""
    session.set("mine", 0)
    session.text("Hello, stranger!", key="greeting")
    session.text("You clicked 0 times", key="mine_text")
    with session.expander("What is in my session?") as box:
        box.json({}, key="state")
    online.increment()


@app.on_session_end
def teardown(session: stgo.Session, reason: str) -> None:
    online.increment(-1)


def show_state(session: stgo.Session) -> None:
    session.widget("state").set_data(session.items())


@button.on_click
def clicked(session: stgo.Session, event: str, value: Any) -> None:
    mine = session.increment("mine")
    session.widget("mine_text").set_text(f"You clicked {mine} times")
    total.increment()  # atomic; pushed to every open tab
    show_state(session)


@name.on_change
def renamed(session: stgo.Session, event: str, value: Any) -> None:
    session.widget("greeting").set_text(f"Hello, {value or 'stranger'}!")
    show_state(session)
