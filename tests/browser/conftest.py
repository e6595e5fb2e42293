"""Browser fixtures: Debian's Chromium driven by Playwright for Python.

Without /usr/bin/chromium these tests skip with a loud reason, unless
STGO_REQUIRE_BROWSER=1 (CI), where a missing browser fails them.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import stgo

from ..helpers import COOKIE

CHROMIUM = os.environ.get("STGO_CHROMIUM", "/usr/bin/chromium")
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def _chromium() -> str | None:
    if os.path.exists(CHROMIUM):
        return CHROMIUM
    return shutil.which("chromium")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    path = _chromium()
    if path is None:
        reason = ("NO CHROMIUM FOUND at /usr/bin/chromium: browser tests SKIPPED "
                  "(apt-get install chromium, or run `make test` as root)")
        if os.environ.get("STGO_REQUIRE_BROWSER") == "1":
            pytest.fail(reason + " and STGO_REQUIRE_BROWSER=1 demands a browser")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=path, args=FLAGS)
        yield instance
        instance.close()


@pytest.fixture
def new_page(browser: Any) -> Iterator[Callable[..., Any]]:
    """Open pages, each in its own context (its own cookie jar) unless one is given.

    Page errors (uncaught JS exceptions) fail the test.
    """
    contexts: list[Any] = []
    errors: list[str] = []

    def open_page(url: str | None = None, context: Any = None, **options: Any) -> Any:
        if context is None:
            context = browser.new_context(**options)
            contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        if url is not None:
            page.goto(url)
            wait_connected(page)
        return page

    yield open_page
    for context in contexts:
        context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def wait_connected(page: Any, timeout: float = 10_000) -> None:
    """Wait until the page's client has its WebSocket open."""
    # A function, not an expression: Playwright evals expressions, which the
    # page's Content-Security-Policy (no 'unsafe-eval') refuses.
    page.wait_for_function("() => window.stgo && window.stgo.connected", timeout=timeout)


def cookie_of(page: Any) -> str:
    """The page's stgo session cookie (HttpOnly: only the browser context can read it)."""
    return {c["name"]: c["value"] for c in page.context.cookies()}[COOKIE]


def session_of(app: stgo.App, page: Any) -> stgo.Session:
    """The session of *app* that *page* belongs to."""
    session = app.sessions.get(cookie_of(page))
    assert session is not None
    return session
