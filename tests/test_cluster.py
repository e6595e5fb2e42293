"""Many ``python -m stgo run`` processes on one Redis (issue 22): a shared
widget of an ``app.page`` is saved and relayed like the App's own, a burst of
a session's changes on one process costs its tab on another only what
changed, and a session ended on one process ends on every one at once."""

from __future__ import annotations

import contextlib
import json
import re
import signal
import time
from pathlib import Path
from typing import Any

import stgo
from stgo.cluster.redraw import REDRAW_INTERVAL
from stgo.server import Server

from .helpers import Client, Socket, applied, request, wait_until
from .services import RedisServer
from .test_store_processes import Start, hooks, start, widget_id

__all__ = ["start"]  # the fixture, imported for this module's tests

APP = str(Path(__file__).parent / "apps" / "cluster.py")


def open_tab(browser: Client, path: str = "/") -> tuple[Socket, dict[str, Any]]:
    """A tab of *browser*'s session on *path*: its socket and its render."""
    sock = browser.connect(wait_render=False)
    render = sock.recv_until(lambda m: m["type"] == "render")
    if path != "/":
        sock.send_json({"v": 1, "type": "navigate", "path": path, "query": {}})
        render = sock.recv_until(lambda m: m["type"] == "render" and m.get("path") == path)
    return sock, render


def _counter(metrics: str, name: str) -> int:
    found = re.search(rf"^{re.escape(name)} (\d+)$", metrics, re.M)
    return int(found.group(1)) if found else 0


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
    bump = widget_id(render, "Bump")
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
    click = widget_id(render_b, "Click")
    on_b.ack(on_b.event(click))
    sid = alice.session_id

    on_a.event(widget_id(render, "Log out"))  # ends it, on A
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


def test_a_burst_of_clicks_on_one_process_sends_a_tab_on_another_only_what_changed(
    redis_server: RedisServer, start: Start
) -> None:
    import websocket

    a = start("--store", redis_server.url, app=APP)
    b = start("--store", redis_server.url, app=APP)
    alice = Client(a.url)
    on_a, render = open_tab(alice, "/")
    click = widget_id(render, "Click")
    watcher = Client(b.url)
    watcher.session_id = alice.session_id  # the same browser's other tab, on B
    ws = watcher.connect(wait_render=False).ws
    ws.settimeout(10)
    page = ws.recv()  # the tab's full render: its page's size
    assert json.loads(page)["type"] == "render" and "mine: 0" in page

    clicks = 40
    began = time.monotonic()
    for _ in range(clicks):
        on_a.ack(on_a.event(click))
    took = time.monotonic() - began
    # B's tab reaches the final count; then nothing more is on its way.
    sent, shown = 0, ""
    while f"mine: {clicks}<" not in shown:
        frame = ws.recv()
        sent += len(frame)
        shown = frame if "mine: " in frame else shown
    ws.settimeout(0.5)
    try:
        while True:
            frame = ws.recv()
            sent += len(frame)
            assert "mine: " not in frame or f"mine: {clicks}<" in frame
    except websocket.WebSocketTimeoutException:
        pass
    # Without the diff each relayed change re-sent the whole private page:
    # 40 clicks were 40 pages.  Now: the count's text, a few times.
    assert sent < len(page) // 2, (sent, len(page))
    # And the burst was coalesced: one redraw at once, then at most one per
    # REDRAW_INTERVAL while it lasted (with room for the notices' jitter),
    # and one after: not one per click.
    redraws = _counter(request(b.url, "/metrics").body,
                       'stgo_relay_applied_total{kind="session"}')
    assert 1 <= redraws <= 4 + 2 * took / REDRAW_INTERVAL, (redraws, took)
    ws.close()
    on_a.close()


def test_a_value_changed_here_then_back_elsewhere_is_sent_again(
    redis_server: RedisServer,
) -> None:
    # What B skips is what its tab was last sent, B's own events included:
    # x from A, y typed on B, x again from A: the tab must end on x.
    servers = []
    for _ in range(2):
        app = stgo.App(store=redis_server.url, new_session_rate=None, event_rate=None)
        app.text_input("Note", key="note")
        servers.append(Server(app, "127.0.0.1", 0))
    for server in servers:
        server.start()
    try:
        _back_and_forth(*servers)
    finally:
        for server in servers:
            server.stop()


def _back_and_forth(one: Server, two: Server) -> None:
    browser = Client(one.url)
    browser.get("/")
    tab_b = Client(two.url)
    tab_b.session_id = browser.session_id
    sock, render = open_tab(tab_b, "/")
    note = re.search(r'id="(w[0-9a-f]+)"[^>]*data-key="note"', render["roots"]["global"])
    assert note is not None
    apps = (one.app, two.app)
    wait_until(lambda: all(a._relay is not None and a._relay.connected for a in apps))

    def shown_value() -> Any:
        value = None
        for item in applied(sock.messages):
            if item.get("op") == "value" and item.get("id") == note.group(1):
                value = item["value"]
        return value

    def becomes(value: str) -> None:
        if shown_value() != value:
            sock.recv_until(lambda m: shown_value() == value, timeout=10)

    session = one.app.sessions.get(browser.session_id)
    assert session is not None
    session.set("note", "x")  # on A, outside any event: relayed
    becomes("x")
    sock.ack(sock.event(note.group(1), "change", "y"))  # typed in B's tab
    assert shown_value() == "y"
    session.set("note", "x")  # on A again: B's tab shows y, so x is sent
    becomes("x")
    sock.close()
