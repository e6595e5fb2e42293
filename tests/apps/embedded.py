"""An app for embedding tests: served by gunicorn, or mounted under a prefix."""

import stgo

app = stgo.App(title="Embedded")
app.title("Embedded")
count = app.text("Clicks: 0", key="count")
button = app.button("Click", key="click")
clicks = [0]


@app.on_session_start
def setup(session):
    session.text("private text", key="private")


@button.on_click
def clicked(session, event, value):
    clicks[0] += 1
    count.set_text(f"Clicks: {clicks[0]}")


# As the README says for gunicorn: the built-in server would start this for us.
app.start()
