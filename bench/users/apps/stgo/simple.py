"""``simple`` in stgo: a title, a button and the user's own counter."""

import stgo

# Limits off: the bench opens many sessions from one address at once.
app = stgo.App(title="Simple", max_connections_per_address=None, new_session_rate=None)
app.title("Simple")
button = app.button("Increment", key="inc")


# session_page, not on_session_start: the private widget is drawn from state by
# whichever process serves the tab (with --workers 2 the socket may land on the
# other one; docs/scaling.md).
@app.session_page
def page(session):
    session.text(f"Count: {session.get('n', 0)}", key="count")


@button.on_click
def clicked(session, event, value):
    session.widget("count").set_text(f"Count: {session.increment('n')}")
