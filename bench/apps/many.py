"""The counter's shared total for the 10,000-socket benchmark: connection limits off."""

import stgo

# Pings every 10 minutes: the benchmark's clients read nothing until all
# 10,000 are open (30-60 s here), and the first ones, having left a ping
# unanswered for 20 s, were dropped before the fan-out began.
app = stgo.App(title="Many", event_rate=None, new_session_rate=None, max_connections=None,
               max_connections_per_address=None, ping_interval=600)
total = app.metric("Clicks by everyone", 0, key="total")
button = app.button("Increment", key="increment", type="primary")


@button.on_click
def clicked(session, event, value):
    total.increment()                          # pushed to every open socket
