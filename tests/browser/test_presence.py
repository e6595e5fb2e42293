"""Presence in Chromium (issue 24): a tab's first load, a reload and its close
run ``on_connect`` / ``on_disconnect`` once each, in order, and
``app.online()`` follows; a hook's change reaches the page."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from playwright.sync_api import expect

import stgo
from stgo.server import Server

from ..helpers import wait_until


def test_open_reload_and_close_of_a_tab(
    new_page: Any, serve: Callable[..., Server], make_app: Callable[..., stgo.App],
) -> None:
    app = make_app()
    last = app.text("", key="last")
    events: list[tuple[str, str]] = []
    lock = threading.Lock()

    @app.on_connect
    def came(session: stgo.Session, tab: stgo.BrowserTab[Any]) -> None:
        with lock:
            events.append(("connect", tab.id))
        last.set_text(f"hello {tab.id}")  # pushed to the page

    @app.on_disconnect
    def went(session: stgo.Session, tab: stgo.BrowserTab[Any]) -> None:
        with lock:
            events.append(("disconnect", tab.id))

    server = serve(app)
    page = new_page(server.url)
    wait_until(lambda: len(events) == 1)
    first = events[0][1]
    expect(page.locator("[data-key=last]")).to_have_text(f"hello {first}")
    assert app.online() == {"sessions": 1, "tabs": 1}

    page.reload()
    wait_until(lambda: len(events) == 3)
    # The same tab (its ID is kept in sessionStorage) went away and came back,
    # in that order, whether its new socket came before the old one's close or after.
    assert events[1:] == [("disconnect", first), ("connect", first)]
    expect(page.locator("[data-key=last]")).to_have_text(f"hello {first}")
    assert app.online() == {"sessions": 1, "tabs": 1}

    page.close()
    wait_until(lambda: len(events) == 4)
    assert events[3] == ("disconnect", first)
    assert app.online() == {"sessions": 0, "tabs": 0}
