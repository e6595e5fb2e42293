"""An app for the cache tests: a button whose callback asks ``@stgo.cache_data``
for a value that takes a while to compute.

``STGO_TEST_RECORD`` names a file that gets one line per computation
(``computed <pid>``), so that a test counts them across processes.
"""

import os
import threading

import stgo

app = stgo.App(title="Cached", new_session_rate=None, event_rate=None)
button = app.button("Load", key="load")
_slow = threading.Event()  # never set: the computation's own work


@stgo.cache_data(ttl=60)
def load(region):
    with open(os.environ["STGO_TEST_RECORD"], "a", encoding="utf-8") as f:
        f.write(f"computed {os.getpid()}\n")
    _slow.wait(1.0)  # a slow query: long enough for every caller to ask meanwhile
    return {"region": region, "rows": [1, 2, 3]}


@app.session_page
def page(session):
    session.text("nothing loaded", key="out")


@button.on_click
def clicked(session, event, value):
    data = load("eu")
    session.widget("out").set_text(f"loaded {data['region']} {data['rows']}")
