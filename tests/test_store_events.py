"""An event's state writes with the Redis store (stgo.store.redis.txn): the lock and a
current copy of the state in one round trip, the writes buffered and sent with
the unlock, background writers never lost, retries applied once; and the TTL
safety net on session records.  Two RedisStore objects on one real Redis stand
for two processes."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from stgo import SessionManager
from stgo.store.redis import RedisStore, StateCache

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
    keys, args = here._events.commit_words(txn, txn.ops, lock="0", notice="")
    assert here._link.script("commit", keys, args)[0] > 0
    assert here._link.script("commit", keys, args)[0] == -3  # its answer was lost: resent
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


def _kept(store: RedisStore, sid: str, cache: StateCache, n: int, keep: float = 60) -> None:
    """One event of *sid* in *store*'s "process" that keeps its lock after."""
    txn = store.begin_event(sid, f"{store.origin}.{n}", 10, cache)
    assert txn is not None
    store.increment(f"s:{sid}", "n", 1)
    store.end_event(txn, "", keep)
    store.settle()


def _commands(store: RedisStore) -> int:
    """Commands Redis has run so far (this INFO call included)."""
    return int(store._link.call(lambda r: r.info("stats"))["total_commands_processed"])


@pytest.fixture
def listening(stores: tuple[RedisStore, RedisStore]) -> Iterator[dict[RedisStore, Any]]:
    """Each store's "relay": named as a relay names its process, and a pub/sub
    link on its own channel (how the others see that it is alive)."""
    links = {}
    for store, origin in zip(stores, ("here", "there"), strict=True):
        store.origin, store.presence = origin, f"{store.channel}:{origin}"
        link = links[store] = store.pubsub()
        link.subscribe(store.presence)
        assert wait_until(lambda link=link: (m := link.get_message(timeout=0.1))
                          and m["type"] == "subscribe")
    yield links
    for link in links.values():
        link.close()


@pytest.fixture
def processes(stores: tuple[RedisStore, RedisStore],
              listening: dict[RedisStore, Any]) -> tuple[RedisStore, RedisStore]:
    """The two stores as two processes with their relays listening."""
    return stores


def test_a_kept_lock_starts_the_next_event_with_no_round_trip(
    processes: tuple[RedisStore, RedisStore],
) -> None:
    here, there = processes
    sid = _session(here)
    cache = StateCache()
    _kept(here, sid, cache, 1)
    assert here._link.call(lambda r: r.get(f"stgo:lk:{sid}")) == b"here.1+"
    before = _commands(here)
    txn = here.begin_event(sid, "here.2", 10, cache)
    assert txn is not None and txn.kept
    assert _commands(here) == before + 1  # only the INFO: nothing asked for the event
    assert here.get(f"s:{sid}", "n") == 1
    here.increment(f"s:{sid}", "n", 1)
    here.end_event(txn, "", 60)
    here.settle()
    assert there.get(f"s:{sid}", "n") == 2
    assert there.begin_event(sid, "there.1", 10, StateCache()) is None  # still kept


def test_a_kept_lock_is_given_back_when_asked_and_then_let_go_after_each_event(
    processes: tuple[RedisStore, RedisStore], listening: dict[RedisStore, Any],
) -> None:
    here, there = processes
    heard = listening[here]
    sid = _session(here)
    cache = StateCache()
    _kept(here, sid, cache, 1)
    assert there.begin_event(sid, "there.1", 10, StateCache()) is None
    # Redis told the holder (its relay calls give_back on hearing it).
    notice = heard.get_message(timeout=5)
    assert notice is not None and notice["data"].split()[::3] == [b"l", sid.encode()]
    assert notice["data"].split()[1] == b"there"
    here.give_back(sid)
    theirs = there.begin_event(sid, "there.2", 10, StateCache())
    assert theirs is not None and not theirs.kept and there.get(f"s:{sid}", "n") == 1
    there.end_event(theirs, "", 60)
    there.settle()
    # Wanted by two processes, the lock is let go after each event for a
    # while, not kept and handed over at every turn.
    lock = f"stgo:lk:{sid}"
    assert not there._link.call(lambda r: r.exists(lock))
    mine = here.begin_event(sid, "here.3", 10, cache)
    assert mine is not None and not mine.kept and here.get(f"s:{sid}", "n") == 1
    here.end_event(mine, "", 60)
    here.settle()
    assert not here._link.call(lambda r: r.exists(lock))


def test_a_write_elsewhere_waits_for_a_kept_lock_and_the_next_event_sees_it(
    processes: tuple[RedisStore, RedisStore], listening: dict[RedisStore, Any],
) -> None:
    here, there = processes
    heard = listening[here]
    sid = _session(here)
    ns = f"s:{sid}"
    cache = StateCache()
    _kept(here, sid, cache, 1)
    done = threading.Event()

    def write() -> None:
        there.set(ns, "k", "from there")  # outside any event, in the other process
        done.set()

    worker = threading.Thread(target=write)
    worker.start()
    notice = heard.get_message(timeout=5)
    assert notice is not None and notice["data"].startswith(b"l there ")
    assert not done.is_set()  # it waits for the holder...
    here.give_back(sid)  # ... which lets go on hearing it
    worker.join(10)
    assert done.is_set()
    txn = here.begin_event(sid, "here.2", 10, cache)
    assert txn is not None and not txn.kept and here.get(ns, "k") == "from there"
    here.end_event(txn, "", 60)
    here.settle()
    # A write from the holder's own process passes, and its next event looks.
    here.set(ns, "k", "from here")
    txn = here.begin_event(sid, "here.3", 10, cache)
    assert txn is not None and not txn.kept and here.get(ns, "k") == "from here"
    here.end_event(txn, "")
    here.settle()


def test_a_kept_lock_of_a_process_that_stopped_listening_is_void(
    processes: tuple[RedisStore, RedisStore], listening: dict[RedisStore, Any],
) -> None:
    here, there = processes
    sid = _session(here)
    ns = f"s:{sid}"
    cache = StateCache()
    _kept(here, sid, cache, 1)
    listening[here].close()  # killed, or its relay's link dropped
    assert wait_until(lambda: here._link.call(
        lambda r: r.pubsub_numsub(here.presence))[0][1] == 0, 5)
    # Nobody waits for the 60 s kept lease to lapse.
    theirs = there.begin_event(sid, "there.1", 10, StateCache())
    assert theirs is not None
    there.increment(ns, "n", 10)
    # The holder, not knowing yet, starts an event on what it kept: its
    # writes are refused, not mixed with the other process's event.
    mine = here.begin_event(sid, "here.2", 10, cache)
    assert mine is not None and mine.kept
    here.increment(ns, "n", 100)
    here.end_event(mine, "", 60)
    here.settle()
    assert cache.version == ""  # dropped: the next event asks Redis
    there.end_event(theirs, "")
    there.settle()
    assert there.get(ns, "n") == 11


def test_an_event_on_a_kept_lock_that_runs_long_gets_a_full_lease(
    processes: tuple[RedisStore, RedisStore],
) -> None:
    here, _ = processes
    sid = _session(here)
    cache = StateCache()
    _kept(here, sid, cache, 1, keep=2)
    lock = f"stgo:lk:{sid}"
    txn = here.begin_event(sid, "here.2", 10, cache)
    assert txn is not None and txn.kept
    assert here._link.call(lambda r: r.pttl(lock)) <= 2000
    here.keep_leases(10, after=0)  # what the relay's sender does for a long event
    assert here._link.call(lambda r: r.pttl(lock)) > 2000
    here.end_event(txn, "")
    here.settle()
    assert here._link.call(lambda r: r.exists(lock)) == 0


def test_kept_locks_are_given_back_on_close_and_forgotten_once_lapsed(
    processes: tuple[RedisStore, RedisStore],
) -> None:
    here, there = processes
    kept, short = _session(here), _session(here)
    _kept(here, kept, StateCache(), 1, keep=60)
    _kept(here, short, StateCache(), 1, keep=0.05)
    assert wait_until(lambda: not here._link.call(lambda r: r.exists(f"stgo:lk:{short}")), 5)
    here.keep_leases(10)  # the relay's sender, a few times a second
    assert list(here._events.holds) == [kept]  # the lapsed one is not remembered forever
    here.close()  # a process stopping lets go of what it keeps
    txn = there.begin_event(kept, "there.1", 10, StateCache())
    assert txn is not None and there.get(f"s:{kept}", "n") == 1
    there.end_event(txn, "")
    there.settle()


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
        meta, data = store._layout.meta(session.id), store._layout.data(session.id)
        ttls = store._link.call(lambda r: [r.pttl(meta), r.pttl(data)])
        low, high = (60 + store.ttl_margin - 5) * 1000, (60 + store.ttl_margin) * 1000
        assert all(low < t <= high for t in ttls), ttls
        manager.session_max_age = 120
        manager.cleanup_expired()  # tells the store
        session.set("k", 2)
        ttls = store._link.call(lambda r: [r.pttl(meta), r.pttl(data)])
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
        keys = [store._layout.meta(session.id), store._layout.data(session.id)]
        wait_until(lambda: store._link.call(lambda r: r.exists(*keys)) == 0, 10)
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


@pytest.mark.parametrize("when", ["mid-event", "between making and sending the commit",
                                  "after the commit was sent"])
def test_a_rotation_from_another_thread_keeps_a_running_events_writes(
    stores: tuple[RedisStore, RedisStore], when: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A background thread rotates the session while one of its events runs,
    # as its commit is made, or once it is sent: the event's writes land
    # under the new ID.
    here, there = stores
    sid, new_id = _session(here), f"s{time.monotonic_ns()}y"
    txn = here.begin_event(sid, "token-1", 10, StateCache())
    assert txn is not None
    here.set(f"s:{sid}", "before", 1)

    def rotate() -> None:
        assert here.rename_session(sid, new_id)

    if when == "mid-event":
        rotator = threading.Thread(target=rotate)
        rotator.start()
        rotator.join(10)
        here.set(f"s:{new_id}", "after", 2)  # the session's ID is the new one now
        here.end_event(txn, "")
        want = {"before": 1, "after": 2}
    elif when == "between making and sending the commit":
        made = here._events.commit_words

        def then_rotate(*args: Any, **kwargs: Any) -> Any:
            words = made(*args, **kwargs)
            if args[0] is txn and not rotated:  # made for the old ID: it reaches Redis late
                rotated.append(True)
                rotator = threading.Thread(target=rotate)
                rotator.start()
                rotator.join(10)
            return words

        rotated: list[bool] = []
        monkeypatch.setattr(here._events, "commit_words", then_rotate)
        here.end_event(txn, "")
        assert rotated
        want = {"before": 1}
    else:
        here.end_event(txn, "")
        rotator = threading.Thread(target=rotate)
        rotator.start()
        rotator.join(10)
        want = {"before": 1}
    here.settle()
    assert there.items(f"s:{new_id}") == want
    assert there.load_session(sid) is None
    assert there.begin_event(new_id, "token-2", 10, StateCache()) is not None  # nobody holds it
