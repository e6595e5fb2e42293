"""Per-user widgets added on click (a port of Streamlit Go's ``session-widgets``).

The title, header, text and buttons are global: everybody sees them.  Each
click adds a text to *your* page only: the other browsers never see it.
"""

import stgo

app = stgo.App(title="Session widgets")
app.title("Global title: shared by all users")
app.header("This is global content", divider=True)
app.text("Every user sees this text.")
add = app.button("Add a widget for me", key="add", type="primary")
clear = app.button("Clear my widgets", key="clear")


@add.on_click
def add_widget(session, event, value):
    count = session.increment("count")
    # The same as session.text(...): the widget goes to this session only.
    app.add_widget_to_session(session.id, stgo.Text(f"Your counter: {count}", key=f"line{count}"))


@clear.on_click
def clear_widgets(session, event, value):
    session.clear_widgets()
    session.set("count", 0)
