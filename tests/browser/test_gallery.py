"""examples/gallery.py in a real browser: every widget renders, every input
round-trips its value, tabs, keyboard use and labels."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from playwright.sync_api import expect

import stgo

from ..helpers import wait_until
from .conftest import session_of

ROOT = Path(__file__).resolve().parents[2]


def _load_gallery() -> ModuleType:
    spec = importlib.util.spec_from_file_location("stgo_gallery", ROOT / "examples" / "gallery.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gallery = _load_gallery()
LABELS = gallery.INPUT_LABELS


@pytest.fixture
def opened(serve, new_page) -> tuple[stgo.App, Any]:
    """A fresh gallery App and one page on it."""
    app = gallery.make_app()
    server = serve(app)
    return app, new_page(server.url)


def kinds_in(app: stgo.App) -> set[str]:
    return {w.kind for top in app.global_widgets() for w in top.walk()}


EVERY_KIND = {
    "title", "header", "subheader", "text", "markdown", "write", "caption", "code", "json",
    "button", "text_input", "text_area", "number_input", "checkbox", "slider", "selectbox",
    "radio", "container", "columns", "column", "sidebar", "expander", "tabs", "tab",
    "table", "dataframe", "metric", "progress", "info", "success", "warning", "error", "image",
    "chart", "file_uploader", "download_button",
    "date_input", "time_input", "multiselect", "toggle", "color_picker", "select_slider",
    "range_slider", "form", "submit_button", "popover", "dialog", "slot", "status_box",
    "chat_message", "chat_input",
}


def test_gallery_has_every_widget_and_each_renders(opened) -> None:
    app, page = opened
    assert not EVERY_KIND - kinds_in(app), f"gallery lacks {EVERY_KIND - kinds_in(app)}"
    shown = set(page.eval_on_selector_all("[data-kind]", "els => els.map(e => e.dataset.kind)"))
    assert not EVERY_KIND - shown, f"not on the page: {EVERY_KIND - shown}"
    # Each top-level widget is visible and takes room on the page.
    for top in app.widgets:
        expect(page.locator(f"#{top.id}")).to_be_visible()
    expect(page.locator("#stgo-sidebar")).to_be_visible()
    expect(page.locator("#stgo-sidebar").get_by_text("Sidebar")).to_be_visible()
    # Real content, not escaped markup: markdown, code, json, tables, image.
    assert page.locator(".stgo-markdown strong", has_text="Markdown").count() == 1
    expect(page.locator(".stgo-code")).to_contain_text("def hello(name):")
    expect(page.locator(".stgo-json").first).to_contain_text('"widgets"')
    expect(page.locator(".stgo-table td", has_text="Lisbon")).to_be_visible()
    expect(page.locator(".stgo-dataframe td").filter(has_text="16")).to_be_visible()
    expect(page.locator(".stgo-metric", has_text="Temperature")).to_contain_text("+1.5")
    page.locator("img").scroll_into_view_if_needed()  # it loads lazily
    page.wait_for_function("() => document.images.length === 1 && document.images[0].complete")
    assert page.eval_on_selector("img", "i => i.naturalWidth") == 96  # decoded, not broken
    expect(page.locator("progress").first).to_be_attached()
    expect(page.locator("[data-key=echo]")).to_have_text("Nothing pressed yet")
    # The expander opens in the browser.
    expect(page.get_by_text("Hidden until opened.")).to_be_hidden()
    page.get_by_text("Expander: click to open").click()
    expect(page.get_by_text("Hidden until opened.")).to_be_visible()


def test_inputs_set_in_the_browser_reach_session_state(opened) -> None:
    app, page = opened
    session = session_of(app, page)
    page.get_by_label(LABELS["name"]).fill("Ada")
    page.get_by_label(LABELS["name"]).press("Enter")
    page.get_by_label(LABELS["bio"]).fill("Likes engines\nand poems")
    page.get_by_label(LABELS["bio"]).press("Tab")  # blur sends a text area
    page.get_by_label(LABELS["age"]).fill("42")
    page.get_by_label(LABELS["age"]).press("Enter")
    page.get_by_label(LABELS["subscribe"]).check()
    page.get_by_label(LABELS["volume"]).fill("8")
    page.get_by_label(LABELS["color"]).select_option(label="Blue")
    page.get_by_label("XL", exact=True).check()
    expected = {"name": "Ada", "bio": "Likes engines\nand poems", "age": 42, "subscribe": True,
                "volume": 8, "color": "Blue", "size": "XL"}
    wait_until(lambda: {k: session.get(k) for k in expected} == expected)
    assert type(session.get("age")) is int
    expect(page.locator("[data-key=echo]")).to_have_text("You set 'XL'")
    # The slider's keyboard steps and its shown value follow too.
    slider = page.get_by_label(LABELS["volume"])
    slider.press("ArrowRight")
    wait_until(lambda: session.get("volume") == 9)
    expect(page.locator(".stgo-slider output")).to_have_text("9")
    # A second browser keeps its own values.
    other = page.context.browser.new_context()
    try:
        page2 = other.new_page()
        page2.goto(page.url)
        page2.wait_for_function("() => window.stgo && window.stgo.connected")
        expect(page2.get_by_label(LABELS["name"])).to_have_value("")
        expect(page2.get_by_label(LABELS["subscribe"])).not_to_be_checked()
        expect(page2.get_by_label("M", exact=True)).to_be_checked()
    finally:
        other.close()


def test_session_set_on_the_server_updates_that_browser(opened, new_page) -> None:
    app, page = opened
    bystander = new_page(page.url)
    session = session_of(app, page)
    with app.batch():
        session.set("name", "Zed")
        session.set("bio", "line one\nline two")
        session.set("age", 77)
        session.set("subscribe", True)
        session.set("volume", 3)
        session.set("color", "Green")
        session.set("size", "S")
    expect(page.get_by_label(LABELS["name"])).to_have_value("Zed")
    expect(page.get_by_label(LABELS["bio"])).to_have_value("line one\nline two")
    expect(page.get_by_label(LABELS["age"])).to_have_value("77")
    expect(page.get_by_label(LABELS["subscribe"])).to_be_checked()
    expect(page.get_by_label(LABELS["volume"])).to_have_value("3")
    expect(page.locator(".stgo-slider output")).to_have_text("3")
    expect(page.get_by_label(LABELS["color"])).to_have_value("1")  # option index of "Green"
    expect(page.get_by_label(LABELS["color"]).locator("option:checked")).to_have_text("Green")
    expect(page.get_by_label("S", exact=True)).to_be_checked()
    expect(page.get_by_label("M", exact=True)).not_to_be_checked()
    # Unset again: back to the defaults.
    session.delete("subscribe")
    expect(page.get_by_label(LABELS["subscribe"])).not_to_be_checked()
    # Nobody else's page changed.
    expect(bystander.get_by_label(LABELS["name"])).to_have_value("")
    expect(bystander.get_by_label(LABELS["age"])).to_have_value("30")
    expect(bystander.get_by_label(LABELS["color"])).to_have_value("0")


def test_tabs_switch_in_the_browser_without_a_round_trip(opened) -> None:
    app, page = opened
    first, second = page.get_by_text("Content of the first tab."), page.get_by_text(
        "Content of the second tab.")
    expect(first).to_be_visible()
    expect(second).to_be_hidden()
    sent_before = page.evaluate("window.stgo.seq")
    page.get_by_role("tab", name="Second tab").click()
    expect(second).to_be_visible()
    expect(first).to_be_hidden()
    expect(page.get_by_role("tab", name="Second tab")).to_have_attribute("aria-selected", "true")
    expect(page.get_by_role("tab", name="First tab")).to_have_attribute("aria-selected", "false")
    # Arrow keys move between tabs (the ARIA tabs pattern).
    page.keyboard.press("ArrowRight")
    expect(page.get_by_text("Content of the third tab.")).to_be_visible()
    expect(page.get_by_role("tab", name="Third tab")).to_be_focused()
    page.keyboard.press("ArrowRight")
    expect(first).to_be_visible()
    assert page.evaluate("window.stgo.seq") == sent_before, "a tab switch went to the server"
    # The chosen tab survives a redraw of the tab set.
    page.get_by_role("tab", name="Second tab").click()
    tabs = next(w for top in app.widgets for w in top.walk() if w.kind == "tabs")
    tabs.tabs[2].set_label("Third tab, renamed")
    expect(page.get_by_role("tab", name="Third tab, renamed")).to_be_visible()
    expect(second).to_be_visible()


def test_keyboard_reaches_every_input_and_activates_buttons(opened) -> None:
    app, page = opened
    page.locator("body").click(position={"x": 5, "y": 5})
    reached: list[str] = []
    for _ in range(40):
        page.keyboard.press("Tab")
        label = page.evaluate("""() => {
            const a = document.activeElement;
            if (a.labels && a.labels.length) return a.labels[0].textContent;
            return a.textContent.trim();
        }""")
        reached.append(label)
        if label == "Press me":
            break
    for label in [*LABELS.values(), "Theme accent"]:
        if label == LABELS["size"]:
            continue  # a radio group is one tab stop, on its chosen option
        assert label in reached, f"{label!r} is not reachable by Tab: {reached}"
    assert "M" in reached
    assert reached[-1] == "Press me", f"the button is not reachable by Tab: {reached}"
    # Focus passing through fields is not a change: nothing was sent.
    assert page.evaluate("window.stgo.seq") == 0
    page.keyboard.press("Enter")
    expect(page.locator("[data-key=echo]")).to_have_text("Pressed 1 times")
    page.keyboard.press("Space")
    expect(page.locator("[data-key=echo]")).to_have_text("Pressed 2 times")
    expect(page.get_by_role("button", name="Press me")).to_be_focused()


def test_every_input_has_a_label_tied_to_it(opened) -> None:
    app, page = opened
    for label in [*LABELS.values(), "Theme accent"]:
        if label == LABELS["size"]:
            continue
        field = page.get_by_label(label, exact=True)
        expect(field).to_have_count(1)
        assert field.evaluate("e => e.tagName") in ("INPUT", "TEXTAREA", "SELECT")
    for option in gallery.SIZES:
        expect(page.get_by_label(option, exact=True)).to_have_attribute("type", "radio")
    group = page.get_by_role("group", name=LABELS["size"])
    expect(group.get_by_role("radio")).to_have_count(len(gallery.SIZES))
    # Every form control on the page has an accessible name.
    unnamed = page.evaluate("""() => [...document.querySelectorAll('input, select, textarea')]
        .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))
        .map(e => e.outerHTML)""")
    assert unnamed == []
