"""Pages in a real browser: routes, links, the back button, query parameters
per tab, refused and unknown pages, a path prefix."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect
from werkzeug.wrappers import Response

import stgo

from ..helpers import serve_mounted
from .conftest import cookie_of, wait_connected


def pages_app() -> stgo.App:
    app = stgo.App(title="Pages")
    app.navigation()
    app.title("Home")
    app.text_input("Name", key="name")
    app.page_link("/reports", label="To reports")
    grant = app.button("Grant", key="grant")

    @grant.on_click
    def granted(session: stgo.Session, event: str, value: Any) -> None:
        session.set("admin", True)

    reports = app.page("/reports", title="Reports page")
    reports.title("Reports")
    reports.text_input("Name", key="name")
    shout = reports.button("Set query", key="setq")
    read = reports.button("Read query", key="readq")
    home = reports.button("Go home", key="gohome")

    @shout.on_click
    def set_query(session: stgo.Session, event: str, value: Any) -> None:
        session.tab.set_query(q="42")

    @read.on_click
    def read_query(session: stgo.Session, event: str, value: Any) -> None:
        box = reports.private(session)
        box.clear()
        box.text(f"query={sorted(session.tab.query.items())}", key="seen")

    @home.on_click
    def go_home(session: stgo.Session, event: str, value: Any) -> None:
        session.navigate("/")

    admin = app.page("/admin", title="Admin", access=lambda s: bool(s.get("admin")))
    admin.title("Admin area")
    return app


def mark(page: Any) -> None:
    """Leave a mark in the window: a full reload would wipe it."""
    page.evaluate("() => { window.__stgoMark = 1; }")


def still_marked(page: Any) -> bool:
    return bool(page.evaluate("() => window.__stgoMark === 1"))


def test_each_route_shows_its_own_page(serve, new_page) -> None:
    server = serve(pages_app())
    home = new_page(server.url)
    expect(home.locator("h1")).to_have_text("Home")
    assert home.title() == "Pages"
    reports = new_page(server.url + "reports")
    expect(reports.locator("h1")).to_have_text("Reports")
    assert reports.title() == "Reports page"
    # The navigation marks the page the tab shows.
    expect(reports.locator(".stgo-nav a[aria-current=page]")).to_have_text("Reports page")
    expect(home.locator(".stgo-nav a[aria-current=page]")).to_have_text("Pages")


def test_links_and_the_back_button_keep_the_session_and_values(serve, new_page) -> None:
    app = pages_app()
    server = serve(app)
    page = new_page(server.url)
    sid = cookie_of(page)
    page.get_by_label("Name").fill("Ada")
    page.get_by_label("Name").press("Enter")
    page.wait_for_function("() => window.stgo.acked >= window.stgo.seq")
    mark(page)
    page.get_by_role("link", name="To reports").click()
    expect(page.locator("h1")).to_have_text("Reports")
    assert page.url == server.url + "reports"
    assert page.title() == "Reports page"
    expect(page.get_by_label("Name")).to_have_value("Ada")
    page.go_back()
    expect(page.locator("h1")).to_have_text("Home")
    assert page.url == server.url
    expect(page.get_by_label("Name")).to_have_value("Ada")
    page.go_forward()
    expect(page.locator("h1")).to_have_text("Reports")
    # The server moves the tab too (session.navigate), with a history entry.
    page.get_by_role("button", name="Go home").click()
    expect(page.locator("h1")).to_have_text("Home")
    assert page.url == server.url
    page.go_back()
    expect(page.locator("h1")).to_have_text("Reports")
    assert still_marked(page), "the page was reloaded"
    assert cookie_of(page) == sid and len(app.sessions) == 1
    # A typed URL lands in the same session too.
    page.goto(server.url + "reports")
    wait_connected(page)
    expect(page.get_by_label("Name")).to_have_value("Ada")
    assert cookie_of(page) == sid


def test_query_parameters_are_per_tab(serve, new_page) -> None:
    server = serve(pages_app())
    first = new_page(server.url + "reports?x=1")
    second = new_page(server.url + "reports", context=first.context)
    first.get_by_role("button", name="Set query").click()
    first.wait_for_url(server.url + "reports?q=42")
    mark(first)
    first.get_by_role("button", name="Read query").click()
    expect(first.locator("[data-key=seen]")).to_have_text("query=[('q', '42')]")
    assert still_marked(first)
    # The other tab of the same session keeps its own URL and query.
    assert second.url == server.url + "reports"
    second.get_by_role("button", name="Read query").click()
    expect(second.locator("[data-key=seen]")).to_have_text("query=[]")
    # A bookmarked URL with a query: the handler reads it.
    third = new_page(server.url + "reports?q=typed&r=2", context=first.context)
    third.get_by_role("button", name="Read query").click()
    expect(third.locator("[data-key=seen]")).to_have_text("query=[('q', 'typed'), ('r', '2')]")


def test_a_refused_page_and_then_an_allowed_one(serve, new_page) -> None:
    server = serve(pages_app())
    page = new_page()
    response = page.goto(server.url + "admin")
    assert response.status == 403
    wait_connected(page)
    expect(page.locator(".stgo-refusal")).to_contain_text("403")
    expect(page.get_by_text("Admin area")).to_have_count(0)
    # Not listed in the navigation either, until allowed.
    expect(page.locator(".stgo-nav a[data-stgo-path='/admin']")).to_have_count(0)
    page.locator(".stgo-nav a[data-stgo-path='/']").click()
    page.get_by_role("button", name="Grant").click()
    page.wait_for_function("() => window.stgo.acked >= window.stgo.seq")
    page.evaluate("() => window.stgo.navigate('/admin')")
    expect(page.locator("h1")).to_have_text("Admin area")
    expect(page.locator(".stgo-refusal")).to_have_count(0)


def test_a_refused_page_shows_none_of_its_live_changes(serve, new_page) -> None:
    app = pages_app()
    admin = app.get_page("/admin")
    secret = admin.text("payroll: none yet", key="payroll")
    tick = app.sidebar.text("tick 0", key="tick")
    server = serve(app)
    page = new_page(server.url + "admin")
    wait_connected(page)
    expect(page.locator(".stgo-refusal")).to_contain_text("403")
    secret.set_text("payroll: 1,000,000")
    admin.text("inserted for admins", key="more")
    tick.set_text("tick 1")  # on every page: once it shows, so would the rest
    expect(page.get_by_text("tick 1")).to_be_visible()
    expect(page.get_by_text("payroll")).to_have_count(0)
    expect(page.get_by_text("inserted for admins")).to_have_count(0)


def test_an_unknown_path_is_a_404_page(serve, new_page) -> None:
    server = serve(pages_app())
    page = new_page()
    response = page.goto(server.url + "no/such/page")
    assert response.status == 404
    expect(page.locator("h1")).to_have_text("Page not found")
    page.get_by_role("link", name="Go to the app").click()
    wait_connected(page)
    expect(page.locator("h1")).to_have_text("Home")
    # The server's own paths are untouched.
    assert page.request.get(server.url + "health").ok
    assert page.request.get(server.url + "static/stgo.js").ok


@pytest.fixture
def mounted() -> Iterator[str]:
    app = pages_app()

    def other(environ: Any, start_response: Any) -> Any:
        return Response("the host app")(environ, start_response)

    with serve_mounted(app, "/sub", other) as root:
        yield root + "sub/"


def home_and_back(new_page: Any, base: str, name: str) -> Any:
    """Open :func:`pages_app`'s reports at *base* (its root URL, under a
    prefix), type *name*, follow the link home and go back: the URLs stay
    under *base* and the name is kept. The page, on the reports again."""
    page = new_page(base + "reports")
    expect(page.locator("h1")).to_have_text("Reports")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Name").press("Enter")
    page.wait_for_function("() => window.stgo.acked >= window.stgo.seq")
    page.locator(".stgo-nav a[data-stgo-path='/']").click()
    expect(page.locator("h1")).to_have_text("Home")
    assert page.url == base
    expect(page.get_by_label("Name")).to_have_value(name)
    page.go_back()
    expect(page.locator("h1")).to_have_text("Reports")
    assert page.url == base + "reports"
    return page


def test_pages_under_a_prefix(mounted: str, new_page) -> None:
    page = home_and_back(new_page, mounted, "Grace")
    # A deeper URL (unknown page) under the prefix still finds the app's root.
    page.goto(mounted + "reports/deeper")
    expect(page.locator("h1")).to_have_text("Page not found")


def test_a_draft_kept_per_tab_and_no_session_id_in_the_page(serve, new_page) -> None:
    from stgo.cli import load_app

    server = serve(load_app("examples/multipage.py"))
    first = new_page(server.url + "notes")
    second = new_page(server.url + "notes", context=first.context)
    for page, text in ((first, "first draft"), (second, "second draft")):
        page.get_by_label("Draft").fill(text)
        page.get_by_label("Draft").press("Enter")
        page.wait_for_function("() => window.stgo.acked >= window.stgo.seq")
        page.get_by_role("button", name="Save draft to this tab").click()
        page.wait_for_function("() => window.stgo.acked >= window.stgo.seq")
    first.get_by_role("button", name="Show this tab's draft").click()
    expect(first.locator("[data-key=tab_draft]")).to_have_text("This tab's draft: first draft")
    second.get_by_role("button", name="Show this tab's draft").click()
    expect(second.locator("[data-key=tab_draft]")).to_have_text("This tab's draft: second draft")
    # The tab's name is the page's own token, never the session ID.
    sid = cookie_of(first)
    assert first.evaluate("() => window.stgo.tab") != sid
    assert sid not in first.content() and sid not in first.url
