"""How long does a cleanup pass stall a concurrent ``SessionManager.get``?

Builds a manager on a fake clock with *n* sessions, half of them expired, then
runs one :meth:`~stgo.SessionManager.cleanup_expired` pass while another thread
calls :meth:`~stgo.SessionManager.get` in a tight loop and times every call.
The goal is a short hold of the manager's lock: a pass over 100,000 sessions
must not make a page load or a WebSocket connect wait for the whole pass.

A baseline run (the same ``get`` loop beside a thread that only burns CPU)
shows the floor set by the GIL's switch interval, so the numbers can be read
as "lock stall on top of ordinary thread switching".

Run ``python bench/cleanup.py [N]``; reuse :func:`measure` from a runner.
"""

from __future__ import annotations

import gc
import statistics
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from stgo import SessionManager

__all__ = ["measure", "main"]

_T0 = 1_700_000_000.0
_TIMEOUT = 300.0


class _FakeClock:
    """Epoch seconds that move only when told to."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _time_gets(get: Callable[[], object], done: threading.Event,
               started: threading.Event) -> list[float]:
    """Call *get* until *done* is set; return each call's duration in seconds."""
    waits: list[float] = []
    clock = time.perf_counter
    started.set()
    while not done.is_set():
        t = clock()
        get()
        waits.append(clock() - t)
    return waits


def _summary(waits: list[float]) -> dict[str, float]:
    ordered = sorted(waits)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return {
        "gets": len(ordered),
        "get_max_ms": ordered[-1] * 1000,
        "get_p99_ms": p99 * 1000,
        "get_median_ms": statistics.median(ordered) * 1000,
    }


def _with_getter(
    work: Callable[[], Any], get: Callable[[], object]
) -> tuple[Any, float, list[float]]:
    """Run *work* on this thread while another thread times *get*; return
    (work's result, work's duration in seconds, the get durations)."""
    done = threading.Event()
    started = threading.Event()
    result: list[list[float]] = []
    getter = threading.Thread(
        target=lambda: result.append(_time_gets(get, done, started)), name="bench-getter"
    )
    getter.start()
    started.wait()
    t = time.perf_counter()
    try:
        value = work()
    finally:
        elapsed = time.perf_counter() - t
        done.set()
        getter.join()
    return value, elapsed, result[0]


class _TimedLock:
    """A stand-in for the manager's lock that records how long each hold lasts."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._since = 0.0
        self.longest = 0.0

    def __enter__(self) -> None:
        self._lock.acquire()
        self._since = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        self.longest = max(self.longest, time.perf_counter() - self._since)
        self._lock.release()


def _build(n: int) -> tuple[SessionManager, int, str]:
    """A manager with *n* sessions, the first half idle past the timeout.

    :returns: the manager, how many are expired, and the ID of a live one.
    """
    clock = _FakeClock(_T0)
    manager = SessionManager(session_timeout=_TIMEOUT, clock=clock)
    for _ in range(n // 2):
        manager.create()
    clock.now += _TIMEOUT + 1
    probe = ""
    for i in range(n - n // 2):
        session = manager.create()
        if i == 0:
            probe = session.id
    # Nothing else refers to the sessions, as in a server: the pass frees them.
    return manager, n // 2, probe


def _gc_pauses() -> tuple[list[float], Callable[[], None]]:
    """Record garbage-collector pauses (seconds) until the returned stop() is called."""
    pauses: list[float] = []
    began = [0.0]

    def callback(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            began[0] = time.perf_counter()
        else:
            pauses.append(time.perf_counter() - began[0])

    gc.callbacks.append(callback)
    return pauses, lambda: gc.callbacks.remove(callback)


def measure(n: int = 100_000) -> dict[str, Any]:
    """Time one cleanup pass over *n* sessions (half expired) and the ``get``
    calls made meanwhile from another thread.

    :param n: sessions in the manager; half are idle past the timeout.
    :returns: ``sessions``, ``expired`` (ended by the pass), ``pass_s`` (the
        pass's wall time, seconds); ``gets`` / ``get_max_ms`` / ``get_p99_ms``
        / ``get_median_ms`` (the concurrent ``get`` calls, milliseconds);
        ``gc_max_ms`` (the longest garbage-collector pause during the pass,
        which stops every thread); ``lock_hold_max_ms`` (the longest single
        hold of the manager's lock in a second, instrumented pass); and
        ``baseline_max_ms`` / ``baseline_p99_ms`` (the same ``get`` loop
        beside a CPU-bound thread that takes no lock: the GIL's share).
    """
    manager, expired, probe = _build(n)

    def get() -> object:
        return manager.get(probe)

    pauses, stop_gc_watch = _gc_pauses()
    try:
        ended, pass_s, waits = _with_getter(manager.cleanup_expired, get)
    finally:
        stop_gc_watch()
    if ended != expired or len(manager) != n - expired:
        raise RuntimeError(f"cleanup ended {ended} of {expired}; {len(manager)} left")

    def burn() -> None:
        # Pure-Python work of about the pass's length, holding no lock.
        deadline = time.perf_counter() + max(pass_s, 0.05)
        while time.perf_counter() < deadline:
            sum(range(200))

    _, _, base = _with_getter(burn, get)
    manager.stop()
    del manager

    # A second pass with the lock swapped for one that times its holds.
    manager, _, _ = _build(n)
    timed = _TimedLock()
    manager._lock = timed  # type: ignore[assignment]
    manager.cleanup_expired()
    manager.stop()

    base_summary = _summary(base)
    return {
        "sessions": n,
        "expired": ended,
        "pass_s": pass_s,
        **_summary(waits),
        "gc_max_ms": max(pauses, default=0.0) * 1000,
        "lock_hold_max_ms": timed.longest * 1000,
        "baseline_max_ms": base_summary["get_max_ms"],
        "baseline_p99_ms": base_summary["get_p99_ms"],
    }


def main(argv: list[str] | None = None) -> int:
    """Run :func:`measure` and print its numbers."""
    args = sys.argv[1:] if argv is None else argv
    n = int(args[0]) if args else 100_000
    r = measure(n)
    print(f"cleanup_expired over {r['sessions']:,} sessions ({r['expired']:,} expired): "
          f"{r['pass_s'] * 1000:.1f} ms")
    print(f"concurrent get(): {r['gets']:,} calls, max {r['get_max_ms']:.2f} ms, "
          f"p99 {r['get_p99_ms']:.3f} ms, median {r['get_median_ms']:.4f} ms")
    print(f"longest manager-lock hold: {r['lock_hold_max_ms']:.2f} ms; "
          f"longest GC pause during the pass: {r['gc_max_ms']:.2f} ms")
    print(f"baseline (CPU-bound neighbour, no lock): max {r['baseline_max_ms']:.2f} ms, "
          f"p99 {r['baseline_p99_ms']:.3f} ms (switch interval "
          f"{sys.getswitchinterval() * 1000:.0f} ms)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
