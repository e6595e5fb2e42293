"""The gallery (examples/gallery.py) used with the keyboard alone, in Chromium:
the Tab order, Enter and Space on buttons and check boxes, the arrow keys where
the ARIA pattern wants them (tabs, radios, sliders), Escape on dialogs and
popovers with the focus given back to what opened them."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

import stgo

from ..helpers import wait_until
from .conftest import session_of
from .test_gallery import gallery

#: What the Tab key stops on, in order, from the sidebar to the table
#: (a description of the focused element per stop; see :func:`stop`).  The
#: tab list is one stop (its chosen tab); a radio group is one (its chosen
#: option); a date field's parts and picker are Chromium's own stops.
ORDER = [
    "Theme accent", "link",                                   # sidebar, markdown's link
    "Your name", "Age", "Subscribe to the newsletter", "About you", "Volume",
    "Favourite colour", "M", "Press me", "Reset",
    "A day", "A trip: start", "A trip: end", "Alarm", "Dark mode", "Cheese", "Olives", "Basil",
    "Accent colour", "Spice", "Price range: low", "Price range: high",
    "Order name", "Quantity", "Place order",
    "A popover", "Open a dialog", "Toast me", "A finished job", "Say something", "Send",
    "Expander: click to open", "First tab", "Content of the first tab.",
    "data", "x", "x squared", "even", "select row 0", "select row 1", "select row 2",
    "select row 3",
]

FOCUSED = """() => {
  const a = document.activeElement;
  const name = a.getAttribute('aria-label') || (a.labels && a.labels.length
      ? a.labels[0].textContent : a.textContent);
  return name.replace(/^\\W+/, '').trim();
}"""


@pytest.fixture
def opened(serve, new_page) -> tuple[stgo.App, Any, stgo.Session]:
    """A fresh gallery App, one page on it and that page's session."""
    app = gallery.make_app()
    page = new_page(serve(app).url)
    return app, page, session_of(app, page)


def stop(page: Any) -> str:
    return str(page.evaluate(FOCUSED))


def tab_to(page: Any, name: str, limit: int = 120) -> None:
    """Press Tab until the element named *name* has the focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if stop(page) == name:
            return
    raise AssertionError(f"Tab never reached {name!r}")


def test_tab_visits_every_widget_in_page_order(opened) -> None:
    app, page, _ = opened
    page.locator("body").click(position={"x": 5, "y": 5})
    seen: list[str] = []
    while len(seen) < 120 and (not seen or seen[-1] != "select row 3"):
        page.keyboard.press("Tab")
        name = stop(page)
        if not seen or seen[-1] != name:  # a date's parts: one name, several stops
            seen.append(name)
    # Every stop above, in that order (widgets added to the gallery later may
    # come between them); the tab list's other tabs are no stop.
    rest = iter(seen)
    assert all(name in rest for name in ORDER), f"Tab order: {seen}"
    assert "Second tab" not in seen and "Third tab" not in seen
    # Shift+Tab walks back the same way.
    page.keyboard.press("Shift+Tab")
    assert stop(page) == "select row 2"


def test_buttons_checkboxes_radios_and_sliders_by_keyboard(opened) -> None:
    app, page, session = opened
    echo = page.locator("[data-key=echo]")
    tab_to(page, "Press me")
    page.keyboard.press("Enter")
    expect(echo).to_have_text("Pressed 1 times")
    page.keyboard.press("Space")
    expect(echo).to_have_text("Pressed 2 times")
    page.get_by_label("Subscribe to the newsletter").focus()
    page.keyboard.press("Space")
    wait_until(lambda: session.get("subscribe") is True)
    # A radio group: the arrow keys move the choice (and the focus).
    page.get_by_label("M", exact=True).focus()
    page.keyboard.press("ArrowRight")
    wait_until(lambda: session.get("size") == "L")
    expect(page.get_by_label("L", exact=True)).to_be_focused()
    page.keyboard.press("ArrowLeft")
    wait_until(lambda: session.get("size") == "M")
    # A slider: arrows step, Home and End go to the ends.
    page.get_by_label("Volume").focus()
    page.keyboard.press("ArrowRight")
    wait_until(lambda: session.get("volume") == 6)
    page.keyboard.press("End")
    wait_until(lambda: session.get("volume") == 10)
    page.keyboard.press("Home")
    wait_until(lambda: session.get("volume") == 0)
    page.get_by_label("Spice").focus()
    page.keyboard.press("ArrowRight")
    wait_until(lambda: session.get("spice") == "Hot")
    # A select box: the arrow keys change it without opening it.
    page.get_by_label("Favourite colour").focus()
    page.keyboard.press("ArrowDown")
    wait_until(lambda: session.get("color") == "Green")
    # A switch and a multiselect's chips: Space.
    page.get_by_label("Dark mode").focus()
    page.keyboard.press("Space")
    wait_until(lambda: session.get("dark") is True)
    page.get_by_label("Olives").focus()
    page.keyboard.press("Space")
    wait_until(lambda: session.get("toppings") == ["Cheese", "Olives"])
    # A form: Enter in its one-line field submits it.
    page.get_by_label("Order name").fill("Ada")
    page.keyboard.press("Enter")
    expect(page.get_by_text("Ordered 1 for Ada")).to_be_visible()


def test_tabs_are_one_stop_and_move_with_arrows_home_and_end(opened) -> None:
    app, page, _ = opened
    tab_to(page, "First tab")
    for key, name in [("ArrowRight", "Second tab"), ("End", "Third tab"),
                      ("ArrowRight", "First tab"), ("ArrowLeft", "Third tab"),
                      ("Home", "First tab")]:
        page.keyboard.press(key)
        expect(page.get_by_role("tab", name=name)).to_be_focused()
        expect(page.get_by_role("tab", name=name)).to_have_attribute("aria-selected", "true")
    page.keyboard.press("End")
    page.keyboard.press("Tab")  # out of the list, into the chosen panel
    assert stop(page) == "Content of the third tab."
    page.keyboard.press("Shift+Tab")
    expect(page.get_by_role("tab", name="Third tab")).to_be_focused()


def test_escape_closes_dialogs_and_popovers_and_gives_the_focus_back(opened) -> None:
    app, page, session = opened
    dialog = next(w for top in app.widgets for w in top.walk() if w.kind == "dialog")
    opener = page.get_by_role("button", name="Open a dialog")
    for key in ("Enter", "Space"):
        opener.focus()
        page.keyboard.press(key)
        expect(page.get_by_role("dialog")).to_be_visible()
        wait_until(lambda: dialog.is_open(session))
        # The focus is inside the modal dialog, on its first control.
        expect(page.get_by_role("button", name="Close")).to_be_focused()
        page.keyboard.press("Escape")
        expect(page.get_by_role("dialog")).to_be_hidden()
        expect(opener).to_be_focused()
        wait_until(lambda: not dialog.is_open(session))  # the server heard of it
    # A popover: Enter opens, Escape (from inside) closes, the focus is back on it.
    summary = page.locator("summary", has_text="A popover")
    body = page.get_by_text("A small container that floats.")
    summary.focus()
    page.keyboard.press("Enter")
    expect(body).to_be_visible()
    page.keyboard.press("Escape")
    expect(body).to_be_hidden()
    expect(summary).to_be_focused()
    # The expander: Enter and Space open and close it.
    more = page.locator("summary", has_text="Expander: click to open")
    more.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_text("Hidden until opened.")).to_be_visible()
    page.keyboard.press("Space")
    expect(page.get_by_text("Hidden until opened.")).to_be_hidden()


def test_table_sorts_and_selects_rows_by_keyboard(opened) -> None:
    app, page, session = opened
    frame = next(w for top in app.widgets for w in top.walk() if w.kind == "dataframe")
    page.locator("th[data-sort]", has_text="x squared").focus()
    page.keyboard.press("Enter")
    expect(page.locator("th[aria-sort=ascending]")).to_have_text("x squared")
    page.keyboard.press("Space")
    expect(page.locator("th[aria-sort=descending]")).to_have_text("x squared")
    page.get_by_label("select row 1").focus()
    page.keyboard.press("Space")
    wait_until(lambda: frame.selected(session) == [1])
