"""``live`` in stgo: a value pushed to every user twice a second (``@app.every``)."""

import stgo

app = stgo.App(title="Live", max_connections_per_address=None, new_session_rate=None)
app.title("Live")
value = app.text("Tick 0", key="tick")
ticks = iter(range(1, 1 << 62))


@app.every(0.5)
def tick():
    value.set_text(f"Tick {next(ticks)}")
