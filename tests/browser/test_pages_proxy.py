"""Pages behind nginx under a prefix it strips (docs/deployment.md): the app
never hears of the prefix, and links, the back button and the WebSocket work."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from ..services import NginxServer
from .test_pages import home_and_back, pages_app


@pytest.fixture
def proxied(serve, nginx_server: NginxServer) -> str:
    """The pages app behind nginx at ``/app/``, a prefix nginx strips."""
    server = serve(pages_app())
    nginx_server.start([server.port], prefix="/app/")
    return nginx_server.url + "app/"


def test_pages_behind_a_proxy_that_strips_the_prefix(proxied: str, new_page) -> None:
    page = home_and_back(new_page, proxied, "Lin")
    page.get_by_role("button", name="Set query").click()
    page.wait_for_url(proxied + "reports?q=42")
    # A typed deeper URL finds the app's root through the proxy too.
    page.goto(proxied + "reports/")
    page.wait_for_function("() => window.stgo && window.stgo.connected")
    expect(page.get_by_label("Name")).to_have_value("Lin")
