"""A real browser across a server restart with the Redis store: the tab
reconnects by itself and shows the same private and shared values."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from ..helpers import ServerProcess, stgo_run
from ..services import RedisServer, free_port
from .conftest import wait_connected

COUNTER = str(Path(__file__).resolve().parents[2] / "examples" / "counter.py")


def test_the_open_tab_survives_a_restart_with_the_redis_store(
    redis_server: RedisServer, new_page: Any, processes: list[ServerProcess]
) -> None:
    port = str(free_port())
    args = ("--store", redis_server.url, "--port", port)
    first = stgo_run(COUNTER, *args)
    processes.append(first)
    url = first.wait_url()
    page = new_page(url)
    cookie = {c["name"]: c["value"] for c in page.context.cookies()}
    for _ in range(2):
        page.get_by_role("button", name="Increment").click()
    mine, total = page.locator("[data-key=mine]"), page.locator("[data-key=total]")
    expect(mine).to_contain_text("2")
    expect(total).to_contain_text("2")

    first.signal(signal.SIGTERM)
    assert first.wait() == 0
    page.wait_for_function("() => !window.stgo.connected")
    second = stgo_run(COUNTER, *args)
    processes.append(second)
    assert second.wait_url() == url

    wait_connected(page, timeout=30_000)  # by itself: nobody reloads the page here
    assert {c["name"]: c["value"] for c in page.context.cookies()} == cookie
    expect(mine).to_contain_text("2")
    page.get_by_role("button", name="Increment").click()
    expect(mine).to_contain_text("3")
    expect(total).to_contain_text("3")
