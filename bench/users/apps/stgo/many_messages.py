"""``many_messages`` in stgo: a click writes 200 lines of text to the user's page."""

import stgo

app = stgo.App(title="Many messages", max_connections_per_address=None, new_session_rate=None)
app.title("Many messages")
go = app.button("Go", key="go")


@go.on_click
def write(session, event, value):
    for i in range(1, 201):
        session.text(f"Message {i}", key=f"m{i}")
