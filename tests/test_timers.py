"""Timers (issue 24): ``@app.every`` and ``session.every`` on one scheduler
thread, ticks skipped rather than piled up, a raising timer that goes on,
session timers that stop with their session (deleted, expired, ended on
another process), and the fenced Redis lease that lets one process of a
cluster run an app timer's tick."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import stgo
from stgo.core.timers import SESSION_SWEEP, Timers, lease_for
from stgo.errors import ConfigurationError, StgoError
from stgo.failures import FailureLog
from stgo.metrics import Metrics
from stgo.store.redis import RedisStore

from .helpers import FakeClock, wait_until
from .services import RedisServer


class Inline:
    """A pool that keeps the jobs it is given until the test runs them."""

    def __init__(self) -> None:
        self.jobs: list[Callable[[], None]] = []

    def __call__(self, job: Callable[[], None]) -> None:
        self.jobs.append(job)

    def run(self) -> int:
        jobs, self.jobs = self.jobs, []
        for job in jobs:
            job()
        return len(jobs)


def timers(pool: Inline, clock: FakeClock, metrics: Metrics | None = None) -> Timers:
    return Timers(submit=pool, batch=contextlib.nullcontext, metrics=metrics or Metrics(),
                  failures=FailureLog(logging.getLogger("stgo")), clock=clock)


def test_an_app_timer_ticks_once_per_interval_on_the_clock() -> None:
    pool, clock = Inline(), FakeClock(0.0)
    t = timers(pool, clock)
    seen: list[stgo.Tick | None] = []
    handle = t.add(1.0, lambda: seen.append(stgo.current_tick()), name="beat")
    assert t.run_due() == pytest.approx(1.0)  # nothing due: the next tick is 1 s away
    assert pool.run() == 0
    clock.advance(1.0)
    assert t.run_due() == pytest.approx(1.0)
    assert pool.run() == 1
    clock.advance(1.0)
    t.run_due()
    pool.run()
    assert [(k.name, k.slot, k.fence) for k in seen if k] == [("beat", 1, None), ("beat", 2, None)]
    assert handle.ticks == 2 and stgo.current_tick() is None  # only inside a tick
    handle.cancel()
    clock.advance(5.0)
    t.run_due()
    assert pool.run() == 0 and t.timers() == []


def test_a_tick_still_running_makes_the_next_one_skipped_not_queued() -> None:
    pool, clock, metrics = Inline(), FakeClock(0.0), Metrics()
    t = timers(pool, clock, metrics)
    ran: list[float] = []
    t.add(1.0, lambda: ran.append(clock()), name="slow")
    clock.advance(1.0)
    t.run_due()  # handed to the pool, which has not run it yet: it "runs"
    for _ in range(3):
        clock.advance(1.0)
        t.run_due()
    assert len(pool.jobs) == 1  # one tick in flight, three skipped: none queued
    assert metrics.get("stgo_timer_ticks_total", "skipped") == 3
    pool.run()
    clock.advance(6.5)  # the scheduler slept through six intervals: not made up
    t.run_due()
    assert pool.run() == 1
    assert metrics.get("stgo_timer_ticks_total", "skipped") == 3 + 5
    assert metrics.get("stgo_timer_ticks_total", "run") == 2


def test_a_raising_timer_goes_on_logged_once_then_counted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    pool, clock, metrics = Inline(), FakeClock(0.0), Metrics()
    t = timers(pool, clock, metrics)
    calls: list[int] = []

    def broken() -> None:
        calls.append(1)
        raise RuntimeError("the feed is down")

    t.add(0.5, broken, name="broken")
    with caplog.at_level(logging.ERROR, logger="stgo"):
        for _ in range(5):
            clock.advance(0.5)
            t.run_due()
            pool.run()
    assert len(calls) == 5
    assert metrics.get("stgo_timer_ticks_total", "failed") == 5
    tracebacks = [r for r in caplog.records if r.exc_info]
    assert len(tracebacks) == 1 and "timer broken" in tracebacks[0].getMessage()


def test_bad_timers_are_refused_at_once(make_app: Callable[..., stgo.App]) -> None:
    app = make_app()
    for bad in (0, -1, float("nan"), "1", True, 0.001):
        with pytest.raises(ConfigurationError, match="interval"):
            app.every(bad)(lambda: None)  # type: ignore[arg-type]
    with pytest.raises(stgo.WidgetError, match="taking \\(\\)"):
        app.every(1.0)(lambda x: None)  # type: ignore[arg-type, misc]

    @app.every(1.0)
    def tick() -> None: ...

    with pytest.raises(ConfigurationError, match="name="):
        app.every(2.0, tick)
    app.every(2.0, tick, name="tick-2")  # another name: fine
    session = app.sessions.create()
    with pytest.raises(stgo.WidgetError, match="session"):
        session.every(1.0, lambda: None)  # type: ignore[arg-type, misc]
    app.sessions.delete(session.id)
    with pytest.raises(StgoError, match="live session"):
        session.every(1.0, lambda s: None)


def test_app_timers_run_while_the_app_runs_and_push_their_changes(
    make_app: Callable[..., stgo.App], app_tester: Callable[[stgo.App], Any],
) -> None:
    app = make_app()
    count = app.metric("Ticks", 0, key="ticks")
    threads: set[str] = set()

    @app.every(0.02)
    def tick() -> None:
        threads.add(threading.current_thread().name)
        count.increment()

    @app.every(0.03)
    def other() -> None: ...

    viewer = app_tester(app).new_session()
    assert count.value == 0  # not started: no ticks
    app.start()
    wait_until(lambda: (count.value or 0) >= 5)
    # Each tick is one push (a batch), seen by the tab.
    wait_until(lambda: sum(1 for m in viewer.messages if m["type"] == "patch") >= 5)
    # One scheduler thread for every timer; the ticks run on the event pool.
    timer_threads = [t for t in threading.enumerate() if t.name == "stgo-timers"]
    assert len(timer_threads) == 1
    assert all(name.startswith("stgo-worker") for name in threads)
    app.stop()
    stopped = count.value
    assert not timer_threads[0].is_alive() and count.value == stopped


@pytest.fixture
def running(make_app: Callable[..., stgo.App]) -> Iterator[Callable[..., stgo.App]]:
    """``running(**kwargs)``: a started App (stopped after the test)."""

    def make(**kwargs: Any) -> stgo.App:
        app = make_app(**kwargs)
        app.start()
        return app

    yield make  # make_app stops them


def stops_ticking(app: stgo.App, handle: stgo.TimerHandle, ticks: list[int]) -> None:
    """Wait until *handle* is out of the scheduler, then see three ticks of a
    probe timer of the same interval pass with no tick of *handle* among them."""
    wait_until(lambda: handle not in app.timers.timers())
    assert handle.cancelled
    probe: list[int] = []
    watch = app.every(handle.interval, lambda: probe.append(1), name=f"probe {id(handle)}")
    before = len(ticks)
    wait_until(lambda: len(probe) >= 3)
    assert len(ticks) == before
    watch.cancel()


def test_a_session_timer_runs_for_its_session_until_it_is_deleted(
    running: Callable[..., stgo.App],
) -> None:
    app = running()
    session = app.sessions.create()
    ticks: list[int] = []
    seen: list[stgo.Session] = []

    def beat(s: stgo.Session) -> None:
        seen.append(s)
        ticks.append(1)
        s.set("beats", len(ticks))

    handle = session.every(0.02, beat)
    wait_until(lambda: len(ticks) >= 3)
    assert set(seen) == {session} and session.get("beats") >= 3
    app.sessions.delete(session.id)
    stops_ticking(app, handle, ticks)


def test_a_session_timer_stops_when_its_session_expires_and_on_cancel(
    running: Callable[..., stgo.App], clock: FakeClock,
) -> None:
    app = running(clock=clock, session_timeout=60.0)
    session = app.sessions.create()
    ticks: list[int] = []
    handle = session.every(0.02, lambda s: ticks.append(1))
    wait_until(lambda: len(ticks) >= 2)
    clock.advance(61)
    assert app.sessions.cleanup_expired() == 1
    stops_ticking(app, handle, ticks)

    other = app.sessions.create()
    mine: list[int] = []
    kept = other.every(0.02, lambda s: mine.append(1))
    wait_until(lambda: len(mine) >= 2)
    kept.cancel()
    stops_ticking(app, kept, mine)
    assert not other.ended


def test_a_session_timer_stops_when_its_session_ends_on_another_process(
    redis_server: RedisServer, running: Callable[..., stgo.App],
) -> None:
    here, there = running(store=redis_server.url), running(store=redis_server.url)
    session = here.sessions.create(pending=False)
    copy = there.sessions.get(session.id)
    assert copy is not None and copy is not session
    ticks: list[int] = []
    handle = copy.every(0.02, lambda s: ticks.append(1))
    wait_until(lambda: len(ticks) >= 2)
    here.sessions.delete(session.id)  # the relay tells the other process
    stops_ticking(there, handle, ticks)


def test_a_session_timer_stops_when_its_session_ends_elsewhere_unheard(
    redis_server: RedisServer, running: Callable[..., stgo.App],
) -> None:
    # "there" let go of its copy (another process changed the session and no
    # tab of it is open there): the end notice is not for it, the sweep is.
    here, there = running(store=redis_server.url), running(store=redis_server.url)
    session = here.sessions.create(pending=False)
    copy = there.sessions.get(session.id)
    assert copy is not None
    ticks: list[int] = []
    handle = copy.every(0.02, lambda s: ticks.append(1))
    wait_until(lambda: len(ticks) >= 2)
    assert there.sessions.forget(copy)
    here.sessions.delete(session.id)
    assert not copy.ended
    wait_until(lambda: handle not in there.timers.timers(), timeout=SESSION_SWEEP + 5)
    stops_ticking(there, handle, ticks)


# -- the lease ------------------------------------------------------------------------


def test_a_lease_lets_one_holder_tick_each_slot_and_refuses_a_stale_holder(
    redis_server: RedisServer,
) -> None:
    store = RedisStore(redis_server.url)
    store.open()
    try:
        leases = store.timer_leases
        first = leases.tick("t", "A", interval=0.05, lease=0.2)
        assert first.run and first.fence == 1
        again = leases.tick("t", "A", interval=0.05, lease=0.2)
        assert not again.run or again.slot > first.slot  # a slot runs once
        assert not leases.tick("t", "B", interval=0.05, lease=0.2).run  # A holds it
        # A stops renewing (paused, or dead): once the lease lapses B takes it.
        taken = wait_until(lambda: (g := leases.tick("t", "B", interval=0.05, lease=10.0)).run
                           and g, timeout=5)
        assert taken.fence == 2
        # A wakes up: its ticks are refused, its fencing token stale.
        stale = leases.tick("t", "A", interval=0.05, lease=10.0)
        assert not stale.run and stale.fence == 2
        # A clean stop gives the lease up: the next asker takes it at once.
        leases.release("t", "B")
        back = wait_until(lambda: (g := leases.tick("t", "A", interval=0.05, lease=10.0)).run
                          and g, timeout=5)
        assert back.fence == 3
    finally:
        store.flush()
        store.close()


def test_lease_lengths() -> None:
    assert lease_for(0.2) == 1.0 and lease_for(2.0) == 4.0 and lease_for(3600) == 10.0


def test_without_redis_an_app_timer_does_not_tick_and_comes_back_with_it(
    redis_server: RedisServer, running: Callable[..., stgo.App],
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = running(store=redis_server.url)
    ran: list[stgo.Tick | None] = []
    app.every(0.02, lambda: ran.append(stgo.current_tick()), name="fenced")
    wait_until(lambda: len(ran) >= 3)
    assert all(t is not None and t.fence == 1 for t in ran)  # one holder: one fence
    with caplog.at_level(logging.ERROR, logger="stgo"):
        redis_server.stop()
        before = app.metrics.get("stgo_timer_ticks_total", "no_store")
        # A tick that might run twice is not run: refused for want of the store.
        wait_until(lambda: app.metrics.get("stgo_timer_ticks_total", "no_store") >= before + 3)
        stopped = len(ran)
        wait_until(lambda: app.metrics.get("stgo_timer_ticks_total", "no_store") >= before + 6)
        assert len(ran) == stopped
    assert len([r for r in caplog.records if r.exc_info]) == 1  # said once
    redis_server.start()  # empty: the lease is taken anew
    wait_until(lambda: len(ran) >= stopped + 3, timeout=10)
