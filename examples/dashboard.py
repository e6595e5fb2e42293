"""A live dashboard: a timer updates global widgets; every tab follows.

A live chart grows by one point per tick (only the new point is sent, and
each user's zoom stays), and a table of services highlights the rows above
each user's own latency threshold.

``@app.every(1.0)`` runs ``tick`` every second while the app runs: no thread
of your own, no stop flag.  A tick's changes go out as one message, a tick
that raises is logged and the next one runs, and with a shared store (Redis,
``--workers``) one process of the cluster runs it.  While nobody watches
(``app.online()``) nothing is computed.
"""

import random
import time

import stgo

app = stgo.App(title="Dashboard")
app.title("Live dashboard")
app.caption("Numbers from a simulated service, updated every second by a timer.")
requests_col, latency_col, errors_col = app.columns(3)
requests = requests_col.metric("Requests / s", 0, key="requests")
latency = latency_col.metric("Latency (ms)", 0, key="latency")
errors = errors_col.metric("Errors", 0, key="errors")
batch = app.progress(0, "Nightly batch", key="batch")
batches_done = app.metric("Batches done", 0, key="batches_done")
updated = app.caption("Waiting for the first tick...", key="updated")
restart = app.button("Restart the batch", key="restart")
trend = app.line_chart(x="tick", y=["requests", "latency"], title="Last two minutes",
                       y_label="requests / s, ms", max_points=120, height=300, key="trend")
SERVICES = ["api", "auth", "billing", "search", "mail"]
threshold = app.number_input("Highlight latency above (ms)", 60.0, min_value=0.0, step=5.0,
                             key="threshold")


def slow_rows(session, row):
    """Each user's own threshold picks the rows to highlight."""
    return "highlight" if row["latency (ms)"] > session.get("threshold", 60.0) else None


services = app.dataframe([{"service": s, "latency (ms)": 0.0, "errors": 0} for s in SERVICES],
                         row_style=slow_rows, key="services")


@threshold.on_change
def new_threshold(session, event, value):
    session.redraw(services)  # only this user's table changes


@app.every(1.0)
def tick():
    """Every second, while somebody watches: move the numbers."""
    if app.online()["tabs"]:
        update()


def update(rnd=random):
    """Move every number once (inside a tick: pushed as one message)."""
    ticks = app.state.increment("ticks")
    old = requests.value or 0
    new = max(0, old + rnd.randint(-20, 30))
    requests.set_value(new, delta=new - old)
    latency.set_value(round(rnd.uniform(20, 80), 1))
    if rnd.random() < 0.1:
        errors.increment()
    percent = batch.value + 5
    if percent > 100:
        percent = 0
        batches_done.increment()
    batch.set_progress(percent, f"Nightly batch: {percent}%")
    trend.add_rows({"tick": [ticks], "requests": [new], "latency": [latency.value]})
    services.set_data([
        {"service": s, "latency (ms)": round(rnd.uniform(10, 120), 1),
         "errors": rnd.randint(0, 3)} for s in SERVICES
    ])
    updated.set_text(f"Last update {time.strftime('%H:%M:%S')} (tick {ticks})")


@restart.on_click
def restart_batch(session, event, value):
    batch.set_progress(0, "Nightly batch: restarted")
