"""Forms, and handlers that learn which widget fired, through stgo.testing."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

import stgo
from stgo import WidgetError
from stgo.testing import AppTester

from .markup import XSS, assert_inert


def signup_app(clear: bool = False) -> tuple[stgo.App, list[dict[str, Any]]]:
    app = stgo.App()
    form = app.form("signup", clear_on_submit=clear)
    form.text_input("Name", key="name", max_chars=10)
    form.number_input("Age", 30, min_value=18, key="age")
    form.date_input("Start", dt.date(2026, 1, 1), key="start")
    form.multiselect("Topics", ["a", "b"], key="topics")
    form.submit_button("Sign up")
    app.text_input("Outside", key="outside")
    got: list[dict[str, Any]] = []

    @form.on_submit
    def signed(session: stgo.Session, values: dict[str, Any]) -> None:
        got.append(values)
        session.set("greeting", f"hi {values['name']}")

    return app, got


def test_a_submit_applies_every_value_in_one_batch_and_runs_on_submit() -> None:
    app, got = signup_app()
    with AppTester(app) as tester:
        tab = tester.new_session()
        other = tab.new_tab()
        messages = tab.submit("signup", {"Name": "Ada", "age": 36,
                                         "start": dt.date(2026, 3, 1), "topics": ["b"]})
        values = {"name": "Ada", "age": 36, "start": dt.date(2026, 3, 1), "topics": ["b"]}
        assert got == [values]
        assert {k: tab.state[k] for k in values} == values
        assert tab.state["greeting"] == "hi Ada"
        # One message, acknowledged, carrying every field's new value.
        assert len(messages) == 1 and messages[0]["ack"] == 1
        assert len([op for op in messages[0]["ops"] if op["op"] == "value"]) == 4
        # The session's other tab hears of it too (its client keeps any draft).
        assert other.messages[-1]["type"] == "patch"


def test_one_bad_value_refuses_the_whole_submit() -> None:
    app, got = signup_app()
    with AppTester(app) as tester:
        tab = tester.new_session()
        tab.submit("signup", {"name": "a very long name", "age": 12, "topics": ["a"]})
        assert got == [] and tab.state == {}
        assert tab.errors == ["form 'signup' not submitted: Name: at most 10 characters; "
                              "Age: 12 is below the minimum 18"]
        form = tab.find("signup")
        ids = {w.key: w.id for w in form.inputs()}
        for frame in ({ids["topics"]: [5]}, {"w-nope": 1}, [1, 2], {ids["start"]: "tomorrow"}):
            tab.send(form, "submit", frame)
            assert got == [] and tab.state == {}
        assert len(tab.errors) == 5
        assert "no input 'w-nope'" in tab.errors[2]
        assert "expected an object" in tab.errors[3]


def test_the_tester_keeps_typing_in_the_tab_until_submit_like_a_browser() -> None:
    app, got = signup_app()
    with AppTester(app) as tester:
        tab = tester.new_session()
        assert tab.type("Name", "Ann") == [] and tab.set_value("topics", ["a"]) == []
        assert tab.state == {} and got == []
        messages = tab.click("Sign up")
        assert got == [{"name": "Ann", "age": 30, "start": dt.date(2026, 1, 1), "topics": ["a"]}]
        assert messages[-1]["ack"] == 1
        tab.type("Age", 17)
        tab.click("Sign up")
        assert "Age: 17 is below the minimum 18" in tab.errors[-1] and len(got) == 1


def test_a_forms_inputs_refuse_their_own_change_events() -> None:
    app, got = signup_app()
    with AppTester(app) as tester:
        tab = tester.new_session()
        tab.send("name", "change", "Sneaky")
        assert "is in a form" in tab.errors[-1]
        assert "name" not in tab.state
        tab.set_value("Outside", "fine")       # inputs outside forms are unaffected
        assert tab.state["outside"] == "fine"
        tab.send("Sign up", "click", True)     # a bare click event submits nothing
        assert "submits its form" in tab.errors[-1] and got == []


def test_clear_on_submit_puts_the_fields_back() -> None:
    app, got = signup_app(clear=True)
    with AppTester(app) as tester:
        tab = tester.new_session()
        tab.submit("signup", {"name": "Bo", "age": 40, "topics": ["a", "b"]})
        assert got[0]["name"] == "Bo" and got[0]["topics"] == ["a", "b"]
        assert tab.value("name") == "" and tab.value("age") == 30
        assert tab.value("topics") == []
        # A refused submit clears nothing.
        tab.session.set("name", "kept")
        tab.submit("signup", {"age": 1})
        assert tab.value("name") == "kept"


def test_fields_left_out_keep_their_value_and_shared_inputs_are_set_once() -> None:
    app = stgo.App()
    form = app.form("settings")
    shared = form.slider("Volume", 0, 10, 5, key="volume", shared=True)
    form.checkbox("Mine", key="mine")
    form.submit_button()
    with AppTester(app) as tester:
        alice, bob = tester.new_session(), tester.new_session()
        alice.send(form, "submit", {shared.id: 8})
        assert shared.value == 8 and bob.value("volume") == 8
        assert "mine" not in alice.state


def test_form_misuse_is_refused() -> None:
    app = stgo.App()
    with pytest.raises(WidgetError):
        app.form("")
    form = app.form("f")
    with pytest.raises(WidgetError):
        form.form("inner")
    with pytest.raises(WidgetError):
        form.on_submit("not callable")  # type: ignore[arg-type]
    with pytest.raises(WidgetError, match="use @form.on_submit"):
        form.text_input("Name", on_change=lambda session, event, value: None)
    assert_inert(app.form(XSS).render(None))
    app.stop()


def test_submit_button_handlers_run_after_the_forms() -> None:
    app = stgo.App()
    form = app.form("f")
    form.text_input("Name", key="name")
    order: list[str] = []
    form.on_submit(lambda session, values: order.append(f"form {values}"))
    button = form.submit_button("Go")
    button.on_click(lambda session, event, value: order.append(f"button {event.widget.key}"))
    with AppTester(app) as tester:
        tester.new_session().submit(form, {"name": "x"})
    assert order == ["form {'name': 'x'}", "button f"]


# -- handlers that know their widget ---------------------------------------------------


def test_one_handler_serves_a_list_of_rows_through_event_widget() -> None:
    app = stgo.App()
    done: list[str] = []

    def finish(session: stgo.Session, event: stgo.Event, value: Any) -> None:
        assert event == "click" and event.name == "click"   # still the event's name
        done.append(event.widget.key)

    for task in ("wash", "cook", "read"):
        app.button(f"Done: {task}", key=f"done-{task}", on_click=finish)
    with AppTester(app) as tester:
        tab = tester.new_session()
        tab.click("done-cook")
        tab.click("Done: read")
    assert done == ["done-cook", "done-read"]


def test_args_and_kwargs_are_passed_after_the_value() -> None:
    app = stgo.App()
    seen: list[Any] = []

    def remove(session: stgo.Session, event: str, value: Any, row: int, *, why: str) -> None:
        seen.append((row, why, value))

    for row in range(3):
        app.button(f"Remove {row}", on_click=remove, args=(row,), kwargs={"why": "done"})
    box = app.checkbox("Pick", key="pick", on_change=remove, args=(9,), kwargs={"why": "pick"})

    @box.on_change(args=(10,), kwargs={"why": "decorated"})
    def also(session: stgo.Session, event: str, value: Any, row: int, *, why: str) -> None:
        seen.append((row, why, value))

    with AppTester(app) as tester:
        tab = tester.new_session()
        tab.click("Remove 2")
        tab.set_value("pick", True)
    assert seen == [(2, "done", True), (9, "pick", True), (10, "decorated", True)]


def test_old_style_handlers_still_work() -> None:
    app = stgo.App()
    seen: list[Any] = []
    name = app.text_input("Name", key="name")
    name.on_change(lambda session, event, value: seen.append((event, value, type(event))))
    with AppTester(app) as tester:
        tester.new_session().type("Name", "Zoe")
    assert seen[0][:2] == ("change", "Zoe")
    assert issubclass(seen[0][2], str)
