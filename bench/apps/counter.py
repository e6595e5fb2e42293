"""The benchmark's counter app: a private count per browser, a shared total for all.

The same app as ``examples/counter.py`` (the app the peers were measured
with), plus one button whose click changes only the clicking session's page,
for the throughput of events that fan out to nobody else.
"""

import stgo

# Limits off: the benchmark sends one session's events far faster than a
# person clicks, and makes 1,000 sessions and tabs from one address.
app = stgo.App(title="Counter", event_rate=None, max_connections_per_address=None,
               new_session_rate=None)
app.title("Counter")
total = app.metric("Clicks by everyone", 0, key="total")
button = app.button("Increment", key="increment", type="primary")
mine_only = app.button("Count mine only", key="mine_only")


@app.on_session_start
def setup(session):
    session.set("mine", 0)
    session.metric("Your clicks", 0, key="mine")


@button.on_click
def clicked(session, event, value):
    mine = session.increment("mine")           # this session only
    session.widget("mine").set_value(mine, delta=1)
    total.increment()                          # pushed to every session


@mine_only.on_click
def clicked_mine(session, event, value):
    mine = session.increment("mine")
    session.widget("mine").set_value(mine, delta=1)
