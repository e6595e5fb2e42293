"""An open tab costs no thread: the I/O loop, under stgo's server, gunicorn and Flask.

Real servers in child processes (``python -m stgo run``, gunicorn), real
sockets; threads and memory read from ``/proc/PID/status``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

import stgo
from stgo import App

from .helpers import (
    APPS,
    Client,
    ServerProcess,
    handler_threads,
    request,
    stgo_run,
    wait_until,
)
from .hostile import frame, raw_upgrade
from .test_embedding import widget_id

OP_TEXT = 0x1


def proc_status(pid: int, field: str) -> int:
    """A number from /proc/PID/status (``Threads``, ``VmRSS`` in KiB)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} in /proc/{pid}/status")


pytestmark = pytest.mark.skipif(not Path("/proc/self/status").exists(),
                                reason="needs /proc (Linux)")


@pytest.fixture
def small_page() -> Iterator[ServerProcess]:
    proc = stgo_run(str(APPS / "small_page.py"))
    try:
        proc.wait_url()
        yield proc
    finally:
        proc.kill()


def test_200_open_websockets_cost_far_fewer_than_200_threads(
        small_page: ServerProcess) -> None:
    pid = small_page.proc.pid
    idle = proc_status(pid, "Threads")
    browsers = [Client(small_page.url) for _ in range(200)]
    try:
        socks = [b.connect() for b in browsers]
        # Every tab is live: a click in the first reaches the last.
        first, last = socks[0], socks[-1]
        widget = widget_id(first.messages[0]["roots"]["global"], "click")
        first.ack(first.event(widget))
        last.recv_until(lambda m: m["type"] == "patch" and "Clicks: 1" in json.dumps(m))
        threads = proc_status(pid, "Threads")
        assert threads < idle + 20, (idle, threads)
        assert request(small_page.url, "/health").json()["status"] == "ok"
    finally:
        for b in browsers:
            b.close()
    assert "Traceback" not in small_page.output()


@pytest.fixture
def big_page() -> Iterator[ServerProcess]:
    proc = stgo_run(str(APPS / "big_page.py"))
    try:
        proc.wait_url()
        yield proc
    finally:
        proc.kill()


def test_a_resync_flood_from_a_client_that_stops_reading_is_bounded_and_dropped(
        big_page: ServerProcess) -> None:
    # Each resync asks for the whole page (~600 KB).  150 of them (3 KB) from a
    # client that never reads used to queue 150 renders: ~90 MB per socket.
    pid = big_page.proc.pid
    browser = Client(big_page.url)
    browser.get("/")
    status, raw, _ = raw_upgrade(big_page.url, browser.session_id or "", rcvbuf=4096)
    assert status == 101
    try:
        wait_until(lambda: request(big_page.url, "/health").status == 200)
        before = proc_status(pid, "VmRSS")
        resync = frame(OP_TEXT, json.dumps({"type": "resync"}).encode())
        raw.sendall(resync * 150)
        peak = before
        deadline = time.monotonic() + 20
        dropped = False
        while time.monotonic() < deadline and not dropped:
            peak = max(peak, proc_status(pid, "VmRSS"))
            dropped = "dropped a client" in big_page.output()
            time.sleep(0.05)
        assert dropped, big_page.output()
        # What may wait for one client: the byte bound (8 MiB) and a render
        # on its way, far from 150 renders.
        assert peak - before < 30 * 1024, (before, peak)
        metrics = request(big_page.url, "/metrics").body
        assert 'stgo_dropped_clients_total 1' in metrics
    finally:
        raw.close()
    # And the server still serves.
    other = Client(big_page.url)
    try:
        assert other.connect().messages[0]["type"] == "render"
    finally:
        other.close()


def test_resyncs_past_the_burst_are_refused_and_one_render_waits_at_most(
        serve: Any, client_for: Any) -> None:
    app = App(title="Resyncs")
    app.text("hello", key="hello")
    sock = client_for(serve(app)).connect()
    hello = app.widget("hello").id

    def renders() -> int:
        return sum(m["type"] == "render" for m in sock.messages)

    # Asked all at once: one render is asked for, or waits, at a time.
    for _ in range(30):
        sock.send_json({"type": "resync"})
    sock.ack(sock.event(hello))
    assert 2 <= renders() <= 1 + stgo.core.dispatch.RESYNC_BURST
    # Asked one after another: past the burst, refused.  At most 20, so that
    # with what the first volley may have had refused (up to 30 - burst, as
    # its resyncs and the render's send interleave) the total stays under the
    # count that closes an abuser.
    before = renders()
    for _ in range(20):
        sock.send_json({"type": "resync"})
        sock.ack(sock.event(hello))
    assert 30 - stgo.core.dispatch.RESYNC_BURST + 20 <= stgo.core.dispatch._RESYNC_ABUSE
    assert renders() - before < 20
    assert app.metrics.get("stgo_refused_total", "resync_rate") >= 1
    assert all(c.open for c in app.hub.connections())  # refused, not closed


def paged_app() -> tuple[App, list[str], threading.Event, Any]:
    """Pages /a, /b, /c whose ``on_open`` hooks note each run, and a button
    whose callback holds the session's queue until let go."""
    app = App(title="Pages")
    opened: list[str] = []
    for path in ("/a", "/b", "/c"):
        page = app.page(path, title=path)
        page.text(f"page {path}")
        page.on_open(lambda session, tab, path=path: opened.append(path))
    go_on = threading.Event()
    hold = app.button("Hold", key="hold",
                      on_click=lambda session, event, value: go_on.wait(10))
    return app, opened, go_on, hold


def test_a_navigate_flood_is_refused_past_the_render_budget_and_closed(
        serve: Any, client_for: Any) -> None:
    # 3,000 navigations (~200 KB) used to give 3,000 full renders and 3,000
    # runs of on_open, and the client was never closed.
    app, opened, _, _ = paged_app()
    client = client_for(serve(app))
    sock = client.connect()
    nav = [frame(OP_TEXT, json.dumps({"type": "navigate", "path": p, "query": {}}).encode())
           for p in ("/a", "/b", "/c")]
    began = time.monotonic()
    assert sock.ws.sock is not None
    with contextlib.suppress(OSError):  # the server may close it before the last one
        sock.ws.sock.sendall(b"".join(nav) * 1000)
    assert sock.recv_close(10) == 1008
    elapsed = time.monotonic() - began
    # Within the budget shared with resync: a burst, then one per second.
    allowed = stgo.core.dispatch.RESYNC_BURST + stgo.core.dispatch.RESYNC_RATE * elapsed + 1
    renders = [m for m in sock.messages if m["type"] == "render"]
    assert len(renders) - 1 <= allowed, (len(renders), elapsed)  # (- the one on connect)
    assert len(opened) <= allowed, (len(opened), elapsed)
    assert app.metrics.get("stgo_refused_total", "navigate_rate") >= 1
    # Told why, a bounded number of times (up to the close).
    told = [m for m in sock.messages if m["type"] == "error"]
    assert told and all("too many page changes" in m["message"] for m in told)
    assert len(told) <= stgo.core.dispatch._RESYNC_ABUSE + 1
    # The session lives on: a new tab of it is served.
    assert client.connect().messages[0]["type"] == "render"
    assert not app.sessions.get(client.session_id or "").ended


def test_navigations_waiting_behind_a_busy_session_render_only_the_last(
        serve: Any, client_for: Any) -> None:
    app, opened, go_on, hold = paged_app()
    sock = client_for(serve(app)).connect()
    try:
        seq = sock.event(hold.id)  # holds the session's queue
        for path in ("/a", "/b", "/c"):
            sock.send_json({"type": "navigate", "path": path, "query": {}})
        # Answered on the loop, after the three above were read: they wait.
        sock.ws.send("not json")
        sock.recv_until(lambda m: m["type"] == "error" and "JSON" in m["message"])
    finally:
        go_on.set()
    sock.ack(seq)
    sock.recv_until(lambda m: m["type"] == "render" and m.get("path") == "/c")
    sock.ack(sock.event(hold.id))  # anything queued after it has run by now
    assert opened == ["/c"]
    renders = [m for m in sock.messages if m["type"] == "render"]
    assert [m.get("path") for m in renders[1:]] == ["/c"]  # after the one on connect


def test_empty_frames_by_the_thousand_get_few_errors_and_a_close(
        serve: Any, client_for: Any) -> None:
    # 10,000 empty frames used to draw 10,000 errors (620 KB) and no close.
    app = App(title="Empty")
    app.text("hello")
    client = client_for(serve(app))
    sock = client.connect()
    began = time.monotonic()
    assert sock.ws.sock is not None
    with contextlib.suppress(OSError):
        sock.ws.sock.sendall(frame(OP_TEXT, b"") * 10_000)
    assert sock.recv_close(10) == 1008
    elapsed = time.monotonic() - began
    errors = [m for m in sock.messages if m["type"] == "error"]
    assert errors, sock.messages
    dispatch = stgo.core.dispatch
    assert len(errors) <= (dispatch.BAD_MESSAGE_BURST
                           + dispatch.BAD_MESSAGE_RATE * elapsed + 1), (len(errors), elapsed)
    assert app.metrics.get("stgo_refused_total", "malformed") >= 1
    # The session lives on: a new tab of it is served.
    assert client.connect().messages[0]["type"] == "render"


# -- fallback: a server whose socket cannot be taken over ------------------------------------


def test_a_server_without_take_over_serves_each_tab_on_its_thread_and_says_so_once(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="stgo")
    app = App(title="Fallback")
    button = app.button("Go", key="go")
    clicks: list[int] = []
    button.on_click(lambda session, event, value: clicks.append(1))
    # Werkzeug's own request handler: it reads the socket again after the
    # call, so stgo must keep the connection on this thread.
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                              name="test-fallback")
    app.start()
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}/"
    browsers = [Client(url), Client(url)]
    try:
        socks = [b.connect() for b in browsers]
        for sock in socks:
            sock.ack(sock.event(button.id))
        assert len(clicks) == 2
        # A tab each holds its thread; the page loads' threads end (the last
        # may still be closing its socket as the clicks are answered).
        wait_until(lambda: handler_threads() == 2)
        warnings = [r.getMessage() for r in caplog.records
                    if "cannot take over the socket" in r.getMessage()]
        assert len(warnings) == 1
    finally:
        for b in browsers:
            b.close()
        app.stop()
        server.shutdown()
        server.server_close()
        thread.join(5)


# -- gunicorn, and stgo mounted under Flask --------------------------------------------------


def gunicorn(worker: str, target: str, *extra: str) -> ServerProcess:
    return ServerProcess(
        [sys.executable, "-m", "gunicorn", "-k", worker, "-w", "1", *extra,
         "-b", "127.0.0.1:0", "--graceful-timeout", "5", "--chdir", str(APPS), target],
        url_pattern=r"Listening at: (http://[0-9.]+:[0-9]+)",
    )


@pytest.mark.parametrize("worker, extra", [("sync", ()), ("gthread", ("--threads", "2"))])
def test_flask_pages_answer_with_12_tabs_open_under_gunicorn(
        worker: str, extra: tuple[str, ...]) -> None:
    pytest.importorskip("flask")
    proc = gunicorn(worker, "flask_site:app", *extra)
    try:
        proc.wait_url()
        live = proc.url + "live/"
        browsers = [Client(live) for _ in range(12)]
        try:
            socks = [b.connect() for b in browsers]
            # Each worker thread went back: the Flask pages answer.
            for path in ("/", "/about"):
                assert request(proc.url, path).status == 200
            assert "Flask home" in request(proc.url, "/").body
            widget = widget_id(socks[0].messages[0]["roots"]["global"], "click")
            socks[0].ack(socks[0].event(widget))
            for sock in socks[1:]:
                sock.recv_until(lambda m: "Clicks: 1" in json.dumps(m))
        finally:
            for b in browsers:
                b.close()
        assert "Traceback" not in proc.output()
    finally:
        proc.kill()


def test_a_taken_over_socket_is_closed_when_the_tab_closes(serve: Any,
                                                           client_for: Any) -> None:
    app = App(title="Closing")
    server = serve(app)
    sock = client_for(server).connect()
    sock.ws.send_close()
    rest = sock.wait_eof()
    assert rest.startswith(b"\x88") and b"HTTP/" not in rest
    wait_until(lambda: len(app.hub) == 0)
    # Nothing is left open for it: a new connection gets a fresh descriptor.
    with socket.create_connection(("127.0.0.1", server.port), timeout=5):
        pass


def _wait(release: threading.Event) -> None:
    release.wait(10)


def _compute(release: threading.Event) -> None:
    # Never gives up the GIL by itself (no I/O, no wait).
    n = 0
    while not release.is_set():
        n += 1


@pytest.mark.parametrize("hold", [_wait, _compute], ids=["waiting", "computing"])
def test_a_slow_callback_holds_up_only_its_own_session(
        serve: Any, client_for: Any, hold: Callable[[threading.Event], None]) -> None:
    # The slow event runs on the loop's thread that read it (no hand-off);
    # past the budget the watcher hands the sockets to another thread, and
    # the other session's clicks are answered while it runs.
    app = App(title="Slow")
    slow = app.button("Slow", key="slow")
    go = app.button("Go", key="go")
    entered, release = threading.Event(), threading.Event()

    @slow.on_click
    def run_slowly(session: stgo.Session, event: str, value: Any) -> None:
        entered.set()
        hold(release)

    go.on_click(lambda session, event, value: session.increment("n"))
    server = serve(app)
    stuck, free = client_for(server).connect(), client_for(server).connect()
    try:
        seq = stuck.event(slow.id)
        assert entered.wait(5)
        for _ in range(3):
            free.ack(free.event(go.id))
        assert request(server.url, "/health").status == 200
    finally:
        release.set()
    stuck.ack(seq)
