"""The page's layout and language in Chromium (issue 26): ``layout="wide"``
uses a 1,400 px window's width, a page's own sidebar shows on that page only,
a phone-wide window folds the sidebar behind a menu button with no
horizontal scroll, and ``language="de"`` says "Reconnecting…" in German."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

import stgo
from stgo.cli import load_app

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
WIDE = {"width": 1400, "height": 900}
PHONE = {"width": 375, "height": 740}


def _content_width(page: Any) -> float:
    box = page.locator("#stgo-global").bounding_box()
    assert box is not None
    return float(box["width"])


def _app(layout: str) -> stgo.App:
    app = stgo.App(title="Layout", layout=layout)
    app.sidebar.text("app side")
    app.navigation()
    app.title("Home")
    reports = app.page("/reports", title="Reports")
    reports.title("Reports")
    reports.sidebar.selectbox("Region", ["north", "south"], key="region")
    return app


@pytest.mark.parametrize(("layout", "wide"), [("wide", True), ("centered", False)])
def test_wide_layout_uses_the_window_width(serve: Any, new_page: Any, layout: str,
                                           wide: bool) -> None:
    server = serve(_app(layout))
    for path in ("", "reports"):  # with the App's sidebar, and a page's beside it
        page = new_page(server.url + path, viewport=WIDE)
        expect(page.locator("#stgo-sidebar")).to_be_visible()
        assert (_content_width(page) > 1000) is wide, _content_width(page)


def test_a_page_sidebar_shows_only_on_its_page(serve: Any, new_page: Any) -> None:
    server = serve(_app("wide"))
    page = new_page(server.url, viewport=WIDE)
    side = page.locator("#stgo-sidebar")
    expect(side).to_contain_text("app side")
    expect(side.locator("[data-key=region]")).to_have_count(0)
    page.get_by_role("link", name="Reports").click()
    expect(side.locator("[data-key=region]")).to_be_visible()
    expect(side).to_contain_text("app side")
    page.locator("[data-key=region] select").select_option(label="south")
    page.go_back()
    expect(page.locator("#stgo-global h1")).to_have_text("Home")
    expect(side.locator("[data-key=region]")).to_have_count(0)
    # Loaded directly, too.
    direct = new_page(server.url + "reports", context=page.context, viewport=WIDE)
    expect(direct.locator("#stgo-sidebar [data-key=region] select option:checked")
           ).to_have_text("south")


@pytest.mark.parametrize(("name", "sidebar"), [
    ("gallery.py", True), ("layout.py", True), ("regions.py", True), ("todo.py", False)])
def test_a_phone_folds_the_sidebar_and_never_scrolls_sideways(serve: Any, new_page: Any,
                                                              name: str, sidebar: bool) -> None:
    server = serve(load_app(str(EXAMPLES / name)))
    page = new_page(server.url, viewport=PHONE)
    side = page.locator("#stgo-sidebar")
    menu = page.locator("#stgo-menu")
    expect(side).to_be_hidden()
    if sidebar:
        expect(menu).to_be_visible()
        menu.click()
        expect(side).to_be_visible()
        expect(menu).to_have_attribute("aria-expanded", "true")
        menu.click()
        expect(side).to_be_hidden()
    else:
        expect(menu).to_be_hidden()  # nothing to fold
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page scrolls sideways: {width} px wide"
    # A wide window shows the sidebar and no menu button.
    big = new_page(server.url, viewport=WIDE)
    expect(big.locator("#stgo-menu")).to_be_hidden()
    if sidebar:
        expect(big.locator("#stgo-sidebar")).to_be_visible()


def test_stgo_s_own_words_speak_the_app_language(serve: Any, new_page: Any) -> None:
    app = stgo.App(title="Deutsch", language="de")
    app.text("Hallo")
    app.selectbox("Stadt", ["Bonn", "Köln"], index=None, key="city")
    app.dialog("Hinweis", key="note").text("Hallo")
    server = serve(app)
    page = new_page(server.url)
    assert page.evaluate("() => document.documentElement.lang") == "de"
    # stgo's words inside widgets drawn by the server, too.
    expect(page.locator("[data-key=city] option[value='']")).to_have_text("Bitte wählen")
    expect(page.locator("[data-key=note] [data-dialog-close]")).to_have_attribute(
        "aria-label", "Schließen")
    page.evaluate("""() => {
        window.__status = [];
        const el = document.getElementById('stgo-status');
        new MutationObserver(() => window.__status.push(el.hidden ? '' : el.textContent))
            .observe(el, {attributes: true, childList: true, characterData: true, subtree: true});
    }""")
    server.stop()  # the server goes away: the tab says so, in German
    page.wait_for_function(
        "() => window.__status.includes('Verbindung wird wiederhergestellt\u2026')")
