"""Timers and presence with real ``python -m stgo run`` processes on one
redis-server (issue 24): an app timer ticks on one process of two, each slot
once; ``kill -9`` of the process that runs it moves it to the other within
the lease plus two intervals; a dead process's tabs are found gone by the
other, which runs their disconnect hooks."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from pathlib import Path

import pytest
import redis

from stgo.cluster.presence import PRESENCE_BEAT, PRESENCE_TTL
from stgo.core.timers import lease_for

from .helpers import Client, ServerProcess, stgo_run, wait_until
from .services import RedisServer
from .test_presence import open_tab

APP = str(Path(__file__).parent / "apps" / "timers.py")
INTERVAL = 0.2  # the app's @app.every(0.2)

Start = Callable[[], ServerProcess]


@pytest.fixture
def start(redis_server: RedisServer, processes: list[ServerProcess]) -> Start:
    """``start()``: the timers app on the test's Redis; killed after the test."""

    def run() -> ServerProcess:
        proc = stgo_run(APP, "--store", redis_server.url,
                        env={"STGO_STORE": redis_server.url, "STGO_TEST_KEYS": "test:"})
        processes.append(proc)
        proc.wait_url()
        return proc

    return run


@pytest.fixture
def r(redis_server: RedisServer) -> redis.Redis:
    return redis.Redis.from_url(redis_server.url, decode_responses=True)


def ticks(r: redis.Redis) -> list[tuple[int, int, int]]:
    """Every tick so far: (pid, slot, fence)."""
    return [(int(p), int(s), int(f)) for p, s, f in
            (line.split() for line in r.lrange("test:ticks", 0, -1))]


def pid_of(proc: ServerProcess) -> int:
    return proc.proc.pid


def test_an_app_timer_ticks_on_one_process_of_two_and_moves_on_kill_9(
    start: Start, r: redis.Redis,
) -> None:
    a, b = start(), start()
    pids = {pid_of(a), pid_of(b)}
    # Both processes run the timer; 30 ticks would be every slot twice.
    wait_until(lambda: len(ticks(r)) >= 20, timeout=30)
    seen = ticks(r)
    slots = [s for _, s, _ in seen]
    assert len(slots) == len(set(slots)), "a slot ticked twice"
    assert {p for p, _, _ in seen} <= pids
    # ~one tick per interval over the span: ~15 in 3 s, not 30.
    span = max(slots) - min(slots) + 1
    assert 0.7 * span <= len(slots) <= span  # (a busy machine skips a few)

    # kill -9 the process that runs the ticks: the other takes over.
    runner = seen[-1][0]
    os.kill(runner, signal.SIGKILL)
    survivor = (pids - {runner}).pop()
    last_dead = max(s for p, s, _ in ticks(r) if p == runner)
    wait_until(lambda: any(p == survivor and s > last_dead for p, s, _ in ticks(r)),
               timeout=15)
    after = ticks(r)
    first_new = min(s for p, s, _ in after if p == survivor and s > last_dead)
    # Promised: within the lease plus two intervals of the last renewal (the
    # dead one's last tick); a second of margin for a busy machine.
    promised = (lease_for(INTERVAL) + 2 * INTERVAL + 1.0) / INTERVAL
    assert first_new - last_dead <= promised + 1e-9
    # The new holder carries a newer fencing token; still no slot twice.
    dead_fences = {f for p, _, f in after if p == runner}
    assert min(f for p, _, f in after if p == survivor and _ > last_dead) > max(dead_fences)
    slots = [s for _, s, _ in after]
    assert len(slots) == len(set(slots))


def test_a_dead_process_s_tabs_get_their_disconnect_hooks_on_the_other(
    start: Start, r: redis.Redis,
) -> None:
    a, b = start(), start()

    def events() -> list[list[str]]:
        return [line.split() for line in r.lrange("test:presence", 0, -1)]

    browser = Client(a.url)
    sock = browser.connect()
    wait_until(lambda: len(events()) == 1, timeout=10)
    [(kind, tab, pid)] = events()
    assert (kind, pid) == ("connect", str(pid_of(a)))
    second = Client(a.url).connect()  # another browser: its tab reloads (closed, opened)
    wait_until(lambda: len(events()) == 2, timeout=10)
    other_tab = events()[1][1]
    second.close()
    wait_until(lambda: len(events()) == 3, timeout=10)
    assert events()[2] == ["disconnect", other_tab, str(pid_of(a))]

    a.proc.send_signal(signal.SIGKILL)
    a.wait()
    # B finds A silent within its TTL (plus a beat) and runs the hook, once.
    wait_until(lambda: len(events()) == 4, timeout=PRESENCE_TTL + 4 * PRESENCE_BEAT + 5)
    assert events()[3] == ["disconnect", tab, str(pid_of(b))]
    # A's record was claimed (once: nobody else can), B's own is left.
    assert len(r.smembers("stgo:pr:procs")) == 1
    assert not [k for k in r.keys("stgo:pr:*") if f":{pid_of(a)}:" in k]
    sock.close()


def test_a_tab_of_a_killed_process_reconnecting_elsewhere_goes_away_first(
    start: Start, r: redis.Redis,
) -> None:
    a, b = start(), start()

    def events() -> list[list[str]]:
        return [line.split() for line in r.lrange("test:presence", 0, -1)]

    browser = Client(a.url)
    open_tab(browser, "tab-survivor-1")
    wait_until(lambda: len(events()) == 1, timeout=10)
    a.proc.send_signal(signal.SIGKILL)
    a.wait()
    # The tab reconnects to B at once, long before A counts as dead: B runs
    # its disconnect, then its connect; A's record, claimed later, has it no more.
    again = Client(b.url)
    again.session_id = browser.session_id
    open_tab(again, "tab-survivor-1")
    wait_until(lambda: len(events()) == 3, timeout=10)
    b_pid = str(pid_of(b))
    assert events() == [["connect", "tab-survivor-1", str(pid_of(a))],
                        ["disconnect", "tab-survivor-1", b_pid],
                        ["connect", "tab-survivor-1", b_pid]]
    wait_until(lambda: len(r.smembers("stgo:pr:procs")) == 1,
               timeout=PRESENCE_TTL + 4 * PRESENCE_BEAT + 5)  # A's record claimed
    assert len(events()) == 3  # and no second disconnect
    browser.close()
    again.close()
