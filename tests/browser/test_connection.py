"""Dropped connections and expired sessions, as a browser lives through them."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from playwright.sync_api import expect

import stgo

from ..helpers import Stalling, StallingInput
from .conftest import cookie_of, wait_connected


def counter_app() -> stgo.App:
    app = stgo.App(title="Counter")
    button = app.button("Increment", key="inc")
    ended: list[str] = []

    @app.on_session_start
    def setup(session: stgo.Session) -> None:
        session.text("Mine: 0", key="mine")

    @app.on_session_end
    def gone(session: stgo.Session, reason: str) -> None:
        ended.append(reason)

    @button.on_click
    def clicked(session: stgo.Session, event: str, value: Any) -> None:
        session.widget("mine").set_text(f"Mine: {session.increment('n')}")

    app.ended = ended  # type: ignore[attr-defined]
    return app


def watch_status(page: Any) -> None:
    """Record every change of the connection status element in window.__status."""
    page.evaluate("""() => {
        window.__status = [];
        const el = document.getElementById('stgo-status');
        new MutationObserver(() => window.__status.push(el.hidden ? '' : el.textContent))
            .observe(el, {attributes: true, childList: true, characterData: true, subtree: true});
    }""")


def test_dropped_connection_reconnects_and_resyncs_with_state_intact(serve, new_page) -> None:
    app = counter_app()
    server = serve(app)
    page = new_page(server.url)
    sockets: list[Any] = []
    page.on("websocket", lambda ws: sockets.append(ws))
    sid = cookie_of(page)
    for _ in range(2):
        page.get_by_role("button", name="Increment").click()
    expect(page.locator("[data-key=mine]")).to_have_text("Mine: 2")
    page.evaluate("window.__sameDocument = true")
    watch_status(page)

    assert app.hub.close_all(1001, "test drop") == 1
    # Changed while the tab is offline: only a resync can show it.
    app.sessions.get(sid).widget("mine").set_text("Mine: changed offline")

    page.wait_for_function("() => window.__status.some(s => s.startsWith('Reconnecting'))")
    page.wait_for_function(
        "() => window.stgo.connected && document.getElementById('stgo-status').hidden")
    expect(page.locator("#stgo-status")).to_be_hidden()
    expect(page.locator("[data-key=mine]")).to_have_text("Mine: changed offline")
    assert len(sockets) == 1, "the client opened no new WebSocket"
    assert page.evaluate("window.__sameDocument") is True, "the page reloaded instead"
    assert cookie_of(page) == sid and len(app.sessions) == 1
    assert app.ended == []
    page.get_by_role("button", name="Increment").click()
    expect(page.locator("[data-key=mine]")).to_have_text("Mine: 3")


def test_chosen_tab_and_opened_expander_survive_a_reconnect(serve, new_page) -> None:
    app = stgo.App(title="View")
    one, two = app.tabs(["One", "Two"])
    one.text("Panel one")
    two.text("Panel two")
    app.expander("More").text("Inside")
    server = serve(app)
    page = new_page(server.url)
    sockets: list[Any] = []
    page.on("websocket", lambda ws: sockets.append(ws))
    page.get_by_role("tab", name="Two").click()
    page.get_by_text("More").click()
    expect(page.get_by_text("Inside")).to_be_visible()
    page.evaluate("""() => {
        window.__renders = 0;
        document.addEventListener('stgo:message', e => {
            if (e.detail.type === 'render') window.__renders += 1;
        });
    }""")
    app.hub.close_all(1001, "test drop")
    # The reconnect's full render came in; the user's view is as it was.
    page.wait_for_function("() => window.__renders >= 1 && window.stgo.connected")
    assert len(sockets) == 1
    expect(page.get_by_text("Panel two")).to_be_visible()
    expect(page.get_by_text("Panel one")).to_be_hidden()
    expect(page.get_by_text("Inside")).to_be_visible()


def test_events_sent_while_offline_arrive_after_reconnect(serve, new_page) -> None:
    app = counter_app()
    server = serve(app)
    page = new_page(server.url)
    app.hub.close_all(1001, "test drop")
    page.wait_for_function("() => !window.stgo.connected")
    page.get_by_role("button", name="Increment").click()
    wait_connected(page)
    expect(page.locator("[data-key=mine]")).to_have_text("Mine: 1")
    assert app.sessions.get(cookie_of(page)).get("n") == 1


def test_expired_session_shows_the_notice_and_reloads_into_a_new_session(
    serve, new_page
) -> None:
    app = counter_app()
    server = serve(app)
    page = new_page(server.url)
    old = cookie_of(page)
    page.get_by_role("button", name="Increment").click()
    expect(page.locator("[data-key=mine]")).to_have_text("Mine: 1")

    with page.expect_event("load", timeout=10_000):
        assert app.sessions.delete(old)
        status = page.locator("#stgo-status")
        expect(status).to_be_visible()
        expect(status).to_contain_text("expired")
    wait_connected(page)
    new = cookie_of(page)
    assert new != old
    assert app.sessions.get(old) is None
    assert app.sessions.get(new) is not None and len(app.sessions) == 1
    assert len(app.ended) == 1
    expect(page.locator("[data-key=mine]")).to_have_text("Mine: 0")
    expect(page.locator("#stgo-status")).to_be_hidden()
    page.get_by_role("button", name="Increment").click()
    expect(page.locator("[data-key=mine]")).to_have_text("Mine: 1")
    assert app.sessions.get(new).get("n") == 1


def test_strict_idle_timeout_expires_an_open_tab(serve, new_page) -> None:
    app = stgo.App(title="Idle", session_timeout=0.6, cleanup_interval=0.1, strict_idle=True)
    app.text("Hello")
    server = serve(app)
    page = new_page(server.url)
    old = cookie_of(page)
    # No event at all: the open tab does not keep its session alive.
    with page.expect_event("load", timeout=10_000):
        expect(page.locator("#stgo-status")).to_contain_text("expired", timeout=5_000)
    assert cookie_of(page) != old
    assert app.sessions.get(old) is None


def test_a_stale_drawing_that_arrives_last_is_not_shown(serve, new_page) -> None:
    # Two drawings of a shared widget cross on their way (one thread drew
    # "one" and stalled before sending it; "two" went out first): the tab
    # keeps "two", the drawing numbered later.  The stale one travels with
    # another change in one message, which the server's outbox cannot drop
    # (a lone stale op it drops itself: tests/test_outbox.py), so stgo.js's
    # own rule is what is tried here.
    app = stgo.App(title="Crossing")
    total = app.add_widget(Stalling("zero", key="total"))
    marker = app.text("", key="marker")
    other = app.text("", key="other")
    server = serve(app)
    page = new_page(server.url)
    frames: list[str] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda f: frames.append(str(f))))
    page.reload()
    wait_connected(page)

    @contextlib.contextmanager
    def with_other() -> Iterator[None]:
        with app.batch():
            other.set_text("along")
            yield

    total.cross("one", "two", along=with_other)
    marker.set_text("done")  # after both, in order
    expect(page.locator("[data-key=marker]")).to_have_text("done")
    drawn = [f for f in frames if total.id in f and ("one" in f or "two" in f)]
    assert ["<p>two" in drawn[0], "<p>one" in drawn[-1]] == [True, True], drawn
    expect(page.locator("[data-key=total]")).to_have_text("two")


def test_an_older_whole_redraw_after_a_newer_value_shows_both(serve, new_page) -> None:
    # A shared input is relabelled by a thread that stalls while drawing it
    # whole (with its old value); meanwhile a newer value goes out first.
    # The page shows the new label (only the older redraw has it) and keeps
    # the newer value.
    app = stgo.App(title="Relabel")
    field = app.add_widget(StallingInput("Name", "v0", key="name"))
    marker = app.text("", key="marker")
    server = serve(app)
    page = new_page(server.url)
    wait_connected(page)
    field.relabel_across("New label", "v2")
    marker.set_text("done")  # after both, in order
    expect(page.locator("[data-key=marker]")).to_have_text("done")
    expect(page.locator("[data-key=name] label")).to_have_text("New label")
    expect(page.locator("[data-key=name] input")).to_have_value("v2")
