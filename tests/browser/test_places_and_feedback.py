"""Toasts, dialogs, spinners, streamed chat messages and session slots in a real browser."""

from __future__ import annotations

import queue
import re
import threading
from typing import Any

from playwright.sync_api import expect

import stgo

from ..helpers import wait_until


def test_toasts_reach_only_their_user_and_app_toasts_everybody(serve, new_page) -> None:
    app = stgo.App(title="Toasts")
    save = app.button("Save")
    shout = app.button("Shout")

    @save.on_click
    def saved(session: stgo.Session, event: str, value: Any) -> None:
        session.toast("Saved for you", icon="\u2714")

    @shout.on_click
    def shouted(session: stgo.Session, event: str, value: Any) -> None:
        app.toast("Hello everybody")

    server = serve(app)
    alice, bob = new_page(server.url), new_page(server.url)
    alice_tab2 = new_page(server.url, context=alice.context)
    alice.get_by_role("button", name="Save").click()
    expect(alice.get_by_role("status").filter(has_text="Saved for you")).to_be_visible()
    expect(alice_tab2.get_by_text("Saved for you")).to_be_visible()   # her other tab
    bob.get_by_role("button", name="Shout").click()
    expect(bob.get_by_text("Hello everybody")).to_be_visible()
    expect(alice.get_by_text("Hello everybody")).to_be_visible()
    assert bob.get_by_text("Saved for you").count() == 0
    # Its "×" takes a toast away (this tab's only).
    toast = alice.get_by_role("status").filter(has_text="Saved for you")
    toast.get_by_role("button", name="Dismiss").click()
    expect(toast).to_have_count(0)
    expect(alice_tab2.get_by_text("Saved for you")).to_be_visible()


def test_a_toasts_icon_is_small_and_its_text_takes_the_width(serve, new_page) -> None:
    app = stgo.App(title="Toasts")
    save = app.button("Save")

    @save.on_click
    def saved(session: stgo.Session, event: str, value: Any) -> None:
        session.toast("Saved your settings to the server; everybody sees them now",
                      icon="\u2714", duration=0)

    server = serve(app)
    page = new_page(server.url, viewport={"width": 900, "height": 700})
    page.get_by_role("button", name="Save").click()
    toast = page.get_by_role("status").filter(has_text="Saved your settings")
    expect(toast).to_be_visible()
    box, icon, text = (toast.bounding_box(), toast.locator(".stgo-toast-icon").bounding_box(),
                       toast.locator(".stgo-toast-text").bounding_box())
    assert box and icon and text
    assert icon["width"] < 40, (icon, box)                  # the icon's own width
    assert text["width"] > box["width"] * 0.6, (text, box)  # the text has the rest


def test_a_chat_message_streams_to_two_tabs_while_the_callback_runs(serve, new_page) -> None:
    app = stgo.App(title="Chat")
    history = app.container(key="history")
    chat = app.chat_input("Say something")
    tokens: queue.Queue[str | None] = queue.Queue()
    answers: list[str] = []

    def model() -> Any:
        while (token := tokens.get(timeout=10)) is not None:
            yield token

    @chat.on_submit
    def said(session: stgo.Session, event: str, text: str) -> None:
        history.chat_message("user").markdown(text)
        answers.append(history.chat_message("assistant").write_stream(model()))

    server = serve(app)
    first, second = new_page(server.url), new_page(server.url)
    field = first.get_by_label("Say something")
    field.fill("hello")
    field.press("Enter")
    expect(field).to_have_value("")
    assistant = [p.locator(".stgo-chat-assistant .stgo-chat-body") for p in (first, second)]
    shown = ""
    for token in ["Hi", " there", ", how", " are", " you?"]:
        tokens.put(token)
        shown += token
        for message in assistant:   # each chunk is on both tabs before the next exists
            expect(message).to_have_text(shown)
    expect(second.locator(".stgo-chat-user .stgo-chat-body")).to_have_text("hello")
    # The callback is still running: the event is not acknowledged yet.
    assert first.evaluate("() => window.stgo.acked") == 0
    tokens.put(None)
    first.wait_for_function("() => window.stgo.acked === 1")
    assert answers == ["Hi there, how are you?"]


def test_a_slot_shows_each_user_their_own_content_at_the_same_place(serve, new_page) -> None:
    app = stgo.App(title="Poll")
    app.text("Above the slot", key="above")
    slot = app.session_slot("yours")
    app.text("Below the slot", key="below")
    name = app.text_input("Name", key="name")

    @name.on_change
    def named(session: stgo.Session, event: str, value: Any) -> None:
        box = slot.for_session(session)
        box.clear()
        box.success(f"Only {value} sees this")

    server = serve(app)
    alice, bob = new_page(server.url), new_page(server.url)
    for page, who in ((alice, "Alice"), (bob, "Bob")):
        page.get_by_label("Name").fill(who)
        page.get_by_label("Name").press("Enter")
    for page, who, other in ((alice, "Alice", "Bob"), (bob, "Bob", "Alice")):
        expect(page.locator("[data-key=yours]")).to_have_text(f"Only {who} sees this")
        assert page.get_by_text(f"Only {other} sees this").count() == 0
        order = page.evaluate("""() => Array.from(document.querySelectorAll(
            '[data-key=above], [data-key=yours] .stgo-success, [data-key=below]'))
            .map(e => e.textContent.trim())""")
        assert order == ["Above the slot", f"Only {who} sees this", "Below the slot"]
    # A reload draws the slot's content in place too.
    alice.reload()
    expect(alice.locator("[data-key=yours]")).to_have_text("Only Alice sees this")


def test_a_dialog_opens_for_one_session_and_a_spinner_shows_while_working(
    serve, new_page
) -> None:
    app = stgo.App(title="Dialog")
    dialog = app.dialog("Confirm", key="confirm")
    dialog.text("Really delete?")
    ok = dialog.button("Yes, delete")
    ask = app.button("Delete")
    release = threading.Event()
    dismissed: list[str] = []

    @ask.on_click
    def asked(session: stgo.Session, event: str, value: Any) -> None:
        dialog.open(session)

    @ok.on_click
    def confirmed(session: stgo.Session, event: str, value: Any) -> None:
        dialog.close(session)
        with session.spinner("Deleting\u2026"):
            release.wait(10)
        session.toast("Deleted")

    @dialog.on_dismiss
    def gone(session: stgo.Session, event: str, value: Any) -> None:
        dismissed.append(event)

    server = serve(app)
    alice, bob = new_page(server.url), new_page(server.url)
    alice.get_by_role("button", name="Delete").click()
    expect(alice.get_by_role("dialog")).to_be_visible()
    expect(alice.get_by_role("dialog")).to_contain_text("Really delete?")
    assert bob.get_by_role("dialog").count() == 0
    alice.get_by_role("button", name="Yes, delete").click()
    expect(alice.get_by_role("dialog")).to_be_hidden()
    expect(alice.get_by_text("Deleting\u2026")).to_be_visible()   # mid-callback
    release.set()
    expect(alice.get_by_text("Deleting\u2026")).to_be_hidden()
    expect(alice.get_by_text("Deleted", exact=True)).to_be_visible()
    # Escape closes it too, and the server hears of it.
    alice.get_by_role("button", name="Delete").click()
    expect(alice.get_by_role("dialog")).to_be_visible()
    alice.keyboard.press("Escape")
    expect(alice.get_by_role("dialog")).to_be_hidden()
    wait_until(lambda: dismissed == ["close"])


def test_a_popover_opens_with_mouse_or_keyboard_and_closes_outside_or_with_escape(
    serve, new_page
) -> None:
    app = stgo.App(title="Popover")
    with app.popover("Settings") as pop:
        pop.checkbox("Compact", key="compact")
    app.text("Elsewhere", key="elsewhere")
    server = serve(app)
    page = new_page(server.url)
    body = page.locator(".stgo-popover-body")
    page.get_by_text("Settings").click()
    expect(body).to_be_visible()
    page.get_by_label("Compact").check()                 # a click inside keeps it open
    expect(body).to_be_visible()
    page.get_by_text("Elsewhere").click()
    expect(body).to_be_hidden()
    page.get_by_text("Settings").focus()
    page.keyboard.press("Enter")
    expect(body).to_be_visible()
    page.keyboard.press("Tab")
    page.keyboard.press("Escape")
    expect(body).to_be_hidden()
    expect(page.locator("summary", has_text="Settings")).to_be_focused()


def test_a_sidebar_and_top_bar_empty_at_load_show_what_a_callback_puts_in(
    serve, new_page
) -> None:
    # Neither is drawn while empty: the first widget put in draws the column
    # whole, in every open tab, and the page makes room for the sidebar.
    app = stgo.App(title="Columns")
    fill = app.button("Fill")

    @fill.on_click
    def filled(session: stgo.Session, event: str, value: Any) -> None:
        app.sidebar.text("In the sidebar")
        app.sidebar.text("And more")
        app.topbar.text("On top")

    server = serve(app)
    page, other = new_page(server.url), new_page(server.url)
    root = page.locator("#stgo-app")
    expect(root).not_to_have_class(re.compile("stgo-has-sidebar"))
    page.get_by_role("button", name="Fill").click()
    for tab in (page, other):
        expect(tab.locator("#stgo-sidebar").get_by_text("In the sidebar")).to_be_visible()
        expect(tab.locator("#stgo-sidebar").get_by_text("And more")).to_be_visible()
        expect(tab.locator("#stgo-topbar").get_by_text("On top")).to_be_visible()
        expect(tab.locator("#stgo-app")).to_have_class(re.compile("stgo-has-sidebar"))
    app.sidebar.text("Pushed from outside a callback")  # the column is drawn: a plain insert
    expect(other.locator("#stgo-sidebar").get_by_text("Pushed from outside")).to_be_visible()
