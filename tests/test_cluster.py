"""Many ``python -m stgo run`` processes on one Redis (issue 22): a shared
widget of an ``app.page`` is saved and relayed like the App's own, a burst of
a session's changes on one process costs its tab on another only what
changed, and a session ended on one process ends on every one at once."""

from __future__ import annotations

import contextlib
import json
import re
import signal
from pathlib import Path
from typing import Any

from .helpers import Client, Socket, request
from .services import RedisServer
from .test_store_processes import Start, hooks, start

__all__ = ["start"]  # the fixture, imported for this module's tests

APP = str(Path(__file__).parent / "apps" / "cluster.py")


def button_id(html: str, label: str) -> str:
    found = re.search(rf'id="(w[0-9a-f]+)"[^>]*>(?:(?!id="w).)*?{label}', html, re.S)
    assert found, html
    return found.group(1)


def open_tab(browser: Client, path: str = "/") -> tuple[Socket, dict[str, Any]]:
    """A tab of *browser*'s session on *path*: its socket and its render."""
    sock = browser.connect(wait_render=False)
    render = sock.recv_until(lambda m: m["type"] == "render")
    if path != "/":
        sock.send_json({"v": 1, "type": "navigate", "path": path, "query": {}})
        render = sock.recv_until(lambda m: m["type"] == "render" and m.get("path") == path)
    return sock, render


def metric_shown(html: str) -> str:
    found = re.findall(r'stgo-metric-value[^>]*>([^<]*)<', html)
    assert found, html
    return str(found[-1])


def test_a_keyed_shared_widget_of_a_page_is_relayed_and_survives_a_restart(
    redis_server: RedisServer, start: Start
) -> None:
    a = start("--store", redis_server.url, app=APP)
    b = start("--store", redis_server.url, app=APP)
    alice = Client(a.url)
    on_a, render = open_tab(alice, "/reports")
    bump = button_id(render["roots"]["global"], "Bump")
    bob = Client(b.url)
    on_b, render_b = open_tab(bob, "/reports")
    assert metric_shown(render_b["roots"]["global"]) == "0"

    for _ in range(3):
        on_a.ack(on_a.event(bump))
    # Bob's tab of /reports, on the other process, follows.
    on_b.recv_until(lambda m: '>3<' in json.dumps(m).replace('\\"', '"'), timeout=10)
    # The same key on "/" is another widget: untouched, here and there.
    for proc in (a, b):
        assert metric_shown(request(proc.url, "/").body) == "0"
        assert metric_shown(request(proc.url, "/reports").body) == "3"
    on_a.close()
    on_b.close()

    # Every process stops; the next one shows the page's value, not the module's 0.
    for proc in (a, b):
        proc.signal(signal.SIGTERM)
        assert proc.wait() == 0
    c = start("--store", redis_server.url, app=APP)
    assert metric_shown(request(c.url, "/reports").body) == "3"
    assert metric_shown(request(c.url, "/").body) == "0"
    carol = Client(c.url)
    on_c, render_c = open_tab(carol, "/reports")
    assert metric_shown(render_c["roots"]["global"]) == "3"
    on_c.close()


def test_a_session_ended_on_one_process_ends_at_once_on_the_others(
    redis_server: RedisServer, start: Start, tmp_path: Path
) -> None:
    # B's own cleanup pass comes only after a minute: the end must be told.
    a = start("--store", redis_server.url, app=APP)
    b = start("--store", redis_server.url, app=APP)
    alice = Client(a.url)
    on_a, render = open_tab(alice, "/")
    tab_b = Client(b.url)
    tab_b.session_id = alice.session_id  # the same browser's other tab, on B
    on_b, render_b = open_tab(tab_b, "/")
    click = button_id(render_b["roots"]["global"], "Click")
    on_b.ack(on_b.event(click))
    sid = alice.session_id

    on_a.event(button_id(render["roots"]["global"], "Log out"))  # ends it, on A
    assert on_a.recv_close(10) == 1001
    # B's tab is told at once, and closed, as an expiry tells it.
    assert on_b.recv_close(10) == 1001
    assert any(m.get("type") == "expired" for m in on_b.messages)
    with contextlib.suppress(Exception):
        on_b.event(click)  # too late: the session is over everywhere
    assert tab_b.get("/").status == 200 and tab_b.session_id != sid  # a fresh session
    lines = hooks(tmp_path)
    assert f"end {sid} deleted" in lines
    assert [line for line in lines if line.startswith(f"click {sid}")] == [f"click {sid} 1"]
