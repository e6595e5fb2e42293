"""The richer inputs, driven through stgo.testing: every valid and invalid value."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

import stgo
from stgo import WidgetError
from stgo.testing import AppTester, SessionTester

from .markup import XSS, assert_inert


@pytest.fixture
def tab() -> Any:
    app = stgo.App()
    app.date_input("Day", dt.date(2026, 5, 1), key="day",
                   min_value=dt.date(2026, 1, 1), max_value=dt.date(2026, 12, 31))
    app.date_input("Trip", (dt.date(2026, 1, 1), dt.date(2026, 1, 5)), key="trip")
    app.time_input("Alarm", dt.time(7, 30), key="alarm")
    app.multiselect("Fruit", ["apple", "banana", "cherry"], ["banana"], key="fruit",
                    max_selections=2)
    app.toggle("Dark", key="dark")
    app.color_picker("Colour", "#112233", key="colour")
    app.select_slider("Size", ["S", "M", "L"], "M", key="size")
    app.slider("Price", 0, 10, value=(2, 6), key="price")
    app.slider("Ratio", 0.0, 1.0, value=(0.25, 0.75), key="ratio")
    with AppTester(app) as tester:
        yield tester.new_session()


def refused(tab: SessionTester, key: str, value: Any, reason: str) -> None:
    before = tab.value(key)
    n = len(tab.errors)
    tab.set_value(key, value)
    assert len(tab.errors) == n + 1, f"{value!r} was accepted"
    assert reason in tab.errors[-1]
    assert tab.value(key) == before and key not in tab.state or tab.state[key] == before


def refused_raw(tab: SessionTester, key: str, raw: Any, reason: str) -> None:
    """A frame a browser would never send (hand-written) is refused too."""
    before = tab.value(key)
    tab.send(key, "change", raw)
    assert reason in tab.errors[-1]
    assert tab.value(key) == before


def test_date_input_values(tab: SessionTester) -> None:
    assert tab.value("day") == dt.date(2026, 5, 1)
    tab.set_value("day", dt.date(2026, 7, 4))
    assert tab.state["day"] == dt.date(2026, 7, 4) and not tab.errors
    refused(tab, "day", dt.date(2025, 12, 31), "before the earliest date 2026-01-01")
    refused(tab, "day", dt.date(2027, 1, 1), "after the latest date 2026-12-31")
    refused_raw(tab, "day", "2026-13-01", "is not a date")
    refused_raw(tab, "day", "4 July", "is not a date")
    refused_raw(tab, "day", 20260704, "expected a date")
    refused_raw(tab, "day", None, "expected a date")


def test_date_range_values(tab: SessionTester) -> None:
    assert tab.value("trip") == (dt.date(2026, 1, 1), dt.date(2026, 1, 5))
    tab.set_value("trip", (dt.date(2026, 2, 1), dt.date(2026, 2, 1)))
    assert tab.state["trip"] == (dt.date(2026, 2, 1), dt.date(2026, 2, 1))
    refused(tab, "trip", (dt.date(2026, 3, 2), dt.date(2026, 3, 1)), "is after the end")
    refused_raw(tab, "trip", ["2026-03-01"], "(start, end) pair")
    refused_raw(tab, "trip", "2026-03-01", "(start, end) pair")
    refused_raw(tab, "trip", ["2026-03-01", "soon"], "is not a date")


def test_time_input_values(tab: SessionTester) -> None:
    tab.set_value("alarm", dt.time(6, 45))
    assert tab.state["alarm"] == dt.time(6, 45)
    tab.send("alarm", "change", "23:59:30")
    assert tab.state["alarm"] == dt.time(23, 59, 30)
    refused_raw(tab, "alarm", "24:00", "is not a time of day")
    refused_raw(tab, "alarm", "7:5", "is not a time")
    refused_raw(tab, "alarm", "07:30+01:00", "is not a time")
    refused_raw(tab, "alarm", 730, "expected a time")


def test_multiselect_values(tab: SessionTester) -> None:
    assert tab.value("fruit") == ["banana"]
    tab.set_value("fruit", ["cherry", "apple"])
    assert tab.state["fruit"] == ["apple", "cherry"]   # in the options' order
    tab.set_value("fruit", [])
    assert tab.state["fruit"] == []
    refused(tab, "fruit", ["apple", "banana", "cherry"], "at most 2 options")
    refused_raw(tab, "fruit", [0, 0], "chosen twice")
    refused_raw(tab, "fruit", [7], "no such option")
    refused_raw(tab, "fruit", ["apple"], "option indexes")
    refused_raw(tab, "fruit", 0, "option indexes")
    refused_raw(tab, "fruit", [True], "option indexes")


def test_toggle_and_colour_values(tab: SessionTester) -> None:
    tab.set_value("dark", True)
    assert tab.state["dark"] is True
    refused_raw(tab, "dark", "yes", "expected true or false")
    tab.set_value("colour", "#A0B1C2")
    assert tab.state["colour"] == "#a0b1c2"
    refused(tab, "colour", "red", "is not a colour")
    refused(tab, "colour", "#12345", "is not a colour")
    refused(tab, "colour", "#1234567", "is not a colour")
    refused_raw(tab, "colour", 0x112233, "expected a colour")


def test_select_slider_values(tab: SessionTester) -> None:
    assert tab.value("size") == "M"
    tab.set_value("size", "L")
    assert tab.state["size"] == "L"
    refused_raw(tab, "size", 3, "no option number 3")
    refused_raw(tab, "size", -1, "no option number -1")
    refused_raw(tab, "size", "S", "expected an option index")
    band = tab.tester.app.select_slider("Band", ["S", "M", "L", "XL"], ("M", "L"), key="band")
    assert tab.value("band") == ("M", "L")
    tab.set_value("band", ("S", "XL"))
    assert tab.state["band"] == ("S", "XL")
    refused(tab, "band", ("XL", "S"), "'XL' comes after 'S'")
    refused_raw(tab, "band", [0, 9], "no option number 9")
    refused_raw(tab, "band", 1, "two option indexes")
    assert band.client_value(tab.session) == [0, 3]
    with pytest.raises(WidgetError):
        stgo.SelectSlider("Size", [])
    with pytest.raises(WidgetError):
        stgo.SelectSlider("Size", ["S"], "XXL")


def test_range_slider_values(tab: SessionTester) -> None:
    assert tab.value("price") == (2, 6)
    tab.set_value("price", (0, 10))
    assert tab.state["price"] == (0, 10)
    tab.set_value("price", (3, 3))
    assert tab.state["price"] == (3, 3)
    refused(tab, "price", (7, 4), "the low end 7 is above the high end 4")
    refused(tab, "price", (-1, 4), "below the minimum 0")
    refused(tab, "price", (1, 11), "above the maximum 10")
    refused(tab, "price", (1.5, 4), "whole number")
    refused_raw(tab, "price", 5, "(low, high) pair")
    refused_raw(tab, "price", [1, 2, 3], "(low, high) pair")
    tab.set_value("ratio", (0.1, 0.2))
    assert tab.state["ratio"] == (0.1, 0.2)
    assert isinstance(stgo.App().slider("R", 0, 10, value=(1, 2)), stgo.RangeSlider)


def test_wire_values_follow_state_pushes(tab: SessionTester) -> None:
    """session.set() on a new input's key pushes the value as its element takes it."""
    widgets = {key: tab.find(key) for key in ("day", "trip", "fruit", "price", "size")}
    tab.session.set("day", dt.date(2026, 8, 9))
    tab.session.set("trip", (dt.date(2026, 1, 2), dt.date(2026, 1, 3)))
    tab.session.set("fruit", ["cherry"])
    tab.session.set("price", (4, 5))
    tab.session.set("size", "S")
    pushed = {op["id"]: op["value"] for m in tab.messages if m["type"] == "patch"
              for op in m["ops"] if op["op"] == "value"}
    assert pushed[widgets["day"].id] == "2026-08-09"
    assert pushed[widgets["trip"].id] == ["2026-01-02", "2026-01-03"]
    assert pushed[widgets["fruit"].id] == [2]
    assert pushed[widgets["price"].id] == [4, 5]
    assert pushed[widgets["size"].id] == 0


def test_bad_initial_values_are_the_programs_mistake() -> None:
    with pytest.raises(WidgetError):
        stgo.DateInput("Day", dt.date(2020, 1, 1), min_value=dt.date(2021, 1, 1))
    with pytest.raises(WidgetError):
        stgo.DateInput("Day", min_value=dt.date(2021, 1, 2), max_value=dt.date(2021, 1, 1))
    with pytest.raises(WidgetError):
        stgo.Multiselect("Pick", ["a"], ["b"])
    with pytest.raises(WidgetError):
        stgo.Multiselect("Pick", "abc")
    with pytest.raises(WidgetError):
        stgo.RangeSlider("Range", 0, 10, (6, 2))
    with pytest.raises(WidgetError):
        stgo.ColorPicker("Colour", "blue")
    with pytest.raises(WidgetError):
        stgo.TimeInput("When", step=0)
    # Today, clamped into the bounds, when no date is given.
    day = stgo.DateInput("Day", min_value=dt.date(2000, 1, 1), max_value=dt.date(2000, 1, 31),
                         today=lambda: dt.date(2026, 1, 1))
    assert day.default == dt.date(2000, 1, 31)


def test_new_inputs_escape_what_they_show() -> None:
    app = stgo.App()
    widgets = [
        app.date_input(XSS), app.date_input(XSS, (dt.date(2026, 1, 1), dt.date(2026, 1, 2))),
        app.time_input(XSS), app.multiselect(XSS, [XSS, "b"], [XSS]), app.toggle(XSS),
        app.color_picker(XSS), app.select_slider(XSS, [XSS, "b"]),
        app.slider(XSS, value=(1, 2)),
    ]
    for widget in widgets:
        assert_inert(widget.render(None))
    app.stop()
