"""Twelve browser tabs on gunicorn with four threads: none of them holds one."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from ..helpers import ServerProcess, gunicorn_embedded, request
from .conftest import wait_connected


@pytest.fixture
def gunicorn_4_threads(processes: list[ServerProcess]) -> ServerProcess:
    return gunicorn_embedded(processes, threads=4)


def test_12_tabs_on_gunicorn_gthread_4_threads_all_live(gunicorn_4_threads, new_page) -> None:
    url = gunicorn_4_threads.url
    tabs = [new_page(url) for _ in range(12)]  # each connected (new_page waits)
    # Another route answers at once, with all twelve open.
    assert request(url, "/health").status == 200
    tabs[0].get_by_role("button", name="Click").click()
    tabs[11].get_by_role("button", name="Click").click()
    for tab in tabs:
        expect(tab.locator("[data-key=count]")).to_have_text("Clicks: 2")
    # A thirteenth still loads and connects.
    late = new_page(url)
    wait_connected(late)
    expect(late.locator("[data-key=count]")).to_have_text("Clicks: 2")
    assert "Traceback" not in gunicorn_4_threads.output()
