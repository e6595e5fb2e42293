"""The Redis store with real ``python -m stgo run`` processes: sessions survive a
restart, expire exactly once across two processes, and count exactly when two
processes increment at once."""

from __future__ import annotations

import json
import os
import re
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from stgo.store.redis import RedisStore

from .helpers import COOKIE, Client, ServerProcess, request, stgo_run, wait_until
from .services import RedisServer, free_port

APP = str(Path(__file__).parent / "apps" / "stored.py")
ROOT = Path(__file__).resolve().parents[1]

Start = Callable[..., ServerProcess]


@pytest.fixture
def start(tmp_path: Path, processes: list[ServerProcess]) -> Start:
    """``start(*args, **env)``: the stored app under ``python -m stgo run``; killed after."""

    def run(*args: str, app: str = APP, **env: str) -> ServerProcess:
        proc = stgo_run(app, *args, env={"STGO_TEST_RECORD": str(tmp_path / "hooks.log"),
                                         **env})
        processes.append(proc)
        proc.wait_url()
        return proc

    return run


def hooks(tmp_path: Path) -> list[str]:
    log = tmp_path / "hooks.log"
    return log.read_text(encoding="utf-8").splitlines() if log.exists() else []


def click(sock: Any, widget_id: str) -> dict[str, Any]:
    return sock.ack(sock.event(widget_id))


def widget_id(render: dict[str, Any], label: str) -> str:
    found = re.search(rf'id="(w[0-9a-f]+)"[^>]*>(?:(?!id="w).)*?{label}',
                      render["roots"]["global"], re.S)
    assert found, render["roots"]["global"]
    return found.group(1)


def test_sessions_and_shared_values_survive_a_restart_without_shutdown_hooks(
    redis_server: RedisServer, start: Start, tmp_path: Path
) -> None:
    port = str(free_port())
    first = start("--store", redis_server.url, "--port", port)
    browser = Client(first.url)
    tab = browser.connect(wait_render=False)
    render = tab.recv_until(lambda m: m["type"] == "render")
    button = widget_id(render, "Click")
    for _ in range(3):
        click(tab, button)
    sid = browser.session_id
    assert hooks(tmp_path) == [f"start {sid}"]

    first.signal(signal.SIGTERM)
    assert first.wait() == 0
    assert tab.recv_close() == 1001  # told, and then the tab reconnects by itself
    assert hooks(tmp_path) == [f"start {sid}"]  # no "shutdown" end hook

    second = start("--store", redis_server.url, "--port", port)
    assert second.url == first.url
    again = browser.connect(wait_render=False)  # same cookie, same URL
    render = again.recv_until(lambda m: m["type"] == "render")
    assert "mine: 3" in render["roots"]["session"]
    assert ">3<" in render["roots"]["global"]  # the shared total, not the module's 0
    page = browser.get("/")
    assert page.status == 200 and browser.session_id == sid and "mine: 3" in page.body
    click(again, widget_id(render, "Click"))
    assert hooks(tmp_path) == [f"start {sid}"]  # on_session_start not run again
    other = Client(second.url)
    assert ">4<" in other.get("/").body and "mine: 0" in other.get("/").body
    again.close()
    tab.close()


def test_expiry_across_two_processes_runs_exactly_one_timeout_hook_per_session(
    redis_server: RedisServer, start: Start, tmp_path: Path
) -> None:
    env = {"STGO_TEST_APP_TIMEOUT": "1", "STGO_TEST_APP_INTERVAL": "0.2"}
    one = start("--store", redis_server.url, **env)
    two = start("--store", redis_server.url, **env)
    made = []
    for i in range(10):
        browser = Client((one if i % 2 else two).url)
        assert browser.get("/").status == 200
        made.append(browser.session_id)
    # Seen by both processes: each holds every session in its cache.
    for sid in made:
        for proc in (one, two):
            page = request(proc.url, "/", {"Cookie": f"{COOKIE}={sid}"})
            assert page.status == 200 and not page.cookies()

    def ended() -> list[str]:
        return [line for line in hooks(tmp_path) if line.startswith("end ")]

    wait_until(lambda: len(ended()) >= 10, timeout=20)
    lines = ended()
    assert sorted(line.split()[1] for line in lines) == sorted(made)  # once each
    assert {line.split()[2] for line in lines} == {"timeout"}
    assert all(line.split()[3] == "0" for line in lines)  # state readable in the hook
    store = RedisStore(redis_server.url)
    try:
        assert store.session_count() == 0 and store.session_ids() == []
    finally:
        store.close()


def test_two_processes_times_twenty_threads_increment_exactly(
    redis_server: RedisServer, start: Start
) -> None:
    procs = [start("--store", redis_server.url) for _ in range(2)]
    browser = Client(procs[0].url)
    browser.get("/")
    tabs = [Client(p.url) for p in procs for _ in range(20)]
    for tab in tabs:
        tab.session_id = browser.session_id  # one session, forty tabs, two processes
    socks = [t.connect(wait_render=False) for t in tabs]
    renders = [s.recv_until(lambda m: m["type"] == "render") for s in socks]
    clicks = 10
    barrier = threading.Barrier(len(socks))
    errors: list[BaseException] = []

    def run(sock: Any, render: dict[str, Any]) -> None:
        try:
            button = widget_id(render, "Click")
            barrier.wait()
            for _ in range(clicks):
                assert click(sock, button)["type"] == "patch"
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=pair) for pair in zip(socks, renders,
                                                                        strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    expected = len(socks) * clicks
    store = RedisStore(redis_server.url)
    try:
        assert store.get(f"s:{browser.session_id}", "clicks") == expected
        assert store.get("app", "total") == expected
    finally:
        store.close()
    # A process that must draw the session anew draws it from the exact state.
    third = start("--store", redis_server.url)
    page = request(third.url, "/", {"Cookie": f"{COOKIE}={browser.session_id}"})
    assert f"mine: {expected}" in page.body
    for sock in socks:
        sock.close()


def test_the_examples_survive_a_restart_with_redis(
    redis_server: RedisServer, start: Start
) -> None:
    port = str(free_port())
    counter = str(ROOT / "examples" / "counter.py")
    first = start("--store", redis_server.url, "--port", port, app=counter)
    browser = Client(first.url)
    tab = browser.connect(wait_render=False)
    render = tab.recv_until(lambda m: m["type"] == "render")
    button = widget_id(render, "Increment")
    click(tab, button)
    click(tab, button)
    first.signal(signal.SIGTERM)
    assert first.wait() == 0
    start("--store", redis_server.url, "--port", port, app=counter)
    page = browser.get("/")
    assert page.status == 200
    # The private metric and the shared total both say 2.
    assert page.body.count(">2<") >= 2, page.body
    tab.close()


def test_sigterms_stop_a_server_whose_redis_is_paused_within_a_deadline(
    redis_server: RedisServer, start: Start
) -> None:
    """Redis stops answering (SIGSTOP: connections stay open, replies never
    come) with tabs open and clicks in flight; SIGTERM, again and again, must
    still end the process, status 0, within a deadline (every Redis wait on
    the stop path has a timeout, the joins share one deadline; the signal
    handler takes no lock).  Cleanup passes run often: one is stuck too."""
    proc = start("--store", redis_server.url, STGO_TEST_APP_INTERVAL="0.3")
    tabs = []
    for _ in range(3):
        browser = Client(proc.url)
        sock = browser.connect(wait_render=False)
        render = sock.recv_until(lambda m: m["type"] == "render")
        button = widget_id(render, "Click")
        click(sock, button)
        tabs.append((sock, button))
    redis_server.pause()
    try:
        for sock, button in tabs:
            sock.event(button)  # waits on Redis from now on
        began = time.monotonic()
        for _ in range(3):
            proc.signal(signal.SIGTERM)
        assert proc.wait(60) == 0, proc.output()[-3000:]
        assert time.monotonic() - began < 20, proc.output()[-3000:]
    finally:
        redis_server.resume()
        for sock, _ in tabs:
            sock.close()


def test_a_bad_store_url_or_unreachable_redis_is_one_clear_line_and_exit_2(
    tmp_path: Path,
) -> None:
    for url, message in (("mysql://x", "unknown store"),
                         (f"redis://127.0.0.1:{free_port()}/0", "cannot reach Redis")):
        proc = stgo_run(APP, "--store", url)
        try:
            assert proc.wait(20) == 2
            assert message in proc.output() and "Traceback" not in proc.output()
        finally:
            proc.kill()
    env_proc = stgo_run(APP, env={"STGO_STORE": "bogus://"})
    try:
        assert env_proc.wait(20) == 2 and "unknown store" in env_proc.output()
    finally:
        env_proc.kill()
    assert os.environ.get("STGO_STORE") is None


def test_an_upload_to_one_process_is_read_by_the_tab_and_a_click_on_another(
    redis_server: RedisServer, start: Start
) -> None:
    import http.client
    from urllib.parse import quote, urlsplit

    app = str(Path(__file__).parent / "apps" / "uploads.py")
    one = start("--store", redis_server.url, app=app)
    two = start("--store", redis_server.url, app=app)
    browser = Client(one.url)
    on_one = browser.connect()
    other = Client(two.url)
    other.session_id = browser.session_id  # the same browser's tab, on the other process
    on_two = other.connect(wait_render=False)
    render_two = on_two.recv_until(lambda m: m["type"] == "render")

    # The file goes to process one...
    parts = urlsplit(one.url)
    uploader_one = re.search(r'id="(w[0-9a-f]+)"[^>]*data-key="data"', browser.get("/").body)
    assert uploader_one
    body = b"hello world"
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    conn.request("POST", f"/upload?widget={uploader_one.group(1)}", body=body, headers={
        "Content-Type": "text/plain", "X-Stgo-Filename": quote("a.txt"),
        "Cookie": f"{COOKIE}={browser.session_id}", "Origin": browser.origin})
    resp = conn.getresponse()
    answer = json.loads(resp.read())
    conn.close()
    assert resp.status == 201, answer

    # ...its change event to process two, whose callback reads the bytes.
    uploader_two = re.search(r'id="(w[0-9a-f]+)"[^>]*data-key="data"',
                             render_two["roots"]["global"])
    assert uploader_two
    done = on_two.ack(on_two.event(uploader_two.group(1), "change", [answer["token"]]))
    assert "file: a.txt 11 hello world" in json.dumps(done)
    # A token is good once, on any process.
    on_two.event(uploader_two.group(1), "change", [answer["token"]])
    assert "unknown or expired upload" in on_two.recv_until(
        lambda m: m["type"] == "error")["message"]

    # A later click on process one reads a range of the bytes from the store.
    show_one = re.search(r'id="(w[0-9a-f]+)"[^>]*data-key="show"', browser.get("/").body)
    assert show_one
    assert "read: llo" in json.dumps(click(on_one, show_one.group(1)))
    assert "a.txt" in browser.get("/").body  # the uploader lists it on either process

    # The bytes live as long as the session (a TTL), and end with it.
    store = RedisStore(redis_server.url)
    store.open()
    try:
        blobs = store._link.call(lambda r: list(r.scan_iter(match="stgo:up:*")))
        assert len(blobs) == 1 and store._link.call(lambda r: r.pttl(blobs[0])) > 0
        from stgo import SessionManager

        assert SessionManager(store=store).delete(browser.session_id or "")
        assert store._link.call(lambda r: list(r.scan_iter(match="stgo:up*"))) == []
    finally:
        store.close()
        browser.close()
        other.close()
