"""Sign-in as a person lives it: Chromium through a real OpenID provider's
form (``oidc-provider-mock``), a page for signed-in users, sign-out from one
tab redrawing the other (issue 25)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import stgo
from stgo.server import Server

from ..services import OIDCProvider
from .conftest import cookie_of, wait_connected


def make_app(issuer: str) -> stgo.App:
    app = stgo.App(title="Auth", auth=stgo.OIDC(issuer=issuer, client_id="stgo-test",
                                               client_secret="s3cret"))
    app.text("public home", key="home")
    app.login_button("Sign in", key="signin")
    app.logout_button("Sign out", key="signout")
    reports = app.page("/reports", title="Reports", access=stgo.signed_in)
    reports.text("the secret reports", key="secret")

    @app.session_page
    def draw(session: stgo.Session) -> None:
        user = session.user
        session.text(f"user: {user.id if user else 'anonymous'}", key="who")

    return app


def offline(context: Any) -> None:
    # The provider's form links a stylesheet on a CDN: no network here.
    context.route("https://**", lambda route: route.abort())


def test_sign_in_through_the_provider_form_and_sign_out_from_another_tab(
        oidc_provider: OIDCProvider, serve: Callable[..., Server],
        new_page: Callable[..., Any]) -> None:
    app = make_app(oidc_provider.issuer)
    base = f"http://127.0.0.1:{serve(app).port}"
    # A tab open before the sign-in, anonymous.
    earlier = new_page(base + "/")
    offline(earlier.context)
    earlier.get_by_text("user: anonymous").wait_for()
    page = new_page(context=earlier.context)
    # A page for signed-in users: sent to the provider's sign-in form.
    page.goto(base + "/reports")
    assert page.url.startswith(oidc_provider.issuer)
    before = cookie_of(page)
    page.fill("input[name=sub]", "alice")
    page.click("button[type=submit]:not([value=deny])")
    page.wait_for_url(base + "/reports")
    wait_connected(page)
    page.get_by_text("the secret reports").wait_for()
    page.get_by_text("user: alice").wait_for()
    assert cookie_of(page) != before  # a new session ID
    # The tab opened before is drawn anew for the signed-in user, on the new ID.
    earlier.get_by_text("user: alice").wait_for()
    # Other tabs of the same browser: the same signed-in session.
    home = new_page(base + "/", context=page.context)
    home.get_by_text("user: alice").wait_for()
    assert home.locator("[data-key=signin]").is_hidden()
    assert home.locator("[data-key=signout]").is_visible()
    other = new_page(base + "/", context=page.context)
    other.get_by_text("user: alice").wait_for()
    # Sign out in one tab: the others are drawn for nobody, at once.
    home.click("[data-key=signout] button")
    home.wait_for_url(base + "/")
    wait_connected(home)
    home.get_by_text("user: anonymous").wait_for()
    other.get_by_text("user: anonymous").wait_for()
    other.locator("[data-key=signin]").wait_for(state="visible")
    assert other.locator("[data-key=signout]").is_hidden()
    page.goto(base + "/reports")
    assert page.url.startswith(oidc_provider.issuer)  # signed out: sent to sign in again


def test_sign_out_everywhere_reaches_the_other_browser_on_another_process(
        oidc_provider: OIDCProvider, redis_server: Any, processes: list[Any],
        new_page: Callable[..., Any]) -> None:
    from pathlib import Path

    from ..helpers import stgo_run

    app_file = str(Path(__file__).resolve().parents[1] / "apps" / "auth_cluster.py")
    urls = []
    for _ in range(2):
        proc = stgo_run(app_file, "--store", redis_server.url,
                        env={"STGO_TEST_ISSUER": oidc_provider.issuer})
        processes.append(proc)
        urls.append(proc.wait_url().rstrip("/"))
    pages = []
    for url in urls:  # two browsers, one on each process, the same person
        page = new_page()
        offline(page.context)
        page.goto(url + "/reports")
        page.fill("input[name=sub]", "alice")
        page.click("button[type=submit]:not([value=deny])")
        page.wait_for_url(url + "/reports")
        page.get_by_text("the secret reports").wait_for()
        page.goto(url + "/")
        wait_connected(page)
        page.get_by_text("user: alice").wait_for()
        pages.append(page)
    here, there = pages
    old_cookie = cookie_of(there)
    here.click("[data-key=signout] button")
    # The other browser's tab is told within 2 s (the bound), then
    # reloads into a fresh, anonymous session.
    there.get_by_text("session expired").wait_for(timeout=2000)
    there.get_by_text("user: anonymous").wait_for()
    # Its old cookie cannot open the page for signed-in users.
    stale = new_page()
    offline(stale.context)
    stale.context.add_cookies([{"name": "stgo_session", "value": old_cookie,
                                "url": urls[1] + "/"}])
    stale.goto(urls[1] + "/reports")
    assert stale.url.startswith(oidc_provider.issuer)
