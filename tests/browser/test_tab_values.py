"""Per-tab values in Chromium (issue 26): two tabs of ONE browser (one
cookie, one session) with different ``scope="tab"`` and ``bind="query"``
values each keep their own, through a reload, and through nginx in front of
two ``python -m stgo run`` processes on one Redis when the process serving a
tab dies."""

from __future__ import annotations

import re
import signal
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from stgo.cli import load_app

from ..helpers import ServerProcess, stgo_run
from ..services import NginxServer, RedisServer, free_port
from .conftest import cookie_of, wait_connected

APP = str(Path(__file__).resolve().parents[1] / "apps" / "tabbed.py")


def _pick(page: Any, key: str, option: str) -> None:
    page.locator(f"[data-key={key}] select").select_option(label=option)


def _shows(page: Any, region: str, filter_: str, said: str | None = None) -> None:
    """The tab's selects show *region* and *filter_*, and its event reads
    them (or *said*: what ``session.get`` reads of an input never set)."""
    expect(page.locator("[data-key=region] select option:checked")).to_have_text(region)
    expect(page.locator("[data-key=f] select option:checked")).to_have_text(filter_)
    page.get_by_role("button", name="Report").click()
    expect(page.locator("[data-key=said]")).to_have_text(said or f"region={region} f={filter_}")


def _reload(page: Any) -> None:
    page.reload()
    wait_connected(page)


def test_two_tabs_of_one_browser_keep_their_own_values_through_reload(serve: Any,
                                                                     new_page: Any) -> None:
    server = serve(load_app(APP))
    url = server.url
    first = new_page(url + "?f=north")
    second = new_page(url + "?f=south", context=first.context)
    assert cookie_of(first) == cookie_of(second)  # one session
    _pick(first, "region", "east")
    _shows(first, "east", "north")
    _pick(second, "region", "west")
    _shows(second, "west", "south")
    _shows(first, "east", "north")  # untouched by the other tab

    # A change of a query-bound value moves this tab's URL, with no new
    # history entry (replaceState), and no other tab's.
    entries = second.evaluate("() => history.length")
    _pick(second, "f", "east")
    second.wait_for_url(re.compile(r"\?f=east$"))
    assert second.evaluate("() => history.length") == entries
    assert first.url.endswith("?f=north")
    _shows(second, "west", "east")

    _reload(first)
    _reload(second)
    _shows(first, "east", "north")
    _shows(second, "west", "east")

    # A shared link brings the query value; a bad one is ignored, never stored.
    third = new_page(url + "?f=south", context=first.context)
    _shows(third, "all", "south", "region=None f=south")
    bad = new_page(url + "?f=atlantis", context=first.context)
    expect(bad.locator("[data-key=f] select option:checked")).to_have_text("all")
    bad.get_by_role("button", name="Report").click()
    expect(bad.locator("[data-key=said]")).to_have_text("region=None f=None")


def test_each_tab_keeps_its_values_across_two_processes_on_redis(
    redis_server: RedisServer, nginx_server: NginxServer, new_page: Any,
    processes: list[ServerProcess]
) -> None:
    ports = [free_port(), free_port()]
    by_pid: dict[int, ServerProcess] = {}
    for port in ports:
        proc = stgo_run(APP, "--store", redis_server.url, "--port", str(port),
                        env={"STGO_TEST_SHOW_PID": "1"})
        processes.append(proc)
        proc.wait_url()
        by_pid[proc.proc.pid] = proc
    nginx_server.start(ports)

    first = new_page(nginx_server.url + "?f=north")
    second = new_page(nginx_server.url + "?f=south", context=first.context)
    _pick(first, "region", "east")
    _shows(first, "east", "north")
    _pick(second, "region", "west")
    _shows(second, "west", "south")

    shown = first.get_by_text(re.compile(r"^served by pid \d+$"))
    serving = int(shown.inner_text().rsplit(" ", 1)[1])
    (other,) = set(by_pid) - {serving}
    by_pid[serving].proc.send_signal(signal.SIGKILL)
    by_pid[serving].wait(10)
    # The first tab reconnects to the other process by itself; the second
    # is reloaded there.  Each finds its own values in Redis.
    expect(shown).to_have_text(f"served by pid {other}", timeout=30_000)
    wait_connected(first, timeout=30_000)
    _reload(second)
    expect(second.get_by_text(re.compile(r"^served by pid \d+$"))).to_have_text(
        f"served by pid {other}")
    _shows(first, "east", "north")
    _shows(second, "west", "south")
    _reload(first)
    _shows(first, "east", "north")
