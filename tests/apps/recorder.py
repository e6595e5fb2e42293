"""An app for CLI tests: records each session's end and shows its settings.

``STGO_TEST_RECORD`` names a file that gets one line ``<session id> <reason>``
per ended session.  ``STGO_TEST_APP_TIMEOUT`` / ``STGO_TEST_APP_INTERVAL``, when
set, are passed to ``App(...)`` (to test the precedence of settings).
"""

import os
import threading

import stgo

_kwargs = {}
if os.environ.get("STGO_TEST_APP_TIMEOUT"):
    _kwargs["session_timeout"] = float(os.environ["STGO_TEST_APP_TIMEOUT"])
if os.environ.get("STGO_TEST_APP_INTERVAL"):
    _kwargs["cleanup_interval"] = float(os.environ["STGO_TEST_APP_INTERVAL"])

app = stgo.App(title="Recorder", **_kwargs)
app.title("Recorder")
button = app.button("Click", key="click")
_record_lock = threading.Lock()


@app.on_session_start
def setup(session):
    timeout = app.sessions.session_timeout
    interval = app.sessions.cleanup_interval
    session.text(f"session_timeout={timeout!r} cleanup_interval={interval!r}", key="config")
    session.set("clicks", 0)


@button.on_click
def clicked(session, event, value):
    session.increment("clicks")


@app.on_session_end
def ended(session, reason):
    path = os.environ.get("STGO_TEST_RECORD")
    if path:
        with _record_lock, open(path, "a", encoding="utf-8") as f:
            f.write(f"{session.id} {reason}\n")
