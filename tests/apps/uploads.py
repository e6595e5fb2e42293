"""An app for the upload tests with a persistent store: a file uploader whose
callback and a later click read the file's bytes, drawn by session_page (so
any process shows it)."""

import stgo

app = stgo.App(title="Uploads", new_session_rate=None, event_rate=None)
uploader = app.file_uploader("Data", key="data", max_size=1_000_000)
show = app.button("Show", key="show")


@app.session_page
def draw(session):
    found = session.get("data")
    text = f"file: {found.name} {found.size} {found.text()}" if found else "file: none"
    session.text(text, key="file")


@uploader.on_change
def changed(session, event, value):
    text = f"file: {value.name} {value.size} {value.text()}" if value else "file: none"
    session.widget("file").set_text(text)


@show.on_click
def show_part(session, event, value):
    found = session.get("data")
    found.seek(2)
    session.widget("file").set_text(f"read: {found.read(3).decode()}")
