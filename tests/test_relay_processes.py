"""Many ``python -m stgo run`` processes on one Redis (issue 13): shared widgets
and a session's private changes are live across processes, a process started
later shows the current values, and a pub/sub disconnect still converges."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from stgo.store.redis import RedisStore

from .helpers import Client, ServerProcess, Socket, applied, request, wait_until
from .services import NginxServer, RedisServer, free_port
from .test_store_processes import APP, Start, click, start, widget_id

__all__ = ["start"]  # the fixture, imported for this module's tests


def says(text: str) -> Any:
    """A predicate: a message whose JSON holds *text*."""
    return lambda m: text in json.dumps(m)


def expect(sock: Socket, text: str, timeout: float = 5.0) -> None:
    """Wait until *sock* has been sent a message holding *text* (or was already)."""
    if not any(text in json.dumps(m) for m in sock.messages):
        sock.recv_until(says(text), timeout)


def tab(url: str, session: str | None = None) -> tuple[Client, Socket, str]:
    """A browser (or a tab of *session*) on *url*: its client, socket and button ID."""
    browser = Client(url)
    if session is not None:
        browser.session_id = session
    sock = browser.connect(wait_render=False)
    render = sock.recv_until(lambda m: m["type"] == "render")
    return browser, sock, widget_id(render, "Click")


def test_two_processes_share_the_total_and_a_sessions_tabs_follow_each_other(
    redis_server: RedisServer, start: Start
) -> None:
    a = start("--store", redis_server.url)
    b = start("--store", redis_server.url)
    alice, alice_a, button_a = tab(a.url)
    bob, bob_b, button_b = tab(b.url)

    click(alice_a, button_a)  # on A: Bob's tab on B shows the new total
    expect(bob_b, '\\">1<')
    click(bob_b, button_b)  # on B: Alice's tab on A follows
    expect(alice_a, '\\">2<')

    # Alice's second tab, on B, follows her private count live, both ways.
    _, alice_b, button_ab = tab(b.url, session=alice.session_id)
    assert "mine: 1" in json.dumps(alice_b.messages[-1])
    click(alice_a, button_a)
    expect(alice_b, "mine: 2")
    click(alice_b, button_ab)
    expect(alice_a, "mine: 3")
    expect(bob_b, '\\">4<')
    # Isolation: Bob's tab never saw Alice's count.
    assert not any("mine: 2" in json.dumps(m) or "mine: 3" in json.dumps(m)
                   for m in bob_b.messages)

    # A third process started now shows the current values, and follows on.
    c = start("--store", redis_server.url)
    page = request(c.url, "/")
    assert '>4<' in page.body, page.body[page.body.find('metric-value'):][:80]
    _, carol_c, _ = tab(c.url)
    assert '\\">4<' in json.dumps(carol_c.messages[-1])
    click(bob_b, button_b)
    expect(carol_c, '\\">5<')
    expect(alice_a, '\\">5<')
    for sock in (alice_a, alice_b, bob_b, carol_c):
        sock.close()


def _metric(sock: Socket) -> str | None:
    """The total *sock*'s tab shows (from the renders and ops it applies)."""
    import re

    shown = None
    for item in applied(sock.messages):
        found = re.findall(r'stgo-metric-value[^>]*>([^<]*)<', json.dumps(item).replace('\\"', '"'))
        if found:
            shown = str(found[-1])
    return shown


def test_concurrent_changes_on_two_processes_converge_even_across_a_pubsub_kill(
    redis_server: RedisServer, start: Start
) -> None:
    procs = [start("--store", redis_server.url) for _ in range(2)]
    tabs = [tab(p.url) for p in procs for _ in range(4)]
    clicks = 15
    errors: list[BaseException] = []
    halfway = threading.Barrier(len(tabs) + 1)

    def run(sock: Socket, button: str) -> None:
        try:
            for i in range(clicks):
                if i == clicks // 2:
                    halfway.wait(30)
                    halfway.wait(30)
                assert click(sock, button)["type"] == "patch"
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(s, b)) for _, s, b in tabs]
    for t in threads:
        t.start()
    halfway.wait(30)
    store = RedisStore(redis_server.url)
    store.open()
    killed = store._link.call(lambda r: r.client_kill_filter(_type="pubsub"))
    assert killed >= 2  # every process's link went down
    halfway.wait(30)
    for t in threads:
        t.join(60)
    assert not errors
    expected = len(tabs) * clicks
    assert store.get("app", "total") == expected
    # Every tab on both processes ends showing one and the same final value.
    saved: dict[str, Any] = {}

    def agreed() -> bool:
        saved.update(store.load_global("total")[0])
        return {_latest(s) for _, s, _ in tabs} == {str(saved["_value"])}

    try:
        wait_until(agreed, timeout=10)
    except AssertionError:
        raise AssertionError(f"{[_latest(s) for _, s, _ in tabs]} vs stored {saved}") from None
    store.close()
    for _, sock, _ in tabs:
        sock.close()


def _drain(sock: Socket) -> bool:
    """Read whatever has arrived (without waiting long); always true."""
    import websocket

    while True:
        try:
            sock.recv(0.05)
        except websocket.WebSocketTimeoutException:
            return True


def _latest(sock: Socket) -> str | None:
    _drain(sock)
    return _metric(sock)


def _pid(msg: dict[str, Any]) -> int:
    import re

    found = re.search(r"served by pid (\d+)", json.dumps(msg))
    assert found, msg
    return int(found.group(1))


def test_kill_9_of_the_process_serving_a_tab_behind_nginx_resumes_it_on_the_other(
    redis_server: RedisServer, nginx_server: NginxServer, start: Start
) -> None:
    ports = [free_port(), free_port()]
    procs = {}
    for port in ports:
        proc = start("--store", redis_server.url, "--port", str(port), STGO_TEST_SHOW_PID="1")
        procs[proc.proc.pid] = proc
    nginx_server.start(ports)
    browser, sock, button = tab(nginx_server.url)
    serving = _pid(sock.messages[-1])
    assert serving in procs
    for n in range(1, 4):
        assert f"mine: {n}" in json.dumps(click(sock, button))  # acknowledged

    procs[serving].proc.send_signal(signal.SIGKILL)  # by PID, no goodbye
    procs[serving].wait(10)
    with contextlib.suppress(Exception):
        sock.recv_close(10)  # the proxy drops the tab's connection
    sock.close()
    # The tab reconnects through nginx, as stgo.js does, with the same cookie.
    again = browser.connect(wait_render=False)
    render = again.recv_until(lambda m: m["type"] == "render")
    assert _pid(render) != serving and _pid(render) in procs
    assert "mine: 3" in render["roots"]["session"]  # every acknowledged click kept
    assert ">3<" in render["roots"]["global"]
    patch = click(again, widget_id(render, "Click"))
    assert "mine: 4" in json.dumps(patch)
    page = browser.get("/")
    assert page.status == 200 and "mine: 4" in page.body
    again.close()


GUNICORN_CONF = """
# Two gthread workers; each starts and stops its App (see docs/deployment.md).
worker_class = "gthread"
workers = 2
threads = 8
# At most 4 open connections per worker: a busy worker stops accepting, so
# the test's tabs cannot all land on one (the kernel picks freely otherwise).
worker_connections = 4
graceful_timeout = 5


def post_worker_init(worker):
    worker.wsgi.start()


def worker_exit(server, worker):
    worker.wsgi.stop()
"""


def _tabs_on_two_workers(url: str, browser: Client) -> list[tuple[Socket, str]]:
    """Two tabs of *browser*'s session served by different workers (each
    with its button's ID), told apart by the pid the app shows.

    Which worker accepts a connection is the kernel's pick, and an open tab
    holds no gunicorn thread (the I/O loop has it), so one idle worker may
    take dozens in a row: try a bounded number, closing the tabs that landed
    on a worker already seen.
    """
    tabs: dict[int, tuple[Socket, str]] = {}
    for _ in range(300):
        _, sock, button = tab(url, session=browser.session_id)
        pid = _pid(sock.messages[-1])
        if pid in tabs:
            sock.close()
            continue
        tabs[pid] = (sock, button)
        if len(tabs) == 2:
            return list(tabs.values())
    raise AssertionError("every tab landed on one worker")


def _require_gunicorn() -> None:
    import importlib.util

    if importlib.util.find_spec("gunicorn") is None:
        message = "gunicorn not installed: many workers NOT TESTED (pip install gunicorn)"
        if os.environ.get("STGO_REQUIRE_SERVICES") == "1":
            pytest.fail(message)
        pytest.skip(message)


def test_gunicorn_with_two_workers_keeps_tabs_on_different_workers_in_sync(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    _require_gunicorn()
    conf = tmp_path / "gunicorn.conf.py"
    conf.write_text(GUNICORN_CONF, encoding="utf-8")
    proc = ServerProcess(
        [sys.executable, "-m", "gunicorn", "-c", str(conf), "-b", f"127.0.0.1:{free_port()}",
         "--chdir", str(Path(APP).parent), "stored:app"],
        env={"STGO_STORE": redis_server.url, "STGO_TEST_SHOW_PID": "1"},
        url_pattern=r"Listening at: (http://[0-9.]+:[0-9]+)",
    )
    try:
        url = proc.wait_url()
        browser = Client(url)
        assert browser.get("/").status == 200
        (one, button_one), (two, button_two) = _tabs_on_two_workers(url, browser)
        click(one, button_one)
        expect(two, "mine: 1")
        expect(two, '\\">1<')
        click(two, button_two)
        expect(one, "mine: 2")
        expect(one, '\\">2<')
        for sock in (one, two):
            sock.close()
    finally:
        proc.signal(signal.SIGTERM)
        with contextlib.suppress(Exception):
            proc.wait(20)
        proc.kill()


@pytest.mark.parametrize("preload", [False, True], ids=["plain", "preload-started-in-master"])
def test_plain_gunicorn_two_workers_without_hooks_start_and_stop_the_app_by_themselves(
    redis_server: RedisServer, tmp_path: Path, processes: list[ServerProcess], preload: bool
) -> None:
    """`gunicorn -w 2 -k gthread 'stored:app'`, no config file, no hooks: each
    worker starts the App on its first request (relay, cleanup), so one
    browser's tabs on two workers follow each other's clicks and idle
    sessions end; and each worker stops it at exit (its tabs get 1001).

    With ``--preload`` and an App started as its file loads, the master made
    and started it before forking: each worker must start its own threads,
    Redis connections and relay name, not use the master's."""
    _require_gunicorn()
    record = tmp_path / "hooks.log"
    env = {"STGO_STORE": redis_server.url, "STGO_TEST_SHOW_PID": "1",
           "STGO_TEST_RECORD": str(record),
           # Long enough for the clicks on a loaded machine, short enough to see end.
           "STGO_TEST_APP_TIMEOUT": "4", "STGO_TEST_APP_INTERVAL": "0.3"}
    extra = ["--preload"] if preload else []
    if preload:
        env["STGO_TEST_START_AT_IMPORT"] = "1"
    proc = ServerProcess(
        [sys.executable, "-m", "gunicorn", "-w", "2", "-k", "gthread", "--threads", "4",
         "--graceful-timeout", "5", *extra, "-b", f"127.0.0.1:{free_port()}",
         "--chdir", str(Path(APP).parent), "stored:app"],
        env=env, url_pattern=r"Listening at: (http://[0-9.]+:[0-9]+)",
    )
    processes.append(proc)
    url = proc.wait_url()
    browser = Client(url)
    assert browser.get("/").status == 200
    (one, button_one), (two, button_two) = _tabs_on_two_workers(url, browser)
    click(one, button_one)
    expect(two, "mine: 1")  # the private count, on the other worker
    expect(two, '\\">1<')  # the global total
    click(two, button_two)
    expect(one, "mine: 2")
    expect(one, '\\">2<')
    sid = browser.session_id

    # Idle, the session ends: some worker's cleanup thread runs.
    one.close()
    two.close()
    ended = f"end {sid} timeout 2"
    wait_until(lambda: ended in (record.read_text("utf-8") if record.exists() else ""),
               timeout=30)

    # A tab open at SIGTERM is closed with 1001 by its worker's exit, not dropped.
    _, last, _ = tab(url)
    proc.signal(signal.SIGTERM)
    assert last.recv_close(20) == 1001
    assert proc.wait(30) == 0
    assert "Traceback" not in proc.output()


def test_chaos_three_processes_two_kills_exact_counts_and_one_end_hook_each(
    redis_server: RedisServer, start: Start, tmp_path: Path
) -> None:
    # Sessions idle for 15 s end: longer than a user takes to find a live
    # process again on a loaded machine (a lost session fails the test).
    env = {"STGO_TEST_APP_TIMEOUT": "15", "STGO_TEST_APP_INTERVAL": "0.3"}
    ports = [free_port() for _ in range(3)]
    procs = [start("--store", redis_server.url, "--port", str(p), **env) for p in ports]
    urls = [p.url for p in procs]
    sessions, clicks = 60, 12
    acked = [0] * sessions
    unsure = [0] * sessions  # sent, but the process died before acknowledging
    ids: list[str] = [""] * sessions
    errors: list[BaseException] = []

    def user(n: int) -> None:
        try:
            browser = Client(urls[n % 3])
            browser.get("/")
            ids[n] = browser.session_id or ""
            hop = n
            # A user that cannot get on again gives up (and fails the test
            # with why) rather than hanging it.
            deadline = time.monotonic() + 150
            while acked[n] < clicks:
                try:
                    browser.base_url = urls[hop % 3]
                    sock = browser.connect(wait_render=False)
                    render = sock.recv_until(lambda m: m["type"] == "render")
                    button = widget_id(render, "Click")
                except Exception as exc:
                    if time.monotonic() > deadline:
                        raise AssertionError(
                            f"user {n}: {acked[n]} of {clicks} clicks, then no way back in: {exc!r}"
                        ) from exc
                    hop += 1  # that process is down: the next one
                    continue
                while acked[n] < clicks:
                    try:
                        seq = sock.event(button)
                        sock.ack(seq)
                    except Exception:
                        unsure[n] += 1
                        hop += 1
                        break
                    acked[n] += 1
                sock.close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=user, args=(n,)) for n in range(sessions)]
    for t in threads:
        t.start()
    for victim, when in ((0, sessions * clicks // 4), (1, sessions * clicks // 2)):
        wait_until(lambda w=when: sum(acked) >= w or not any(t.is_alive() for t in threads),
                   timeout=60)
        procs[victim].proc.send_signal(signal.SIGKILL)
        procs[victim].wait(10)
        procs[victim] = start("--store", redis_server.url, "--port", str(ports[victim]), **env)
    for t in threads:
        t.join(160)
    assert not errors, errors[:3]
    assert not any(t.is_alive() for t in threads)
    assert sum(unsure) >= 1  # the kills did cut clicks short (tabs moved)

    # Every session ends by timeout exactly once, in one of the processes,
    # with its exact count readable in the hook.
    def ended() -> list[list[str]]:
        log = tmp_path / "hooks.log"
        lines = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
        return [line.split() for line in lines if line.startswith("end ")]

    wait_until(lambda: len(ended()) >= sessions, timeout=45)
    assert sorted(sid for _, sid, _, _ in ended()) == sorted(ids)  # once each
    assert {reason for _, _, reason, _ in ended()} == {"timeout"}
    finals = {sid: int(n) for _, sid, _, n in ended()}
    counts = [finals[sid] for sid in ids]
    for n in range(sessions):
        # Every acknowledged click counted; one cut short by a kill at most once.
        assert acked[n] <= counts[n] <= acked[n] + unsure[n], (n, counts[n], acked[n])
    store = RedisStore(redis_server.url)
    store.open()
    # The callback adds to the session, then to the total: a kill may fall between.
    assert sum(counts) - sum(unsure) <= store.get("app", "total") <= sum(counts)
    assert store.session_count() == 0
    store.close()


def test_one_sessions_events_run_one_at_a_time_across_processes(
    redis_server: RedisServer, start: Start
) -> None:
    procs = [start("--store", redis_server.url) for _ in range(2)]
    browser = Client(procs[0].url)
    browser.get("/")
    socks = []
    for proc in procs:
        for _ in range(6):
            _, sock, _ = tab(proc.url, session=browser.session_id)
            socks.append(sock)
    button = widget_id(socks[0].messages[-1], "Read-modify-write")
    clicks = 10
    barrier = threading.Barrier(len(socks))
    errors: list[BaseException] = []

    def run(sock: Socket) -> None:
        try:
            mine = widget_id(sock.messages[-1], "Read-modify-write")
            barrier.wait(30)
            for _ in range(clicks):
                assert click(sock, mine)["type"] == "patch"
        except BaseException as exc:
            errors.append(exc)

    assert button
    threads = [threading.Thread(target=run, args=(s,)) for s in socks]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    store = RedisStore(redis_server.url)
    try:
        # A read-modify-write of session state: exact only if no two events
        # of the session overlapped, in either process.
        assert store.get(f"s:{browser.session_id}", "rmw") == len(socks) * clicks
        assert store.get("app", "rmw_calls") == len(socks) * clicks
    finally:
        store.close()
    for sock in socks:
        sock.close()


def test_a_kept_event_lock_is_handed_over_at_once_and_never_hides_a_write(
    redis_server: RedisServer, start: Start
) -> None:
    import redis

    a, b = start("--store", redis_server.url), start("--store", redis_server.url)
    browser, on_a, button = tab(a.url)
    sid = browser.session_id
    _, on_b, button_b = tab(b.url, session=sid)
    lock = f"stgo:lk:{sid}"
    client = redis.Redis.from_url(redis_server.url)
    client.config_set("notify-keyspace-events", "Kgx")  # del and expired, per key
    events = client.pubsub()
    events.subscribe(f"__keyspace@0__:{lock}")
    assert events.get_message(timeout=5)["type"] == "subscribe"  # type: ignore[index]
    try:
        assert "mine: 1" in json.dumps(click(on_a, button))
        # A keeps the lock after its event: its next one asks Redis nothing first.
        assert (client.get(lock) or b"").endswith(b"+")
        # A write from elsewhere waits for A to let go, and A's next event sees it.
        outside = RedisStore(redis_server.url)
        try:
            outside.set(f"s:{sid}", "clicks", 40)
        finally:
            outside.close()
        assert "mine: 41" in json.dumps(click(on_a, button))
        # B's event gets the lock A keeps, and A's next one gets it back from B.
        assert "mine: 42" in json.dumps(click(on_b, button_b))
        assert "mine: 43" in json.dumps(click(on_a, button))
        # Each time the holder let go when asked: the lock never had to lapse.
        seen = []
        while (msg := events.get_message(timeout=0.2)) is not None:
            seen.append(msg["data"])
        assert seen.count(b"del") >= 3 and b"expired" not in seen, seen
    finally:
        events.close()
        client.config_set("notify-keyspace-events", "")
        client.close()
        on_a.close()
        on_b.close()


def test_a_process_killed_between_events_leaves_no_lock_to_wait_for(
    redis_server: RedisServer, start: Start
) -> None:
    import redis

    a, b = start("--store", redis_server.url), start("--store", redis_server.url)
    browser, on_a, button = tab(a.url)
    sid = browser.session_id
    _, on_b, button_b = tab(b.url, session=sid)
    lock = f"stgo:lk:{sid}"
    client = redis.Redis.from_url(redis_server.url)
    client.config_set("notify-keyspace-events", "Kgx")
    events = client.pubsub()
    events.subscribe(f"__keyspace@0__:{lock}")
    assert events.get_message(timeout=5)["type"] == "subscribe"  # type: ignore[index]
    try:
        assert "mine: 1" in json.dumps(click(on_a, button))
        assert (client.get(lock) or b"").endswith(b"+")  # A keeps it...
        a.signal(signal.SIGKILL)  # ... and dies
        a.wait()
        # B's event voids the lock of a process nobody hears any more: it is
        # deleted, not waited for until it lapses.
        assert "mine: 2" in json.dumps(click(on_b, button_b))
        seen = []
        while (msg := events.get_message(timeout=0.2)) is not None:
            seen.append(msg["data"])
        assert b"del" in seen and b"expired" not in seen, seen
    finally:
        events.close()
        client.config_set("notify-keyspace-events", "")
        client.close()
        on_a.close()
        on_b.close()
