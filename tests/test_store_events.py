"""An event's state writes with the Redis store (stgo.store.txn): the lock and a
current copy of the state in one round trip, the writes buffered and sent with
the unlock, background writers never lost, retries applied once; and the TTL
safety net on session records.  Two RedisStore objects on one real Redis stand
for two processes."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from stgo import SessionManager
from stgo.store.redis import RedisStore
from stgo.store.txn import StateCache

from .helpers import wait_until
from .services import RedisServer


@pytest.fixture
def stores(redis_server: RedisServer) -> Iterator[tuple[RedisStore, RedisStore]]:
    pair = (RedisStore(redis_server.url), RedisStore(redis_server.url))
    for s in pair:
        s.open()
    yield pair
    for s in pair:
        s.close()


def _session(store: RedisStore) -> str:
    sid = f"s{time.monotonic_ns()}"
    assert store.create_session(sid, time.time())
    return sid


def test_an_events_writes_land_together_with_the_unlock(
    stores: tuple[RedisStore, RedisStore],
) -> None:
    here, there = stores
    sid = _session(here)
    ns = f"s:{sid}"
    here.set(ns, "gone", 1)
    txn = here.begin_event(sid, "token-1", 10, StateCache())
    assert txn is not None
    here.set(ns, "name", "ada")
    assert here.increment(ns, "n", 2) == 2 and here.increment(ns, "n", 3) == 5
    assert here.delete(ns, "gone") and not here.delete(ns, "gone")
    # The event reads its own writes; the other process does not see them yet,
    # nor can it run an event of this session.
    assert here.items(ns) == {"name": "ada", "n": 5}
    assert there.items(ns) == {"gone": 1}
    assert there.begin_event(sid, "token-2", 10, StateCache()) is None
    here.end_event(txn, "")
    here.settle()
    assert there.items(ns) == {"name": "ada", "n": 5}
    other = there.begin_event(sid, "token-2", 10, StateCache())
    assert other is not None and there.get(ns, "n") == 5  # its copy came with the lock
    there.end_event(other, "")
    there.settle()


def test_a_background_increment_during_an_event_is_never_lost(
    stores: tuple[RedisStore, RedisStore],
) -> None:
    here, there = stores
    sid = _session(here)
    ns = f"s:{sid}"
    cache = StateCache()
    txn = here.begin_event(sid, "token-1", 10, cache)
    assert txn is not None
    assert here.increment(ns, "n", 1) == 1  # buffered, from the event's copy

    def background() -> None:  # not in the event: straight to Redis
        for _ in range(10):
            here.increment(ns, "n", 5)
            there.increment(ns, "n", 5)

    worker = threading.Thread(target=background)
    worker.start()
    worker.join(10)
    here.end_event(txn, "")
    here.settle()
    assert there.get(ns, "n") == 101
    assert cache.version == ""  # somebody else wrote meanwhile: the copy is dropped
    again = here.begin_event(sid, "token-2", 10, cache)
    assert again is not None and here.get(ns, "n") == 101
    here.end_event(again, "")
    here.settle()
    assert cache.version != ""  # nobody else wrote: kept for the next event


def test_a_cached_copy_follows_another_processs_writes(
    stores: tuple[RedisStore, RedisStore],
) -> None:
    here, there = stores
    sid = _session(here)
    ns = f"s:{sid}"
    cache = StateCache()
    for expected in (None, "from there"):
        txn = here.begin_event(sid, "t" + str(expected), 10, cache)
        assert txn is not None and here.get(ns, "k") == expected
        here.set(ns, "mine", expected)
        here.end_event(txn, "")
        here.settle()
        there.set(ns, "k", "from there")  # outside any event, in the other process
    assert there.items(ns) == {"k": "from there", "mine": "from there"}


def test_update_and_float_increments_in_an_event_write_through_in_order(
    stores: tuple[RedisStore, RedisStore],
) -> None:
    here, there = stores
    sid = _session(here)
    ns = f"s:{sid}"
    txn = here.begin_event(sid, "token-1", 10, StateCache())
    assert txn is not None
    here.set(ns, "items", [1])
    # update(fn) is a compare-and-set in Redis: what was buffered goes first.
    assert here.update(ns, "items", lambda old: [*old, 2], []) == [1, 2]
    assert there.get(ns, "items") == [1, 2]
    assert here.increment(ns, "x", 0.5) == 0.5 and there.get(ns, "x") == 0.5
    assert here.get(ns, "items") == [1, 2] and here.get(ns, "x") == 0.5
    here.end_event(txn, "")
    here.settle()
    assert there.items(ns) == {"items": [1, 2], "x": 0.5}


def test_a_commit_sent_twice_is_applied_once(stores: tuple[RedisStore, RedisStore]) -> None:
    here, there = stores
    sid = _session(here)
    ns = f"s:{sid}"
    txn = here.begin_event(sid, "token-1", 10, StateCache())
    assert txn is not None
    here.increment(ns, "n", 1)
    keys, args = here._commit_words(txn, txn.ops, unlock=True, notice="")
    assert here._script("commit", keys, args) > 0
    assert here._script("commit", keys, args) == -3  # its answer was lost: resent
    assert there.get(ns, "n") == 1


def test_rotation_in_the_middle_of_an_event_keeps_its_writes(
    stores: tuple[RedisStore, RedisStore],
) -> None:
    here, there = stores
    sid = _session(here)
    txn = here.begin_event(sid, "token-1", 10, StateCache())
    assert txn is not None
    here.set(f"s:{sid}", "before", 1)
    new_id = sid + "x"
    assert here.rename_session(sid, new_id)
    here.set(f"s:{new_id}", "after", 2)
    here.end_event(txn, "")
    here.settle()
    assert there.items(f"s:{new_id}") == {"before": 1, "after": 2}
    assert there.load_session(sid) is None
    assert there.begin_event(sid, "token-2", 10, StateCache()) is not None  # let go


def test_a_lapsed_event_lock_can_be_taken_by_another_process(
    stores: tuple[RedisStore, RedisStore],
) -> None:
    here, there = stores
    sid = _session(here)
    assert here.begin_event(sid, "killed", 0.2, StateCache()) is not None  # never let go
    assert there.begin_event(sid, "next", 10, StateCache()) is None
    assert wait_until(lambda: there.begin_event(sid, "next", 10, StateCache()), 5)


# -- the TTL safety net ---------------------------------------------------------------------------


def test_session_keys_carry_a_ttl_past_the_idle_timeout(store_url: str) -> None:
    store = RedisStore(store_url)
    store.open()
    try:
        manager = SessionManager(session_timeout=60, store=store)
        session = manager.create()
        session.set("k", 1)
        meta, data = store._meta(session.id), store._data(session.id)
        ttls = store._call(lambda r: [r.pttl(meta), r.pttl(data)])
        low, high = (60 + store.ttl_margin - 5) * 1000, (60 + store.ttl_margin) * 1000
        assert all(low < t <= high for t in ttls), ttls
        manager.session_max_age = 120
        manager.cleanup_expired()  # tells the store
        session.set("k", 2)
        ttls = store._call(lambda r: [r.pttl(meta), r.pttl(data)])
        assert all(60 * 1000 < t <= (120 + store.ttl_margin) * 1000 for t in ttls), ttls
    finally:
        store.close()


def test_records_nobody_is_left_to_end_expire_by_themselves(store_url: str) -> None:
    store = RedisStore(store_url)
    store.ttl_margin = 0  # the timeout itself, so the test waits about a second
    store.open()
    try:
        ended: list[str] = []
        first = SessionManager(session_timeout=1, store=store)
        first.on_session_end(lambda s, reason: ended.append(reason))
        session = first.create()
        session.set("k", 1)
        # Every process is gone (nobody runs a cleanup pass): Redis frees the keys.
        keys = [store._meta(session.id), store._data(session.id)]
        wait_until(lambda: store._call(lambda r: r.exists(*keys)) == 0, 10)
        assert store.session_count() == 1  # only an index entry is left...
        later = SessionManager(session_timeout=1, store=store)
        later.on_session_end(lambda s, reason: ended.append(reason))
        later.cleanup_expired()
        assert store.session_count() == 0 and store.session_ids() == []  # ...and goes
        assert ended == []  # no end hook: there was no state left to run it with
    finally:
        store.close()


@pytest.fixture
def store_url(redis_server: RedisServer) -> str:
    return redis_server.url


def test_writes_elsewhere_from_an_event_land_after_its_earlier_writes(
    stores: tuple[RedisStore, RedisStore],
) -> None:
    here, there = stores
    sid = _session(here)
    txn = here.begin_event(sid, "token-1", 10, StateCache())
    assert txn is not None
    here.increment(f"s:{sid}", "clicks", 1)  # buffered...
    assert there.get(f"s:{sid}", "clicks") is None
    here.increment("app", "total", 1)  # ...until a write elsewhere: in program order
    assert there.get(f"s:{sid}", "clicks") == 1 and there.get("app", "total") == 1
    here.increment(f"s:{sid}", "clicks", 1)
    here.end_event(txn, "")
    here.settle()
    assert there.get(f"s:{sid}", "clicks") == 2
