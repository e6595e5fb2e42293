"""The counter app in a real browser: clicks, sessions, tabs, reloads, errors."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

import stgo

from .conftest import cookie_of, session_of, wait_connected


def counter_app(**options: Any) -> stgo.App:
    app = stgo.App(title="Counter", **options)
    app.title("Counter")
    total = app.text("Total: 0", key="total")
    button = app.button("Increment", key="inc")
    boom = app.button("Boom", key="boom")
    count = [0]

    @app.on_session_start
    def setup(session: stgo.Session) -> None:
        session.text("Mine: 0", key="mine")

    @button.on_click
    def clicked(session: stgo.Session, event: str, value: Any) -> None:
        mine = session.increment("n")
        session.widget("mine").set_text(f"Mine: {mine}")
        with app.batch():
            count[0] += 1
            total.set_text(f"Total: {count[0]}")

    @boom.on_click
    def explode(session: stgo.Session, event: str, value: Any) -> None:
        raise ValueError("kaboom <b>not bold</b>")

    return app


def mine(page: Any) -> Any:
    return page.locator("[data-key=mine]")


def test_click_updates_own_count_and_everyones_total(serve, new_page) -> None:
    server = serve(counter_app())
    alice = new_page(server.url)
    bob = new_page(server.url)
    alice.get_by_role("button", name="Increment").click()
    expect(mine(alice)).to_have_text("Mine: 1")
    expect(alice.locator("[data-key=total]")).to_have_text("Total: 1")
    alice.get_by_role("button", name="Increment").click()
    expect(mine(alice)).to_have_text("Mine: 2")
    expect(bob.locator("[data-key=total]")).to_have_text("Total: 2")


def test_two_contexts_are_two_isolated_sessions(serve, new_page) -> None:
    app = counter_app()
    server = serve(app)
    alice = new_page(server.url)
    bob = new_page(server.url)
    assert cookie_of(alice) != cookie_of(bob)
    assert len(app.sessions) == 2
    for _ in range(3):
        alice.get_by_role("button", name="Increment").click()
    expect(mine(alice)).to_have_text("Mine: 3")
    bob.get_by_role("button", name="Increment").click()
    expect(mine(bob)).to_have_text("Mine: 1")
    expect(mine(alice)).to_have_text("Mine: 3")
    assert app.sessions.get(cookie_of(alice)).get("n") == 3
    assert app.sessions.get(cookie_of(bob)).get("n") == 1


def test_global_change_reaches_the_other_context_without_reload(serve, new_page) -> None:
    app = counter_app()
    server = serve(app)
    alice = new_page(server.url)
    bob = new_page(server.url)
    bob.evaluate("window.__sameDocument = true")
    alice.get_by_role("button", name="Increment").click()
    expect(bob.locator("[data-key=total]")).to_have_text("Total: 1")
    # A change from a server thread (no event at all) is pushed too.
    app.widget("total").set_text("Total: set by the server")
    expect(bob.locator("[data-key=total]")).to_have_text("Total: set by the server")
    assert bob.evaluate("window.__sameDocument") is True, "the page was reloaded"
    expect(mine(bob)).to_have_text("Mine: 0")


def test_two_tabs_of_one_context_share_the_session(serve, new_page) -> None:
    app = counter_app()
    server = serve(app)
    first = new_page(server.url)
    second = new_page(server.url, context=first.context)
    assert len(app.sessions) == 1
    first.get_by_role("button", name="Increment").click()
    expect(mine(first)).to_have_text("Mine: 1")
    expect(mine(second)).to_have_text("Mine: 1")
    second.get_by_role("button", name="Increment").click()
    expect(mine(first)).to_have_text("Mine: 2")
    expect(mine(second)).to_have_text("Mine: 2")
    assert app.sessions.get(cookie_of(first)).get("n") == 2


def test_refresh_keeps_the_session(serve, new_page) -> None:
    app = counter_app()
    server = serve(app)
    page = new_page(server.url)
    before = cookie_of(page)
    page.get_by_role("button", name="Increment").click()
    page.get_by_role("button", name="Increment").click()
    expect(mine(page)).to_have_text("Mine: 2")
    page.reload()
    wait_connected(page)
    assert cookie_of(page) == before
    assert len(app.sessions) == 1
    expect(mine(page)).to_have_text("Mine: 2")  # drawn by the server from the session
    page.get_by_role("button", name="Increment").click()
    expect(mine(page)).to_have_text("Mine: 3")


def test_fast_repeated_clicks_end_with_the_right_count(serve, new_page) -> None:
    app = counter_app()
    server = serve(app)
    page = new_page(server.url)
    # Record every value the page shows, to catch a stale one along the way.
    page.evaluate("""() => {
        window.__seen = [];
        new MutationObserver(() => {
            const el = document.querySelector('[data-key=mine]');
            if (el) window.__seen.push(el.textContent);
        }).observe(document.getElementById('stgo-session'),
                   {childList: true, subtree: true, characterData: true});
    }""")
    button = page.get_by_role("button", name="Increment")
    box = button.bounding_box()
    assert box is not None
    for _ in range(20):
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    expect(mine(page)).to_have_text("Mine: 20")
    expect(page.locator("[data-key=total]")).to_have_text("Total: 20")
    page.wait_for_function("() => window.stgo.acked >= window.stgo.seq")
    assert page.evaluate("window.stgo.seq") == 20
    seen = [int(text.split()[-1]) for text in page.evaluate("window.__seen")]
    assert seen and seen[-1] == 20
    assert seen == sorted(seen), f"a stale value was shown: {seen}"
    assert app.sessions.get(cookie_of(page)).get("n") == 20


def test_callback_error_shows_a_dismissible_alert_to_that_user_only(serve, new_page) -> None:
    # With details on, the exception's own text reaches the page: as text.
    app = counter_app(show_error_details=True)
    server = serve(app)
    alice = new_page(server.url)
    bob = new_page(server.url)
    alice.get_by_role("button", name="Boom").click()
    alert = alice.locator("#stgo-alerts [role=alert]")
    expect(alert).to_have_count(1)
    expect(alert).to_contain_text("ValueError")
    expect(alert).to_contain_text("kaboom <b>not bold</b>")  # shown as text
    assert alert.locator("b").count() == 0
    # The server and this session carry on.
    alice.get_by_role("button", name="Increment").click()
    expect(mine(alice)).to_have_text("Mine: 1")
    # Bob got that click's total after any error would have reached him.
    expect(bob.locator("[data-key=total]")).to_have_text("Total: 1")
    expect(bob.locator("#stgo-alerts [role=alert]")).to_have_count(0)
    alert.get_by_role("button", name="Dismiss").click()
    expect(alert).to_have_count(0)


def test_what_a_patch_brings_is_set_up_like_the_page_it_joins(serve, new_page) -> None:
    # The client sets up only the widgets a patch brings, not the whole page
    # after every message: each kind of set-up, brought by a patch.
    app = stgo.App(title="Set up")
    dialog = app.dialog("Confirm", key="confirm")
    dialog.text("Sure?")
    app.sidebar.text("In the sidebar", key="side")
    ask = app.button("Ask", key="ask")
    add = app.button("Add", key="add")

    @ask.on_click
    def asked(session: stgo.Session, event: str, value: Any) -> None:
        dialog.open(session)

    @add.on_click
    def added(session: stgo.Session, event: str, value: Any) -> None:
        session.slider("Level", 0, 10, value=5, key="level")
        session.multiselect("Fruit", ["apple", "banana", "cherry"], ["apple", "banana"],
                            key="fruit", max_selections=2)
        session.page_link("/", label="Here")
        app.sidebar.clear()
        dialog.changed()                # the open dialog is drawn anew

    server = serve(app)
    page = new_page(server.url)
    shell = page.locator("#stgo-app")
    expect(shell).to_have_class(re.compile("stgo-has-sidebar"))
    page.get_by_role("button", name="Ask").click()
    expect(page.get_by_role("dialog")).to_be_visible()
    page.evaluate("() => document.querySelector('[data-key=add] button').click()")
    expect(page.get_by_role("link", name="Here")).to_be_attached()
    expect(page.get_by_role("dialog")).to_be_visible()
    expect(page.get_by_role("link", name="Here")).to_have_attribute("aria-current", "page")
    expect(page.get_by_label("cherry")).to_be_disabled()       # two at most
    fill = page.get_by_label("Level").evaluate("el => el.style.getPropertyValue('--stgo-fill')")
    assert fill == "50%"
    expect(shell).not_to_have_class(re.compile("stgo-has-sidebar"))
    # A value from the server (a value op, no new HTML) moves the limit too.
    session_of(app, page).set("fruit", ["apple", "cherry"])
    expect(page.get_by_label("cherry")).to_be_checked()
    expect(page.get_by_label("cherry")).to_be_enabled()
    expect(page.get_by_label("banana")).to_be_disabled()
