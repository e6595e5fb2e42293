"""SerialQueue: in order, one at a time, and never a lock held while a job runs."""

from __future__ import annotations

import threading

import pytest

from stgo.serial import SerialQueue

from .helpers import run_in_thread


def test_jobs_run_in_submission_order() -> None:
    q = SerialQueue()
    seen: list[int] = []
    for i in range(100):
        assert q.submit(lambda i=i: seen.append(i)) is True  # idle: this thread runs it
    assert seen == list(range(100))
    assert len(q) == 0


def test_many_submitting_threads_run_one_at_a_time_in_order(fast_switching: None) -> None:
    q = SerialQueue()
    state = {"active": 0, "most": 0}
    seen: list[tuple[int, int]] = []
    threads, per_thread = 8, 400
    barrier = threading.Barrier(threads)

    def job(t: int, i: int) -> None:
        state["active"] += 1
        state["most"] = max(state["most"], state["active"])
        seen.append((t, i))
        for _ in range(20):  # give other threads a chance to barge in
            pass
        state["active"] -= 1

    def submitter(t: int) -> None:
        barrier.wait()
        for i in range(per_thread):
            q.submit(lambda i=i: job(t, i))

    workers = [threading.Thread(target=submitter, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(30)
        assert not w.is_alive()

    assert state["most"] == 1  # never two jobs at once
    assert len(seen) == threads * per_thread  # none lost: the draining thread ran them all
    for t in range(threads):  # each submitter's jobs ran in its order
        assert [i for (tt, i) in seen if tt == t] == list(range(per_thread))
    assert len(q) == 0


def test_a_job_may_submit_a_job_from_the_same_thread() -> None:
    q = SerialQueue()
    seen: list[str] = []

    def outer() -> None:
        seen.append("outer start")
        assert q.submit(lambda: seen.append("inner")) is False  # queued, not run nested
        seen.append("outer end")

    assert run_in_thread(lambda: q.submit(outer)) is True
    assert seen == ["outer start", "outer end", "inner"]


def test_a_blocked_job_does_not_block_submitters() -> None:
    q = SerialQueue()
    started, release = threading.Event(), threading.Event()
    seen: list[str] = []

    def slow() -> None:
        seen.append("slow")
        started.set()
        assert release.wait(10)

    runner = threading.Thread(target=q.submit, args=(slow,))
    runner.start()
    try:
        assert started.wait(5)
        # Submitting while a job runs returns at once: the lock is not held.
        assert run_in_thread(lambda: q.submit(lambda: seen.append("second")), 2) is False
        assert len(q) == 1
        assert seen == ["slow"]  # the second job waits its turn
    finally:
        release.set()
        runner.join(5)
    assert not runner.is_alive()
    assert seen == ["slow", "second"]  # run by the thread that was draining
    assert len(q) == 0


def test_a_raising_job_leaves_the_queue_usable() -> None:
    q = SerialQueue()
    seen: list[str] = []

    def bad() -> None:
        q.submit(lambda: seen.append("queued behind bad"))
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        run_in_thread(lambda: q.submit(bad))
    assert len(q) == 1  # left for the next submitter, not lost
    assert q.submit(lambda: seen.append("next")) is True
    assert seen == ["queued behind bad", "next"]
    assert len(q) == 0
