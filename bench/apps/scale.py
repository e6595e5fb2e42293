"""The many-processes benchmark's app (``bench/scale.py``): the counter, drawn from state.

As ``counter.py``, but the private count lives in session state and is drawn
by ``session_page``, so that any process can draw any session (docs/scaling.md),
and the shared total lives in ``app.state`` (atomic across processes).  An
unkeyed global text names the process that drew the page (never saved or
relayed), so the failover benchmark knows which process to kill.
"""

import os

import stgo

# Limits off: the benchmark sends one session's events far faster than a
# person clicks, and makes 1,000 sessions and tabs from one address.  No
# pings within a run: the throughput client counts acks without parsing frames.
app = stgo.App(title="Scale", event_rate=None, new_session_rate=None, max_connections=None,
               max_connections_per_address=None, ping_interval=600)
total = app.metric("Clicks by everyone", 0, key="total")
button = app.button("Increment", key="increment", type="primary")
mine_only = app.button("Count mine only", key="mine_only")
app.text(f"served by pid {os.getpid()}")


@app.on_session_start
def setup(session):
    session.set("mine", 0)


@app.session_page
def draw(session):
    session.text(f"mine: {session.get('mine', 0)}", key="mine")


@button.on_click
def clicked(session, event, value):
    mine = session.increment("mine")           # this session only
    session.widget("mine").set_text(f"mine: {mine}")
    total.set_value(app.state.increment("total"))  # pushed to every tab of every process


@mine_only.on_click
def clicked_mine(session, event, value):
    mine = session.increment("mine")
    session.widget("mine").set_text(f"mine: {mine}")
