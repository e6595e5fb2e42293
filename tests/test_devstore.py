"""The ``--reload`` dev store within one test: what one process of an app saves
and the next one (a new App from edited code) brings back.  The whole loop,
with a real reloader and browser, is in tests/test_cli.py and
tests/browser/test_reload.py."""

from __future__ import annotations

from pathlib import Path

import stgo
from stgo.server.devstore import DevStore

from .helpers import FakeClock


def _app(clock: FakeClock, label: str) -> stgo.App:
    """One version of the app: *label* is what the developer edits."""
    app = stgo.App(title="Dev", clock=clock)
    app.metric(label, 0, key="total")

    @app.on_session_start
    def start(session: stgo.Session) -> None:
        session.set("visits", 0)
        session.set("x", None)

    @app.session_page
    def draw(session: stgo.Session) -> None:
        session.text(f"x={session.get('x')}, visits {session.get('visits')}", key="shown")

    return app


def test_the_next_process_draws_each_session_from_its_saved_state(tmp_path: Path) -> None:
    clock = FakeClock()
    before = _app(clock, "Sign-ins")
    before_store = DevStore(tmp_path / "sessions.pickle")
    before_store.load(before)  # the first process: no file yet
    signed_in = before.sessions.create()
    signed_in.set("x", 42)
    signed_in.set("visits", 3)
    waiting = before.sessions.create(pending=True)  # a page load, no socket yet
    before.widget("total").increment(5)
    before.state.set("sign_ins", 5)
    clock.advance(60)
    assert before_store.save(before) == 2

    after = _app(clock, "Sign-ins today")  # the edited code
    assert DevStore(tmp_path / "sessions.pickle").load(after) == 2
    back = after.sessions.get(signed_in.id)
    assert back is not None
    # session_page drew from the saved state, not from what the start hooks set.
    assert back.widget("shown").text == "x=42, visits 3"  # type: ignore[attr-defined]
    assert back.created_at == signed_in.created_at  # max_age counts from the first start
    still = after.sessions.get(waiting.id)
    assert still is not None and not still.activated and after.sessions.pending_count() == 1
    # The keyed global's run-time value is kept; its edited label is the new code's.
    total = after.widget("total")
    assert total.value == 5 and total.label == "Sign-ins today"  # type: ignore[attr-defined]
    assert after.state.get("sign_ins") == 5
