"""``live`` in stgo: a value pushed to every user twice a second.

Until ``@app.every`` lands (issue 24) this uses :func:`every` below, a thread
with ``app.batch()``; switching is one line: ``@every(0.5)`` -> ``@app.every(0.5)``.
"""

import threading
import time

import stgo

app = stgo.App(title="Live", max_connections_per_address=None, new_session_rate=None)
app.title("Live")
value = app.text("Tick 0", key="tick")


def every(seconds):
    """``fn()`` every *seconds* on a daemon thread, its changes pushed as one batch."""
    def start(fn):
        def loop():
            while True:
                time.sleep(seconds)
                with app.batch():
                    fn()
        threading.Thread(target=loop, name="live-tick", daemon=True).start()
        return fn
    return start


ticks = iter(range(1, 1 << 62))


@every(0.5)
def tick():
    value.set_text(f"Tick {next(ticks)}")
