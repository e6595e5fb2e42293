"""An app for tests/test_cluster.py (many processes on one Redis).

``/`` has a shared metric keyed ``total`` and a button that counts the
session's clicks; ``/reports`` (an ``app.page``) has its own metric keyed
``total`` (keys are unique per page, not per app) and a button that bumps it.
``session_page`` draws the session's count and a long private text (a page
of some size: what a needless full redraw would cost), from state only.
``Log out`` ends the session (``app.sessions.delete``).

``STGO_TEST_RECORD`` names a file that gets a line per click callback
(``click <id> <n>``) and per end hook (``end <id> <reason>``).
"""

import os
import threading

import stgo

app = stgo.App(title="Cluster", new_session_rate=None, event_rate=None, metrics=True)
home_total = app.metric("Home", 0, key="total")
button = app.button("Click", key="click")
logout = app.button("Log out", key="logout")
reports = app.page("/reports", title="Reports")
reports_total = reports.metric("Reports", 0, key="total")
bump = reports.button("Bump", key="bump")
_lock = threading.Lock()

#: Roughly 20 KB of private, unchanging text on every session's page.
FILLER = " ".join(f"line {i} of a long private report" for i in range(600))


def record(line):
    path = os.environ.get("STGO_TEST_RECORD")
    if path:
        with _lock, open(path, "a", encoding="utf-8") as f:
            f.write(line + "\n")


@app.session_page
def draw(session):
    session.text(f"mine: {session.get('clicks', 0)}", key="mine")
    session.text(FILLER, key="filler")


@button.on_click
def clicked(session, event, value):
    mine = session.increment("clicks")
    session.widget("mine").set_text(f"mine: {mine}")
    record(f"click {session.id} {mine}")


@bump.on_click
def bumped(session, event, value):
    reports_total.set_value(app.state.increment("reports"))


@logout.on_click
def logged_out(session, event, value):
    app.sessions.delete(session.id)


@app.on_session_end
def ended(session, reason):
    record(f"end {session.id} {reason}")
