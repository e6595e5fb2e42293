"""An app for the timer and presence tests across processes (issue 24).

Every tick of ``@app.every(0.2)`` and every presence hook is written to the
Redis store's server (``STGO_STORE``), under ``STGO_TEST_KEYS`` (a prefix):
``<prefix>ticks`` gets ``<pid> <slot> <fence>`` per tick, ``<prefix>presence``
gets ``connect|disconnect <tab id> <pid>`` per hook.
"""

import os

import redis

import stgo

app = stgo.App(title="Timers", new_session_rate=None, event_rate=None)
app.text("Timers and presence")
_redis = redis.Redis.from_url(os.environ["STGO_STORE"])
_keys = os.environ.get("STGO_TEST_KEYS", "test:")
_pid = os.getpid()


@app.every(0.2)
def tick():
    now = stgo.current_tick()
    _redis.rpush(f"{_keys}ticks", f"{_pid} {now.slot} {now.fence or 0}")


@app.on_connect
def came(session, tab):
    _redis.rpush(f"{_keys}presence", f"connect {tab.id} {_pid}")


@app.on_disconnect
def went(session, tab):
    _redis.rpush(f"{_keys}presence", f"disconnect {tab.id} {_pid}")
