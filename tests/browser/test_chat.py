"""Chat in Chromium: the input pinned to the bottom of its chat box (the box
scrolls, the input stays in view and last, also after a reload), and each
message's name shown in full."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

import stgo

from ..helpers import wait_until
from .conftest import wait_connected

#: Where the box's input and newest message are, against the box's own edges.
GEOMETRY = """box => {
  const body = box.querySelector('[data-children]');
  const field = body.querySelector(':scope > .stgo-chat_input').getBoundingClientRect();
  const messages = body.querySelectorAll(':scope > .stgo-chat_message');
  const newest = messages[messages.length - 1].getBoundingClientRect();
  const edge = body.getBoundingClientRect();
  return {scrolls: body.scrollHeight > body.clientHeight + 1,
          lastChild: body.lastElementChild.classList.contains('stgo-chat_input'),
          fieldInBox: field.top >= edge.top && field.bottom <= edge.bottom + 1,
          fieldAtBottom: edge.bottom - field.bottom < 24,
          newestShown: newest.bottom <= field.top + 1 && newest.top >= edge.top,
          inWindow: field.bottom <= window.innerHeight};
}"""


def chat_app() -> stgo.App:
    app = stgo.App(title="Team chat")
    app.title("Team chat")
    box = app.container(key="room", border=True)
    chat = box.chat_input("Message the team", key="say")
    box.chat_message("Ann").markdown("Morning all")
    box.chat_message("assistant").markdown("Good morning, Ann")
    box.chat_message("Bob", avatar="B!").markdown("Hi")

    @chat.on_submit
    def said(session: stgo.Session, event: str, text: str) -> None:
        box.chat_message("Ann").markdown(text)

    app.text("Below the chat", key="below")
    return app


def test_chat_names_show_in_full_and_an_apps_avatar_is_kept(serve, new_page) -> None:
    page = new_page(serve(chat_app()).url)
    rows = page.locator(".stgo-chat_message")
    expect(rows.nth(0).locator(".stgo-chat-name")).to_have_text("Ann")
    expect(rows.nth(1).locator(".stgo-chat-name")).to_have_text("assistant")
    expect(rows.nth(2).locator(".stgo-chat-name")).to_have_text("Bob")
    expect(rows.nth(2).locator(".stgo-avatar")).to_have_text("B!")
    # "Ann" and "assistant" share an initial: their names tell them apart,
    # in the page's text as a screen reader reads it too.
    expect(rows.nth(0)).to_contain_text("Ann")
    expect(rows.nth(1)).to_contain_text("assistant")
    assert rows.nth(0).inner_text() != rows.nth(1).inner_text()
    for row in (rows.nth(0), rows.nth(1)):
        expect(row.locator(".stgo-chat-name")).to_be_visible()


def test_chat_input_stays_at_the_bottom_of_its_box_as_messages_grow(serve, new_page) -> None:
    app = chat_app()
    page = new_page(serve(app).url, viewport={"width": 900, "height": 700})
    room = page.locator("[data-key=room]")
    field = page.get_by_label("Message the team")
    before = room.evaluate(GEOMETRY)
    assert before["lastChild"] and not before["scrolls"]
    for n in range(25):
        field.fill(f"note {n}")
        field.press("Enter")
        expect(room.locator(".stgo-chat_message").last).to_contain_text(f"note {n}")
    wait_until(lambda: room.evaluate(GEOMETRY) == {
        "scrolls": True, "lastChild": True, "fieldInBox": True, "fieldAtBottom": True,
        "newestShown": True, "inWindow": True})
    expect(field).to_be_focused()          # the user can go on typing
    # The box scrolls, not the page: the text below it is still close under it.
    expect(page.get_by_text("Below the chat")).to_be_in_viewport()
    # A reload draws the same: the input last, under the newest message.
    page.reload()
    wait_connected(page)
    wait_until(lambda: room.evaluate(GEOMETRY)["newestShown"])
    assert room.evaluate(GEOMETRY)["lastChild"]
    expect(room.locator(".stgo-chat_message").last).to_contain_text("note 24")


def test_a_top_level_chat_input_stays_at_the_bottom_of_the_window(serve, new_page) -> None:
    app = stgo.App(title="Bot")
    history = app.container(key="history")
    for n in range(40):
        history.chat_message("assistant" if n % 2 else "Ann").markdown(f"line {n}")
    app.chat_input("Ask me", key="ask")
    page: Any = new_page(serve(app).url, viewport={"width": 900, "height": 600})
    field = page.get_by_label("Ask me")
    expect(field).to_be_in_viewport()
    box = field.bounding_box()
    assert box is not None and box["y"] + box["height"] <= 600
    # It is the page that scrolls; the field stays at the window's bottom.
    page.mouse.wheel(0, 400)
    page.wait_for_function("() => window.scrollY > 0")
    expect(field).to_be_in_viewport()
