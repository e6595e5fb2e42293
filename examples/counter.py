"""A private count per browser, and a live total shared by everybody.

``Metric.increment`` is atomic, so simultaneous clicks from many sessions
never lose a count.  The private count is drawn from session state by
``session_page``, so with ``--store redis://...`` a restarted server shows
every open tab its own count again (and the shared total, which the store
keeps too).
"""

import stgo

app = stgo.App(title="Counter")
app.title("Counter")
total = app.metric("Clicks by everyone", 0, key="total")
button = app.button("Increment", key="increment", type="primary")
reset = app.button("Reset mine", key="reset")


@app.on_session_start
def setup(session):
    session.set("mine", 0)                     # once per session, ever


@app.session_page
def draw(session):
    # Whenever a process draws this session: new, after a restart, elsewhere.
    session.metric("Your clicks", session.get("mine", 0), key="mine")


@button.on_click
def clicked(session, event, value):
    mine = session.increment("mine")           # atomic, this session only
    session.widget("mine").set_value(mine, delta=1)
    total.increment()                          # atomic, pushed to every session


@reset.on_click
def reset_mine(session, event, value):
    session.set("mine", 0)
    session.widget("mine").set_value(0, delta=None)
