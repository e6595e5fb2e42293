"""The benchmark's ticks app: one shared text, set by an ``@app.every`` timer
and by a plain ``app.batch()`` push from a thread of the app's own, each
stamped with ``time.monotonic()`` (one clock for every process of the
machine) and its kind, so that the client can time both in one run."""

import os
import threading
import time

import stgo

INTERVAL = float(os.environ.get("BENCH_TICK_INTERVAL", "0.25"))

app = stgo.App(title="Ticks", event_rate=None, max_connections_per_address=None,
               new_session_rate=None)
stamp = app.text("", key="stamp")


@app.every(INTERVAL)
def tick():
    stamp.set_text(f"timer {time.monotonic():.6f}")


def push():
    """The floor: the same change from a plain thread, in ``app.batch()``,
    about half an interval after the timer's (the two never share a message)."""
    time.sleep(INTERVAL / 2)
    while True:
        time.sleep(INTERVAL)
        with app.batch():
            stamp.set_text(f"batch {time.monotonic():.6f}")


threading.Thread(target=push, name="bench-batch", daemon=True).start()
