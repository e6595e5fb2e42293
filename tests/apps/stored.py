"""An app for the store tests: a private count drawn by session_page, a shared
total in ``app.state`` shown by a global metric, and a hook log.

``STGO_TEST_RECORD`` names a file that gets one line per hook call:
``start <id>`` or ``end <id> <reason> <clicks>``.  ``STGO_TEST_APP_TIMEOUT`` and
``STGO_TEST_APP_INTERVAL`` set the session timeout and cleanup interval;
``STGO_TEST_SHOW_PID=1`` adds a global text naming the serving process;
``STGO_TEST_START_AT_IMPORT=1`` starts the App as the file is loaded (as a
mounted App is, see docs/deployment.md: under ``gunicorn --preload`` that is in
the master, before it forks the workers); ``STGO_TEST_SPAWN`` names a file:
the app starts a long-lived child process as it loads and appends its PID.
"""

import os
import threading

import stgo

_kwargs = {}
if os.environ.get("STGO_TEST_APP_TIMEOUT"):
    _kwargs["session_timeout"] = float(os.environ["STGO_TEST_APP_TIMEOUT"])
if os.environ.get("STGO_TEST_APP_INTERVAL"):
    _kwargs["cleanup_interval"] = float(os.environ["STGO_TEST_APP_INTERVAL"])

app = stgo.App(title="Stored", new_session_rate=None, event_rate=None, **_kwargs)
total = app.metric("Everybody", 0, key="total")
button = app.button("Click", key="click")
rmw = app.button("Read-modify-write", key="rmw")
_lock = threading.Lock()

if os.environ.get("STGO_TEST_SPAWN"):
    # A long-lived helper started as the file loads, as an app may (a model
    # server, a shell command): it gets every inheritable descriptor of this
    # process.  Its PID goes to the file named, for the test to end it.
    import subprocess
    import sys

    _helper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"],
                               close_fds=False)
    with open(os.environ["STGO_TEST_SPAWN"], "a", encoding="utf-8") as _f:
        _f.write(f"{_helper.pid}\n")


class ServingPid(stgo.Text):
    """The pid of the process that draws it, at each draw (not at import:
    under ``gunicorn --preload`` the file is loaded in the master)."""

    def render_body(self, state):
        return f"<p>served by pid {os.getpid()}</p>"


if os.environ.get("STGO_TEST_SHOW_PID"):
    # Unkeyed, so never saved or relayed: tells a test which process drew the page.
    app.add_widget(ServingPid())


def record(line):
    path = os.environ.get("STGO_TEST_RECORD")
    if path:
        with _lock, open(path, "a", encoding="utf-8") as f:
            f.write(line + "\n")


@app.on_session_start
def setup(session):
    session.set("clicks", 0)
    record(f"start {session.id}")


@app.session_page
def draw(session):
    session.text(f"mine: {session.get('clicks', 0)}", key="mine")


@button.on_click
def clicked(session, event, value):
    mine = session.increment("clicks")
    session.widget("mine").set_text(f"mine: {mine}")
    total.set_value(app.state.increment("total"))


@app.on_session_end
def ended(session, reason):
    record(f"end {session.id} {reason} {session.get('clicks')}")


@rmw.on_click
def read_modify_write(session, event, value):
    # Not atomic on purpose: exact only if a session's events never overlap.
    n = session.get("rmw", 0)
    app.state.increment("rmw_calls")  # a Redis round trip between read and write
    session.set("rmw", n + 1)


if os.environ.get("STGO_TEST_START_AT_IMPORT"):
    app.start()
