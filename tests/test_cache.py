"""Caching: ``@stgo.cache_data`` (every session; with Redis, every process) and
``@stgo.cache_resource`` (one per process): single flight, TTL, max_entries, clear."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import stgo
from stgo import App
from stgo.cache import backends

from .helpers import Client, FakeClock, ServerProcess, stgo_run
from .services import RedisServer

CACHED_APP = str(Path(__file__).parent / "apps" / "cached.py")


def ten_at_once(fn: Callable[[], Any]) -> list[Any]:
    """Call *fn* from ten threads released together; return their results."""
    barrier = threading.Barrier(10)
    results: list[Any] = []

    def run() -> None:
        barrier.wait()
        results.append(fn())

    threads = [threading.Thread(target=run) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    return results


def test_ten_threads_asking_at_once_compute_once() -> None:
    calls: list[str] = []
    slow = threading.Event()  # never set: the computation's own work

    @stgo.cache_data
    def load(region: str) -> dict[str, Any]:
        calls.append(region)
        slow.wait(0.3)  # long enough for the other nine to ask meanwhile
        return {"region": region}

    results = ten_at_once(lambda: load("eu"))
    assert calls == ["eu"]
    assert results == [{"region": "eu"}] * 10
    assert load("us") == {"region": "us"} and calls == ["eu", "us"]  # by arguments
    assert load(region="eu") is not None and calls[-1] == "eu"  # keywords are other arguments
    assert load({(1, 2): "a tuple key", 3: None}) == {"region": {(1, 2): "a tuple key", 3: None}}
    assert load({(1, 2): "a tuple key", 3: None}) and len(calls) == 4  # cached by value too


def test_ttl_with_an_injected_clock_max_entries_and_clear() -> None:
    clock = FakeClock()
    calls: list[int] = []

    @stgo.cache_data(ttl=60, max_entries=2, clock=clock)
    def square(x: int) -> int:
        calls.append(x)
        return x * x

    assert square(3) == 9 and square(3) == 9 and calls == [3]
    clock.advance(59)
    assert square(3) == 9 and calls == [3]
    clock.advance(2)  # past the ttl
    assert square(3) == 9 and calls == [3, 3]
    square(4)
    square(5)  # a third value: the oldest (3) goes
    assert calls == [3, 3, 4, 5]
    square(5)
    square(4)
    assert calls == [3, 3, 4, 5]
    square(3)
    assert calls == [3, 3, 4, 5, 3]
    square.clear()
    square(4)
    assert calls == [3, 3, 4, 5, 3, 4]


def test_a_failure_reaches_every_waiter_and_is_not_cached() -> None:
    calls: list[int] = []
    slow = threading.Event()

    @stgo.cache_data
    def flaky() -> int:
        calls.append(1)
        slow.wait(0.3)
        if len(calls) == 1:
            raise OSError("the database is away")
        return 42

    outcomes = ten_at_once(lambda: _outcome(flaky))
    assert len(calls) == 1
    assert all(isinstance(o, OSError) for o in outcomes)
    assert flaky() == 42 and len(calls) == 2


def _outcome(fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except Exception as exc:
        return exc


def test_cache_resource_is_one_object_per_process() -> None:
    made: list[object] = []

    @stgo.cache_resource
    def pool() -> object:
        made.append(object())
        return made[-1]

    results = ten_at_once(pool)
    assert len(made) == 1 and all(r is made[0] for r in results)
    pool.clear()
    assert pool() is not made[0]


def test_bad_options_are_refused() -> None:
    with pytest.raises(stgo.ConfigurationError, match="ttl"):
        stgo.cache_data(ttl=0)(lambda: 1)
    with pytest.raises(stgo.ConfigurationError, match="max_entries"):
        stgo.cache_data(max_entries=0)(lambda: 1)


def test_with_redis_values_go_through_the_store(redis_server: RedisServer,
                                                make_app: Callable[..., App]) -> None:
    app = make_app(store=redis_server.url)
    calls: list[int] = []

    @stgo.cache_data(ttl=60)
    def rows(n: int) -> list[int]:
        calls.append(n)
        return list(range(n))

    assert backends.shared() is not None
    first = rows(3)
    assert rows(3) == [0, 1, 2] and rows(3) is not first  # decoded from the store each time
    assert calls == [3]
    # Another process (here: another function of the same name) finds it in Redis.
    again = stgo.cache_data(ttl=60)(_same_name(rows, lambda n: calls.append(-n) or []))
    assert again(3) == [0, 1, 2] and calls == [3]
    rows.clear()  # for every process
    assert again(3) == [] and calls == [3, -3]
    app.stop()
    assert backends.shared() is None  # a stopped App's store is not used


def _same_name(model: Any, fn: Callable[..., Any]) -> Callable[..., Any]:
    fn.__module__, fn.__qualname__ = model.__module__, model.__qualname__
    return fn


def test_with_redis_an_unserializable_value_names_its_type(
        redis_server: RedisServer, make_app: Callable[..., App]) -> None:
    make_app(store=redis_server.url)

    class Model:
        pass

    @stgo.cache_data
    def model() -> Model:
        return Model()

    with pytest.raises(stgo.CodecError, match=r"returned a tests\.test_cache\..*Model.*"
                                              r"cache_resource"):
        model()

    @stgo.cache_resource  # one per process: never serialized
    def shared_model() -> Model:
        return Model()

    assert shared_model() is shared_model()


def test_two_processes_with_redis_compute_once(redis_server: RedisServer, tmp_path: Path,
                                               processes: list[ServerProcess]) -> None:
    record = tmp_path / "computed.log"
    procs = []
    for _ in range(2):
        proc = stgo_run(CACHED_APP, "--store", redis_server.url,
                        env={"STGO_TEST_RECORD": str(record)})
        processes.append(proc)
        proc.wait_url()
        procs.append(proc)
    socks = []
    for proc in procs:
        for _ in range(3):
            client = Client(proc.url)
            socks.append((client, client.connect()))
    barrier = threading.Barrier(len(socks))
    answers: list[dict[str, Any]] = []

    def click(sock: Any) -> None:
        button = re.search(r'id="(w[0-9a-f]+)"[^>]*>(?:(?!id="w).)*?Load',
                           sock.messages[0]["roots"]["global"], re.S)
        assert button is not None
        barrier.wait()
        answers.append(sock.ack(sock.event(button.group(1)), timeout=20))

    threads = [threading.Thread(target=click, args=(sock,)) for _, sock in socks]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(answers) == 6 and all(a["type"] == "patch" for a in answers)
    # Every tab shows the value (pushed with its ack, or before it: the callback was long).
    assert all("loaded eu [1, 2, 3]" in str(sock.messages) for _, sock in socks)
    lines = record.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1, lines
    for client, _ in socks:
        client.close()
