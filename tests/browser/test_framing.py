"""Framing and reload loops (issue 10, finding 7), in Chromium.

A page of another site must not be able to show the app in a frame (where an
invisible frame can be clicked, and where, without its cookie, the app made a
session every two seconds by reloading forever); and a page whose socket is
refused for good stops reloading after a few tries and says so.
"""

from __future__ import annotations

from playwright.sync_api import expect

import stgo

from ..helpers import wait_until
from .conftest import wait_connected

EVIL = "http://evil.test/"


def test_a_cross_site_frame_is_refused_and_makes_no_connection(serve, new_page) -> None:
    app = stgo.App(title="Bank")
    app.button("Log out", key="logout")
    server = serve(app)
    page = new_page()
    # Another site, framing the app (served by the browser's router: no DNS).
    page.route(EVIL, lambda route: route.fulfill(
        content_type="text/html",
        body=f'<!doctype html><title>evil</title><iframe src="{server.url}"></iframe>',
    ))
    page.goto(EVIL)
    # The app answers (tests/test_http.py checks the headers), but the
    # browser refuses to show it in the frame: no script runs, nothing connects.
    wait_until(lambda: page.evaluate("1") and len(page.frames) == 2, timeout=10)
    frame = page.frames[1]
    wait_until(lambda: page.evaluate("1") and frame.url.startswith("chrome-error:"), timeout=10)
    assert len(app.hub) == 0
    assert app.metrics.get("stgo_connections_opened_total") == 0


def test_a_same_origin_frame_still_works(serve, new_page) -> None:
    app = stgo.App(title="Framed")
    app.button("Go", key="go")
    server = serve(app)
    page = new_page(server.url)
    page.evaluate("""(url) => {
        const f = document.createElement('iframe'); f.src = url; document.body.append(f);
    }""", server.url)
    wait_until(lambda: page.evaluate("1") and len(page.frames) == 2, timeout=10)
    frame = page.frames[1]
    frame.wait_for_function("() => window.stgo && window.stgo.connected", timeout=10_000)
    expect(frame.get_by_role("button", name="Go")).to_be_visible()


def test_a_page_refused_its_socket_reloads_a_few_times_then_says_so(serve, new_page) -> None:
    # The server answers pages but refuses every socket (it is full): the
    # client's fallback, a reload, can never help.
    app = stgo.App(title="Full", max_connections=0)
    app.text("hello")
    server = serve(app)
    page = new_page()
    loads: list[str] = []
    page.on("request", lambda r: loads.append(r.url)
            if r.resource_type == "document" and r.url == server.url else None)
    page.goto(server.url)
    status = page.locator("#stgo-status")
    expect(status).to_contain_text("Cannot connect", timeout=30_000)
    count = len(loads)
    assert 2 <= count <= 4, loads  # the first load and at most RELOAD_LIMIT (3) reloads
    assert app.metrics.get("stgo_refused_total", "max_connections") >= 3 * count


def test_widget_styles_apply_under_the_strict_content_policy(serve, new_page) -> None:
    # The policy allows no style attribute: widgets hand their sizes to the
    # client, which sets them through the CSSOM.
    app = stgo.App(title="Styled")
    left, right = app.columns([3, 1], key="cols")
    left.text_area("Notes", key="notes", height=180)
    server = serve(app)
    page = new_page()
    page.add_init_script("""window.__violations = [];
        document.addEventListener("securitypolicyviolation",
            (e) => window.__violations.push(e.violatedDirective));""")
    page.goto(server.url)
    wait_connected(page)
    grid = page.locator(".stgo-columns-grid")
    assert "3fr" in grid.evaluate("(el) => el.style.gridTemplateColumns")
    assert page.get_by_label("Notes").evaluate("(el) => el.style.height") == "180px"
    assert page.evaluate("() => window.__violations") == []
