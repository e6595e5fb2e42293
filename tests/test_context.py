"""The event context: one object per thread of work, a typed slot per owner."""

from __future__ import annotations

import threading

from stgo.context import Slot, current


def test_a_slot_holds_its_value_for_this_thread_only() -> None:
    slot: Slot[list[int]] = Slot("numbers")
    slot.set([1])
    seen: list[object] = []
    other = threading.Thread(target=lambda: seen.append(slot.get()))
    other.start()
    other.join()
    assert seen == [None]  # a new thread starts with an empty context
    assert slot.get() == [1]
    slot.set(None)
    assert slot.get() is None and slot not in current().values


def test_two_owners_slots_of_one_name_do_not_share() -> None:
    one: Slot[str] = Slot("batch")
    two: Slot[str] = Slot("batch")
    one.set("first app")
    try:
        assert two.get() is None
        two.set("second app")
        assert (one.get(), two.get()) == ("first app", "second app")
    finally:
        one.set(None)
        two.set(None)
