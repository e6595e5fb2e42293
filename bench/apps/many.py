"""The counter's shared total for the 10,000-socket benchmark: connection limits off."""

import stgo

app = stgo.App(title="Many", event_rate=None, new_session_rate=None, max_connections=None,
               max_connections_per_address=None)
total = app.metric("Clicks by everyone", 0, key="total")
button = app.button("Increment", key="increment", type="primary")


@button.on_click
def clicked(session, event, value):
    total.increment()                          # pushed to every open socket
