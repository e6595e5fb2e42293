"""Session ID rotation as a browser lives it: a password login (what
examples/login.py was before stgo.OIDC: tests/apps/password_login.py) in Chromium.

Logging in (and out) rotates the session's ID: the browser's HttpOnly cookie
must change by itself (the client trades the one-time token), the signed-in
state must survive, and a reload or a dropped connection must land back on
the same, rotated session.
"""

from __future__ import annotations

import runpy
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from ..helpers import COOKIE, wait_until
from .conftest import cookie_of, wait_connected

LOGIN = Path(__file__).resolve().parents[1] / "apps" / "password_login.py"


def log_in(page: Any, username: str, password: str) -> None:
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def test_login_rotates_the_cookie_and_keeps_the_signed_in_session(serve, new_page) -> None:
    app = runpy.run_path(str(LOGIN))["app"]
    server = serve(app)
    page = new_page(server.url)
    other_tab = new_page(server.url, context=page.context)  # same browser, same session
    before = cookie_of(page)
    assert len(app.sessions) == 1

    log_in(page, "alice", "wonderland")
    expect(page.get_by_text("Welcome, alice!")).to_be_visible()
    expect(other_tab.get_by_text("Welcome, alice!")).to_be_visible()
    # The browser got the new cookie by itself; the old ID is dead.
    wait_until(lambda: cookie_of(page) != before, timeout=10)
    after = cookie_of(page)
    session = app.sessions.get(after)
    assert session is not None and session.get("user") == "alice"
    assert app.sessions.get(before) is None and len(app.sessions) == 1
    cookie = next(c for c in page.context.cookies() if c["name"] == COOKIE)
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and cookie["expires"] == -1

    page.get_by_label("Private notes (kept in your session)").fill("my plans")
    wait_until(lambda: session.get("notes") == "my plans")

    # Both tabs reconnect on the new ID (no reload into a fresh session).
    for tab in (page, other_tab):
        tab.evaluate("window.__sameDocument = true")
    app.hub.close_all(1012, "test restart")
    wait_until(lambda: session.connections == 2, timeout=15)
    for tab in (page, other_tab):
        wait_connected(tab)
        assert tab.evaluate("window.__sameDocument") is True, "the tab reloaded instead"

    # A reload keeps the signed-in session, its state and the rotated cookie.
    page.reload()
    wait_connected(page)
    expect(page.get_by_text("Welcome, alice!")).to_be_visible()
    expect(page.get_by_label("Private notes (kept in your session)")).to_have_value("my plans")
    assert cookie_of(page) == after and len(app.sessions) == 1

    # Logging out rotates again, and clears the identity; the session lives on.
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    expect(other_tab.get_by_role("button", name="Log in")).to_be_visible()
    wait_until(lambda: cookie_of(page) != after, timeout=10)
    assert app.sessions.get(after) is None
    assert app.sessions.get(cookie_of(page)) is session and session.get("user") is None
    page.reload()
    wait_connected(page)
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    expect(page.get_by_text("Welcome, alice!")).to_have_count(0)
    assert len(app.sessions) == 1 and not session.ended


def test_a_tab_closed_by_the_rotation_waits_for_the_new_cookie_not_a_fresh_session(
    serve, new_page
) -> None:
    # Both tabs are closed at once; the second reconnects while the first is
    # still trading its token (held here), so its cookie is still the old,
    # dead one.  It must retry until the cookie changed, not reload into a
    # fresh session (which would sign this browser out in that tab).
    app = runpy.run_path(str(LOGIN))["app"]
    server = serve(app)
    page = new_page(server.url)
    other_tab = new_page(server.url, context=page.context)
    before = cookie_of(page)
    held: list[Any] = []
    page.route("**/session/rotate*", lambda route: held.append(route))
    other_tab.evaluate("window.__sameDocument = true")
    refused_before = app.metrics.get("stgo_refused_total", "unknown_cookie")

    log_in(page, "alice", "wonderland")
    wait_until(lambda: page.evaluate("1") and held, timeout=10)
    # The other tab is knocking with the old cookie, and being refused: more
    # often than the 3 refusals after which a tab otherwise reloads.
    wait_until(lambda: other_tab.evaluate("1") and app.metrics.get(
        "stgo_refused_total", "unknown_cookie") >= refused_before + 5, timeout=8)
    assert cookie_of(page) == before and len(app.hub) == 0
    held[0].continue_()

    for tab in (page, other_tab):
        expect(tab.get_by_text("Welcome, alice!")).to_be_visible(timeout=15_000)
        wait_connected(tab)
    assert other_tab.evaluate("window.__sameDocument") is True, "the other tab reloaded"
    after = cookie_of(page)
    session = app.sessions.get(after)
    assert after != before and session is not None and session.get("user") == "alice"
    assert len(app.sessions) == 1 and session.connections == 2


def test_no_page_script_can_find_the_session_id(serve, new_page) -> None:
    app = runpy.run_path(str(LOGIN))["app"]
    server = serve(app)
    page = new_page()
    # Record what a script in the page could see: every WebSocket URL and
    # message, every fetch URL and answer, every stgo:message event.
    page.add_init_script("""
        window.__seen = [];
        var NativeWS = window.WebSocket;
        window.WebSocket = function (url, protocols) {
          var ws = protocols === undefined ? new NativeWS(url) : new NativeWS(url, protocols);
          window.__seen.push("ws " + url);
          ws.addEventListener("message", function (ev) { window.__seen.push("msg " + ev.data); });
          return ws;
        };
        window.WebSocket.prototype = NativeWS.prototype;
        window.WebSocket.OPEN = NativeWS.OPEN;
        var nativeFetch = window.fetch;
        window.fetch = function (input, init) {
          window.__seen.push("fetch " + String(input));
          return nativeFetch(input, init).then(function (r) {
            r.clone().text().then(function (t) { window.__seen.push("body " + t); });
            r.headers.forEach(function (v, k) { window.__seen.push("header " + k + ": " + v); });
            return r;
          });
        };
        document.addEventListener("stgo:message", function (ev) {
          window.__seen.push("event " + JSON.stringify(ev.detail));
        });
    """)
    page.goto(server.url)
    wait_connected(page)
    before = cookie_of(page)
    log_in(page, "alice", "wonderland")
    expect(page.get_by_text("Welcome, alice!")).to_be_visible()
    wait_until(lambda: cookie_of(page) != before, timeout=10)
    wait_connected(page)
    after = cookie_of(page)

    seen = page.evaluate("""() => [
        document.documentElement.outerHTML, document.cookie, location.href,
        JSON.stringify(Object.entries(sessionStorage)),
        JSON.stringify(Object.entries(localStorage)),
        ...performance.getEntries().map((e) => e.name), ...window.__seen,
    ].join("\\n")""")
    assert "ws " in seen and "msg " in seen and "fetch " in seen  # the recorder worked
    assert '"cookie"' in seen  # it saw the rotation message (a token, no ID)
    for sid in (before, after):
        # session_<ms>_<random>: the random part may hold "_" itself (URL-safe
        # base64), so split off the two fields before it, not at the last "_".
        random_part = sid.split("_", 2)[2]
        assert len(random_part) >= 32 and random_part not in seen


def test_a_browser_holding_only_the_old_id_is_cut_off_and_gets_a_fresh_session(
    serve, new_page
) -> None:
    # Session fixation, played out: the attacker's browser holds the victim's
    # pre-login ID (planted by cookie tossing, say) and has a tab open on it.
    app = runpy.run_path(str(LOGIN))["app"]
    server = serve(app)
    victim = new_page(server.url)
    planted = cookie_of(victim)
    attacker = new_page()
    attacker.context.add_cookies([{"name": COOKIE, "value": planted, "url": server.url}])
    attacker.goto(server.url)
    wait_connected(attacker)
    session = app.sessions.get(planted)
    assert session is not None and session.connections == 2

    log_in(victim, "alice", "wonderland")
    expect(victim.get_by_text("Welcome, alice!")).to_be_visible()
    wait_until(lambda: cookie_of(victim) != planted, timeout=10)
    # The attacker's tab lost its socket at once, and it never gets it back:
    # after waiting for a cookie that never comes, it reloads into a session
    # of its own, signed out.
    wait_until(lambda: cookie_of(attacker) != planted, timeout=25)
    wait_connected(attacker, timeout=15_000)
    expect(attacker.get_by_role("button", name="Log in")).to_be_visible()
    expect(attacker.get_by_text("Welcome, alice!")).to_have_count(0)
    mine = app.sessions.get(cookie_of(attacker))
    assert mine is not None and mine is not session and mine.get("user") is None
    assert session.get("user") == "alice" and session.connections == 1
    assert cookie_of(attacker) != cookie_of(victim)
