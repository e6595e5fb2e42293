"""Session: the state API, activity times, connections, widgets, isolation, observers."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from stgo import Session, WidgetError
from stgo.ids import new_session_id
from stgo.widgets import Text, Widget

from .helpers import T0, FakeClock, run_in_thread


class Recorder:
    """A SessionObserver that remembers what it heard."""

    def __init__(self) -> None:
        self.state: list[str | None] = []
        self.widgets: list[tuple[Widget, str]] = []

    def state_changed(self, session: Session, key: str | None) -> None:
        self.state.append(key)

    def widget_changed(self, session: Session, widget: Widget, change: str) -> None:
        self.widgets.append((widget, change))


@pytest.fixture
def session(clock: FakeClock) -> Session:
    return Session(new_session_id(clock()), clock=clock)


# -- state API -------------------------------------------------------------------


def test_set_and_get(session: Session) -> None:
    session.set("k", 1)
    assert session.get("k") == 1
    session.set("k", 2)
    assert session.get("k") == 2


def test_get_default(session: Session) -> None:
    assert session.get("missing") is None
    assert session.get("missing", 0) == 0
    session.set("none", None)
    assert session.get("none", "default") is None  # a stored None is a value


def test_any_python_value_is_kept_as_is(session: Session) -> None:
    value = {"nested": [1, 2, object()]}
    session.set("v", value)
    assert session.get("v") is value
    session.set("f", print)
    assert session.get("f") is print


def test_delete_returns_whether_the_key_was_there(session: Session) -> None:
    session.set("k", 1)
    assert session.delete("k") is True
    assert session.has("k") is False
    assert session.get("k") is None
    assert session.delete("k") is False


def test_has_and_in(session: Session) -> None:
    assert not session.has("k")
    assert "k" not in session
    session.set("k", None)
    assert session.has("k")
    assert "k" in session


def test_clear_removes_everything(session: Session) -> None:
    session.set("a", 1)
    session.set("b", 2)
    session.clear()
    assert session.items() == {}
    assert session.keys() == []


def test_items_is_a_copy(session: Session) -> None:
    session.set("a", 1)
    items = session.items()
    assert items == {"a": 1}
    items["b"] = 2
    del items["a"]
    assert session.items() == {"a": 1}
    assert session.items() is not session.items()


def test_keys_is_a_snapshot(session: Session) -> None:
    session.set("a", 1)
    session.set("b", 2)
    keys = session.keys()
    assert keys == ["a", "b"]
    session.set("c", 3)
    assert keys == ["a", "b"]


def test_item_syntax(session: Session) -> None:
    session["k"] = 5
    assert session["k"] == 5
    assert session.get("k") == 5
    with pytest.raises(KeyError):
        session["missing"]


def test_update_applies_fn_to_old_value(session: Session) -> None:
    assert session.update("l", lambda old: [*old, 1], default=[]) == [1]
    assert session.update("l", lambda old: [*old, 2], default=[]) == [1, 2]
    assert session.get("l") == [1, 2]


def test_increment(session: Session) -> None:
    assert session.increment("n") == 1
    assert session.increment("n", 5) == 6
    assert session.increment("x", 0.5) == 0.5
    assert session.get("n") == 6


def test_increment_is_atomic_across_threads(session: Session, fast_switching: None) -> None:
    threads, per_thread = 16, 2000
    barrier = threading.Barrier(threads)

    def work() -> None:
        barrier.wait()
        for _ in range(per_thread):
            session.increment("n")

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    assert session.get("n") == threads * per_thread


def test_update_is_atomic_across_threads(session: Session, fast_switching: None) -> None:
    threads, per_thread = 8, 500
    barrier = threading.Barrier(threads)

    def work(t: int) -> None:
        barrier.wait()
        for i in range(per_thread):
            session.update("seen", lambda old, item=(t, i): (*old, item), default=())

    workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    seen = session.get("seen")
    assert len(seen) == threads * per_thread  # no update lost
    assert len(set(seen)) == len(seen)


def test_update_runs_fn_outside_the_lock(session: Session) -> None:
    session.set("n", 1)

    def fn(old: int) -> int:
        # User code reading the session from another thread must not deadlock.
        return old + run_in_thread(lambda: session.get("n"), 2)

    assert session.update("n", fn) == 2


# -- times -----------------------------------------------------------------------


def test_times_are_epoch_floats(clock: FakeClock) -> None:
    real = Session(new_session_id())
    assert isinstance(real.created_at, float)
    assert isinstance(real.last_accessed_at, float)
    assert abs(real.created_at - time.time()) < 60
    fake = Session(new_session_id(), clock=clock)
    assert fake.created_at == fake.last_accessed_at == T0


CHANGES: dict[str, Callable[[Session], object]] = {
    "set": lambda s: s.set("k", 1),
    "setitem": lambda s: s.__setitem__("k", 1),
    "delete": lambda s: s.delete("existing"),
    "clear": lambda s: s.clear(),
    "update": lambda s: s.update("k", lambda old: 1),
    "increment": lambda s: s.increment("n"),
    "add_widget": lambda s: s.add_widget(Text("x")),
    "attach": lambda s: s.attach(),
    "touch": lambda s: s.touch(),
}


@pytest.mark.parametrize("change", list(CHANGES.values()), ids=list(CHANGES))
def test_every_change_refreshes_last_accessed_at(
    session: Session, clock: FakeClock, change: Callable[[Session], object]
) -> None:
    session.set("existing", 0)
    clock.advance(42.5)
    change(session)
    assert session.last_accessed_at == T0 + 42.5
    assert session.created_at == T0


def test_detach_refreshes_last_accessed_at(session: Session, clock: FakeClock) -> None:
    session.attach()
    clock.advance(10)
    session.detach()
    assert session.last_accessed_at == T0 + 10


def test_last_accessed_at_never_goes_back(session: Session, clock: FakeClock) -> None:
    clock.advance(100)
    session.set("k", 1)
    session.touch(now=T0 + 50)
    assert session.last_accessed_at == T0 + 100
    session.touch(now=T0 + 150)
    assert session.last_accessed_at == T0 + 150


# -- connections and expiry -------------------------------------------------------


def test_attach_and_detach_count_connections(session: Session) -> None:
    assert session.connections == 0
    assert session.attach() == 1
    assert session.attach() == 2
    assert session.connections == 2
    assert session.detach() == 1
    assert session.detach() == 0
    assert session.detach() == 0  # never negative
    assert session.connections == 0


def test_is_expired_after_the_timeout(session: Session) -> None:
    assert not session.is_expired(T0 + 300, 300)  # exactly the timeout: still alive
    assert session.is_expired(T0 + 300.001, 300)


def test_an_open_connection_keeps_a_session_alive(session: Session, clock: FakeClock) -> None:
    session.attach()
    assert not session.is_expired(T0 + 10_000, 300)
    assert session.is_expired(T0 + 10_000, 300, strict=True)
    clock.advance(1)
    session.detach()
    assert not session.is_expired(T0 + 301, 300)  # detaching was activity
    assert session.is_expired(T0 + 302, 300)


def test_activity_postpones_expiry(session: Session, clock: FakeClock) -> None:
    clock.advance(200)
    session.set("k", 1)
    assert not session.is_expired(T0 + 400, 300)
    assert session.is_expired(T0 + 501, 300)


# -- widgets -----------------------------------------------------------------------


def test_add_and_list_widgets(session: Session) -> None:
    a, b = Text("a", key="a"), Text("b", key="b")
    assert session.add_widget(a) is a
    session.add_widget(b)
    assert session.widgets == [a, b]
    assert a.attached and b.attached


def test_adding_the_same_widget_twice_keeps_one(session: Session) -> None:
    a = Text("a")
    session.add_widget(a)
    session.add_widget(a)
    assert session.widgets == [a]


def test_widgets_is_a_copy(session: Session) -> None:
    a = session.add_widget(Text("a"))
    listed = session.widgets
    listed.clear()
    assert session.widgets == [a]


def test_remove_widget_by_object(session: Session) -> None:
    a, b = session.add_widget(Text("a")), session.add_widget(Text("b"))
    assert session.remove_widget(a) is True
    assert session.widgets == [b]
    assert not a.attached
    assert session.remove_widget(a) is False


def test_remove_widget_by_key(session: Session) -> None:
    a = session.add_widget(Text("a", key="greeting"))
    assert session.remove_widget("greeting") is True
    assert session.widgets == []
    assert not a.attached
    assert session.remove_widget("greeting") is False
    assert session.remove_widget("never-there") is False


def test_clear_widgets(session: Session) -> None:
    a, b = session.add_widget(Text("a")), session.add_widget(Text("b"))
    session.clear_widgets()
    assert session.widgets == []
    assert not a.attached and not b.attached


def test_widget_by_key(session: Session) -> None:
    a = session.add_widget(Text("a", key="mine_text"))
    assert session.widget("mine_text") is a
    assert session.get_widget("mine_text") is a
    assert session.widget(a.id) is a  # the generated ID works too
    with pytest.raises(KeyError, match="add_widget"):
        session.widget("other")
    assert session.get_widget("other") is None


def test_factory_methods_add_private_widgets(session: Session) -> None:
    t = session.text("hello", key="t")
    assert session.widgets == [t]
    assert session.widget("t").text == "hello"


def test_widgets_inside_a_container_are_found_and_removed(session: Session) -> None:
    box = session.container()
    inner = box.text("inside", key="inner")
    assert session.widgets == [box]
    assert session.widget("inner") is inner
    assert [w.key for w in session.iter_widgets()] == [box.key, "inner"]
    assert session.remove_widget("inner") is True
    assert session.get_widget("inner") is None
    assert session.widgets == [box]


def test_adding_a_widget_already_in_a_container_does_not_duplicate_it(session: Session) -> None:
    box = session.container()
    inner = box.text("inside", key="inner")
    session.add_widget(inner)
    assert session.widgets == [box]
    assert inner.parent is box
    assert [w.key for w in session.iter_widgets()] == [box.key, "inner"]


def test_a_widget_cannot_be_attached_to_two_sessions(clock: FakeClock) -> None:
    first = Session(new_session_id(), clock=clock)
    second = Session(new_session_id(), clock=clock)
    w = first.add_widget(Text("mine", key="w"))
    with pytest.raises(WidgetError, match="another"):
        second.add_widget(w)
    assert first.widgets == [w]
    assert second.widgets == []
    # Once removed from the first, it may go elsewhere.
    first.remove_widget(w)
    second.add_widget(w)
    assert second.widgets == [w]


# -- isolation ----------------------------------------------------------------------


def test_two_sessions_do_not_share_anything(clock: FakeClock) -> None:
    alice = Session(new_session_id(), clock=clock)
    bob = Session(new_session_id(), clock=clock)
    alice.set("k", "alice")
    bob.set("k", "bob")
    alice.increment("n")
    assert alice.get("k") == "alice"
    assert bob.get("k") == "bob"
    assert bob.get("n") is None
    a_text = alice.add_widget(Text("a", key="label"))
    b_text = bob.add_widget(Text("b", key="label"))
    assert alice.widget("label") is a_text
    assert bob.widget("label") is b_text
    alice.clear()
    alice.clear_widgets()
    assert bob.items() == {"k": "bob"}
    assert bob.widgets == [b_text]
    clock.advance(10)
    alice.touch()
    assert bob.last_accessed_at == T0


# -- observers -------------------------------------------------------------------------


def test_observer_hears_state_changes(session: Session) -> None:
    rec = Recorder()
    session.observe(rec)
    session.set("a", 1)
    session["b"] = 2
    session.delete("a")
    session.delete("a")  # nothing there: nothing to tell
    session.increment("n")
    session.clear()
    assert rec.state == ["a", "b", "a", "n", None]


def test_observer_hears_widget_changes(session: Session) -> None:
    rec = Recorder()
    session.observe(rec)
    t = session.add_widget(Text("a", key="t"))
    t.set_text("b")
    session.remove_widget(t)
    u = session.add_widget(Text("u"))
    session.clear_widgets()
    assert rec.widgets == [(t, "insert"), (t, "update"), (t, "remove"), (u, "insert"),
                           (u, "remove")]


def test_observer_is_called_outside_the_lock(session: Session) -> None:
    reads: list[Any] = []

    class Reader:
        # Reads the session from another thread, as a hub pushing to sockets would.
        def state_changed(self, s: Session, key: str | None) -> None:
            reads.append(run_in_thread(lambda: (s.get("k"), s.items(), s.connections), 2))

        def widget_changed(self, s: Session, widget: Widget, change: str) -> None:
            reads.append(run_in_thread(lambda: (s.widgets, s.get_widget(widget.key)), 2))

    session.observe(Reader())
    session.set("k", 1)
    session.increment("n")
    session.delete("n")
    session.clear()
    w = session.add_widget(Text("x", key="x"))
    w.set_text("y")
    session.remove_widget(w)
    assert len(reads) == 7
    assert reads[0] == (1, {"k": 1}, 0)


def test_no_observer_calls_after_the_session_ended(session: Session) -> None:
    rec = Recorder()
    session.observe(rec)
    assert session.mark_ended() is True
    assert session.mark_ended() is False  # only once
    assert session.ended
    session.set("k", 1)
    session.add_widget(Text("x"))
    assert rec.state == [] and rec.widgets == []


def test_release_drops_state_and_widgets(session: Session) -> None:
    w = session.add_widget(Text("x"))
    session.set("k", 1)
    session.mark_ended()
    session.release()
    assert session.items() == {}
    assert session.widgets == []
    assert not w.attached


def test_repr_does_not_show_the_id(session: Session) -> None:
    assert session.id not in repr(session)
    assert session.id.split("_", 2)[2] not in repr(session)
