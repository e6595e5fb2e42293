"""Twelve browser tabs on gunicorn with four threads: none of them holds one."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from ..helpers import ServerProcess, request
from .conftest import wait_connected

APPS = Path(__file__).parent.parent / "apps"


@pytest.fixture
def gunicorn_4_threads() -> Iterator[ServerProcess]:
    proc = ServerProcess(
        [sys.executable, "-m", "gunicorn", "-k", "gthread", "-w", "1", "--threads", "4",
         "-b", "127.0.0.1:0", "--graceful-timeout", "5", "--chdir", str(APPS),
         "embedded:app"],
        url_pattern=r"Listening at: (http://[0-9.]+:[0-9]+)",
    )
    try:
        proc.wait_url()
        yield proc
    finally:
        proc.kill()


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
