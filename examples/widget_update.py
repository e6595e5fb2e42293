"""Updating and deleting widgets (a port of Streamlit Go's ``widget-update-demo``).

Top half: *global* widgets.  Updating, hiding or deleting them changes every
open page at once.  Bottom half: a *session* widget that only you can update
or delete.
"""

import threading
import time

import stgo

app = stgo.App(title="Widget updates")
app.title("Global title: shared by all users")
app.header("Global widgets: one change, every page", divider=True)
update_text = app.text("This text can be updated", key="update_text")
slot = app.container(key="slot")  # keeps the deletable text in its place
delete_text = slot.text("This text can be deleted", key="delete_text")
left, middle, right = app.columns(3)
update_button = left.button("Update text", key="update", type="primary")
toggle_button = middle.button("Hide / show text", key="toggle")
delete_button = right.button("Delete / restore text", key="delete")
app.header("Your widget: only you see changes", divider=True)
# Two users may click "Delete / restore" at the same moment: decide under a lock.
_slot_lock = threading.Lock()


@update_button.on_click
def update(session, event, value):
    update_text.set_text(f"Text updated at {time.strftime('%H:%M:%S')}")


@toggle_button.on_click
def toggle(session, event, value):
    update_text.visible = not update_text.visible


@delete_button.on_click
def delete_or_restore(session, event, value):
    with _slot_lock:
        if delete_text.attached:
            app.remove_widget(delete_text)  # removed from every page
        else:
            slot.add(delete_text)           # back in its place, on every page


@app.on_session_start
def setup(session):
    session.container(key="note_slot").text("Your private note", key="note")
    session.set("edits", 0)
    a, b = session.columns(2)
    a.button("Update my note", key="update_note", on_click=update_note)
    b.button("Delete my note", key="delete_note", on_click=delete_note)


def update_note(session, event, value):
    edits = session.increment("edits")
    note = session.get_widget("note")
    if note is None:  # deleted earlier: make a new one in the same place
        note = session.widget("note_slot").text("", key="note")
    note.set_text(f"Your private note, edited {edits} times")


def delete_note(session, event, value):
    session.remove_widget("note")
