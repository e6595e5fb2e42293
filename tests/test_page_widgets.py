"""A session's page of private widgets: found by key and ID without a walk of the page.

Adding many widgets in one callback (``many_messages`` in bench/users: 200
``session.text`` calls) used to walk every widget already on the page for each
new one; these hold what the index must keep true as widgets come and go.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from stgo import Session, WidgetError
from stgo.ids import new_session_id
from stgo.widgets import Container, Text, Widget


@pytest.fixture
def session() -> Session:
    return Session(new_session_id())


def test_adding_n_widgets_walks_the_page_a_number_of_times_linear_in_n(
    session: Session, monkeypatch: pytest.MonkeyPatch,
) -> None:
    steps = 0
    walk = Widget.walk

    def counted(self: Widget) -> Iterator[Widget]:
        nonlocal steps
        for w in walk(self):
            steps += 1
            yield w

    monkeypatch.setattr(Widget, "walk", counted)
    n = 400
    for i in range(n):
        session.text(f"Message {i}", key=f"m{i}")
    # Each add walks the new widget a few times; a walk of the page per add
    # would be n * n / 2 = 80,000 steps.
    assert steps < 10 * n
    assert [w.key for w in session.widgets] == [f"m{i}" for i in range(n)]


def test_a_widget_is_found_by_key_and_by_id_at_the_top_and_in_containers(session: Session) -> None:
    top = session.text("top", key="top")
    box = session.add_widget(Container(key="box"))
    inner = box.add(Text("inner", key="inner"))
    for w in (top, box, inner):
        assert session.get_widget(w.key) is w
        assert session.get_widget(w.id) is w
    assert session.get_widget("nothing") is None
    assert session.get_widget("w" + "0" * 12) is None


def test_a_removed_widget_frees_its_key_and_id(session: Session) -> None:
    box = session.add_widget(Container(key="box"))
    inner = box.add(Text("inner", key="inner"))
    assert session.get_widget(inner.id) is inner  # (cached by ID)
    assert box.remove_child(inner)
    assert session.get_widget("inner") is None
    assert session.get_widget(inner.id) is None
    again = box.add(Text("again", key="inner"))  # the key is free
    assert session.get_widget("inner") is again

    assert session.remove_widget("box")
    assert session.get_widget("box") is None
    assert session.get_widget("inner") is None  # a container takes its children along
    session.text("new", key="inner")
    assert session.get_widget(box.id) is None


def test_keys_stay_unique_across_containers_and_the_top(session: Session) -> None:
    box = session.add_widget(Container(key="box"))
    box.add(Text("inner", key="taken"))
    with pytest.raises(WidgetError, match="taken"):
        session.text("again", key="taken")
    other = Container(key="other")
    other.add(Text("x", key="taken"))  # off the page: nothing to clash with yet
    with pytest.raises(WidgetError, match="taken"):
        session.add_widget(other)
    session.text("top", key="top")
    with pytest.raises(WidgetError, match="top"):
        box.add(Text("y", key="top"))


def test_a_container_filled_off_the_page_brings_its_children(session: Session) -> None:
    box = Container(key="box")
    inner = box.add(Text("inner", key="inner"))
    session.add_widget(box)
    assert session.get_widget("inner") is inner
    assert session.add_widget(box) is box  # already there: not listed twice
    assert session.widgets == [box]


def test_an_id_handed_to_another_widget_finds_the_new_one(session: Session) -> None:
    old = session.text("old", key="a")
    assert session.get_widget(old.id) is old
    session.clear_widgets()
    new = session.text("new", key="a")
    new.id = old.id  # what a redraw does to keep the tab's element (stgo.cluster.redraw)
    assert session.get_widget(old.id) is new


def test_cleared_and_released_pages_are_empty(session: Session) -> None:
    session.text("a", key="a")
    session.clear_widgets()
    assert session.get_widget("a") is None
    session.text("b", key="a")
    session.release()
    assert session.get_widget("a") is None
