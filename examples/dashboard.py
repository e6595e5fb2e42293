"""A live dashboard: a background thread updates global widgets; every tab follows.

A live chart grows by one point per tick (only the new point is sent, and
each user's zoom stays), and a table of services highlights the rows above
each user's own latency threshold.

The thread starts with the first session and stops when the last one ends
(the server ending every session on shutdown included), so nothing runs
while nobody watches.  Changes made from the thread are pushed like changes
made in a callback; ``app.batch()`` sends one tick's changes as one message.
"""

import logging
import random
import threading
import time

import stgo

log = logging.getLogger("dashboard")

app = stgo.App(title="Dashboard")
app.title("Live dashboard")
app.caption("Numbers from a simulated service, updated by a background thread.")
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


class Ticker:
    """Calls :meth:`tick` every *interval* seconds on a daemon thread.

    :param interval: seconds between ticks.
    :param seed: seeds the simulated numbers (``None``: random).
    """

    def __init__(self, interval=1.0, seed=None):
        self.interval = interval
        self.ticks = 0
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._thread = None
        self._stop = threading.Event()

    @property
    def running(self):
        """Whether the thread is alive."""
        thread = self._thread
        return thread is not None and thread.is_alive()

    def start(self):
        """Start the thread, unless it runs already."""
        with self._lock:
            if self.running:
                return
            self._stop = threading.Event()
            self._thread = threading.Thread(
                target=self._run, args=(self._stop,), name="dashboard-ticker", daemon=True
            )
            self._thread.start()

    def stop(self, timeout=5.0, *, only_if=None):
        """Stop the thread and wait for it (at most *timeout* seconds).

        :param only_if: a test run under the same lock as :meth:`start`, so that
            a concurrent start cannot slip in between the test and the stop.
        """
        with self._lock:
            if only_if is not None and not only_if():
                return
            thread, self._thread = self._thread, None
            self._stop.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _run(self, stop):
        while not stop.wait(self.interval):
            try:
                self.tick()
            except Exception:  # one bad tick must not end the dashboard
                log.exception("dashboard tick failed")

    def tick(self):
        """Move every number once and push all of it in one message."""
        rnd = self._random
        with app.batch():
            self.ticks += 1
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
            trend.add_rows({"tick": [self.ticks], "requests": [new],
                            "latency": [latency.value]})
            services.set_data([
                {"service": s, "latency (ms)": round(rnd.uniform(10, 120), 1),
                 "errors": rnd.randint(0, 3)} for s in SERVICES
            ])
            updated.set_text(f"Last update {time.strftime('%H:%M:%S')} (tick {self.ticks})")


ticker = Ticker()


@app.on_session_start
def first_viewer(session):
    ticker.start()


@app.on_session_end
def last_viewer(session, reason):
    # The session is already out of the map: zero means nobody is left.
    ticker.stop(only_if=lambda: len(app.sessions) == 0)


@restart.on_click
def restart_batch(session, event, value):
    batch.set_progress(0, "Nightly batch: restarted")
