"""A real browser through nginx in front of two ``python -m stgo run`` processes
on one Redis (issue 13): ``kill -9`` of the process serving the tab's
WebSocket; the tab reconnects by itself, through nginx, to the other process,
shows the same counts, and the next click counts on. No reload."""

from __future__ import annotations

import re
import signal
from typing import Any

from playwright.sync_api import expect

from ..helpers import ServerProcess, stgo_run
from ..services import NginxServer, RedisServer, free_port
from ..test_store_processes import APP
from .conftest import wait_connected


def test_kill_9_of_the_process_serving_the_tab_moves_it_to_the_other_with_its_count(
    redis_server: RedisServer, nginx_server: NginxServer, new_page: Any,
    processes: list[ServerProcess]
) -> None:
    ports = [free_port(), free_port()]
    by_pid: dict[int, ServerProcess] = {}
    for port in ports:
        # STGO_TEST_SHOW_PID: the app shows which process drew the page (a
        # global text of each process: the WebSocket's full render sets it).
        proc = stgo_run(APP, "--store", redis_server.url, "--port", str(port),
                        env={"STGO_TEST_SHOW_PID": "1"})
        processes.append(proc)
        proc.wait_url()
        by_pid[proc.proc.pid] = proc
    nginx_server.start(ports)

    page = new_page(nginx_server.url)
    page.evaluate("() => { window.stgoTestNotReloaded = true; }")
    cookies = page.context.cookies()
    button = page.get_by_role("button", name="Click", exact=True)
    mine = page.locator("[data-key=mine]")
    total = page.locator("[data-key=total] .stgo-metric-value")
    for n in range(1, 4):
        button.click()
        expect(mine).to_have_text(f"mine: {n}")  # acknowledged: it is in Redis
    expect(total).to_have_text("3")
    shown = page.get_by_text(re.compile(r"^served by pid \d+$"))
    serving = int(shown.inner_text().rsplit(" ", 1)[1])
    assert serving in by_pid, (serving, list(by_pid))
    (other,) = set(by_pid) - {serving}

    by_pid[serving].proc.send_signal(signal.SIGKILL)  # by PID, no goodbye
    by_pid[serving].wait(10)
    # By itself: the client reconnects through nginx, which skips the dead
    # process; the other one rebuilds the session from Redis.
    expect(shown).to_have_text(f"served by pid {other}", timeout=30_000)
    wait_connected(page, timeout=30_000)
    expect(mine).to_have_text("mine: 3")
    expect(total).to_have_text("3")
    button.click()
    expect(mine).to_have_text("mine: 4")
    expect(total).to_have_text("4")
    assert page.evaluate("() => window.stgoTestNotReloaded === true")  # the same page
    assert page.context.cookies() == cookies  # and the same session
