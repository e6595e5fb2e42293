"""An app for tests/test_widget_ids.py: the same page, drawn by any process.

Shared: a keyed button, an unkeyed one, and an unkeyed one in a column; private
(drawn by ``session_page`` in whichever process serves the session): a keyed
button. Each click counts in the session and shows the count.
"""

import stgo

app = stgo.App(title="Alike", new_session_rate=None, event_rate=None)
keyed = app.button("Keyed", key="keyed")
unkeyed = app.button("Unkeyed")
left, _right = app.columns(2)
inner = left.button("Inner")


def counted(session, *_):
    session.widget("clicks").set_text(f"clicks: {session.increment('clicks')}")


for b in (keyed, unkeyed, inner):
    b.on_click(counted)


@app.session_page
def draw(session):
    session.text(f"clicks: {session.get('clicks', 0)}", key="clicks")
    session.button("Private", key="private").on_click(counted)
