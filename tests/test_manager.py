"""SessionManager: the map, expiry, hooks, the cleanup thread, and concurrency."""

from __future__ import annotations

import gc
import logging
import threading
import time
import weakref
from collections.abc import Iterator
from typing import Any

import pytest

from stgo import ConfigurationError, Session, SessionManager
from stgo.ids import new_session_id, redact
from stgo.widgets import Text

from .helpers import T0, FakeClock, run_in_thread, wait_until


class Ends:
    """An on_session_end hook that records every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[Session, str]] = []
        self._lock = threading.Lock()

    def __call__(self, session: Session, reason: str) -> None:
        with self._lock:
            self.calls.append((session, reason))

    def reasons(self, session: Session) -> list[str]:
        return [r for s, r in self.calls if s is session]


@pytest.fixture
def manager(clock: FakeClock) -> Iterator[SessionManager]:
    m = SessionManager(session_timeout=300, cleanup_interval=60, clock=clock)
    yield m
    m.stop()


@pytest.fixture
def ends(manager: SessionManager) -> Ends:
    recorder = Ends()
    manager.on_session_end(recorder)
    return recorder


# -- the map --------------------------------------------------------------------------


def test_create_then_get(manager: SessionManager) -> None:
    s = manager.create()
    assert isinstance(s, Session)
    assert manager.get(s.id) is s
    assert s.id in manager
    assert len(manager) == 1


def test_sessions_get_distinct_ids(manager: SessionManager) -> None:
    made = [manager.create() for _ in range(200)]
    assert len({s.id for s in made}) == 200
    assert len(manager) == 200


def test_get_never_creates(manager: SessionManager) -> None:
    unknown = new_session_id()
    assert manager.get(unknown) is None
    assert unknown not in manager
    assert len(manager) == 0
    assert manager.ids() == []


@pytest.mark.parametrize(
    "junk",
    [None, 42, "", "x" * 10_240, "../session", "session_1_abc", ["list"], b"session_"],
    ids=["None", "int", "empty", "10KB", "traversal", "short", "unhashable", "bytes"],
)
def test_get_refuses_malformed_ids(manager: SessionManager, junk: object) -> None:
    manager.create()
    assert manager.get(junk) is None
    assert len(manager) == 1


def test_get_refuses_a_malformed_key_even_if_it_were_in_the_map(
    manager: SessionManager,
) -> None:
    # The pattern check comes before any lookup.
    s = manager.create()
    manager.rekey(s, "not-an-id")
    assert manager.get("not-an-id") is None


def test_get_returns_none_for_an_expired_session_and_ends_it(
    manager: SessionManager, clock: FakeClock, ends: Ends
) -> None:
    s = manager.create()
    clock.advance(300)
    assert manager.get(s.id) is s  # exactly the timeout: still alive
    clock.advance(0.5)
    assert manager.get(s.id) is None
    assert s.ended
    assert ends.reasons(s) == ["timeout"]
    assert len(manager) == 0
    assert manager.get(s.id) is None
    assert ends.reasons(s) == ["timeout"]  # once


def test_len_count_ids_sessions(manager: SessionManager) -> None:
    a, b = manager.create(), manager.create()
    assert len(manager) == manager.count() == 2
    assert sorted(manager.ids()) == sorted([a.id, b.id])
    assert set(manager.sessions()) == {a, b}
    snapshot = manager.ids()
    manager.create()
    assert len(snapshot) == 2  # a snapshot, not a live view
    snapshot.clear()
    assert len(manager.ids()) == 3


def test_delete(manager: SessionManager, ends: Ends) -> None:
    s, other = manager.create(), manager.create()
    assert manager.delete(s.id) is True
    assert manager.get(s.id) is None
    assert s.ended
    assert ends.reasons(s) == ["deleted"]
    assert manager.delete(s.id) is False
    assert manager.delete(new_session_id()) is False
    assert manager.delete("junk") is False
    assert ends.reasons(s) == ["deleted"]
    assert manager.get(other.id) is other
    assert len(manager) == 1


def test_delete_many_counts_what_existed(manager: SessionManager, ends: Ends) -> None:
    made = [manager.create() for _ in range(5)]
    wanted = [made[0].id, made[1].id, made[1].id, new_session_id(), "junk", made[2].id]
    assert manager.delete_many(wanted) == 3
    assert len(manager) == 2
    assert [ends.reasons(s) for s in made] == [["deleted"]] * 3 + [[], []]
    assert manager.delete_many(s.id for s in made) == 2  # any iterable, a generator too
    assert len(manager) == 0
    assert manager.delete_many([]) == 0


def test_delete_many_over_many_slices(manager: SessionManager, ends: Ends) -> None:
    made = [manager.create() for _ in range(2_500)]
    keep = made[::7]
    gone = [s for s in made if s not in keep]
    assert manager.delete_many(s.id for s in gone) == len(gone)
    assert set(manager.sessions()) == set(keep)
    assert len(ends.calls) == len(gone)


def test_rekey_moves_a_session_to_a_new_id(manager: SessionManager) -> None:
    s = manager.create()
    old = s.id
    new = new_session_id()
    manager.rekey(s, new)
    assert s.id == new
    assert manager.get(new) is s
    assert manager.get(old) is None
    manager.delete(new)
    with pytest.raises(KeyError):
        manager.rekey(s, new_session_id())


# -- expiry -----------------------------------------------------------------------------


def test_cleanup_expired_counts_and_keeps_the_active(
    manager: SessionManager, clock: FakeClock, ends: Ends
) -> None:
    old = [manager.create() for _ in range(3)]
    clock.advance(200)
    young = [manager.create() for _ in range(2)]
    old[0].set("k", 1)  # activity: young again
    assert manager.cleanup_expired(now=T0 + 300) == 0  # exactly the timeout: alive
    assert manager.cleanup_expired(now=T0 + 301) == 2
    assert set(manager.sessions()) == {old[0], *young}
    assert [ends.reasons(s) for s in old] == [[], ["timeout"], ["timeout"]]
    assert manager.cleanup_expired(now=T0 + 301) == 0
    clock.advance(10_000)
    assert manager.cleanup_expired() == 3  # now=None: the manager's clock
    assert len(manager) == 0


def test_cleanup_over_many_slices(manager: SessionManager, clock: FakeClock, ends: Ends) -> None:
    old = [manager.create() for _ in range(2_500)]
    clock.advance(301)
    young = [manager.create() for _ in range(1_200)]
    assert manager.cleanup_expired() == len(old)
    assert set(manager.sessions()) == set(young)
    assert all(s.ended for s in old) and not any(s.ended for s in young)
    assert len(ends.calls) == len(old)


def test_session_timeout_can_change_at_run_time(
    manager: SessionManager, clock: FakeClock
) -> None:
    s = manager.create()
    clock.advance(100)
    assert manager.cleanup_expired() == 0
    manager.session_timeout = 50
    assert manager.session_timeout == 50.0
    assert manager.get(s.id) is None  # get judges by the new timeout too
    assert s.ended


def test_cleanup_interval_can_change_at_run_time(manager: SessionManager) -> None:
    manager.cleanup_interval = 5
    assert manager.cleanup_interval == 5.0
    assert isinstance(manager.cleanup_interval, float)


@pytest.mark.parametrize("bad", [0, -1, -0.001, float("nan")])
@pytest.mark.parametrize("setting", ["session_timeout", "cleanup_interval"])
def test_settings_are_validated(manager: SessionManager, setting: str, bad: float) -> None:
    before = getattr(manager, setting)
    with pytest.raises(ConfigurationError, match=setting):
        setattr(manager, setting, bad)
    assert getattr(manager, setting) == before
    with pytest.raises(ConfigurationError, match="> 0"):
        SessionManager(**{setting: bad})
    assert issubclass(ConfigurationError, ValueError)


def test_an_open_connection_keeps_a_session_alive(
    manager: SessionManager, clock: FakeClock, ends: Ends
) -> None:
    s = manager.create()
    s.attach()
    clock.advance(10_000)
    assert manager.cleanup_expired() == 0
    assert manager.get(s.id) is s
    s.detach()  # detaching is activity: the idle time starts now
    clock.advance(300)
    assert manager.get(s.id) is s
    clock.advance(1)
    assert manager.cleanup_expired() == 1
    assert ends.reasons(s) == ["timeout"]


def test_strict_idle_expires_despite_an_open_connection(clock: FakeClock) -> None:
    m = SessionManager(session_timeout=300, clock=clock, strict_idle=True)
    s = m.create()
    s.attach()
    clock.advance(301)
    assert m.get(s.id) is None
    assert s.ended
    t = m.create()
    t.attach()
    clock.advance(301)
    assert m.cleanup_expired() == 1
    assert t.ended


def test_session_max_age_ends_even_an_active_session(clock: FakeClock) -> None:
    m = SessionManager(session_timeout=300, clock=clock, session_max_age=1000)
    ends = Ends()
    m.on_session_end(ends)
    a, b = m.create(), m.create()
    a.attach()
    for _ in range(10):  # busy all along
        clock.advance(100)
        a.touch()
        b.touch()
    assert m.get(a.id) is a  # exactly max_age: alive
    clock.advance(1)
    b.touch()
    assert m.get(b.id) is None
    assert m.cleanup_expired() == 1
    assert ends.reasons(a) == ["max_age"]
    assert ends.reasons(b) == ["max_age"]


# -- hooks ---------------------------------------------------------------------------------


def test_start_hook_runs_once_before_create_returns(manager: SessionManager) -> None:
    started: list[Session] = []

    @manager.on_session_start
    def setup(session: Session) -> None:
        started.append(session)
        session.set("mine", 0)

    assert setup.__name__ == "setup"  # usable as a decorator: returns the function
    s = manager.create()
    assert started == [s]
    assert s.get("mine") == 0
    manager.get(s.id)
    assert started == [s]


def end_by(manager: SessionManager, clock: FakeClock, s: Session, how: str) -> None:
    """End *s* the way *how* says."""
    if how == "timeout (cleanup)":
        clock.advance(301)
        assert manager.cleanup_expired() == 1
    elif how == "timeout (get)":
        clock.advance(301)
        assert manager.get(s.id) is None
    elif how == "deleted":
        assert manager.delete(s.id)
    elif how == "deleted (many)":
        assert manager.delete_many([s.id]) == 1
    elif how == "shutdown":
        manager.stop()
    elif how == "max_age":
        manager.session_max_age = 100
        clock.advance(101)
        s.touch()
        assert manager.cleanup_expired() == 1
    else:  # pragma: no cover
        raise AssertionError(how)


HOW = {
    "timeout (cleanup)": "timeout",
    "timeout (get)": "timeout",
    "deleted": "deleted",
    "deleted (many)": "deleted",
    "shutdown": "shutdown",
    "max_age": "max_age",
}


@pytest.mark.parametrize(("how", "reason"), list(HOW.items()), ids=list(HOW))
def test_end_hook_runs_exactly_once_with_the_reason(
    manager: SessionManager, clock: FakeClock, ends: Ends, how: str, reason: str
) -> None:
    s = manager.create()
    end_by(manager, clock, s, how)
    assert ends.reasons(s) == [reason]
    assert s.ended
    # Every other way of ending it again is a no-op.
    clock.advance(10_000)
    manager.delete(s.id)
    manager.cleanup_expired()
    manager.get(s.id)
    manager.stop()
    assert ends.reasons(s) == [reason]


@pytest.mark.parametrize("how", list(HOW))
def test_hooks_run_outside_every_lock(
    manager: SessionManager, clock: FakeClock, how: str
) -> None:
    seen: list[Any] = []

    def probe(session: Session) -> Any:
        # From another thread, as a hook handing work to a pool would.  A
        # failure is recorded, not raised: the manager would swallow it.
        try:
            return run_in_thread(
                lambda: (manager.get(session.id), len(manager), manager.ids(),
                         session.items(), session.connections),
                2,
            )
        except AssertionError as exc:
            return exc

    @manager.on_session_start
    def started(session: Session) -> None:
        seen.append(("start", probe(session)))

    @manager.on_session_end
    def ended(session: Session, reason: str) -> None:
        seen.append(("end", probe(session)))

    s = manager.create()
    s.set("k", 1)
    end_by(manager, clock, s, how)
    assert [kind for kind, _ in seen] == ["start", "end"]
    assert not any(isinstance(result, BaseException) for _, result in seen), seen
    assert seen[0][1][0] is s  # the new session is in the map when its hook runs
    got, count, ids, items, _ = seen[1][1]
    assert got is None and count == 0 and ids == []  # already out of the map...
    assert items == {"k": 1}  # ...but its state is still there for the hook to read


def test_end_hook_sees_state_then_the_session_is_released(
    manager: SessionManager,
) -> None:
    seen: dict[str, Any] = {}
    manager.on_session_end(lambda s, r: seen.update(s.items()))
    s = manager.create()
    s.set("k", "v")
    w = s.add_widget(Text("x"))
    manager.delete(s.id)
    assert seen == {"k": "v"}
    assert s.items() == {}
    assert s.widgets == []
    assert not w.attached


def test_a_raising_hook_is_logged_and_things_carry_on(
    manager: SessionManager, caplog: pytest.LogCaptureFixture
) -> None:
    after: list[str] = []

    @manager.on_session_start
    def broken_start(session: Session) -> None:
        raise RuntimeError("start hook broke")

    @manager.on_session_start
    def fine_start(session: Session) -> None:
        after.append("start")

    @manager.on_session_end
    def broken_end(session: Session, reason: str) -> None:
        raise ValueError("end hook broke")

    @manager.on_session_end
    def fine_end(session: Session, reason: str) -> None:
        after.append("end")

    with caplog.at_level(logging.ERROR, logger="stgo"):
        s = manager.create()
        assert manager.get(s.id) is s
        assert manager.delete(s.id) is True
    assert after == ["start", "end"]
    assert s.ended and len(manager) == 0
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 2
    assert "broken_start" in errors[0].getMessage()
    assert "broken_end" in errors[1].getMessage()
    assert errors[0].exc_info is not None and "start hook broke" in caplog.text
    assert s.id not in caplog.text


def test_logs_never_show_a_raw_session_id(
    manager: SessionManager, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="stgo"):
        a, b = manager.create(), manager.create()
        manager.delete(a.id)
        clock.advance(301)
        manager.cleanup_expired()
    assert caplog.records  # something was logged at debug level...
    for s in (a, b):
        assert s.id not in caplog.text
        assert s.id.split("_", 2)[2] not in caplog.text
        assert redact(s.id) in caplog.text  # ...under the redacted tag


def test_ended_sessions_are_freed(manager: SessionManager, clock: FakeClock) -> None:
    class Big:
        pass

    refs = []
    for how in ("delete", "cleanup"):
        s = manager.create()
        value = Big()
        s.set("big", value)
        s.add_widget(Text("x"))
        refs.append((weakref.ref(s), weakref.ref(value)))
        if how == "delete":
            manager.delete(s.id)
        else:
            clock.advance(301)
            manager.cleanup_expired()
        del s, value
    gc.collect()
    assert [(r1(), r2()) for r1, r2 in refs] == [(None, None), (None, None)]


def test_a_value_kept_by_the_app_is_released_by_the_session(manager: SessionManager) -> None:
    class Big:
        pass

    s = manager.create()
    value = Big()
    ref = weakref.ref(value)
    s.set("big", value)
    del value
    manager.delete(s.id)
    gc.collect()
    assert ref() is None  # even while someone still holds the ended Session
    assert s.ended


# -- the cleanup thread ------------------------------------------------------------------


def test_the_cleanup_thread_expires_sessions() -> None:
    m = SessionManager(session_timeout=0.05, cleanup_interval=0.02)
    ends = Ends()
    m.on_session_end(ends)
    m.start()
    try:
        assert m.running
        kept = m.create()
        kept.attach()  # an open tab keeps it alive
        idle = m.create()
        wait_until(lambda: idle.ended, timeout=5)
        assert ends.reasons(idle) == ["timeout"]
        # It was judged in the same pass as `kept`, which survived it.
        assert not kept.ended
        assert m.get(kept.id) is kept
    finally:
        m.stop()
    assert not m.running
    assert ends.reasons(kept) == ["shutdown"]


def test_a_shorter_interval_set_at_run_time_takes_effect_at_once() -> None:
    m = SessionManager(session_timeout=0.05, cleanup_interval=60)
    m.start()
    try:
        s = m.create()
        m.cleanup_interval = 0.02  # without a wake-up this would wait out the 60 s
        wait_until(lambda: s.ended, timeout=5)
    finally:
        m.stop()


def test_stop_joins_promptly_and_ends_every_session_with_shutdown() -> None:
    # The cleanup thread waits an hour between passes: stop() must wake it,
    # or the thread would still be alive after stop's join gives up.
    m = SessionManager(session_timeout=300, cleanup_interval=3600)
    ends = Ends()
    m.on_session_end(ends)
    m.start()
    made = [m.create() for _ in range(3)]
    thread = next(t for t in threading.enumerate() if t.name == "stgo-cleanup")
    m.stop()
    assert not thread.is_alive()
    assert not m.running
    assert len(m) == 0
    assert [ends.reasons(s) for s in made] == [["shutdown"]] * 3
    m.stop()  # twice is harmless
    assert len(ends.calls) == 3


def test_stop_can_keep_the_sessions(manager: SessionManager) -> None:
    manager.start()
    s = manager.create()
    manager.stop(end_sessions=False)
    assert not manager.running
    assert manager.get(s.id) is s and not s.ended


def test_start_is_idempotent_and_restartable() -> None:
    m = SessionManager(session_timeout=0.05, cleanup_interval=0.02)
    try:
        m.start()
        m.start()
        assert [t.name for t in threading.enumerate()].count("stgo-cleanup") == 1
        m.stop()
        m.start()  # a stopped manager can run again
        s = m.create()
        wait_until(lambda: s.ended, timeout=5)
    finally:
        m.stop()


def test_a_failing_pass_does_not_kill_the_thread(caplog: pytest.LogCaptureFixture) -> None:
    failures = {"left": 0}

    def flaky_clock() -> float:
        if failures["left"]:
            failures["left"] -= 1
            raise OSError("clock broke")
        return time.time()

    m = SessionManager(session_timeout=0.05, cleanup_interval=0.02, clock=flaky_clock)
    s = m.create()
    failures["left"] = 1
    with caplog.at_level(logging.ERROR, logger="stgo"):
        m.start()
        try:
            wait_until(lambda: "cleanup pass failed" in caplog.text, timeout=5)
            wait_until(lambda: s.ended, timeout=5)  # a later pass still ran
            assert m.running
        finally:
            m.stop()


def test_a_hook_may_stop_the_manager_from_the_cleanup_thread() -> None:
    m = SessionManager(session_timeout=0.05, cleanup_interval=0.02)
    stopped = threading.Event()

    @m.on_session_end
    def stop_on_first(session: Session, reason: str) -> None:
        if reason == "timeout":
            m.stop()
            stopped.set()

    m.start()
    try:
        m.create()
        assert stopped.wait(5)
        wait_until(lambda: not m.running, timeout=5)
    finally:
        m.stop()


# -- concurrency ----------------------------------------------------------------------------


def test_many_threads_create_get_delete(
    manager: SessionManager, clock: FakeClock, fast_switching: None
) -> None:
    started: list[Session] = []
    ends = Ends()
    manager.on_session_end(ends)
    manager.on_session_start(started.append)
    threads, rounds = 8, 300
    kept: list[list[str]] = [[] for _ in range(threads)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(threads + 1)
    done = threading.Event()

    def worker(t: int) -> None:
        try:
            barrier.wait()
            for i in range(rounds):
                s = manager.create()
                assert manager.get(s.id) is s
                s.increment("n")
                if i % 3 == 0:
                    kept[t].append(s.id)
                    continue
                assert manager.delete(s.id) is True
                assert manager.get(s.id) is None
                assert manager.delete(s.id) is False
        except BaseException as exc:
            errors.append(exc)

    def sweeper() -> None:
        try:
            barrier.wait()
            while not done.is_set():
                manager.cleanup_expired()  # nothing is idle: must end nothing
                len(manager)
                manager.ids()
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
    sweep = threading.Thread(target=sweeper)
    for w in [*workers, sweep]:
        w.start()
    for w in workers:
        w.join(60)
    done.set()
    sweep.join(60)
    assert errors == []
    all_kept = {sid for ids in kept for sid in ids}
    assert len(started) == threads * rounds
    assert set(manager.ids()) == all_kept
    assert len(manager) == len(all_kept) == threads * len(range(0, rounds, 3))
    assert len(ends.calls) == threads * rounds - len(all_kept)
    assert {r for _, r in ends.calls} == {"deleted"}


def test_racing_enders_end_each_session_once(
    manager: SessionManager, clock: FakeClock, fast_switching: None
) -> None:
    ends = Ends()
    manager.on_session_end(ends)
    made = [manager.create() for _ in range(300)]
    clock.advance(301)  # all expired: cleanup, get and delete all race to end them
    deleted: list[int] = []
    cleaned: list[int] = []
    got: list[Session | None] = []
    barrier = threading.Barrier(6)

    def deleter() -> None:
        barrier.wait()
        deleted.append(sum(manager.delete(s.id) for s in made))

    def cleaner() -> None:
        barrier.wait()
        cleaned.append(manager.cleanup_expired())

    def getter() -> None:
        barrier.wait()
        got.extend(manager.get(s.id) for s in made)

    racers = [threading.Thread(target=f) for f in
              (deleter, deleter, cleaner, cleaner, getter, getter)]
    for r in racers:
        r.start()
    for r in racers:
        r.join(60)
    assert len(manager) == 0
    assert got == [None] * (2 * len(made))
    assert all(len(ends.reasons(s)) == 1 for s in made)
    assert len(ends.calls) == len(made)
    reasons = [r for _, r in ends.calls]
    # What each path reports matches the hooks it ran; the getters ended the rest.
    assert sum(deleted) == reasons.count("deleted")
    assert sum(cleaned) <= reasons.count("timeout")
    assert reasons.count("deleted") + reasons.count("timeout") == len(made)


def test_create_with_a_limit_never_overshoots_under_concurrency() -> None:
    import threading

    from stgo.errors import CapacityError

    manager = SessionManager()
    made: list[object] = []
    refused: list[object] = []
    start = threading.Barrier(16)

    def visit() -> None:
        start.wait()
        for _ in range(20):
            try:
                made.append(manager.create(limit=50))
            except CapacityError:
                refused.append(None)

    threads = [threading.Thread(target=visit) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(manager) == 50 == len(made)
    assert len(refused) == 16 * 20 - 50


# -- pending sessions (issue 10, finding 5) ---------------------------------------------------


def test_a_pending_session_lapses_after_pending_timeout_and_an_activated_one_does_not(
    manager: SessionManager, clock: FakeClock, ends: Ends
) -> None:
    pending = manager.create(pending=True)
    kept = manager.create(pending=True)
    kept.attach()
    kept.detach()
    made = manager.create()  # made by the app itself: activated from the start
    assert not pending.activated and kept.activated and made.activated
    assert manager.pending_count() == 1
    clock.advance(manager.pending_timeout + 1)
    assert manager.cleanup_expired() == 1
    assert ends.reasons(pending) == ["timeout"]
    assert manager.get(kept.id) is kept and manager.get(made.id) is made
    assert manager.pending_count() == 0


def test_pending_timeout_is_validated_and_never_lengthens_session_timeout(
    clock: FakeClock,
) -> None:
    with pytest.raises(ConfigurationError, match="pending_timeout"):
        SessionManager(pending_timeout=0)
    short = SessionManager(session_timeout=5, pending_timeout=30, clock=clock)
    session = short.create(pending=True)
    clock.advance(6)
    assert short.get(session.id) is None


def test_at_the_limit_the_oldest_pending_session_is_evicted_then_the_caller_refused(
    manager: SessionManager, ends: Ends
) -> None:
    from stgo.errors import CapacityError

    active = manager.create(pending=True)
    active.attach()
    first, second = manager.create(pending=True), manager.create(pending=True)
    third = manager.create(limit=3, pending=True)
    assert ends.reasons(first) == ["evicted"] and first.ended
    assert set(manager.ids()) == {active.id, second.id, third.id}
    third.attach()
    fourth = manager.create(limit=3)
    assert ends.reasons(second) == ["evicted"]
    with pytest.raises(CapacityError):
        manager.create(limit=3)  # nobody pending: activated sessions stay
    assert set(manager.ids()) == {active.id, third.id, fourth.id}


def test_a_rotated_pending_session_stays_pending_and_deleted_ones_leave_the_queue(
    manager: SessionManager,
) -> None:
    session = manager.create(pending=True)
    manager.rekey(session, new_session_id())
    assert manager.pending_count() == 1
    session.attach()
    assert manager.pending_count() == 0
    gone = manager.create(pending=True)
    manager.delete(gone.id)
    assert manager.pending_count() == 0
