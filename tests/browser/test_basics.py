"""The counter app in a real browser: clicks, isolation, live shared updates."""

from __future__ import annotations

from typing import Any

import stgo


def counter_app() -> stgo.App:
    app = stgo.App(title="Counter")
    app.title("Counter")
    total = app.text("Total: 0", key="total")
    button = app.button("Increment", key="inc")
    count = [0]

    @app.on_session_start
    def setup(session: stgo.Session) -> None:
        session.text("Mine: 0", key="mine")

    @button.on_click
    def clicked(session: stgo.Session, event: str, value: Any) -> None:
        mine = session.increment("n")
        session.widget("mine").set_text(f"Mine: {mine}")
        count[0] += 1
        total.set_text(f"Total: {count[0]}")

    return app


def test_click_updates_own_count_and_everyones_total(serve, new_page) -> None:
    server = serve(counter_app())
    alice = new_page(server.url)
    bob = new_page(server.url)
    alice.get_by_role("button", name="Increment").click()
    alice.get_by_text("Mine: 1").wait_for()
    bob.get_by_text("Total: 1").wait_for()
    assert bob.get_by_text("Mine: 0").is_visible()
