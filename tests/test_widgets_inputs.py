"""Input widgets: DOM the client relies on, escaping, refusing bad client values."""

from __future__ import annotations

import math
import re
from typing import Any

import pytest

import stgo
from stgo import App, ProtocolError, Session, WidgetError
from stgo.widgets.base import InputWidget, Widget

from .markup import XSS, Node, assert_inert, recorded


def root_of(widget: Widget, state: Any = None) -> Node:
    return assert_inert(widget.render(state)).children[0]


def element(widget: Widget, state: Any = None) -> Node:
    """The one interactive element, after checking its label is tied to it."""
    root = root_of(widget, state)
    found = [n for n in root.iter() if "data-event" in n.attrs]
    assert len(found) == 1, found
    el = found[0]
    labels = [n for n in root.find_all("label") if n.attrs.get("for") == el.attrs["id"]]
    assert len(labels) == 1
    return el


def session_with(**state: Any) -> Session:
    session = Session("session_1_test")
    for key, value in state.items():
        session.set(key, value)
    return session


# -- button -----------------------------------------------------------------------


def test_button_dom_and_click_value() -> None:
    clicks: list[Any] = []
    button = stgo.Button(XSS, on_click=lambda s, e, v: clicks.append(v))
    el = root_of(button).find_all("button")[0]
    assert el.attrs["data-event"] == "click"
    assert el.attrs["type"] == "button"
    assert el.all_text() == XSS
    assert button.coerce("click", "anything") is True
    with pytest.raises(ProtocolError):
        button.coerce("change", True)
    assert len(button.handlers("click")) == 1


def test_button_set_label_notifies() -> None:
    button = stgo.Button("a")
    rec = recorded(button)
    button.set_label("b")
    assert rec.kinds() == ["update"]
    assert root_of(button).all_text() == "b"


# -- text input and text area -------------------------------------------------------


def test_text_input_dom_escapes_label_placeholder_help_and_value() -> None:
    widget = stgo.TextInput(XSS, placeholder=XSS, help=XSS, key="name")
    el = element(widget, session_with(name=XSS))
    assert el.tag == "input" and el.attrs["type"] == "text"
    assert el.attrs["data-event"] == "change"
    assert el.attrs["value"] == XSS
    assert el.attrs["placeholder"] == XSS
    label = root_of(widget).find_all("label")[0]
    assert label.all_text() == XSS and label.attrs["title"] == XSS


def test_text_input_password_and_disabled() -> None:
    el = element(stgo.TextInput("p", password=True, disabled=True))
    assert el.attrs["type"] == "password" and "disabled" in el.attrs


def test_text_input_refuses_non_text_and_long_text() -> None:
    widget = stgo.TextInput("t", max_chars=3)
    assert widget.coerce("change", "abc") == "abc"
    for bad in (3, None, ["a"], True, "abcd"):
        with pytest.raises(ProtocolError):
            widget.coerce("change", bad)


def test_text_area_dom_and_value_from_state() -> None:
    widget = stgo.TextArea(XSS, "start", height=120, placeholder=XSS, key="notes")
    el = element(widget, session_with(notes=f"line1\n{XSS}"))
    assert el.tag == "textarea" and el.attrs["data-event"] == "change"
    assert el.all_text() == f"line1\n{XSS}"
    assert el.attrs["data-stgo-style"] == "height: 120px"
    assert element(widget).all_text() == "start"
    with pytest.raises(ProtocolError):
        widget.coerce("change", 1)


# -- checkbox -----------------------------------------------------------------------


def test_checkbox_dom_and_values() -> None:
    widget = stgo.Checkbox(XSS, key="ok")
    el = element(widget)
    assert el.attrs["type"] == "checkbox" and el.attrs["data-event"] == "change"
    assert "checked" not in el.attrs
    assert "checked" in element(widget, session_with(ok=True)).attrs
    assert widget.coerce("change", True) is True
    assert widget.coerce("change", False) is False
    for bad in (1, 0, "true", None):
        with pytest.raises(ProtocolError):
            widget.coerce("change", bad)


def test_checkbox_bad_initial_value_is_a_widget_error() -> None:
    with pytest.raises(WidgetError, match="initial value"):
        stgo.Checkbox("c", 1)  # type: ignore[arg-type]


# -- number input -------------------------------------------------------------------


def test_number_input_int_mode() -> None:
    widget = stgo.NumberInput(XSS, 5, min_value=0, max_value=10)
    assert widget.is_float is False and widget.step == 1
    el = element(widget)
    assert el.attrs["type"] == "number" and el.attrs["data-event"] == "change"
    assert (el.attrs["value"], el.attrs["min"], el.attrs["max"], el.attrs["step"]) == (
        "5", "0", "10", "1")
    assert widget.coerce("change", 7) == 7
    whole = widget.coerce("change", 7.0)
    assert whole == 7 and type(whole) is int
    for bad in (2.5, True, "3", None, 11, -1, math.nan, math.inf, [1]):
        with pytest.raises(ProtocolError):
            widget.coerce("change", bad)


def test_number_input_float_mode() -> None:
    widget = stgo.NumberInput("f", 0.5, min_value=0, max_value=1)
    assert widget.is_float is True and widget.step == 0.01
    value = widget.coerce("change", 1)
    assert value == 1.0 and type(value) is float
    assert element(widget).attrs["min"] == "0.0"
    for bad in (1.5, False, "0.5"):
        with pytest.raises(ProtocolError):
            widget.coerce("change", bad)


def test_number_input_defaults_and_misuse() -> None:
    assert stgo.NumberInput("n").default == 0
    assert stgo.NumberInput("n", min_value=3).default == 3
    with pytest.raises(WidgetError):
        stgo.NumberInput("n", 20, max_value=10)
    with pytest.raises(WidgetError):
        stgo.NumberInput("n", min_value=5, max_value=1)
    with pytest.raises(WidgetError):
        stgo.NumberInput("n", step=0)
    with pytest.raises(WidgetError):
        stgo.NumberInput("n", min_value="1")  # type: ignore[arg-type]


# -- slider -------------------------------------------------------------------------


def test_slider_dom_has_range_and_output() -> None:
    widget = stgo.Slider(XSS, 0, 10, 4, key="s")
    root = root_of(widget, session_with(s=6))
    el = element(widget, session_with(s=6))
    assert el.attrs["type"] == "range" and el.attrs["data-event"] == "change"
    assert (el.attrs["min"], el.attrs["max"], el.attrs["step"], el.attrs["value"]) == (
        "0", "10", "1", "6")
    output = root.find_all("output")[0]
    assert output.attrs["for"] == el.attrs["id"] and output.all_text() == "6"


def test_slider_defaults_and_validation() -> None:
    ints = stgo.Slider("s")
    assert (ints.min_value, ints.max_value, ints.default, ints.is_float) == (0, 100, 0, False)
    floats = stgo.Slider("f", 0.0, 1.0)
    assert (floats.max_value, floats.step, floats.default) == (1.0, 0.01, 0.0)
    assert floats.coerce("change", 0.25) == 0.25
    for bad in (1.5, -0.1, True, "0.3", None):
        with pytest.raises(ProtocolError):
            floats.coerce("change", bad)
    with pytest.raises(ProtocolError):
        ints.coerce("change", 0.5)
    with pytest.raises(WidgetError):
        stgo.Slider("s", 5, 5)


def test_slider_takes_an_off_step_initial_value_as_streamlit_does() -> None:
    widget = stgo.Slider("Separation", 0.7, 2.0, 0.7885)
    assert widget.default == 0.7885
    assert element(widget).attrs["value"] == "0.7885"
    # The app may set it off-step too; a browser's value must be on a step (its
    # element keeps it there), except the initial value a number field sends back.
    assert widget.program_value(1.2345) == 1.2345
    assert widget.coerce("change", 0.79) == 0.79 and widget.coerce("change", 0.7885) == 0.7885
    with pytest.raises(ProtocolError, match="not on a step"):
        widget.coerce("change", 0.795)
    field = stgo.NumberInput("Rate", 0.125, min_value=0.0, max_value=1.0, step=0.01)
    assert field.coerce("change", 0.125) == 0.125
    pair = stgo.RangeSlider("Band", 0.0, 1.0, (0.105, 0.9))
    assert pair.default == (0.105, 0.9)
    # Still errors: out of range, the wrong type, ends the wrong way round.
    for args in ((0.7, 2.0, 2.1), (0.7, 2.0, 0.5)):
        with pytest.raises(WidgetError, match=r"bad initial value for Slider 'Separation': "
                                              r"\S+ is (above the maximum|below the minimum)"):
            stgo.Slider("Separation", *args)
    with pytest.raises(WidgetError, match="RangeSlider 'Band'.*above the high end"):
        stgo.RangeSlider("Band", 0.0, 1.0, (0.9, 0.1))


@pytest.mark.parametrize("build, name", [
    (lambda: stgo.Slider("Separation", 0.7, 2.0, 3.0), "Slider 'Separation'"),
    (lambda: stgo.Slider("Separation", 2, 1), "Slider 'Separation'"),
    (lambda: stgo.Slider("Separation", 0, 1, step=0, key="sep"),
     "Slider 'Separation' (key 'sep')"),
    (lambda: stgo.NumberInput("Count", min_value="1"), "NumberInput 'Count'"),
    (lambda: stgo.TextArea("Notes", max_chars=0), "TextArea 'Notes'"),
    (lambda: stgo.Checkbox("Agree", 1), "Checkbox 'Agree'"),
    (lambda: stgo.Selectbox("Pick", ["a"], index=5), "Selectbox 'Pick'"),
    (lambda: stgo.RangeSlider("Band", 0, 10, 3), "RangeSlider 'Band'"),
    (lambda: stgo.Multiselect("Tags", ["a"], max_selections=0), "Multiselect 'Tags'"),
    (lambda: stgo.FileUploader("Data", max_size=0), "FileUploader 'Data'"),
    (lambda: stgo.Slider("Separation", key=""), "Slider 'Separation'"),
])
def test_input_misuse_names_the_widget_by_its_label(build: Any, name: str) -> None:
    with pytest.raises(WidgetError) as caught:
        build()
    message = str(caught.value)
    assert name in message and message.count("Separation") <= 1, message
    assert not re.search(r"'w[0-9a-f]{12}'", message), message  # never the generated id


def test_misuse_after_construction_names_the_label() -> None:
    widget = stgo.Slider("Volume", 0, 10, shared=True)
    with pytest.raises(WidgetError, match=r"bad value for Slider 'Volume': 11 is above"):
        widget.set_value(11)
    private = stgo.Slider("Volume", 0, 10)
    with pytest.raises(WidgetError, match=r"<Slider 'Volume'> keeps one value per session: "
                                          r"use session.set\(widget.key, value\)"):
        private.set_value(3)
    app = App()
    form = app.form("settings")
    with pytest.raises(WidgetError, match=r"<Checkbox 'Loud' \(key 'loud'\)> is in form"):
        form.add(stgo.Checkbox("Loud", key="loud", on_change=lambda s, e, v: None))


# -- selectbox and radio ------------------------------------------------------------


def test_selectbox_dom_escapes_options_and_selects_by_index() -> None:
    widget = stgo.Selectbox(XSS, ["a", XSS, "c"], key="pick")
    el = element(widget, session_with(pick=XSS))
    assert el.tag == "select" and el.attrs["data-event"] == "change"
    options = el.find_all("option")
    assert [o.all_text() for o in options] == ["a", XSS, "c"]
    assert [o.attrs["value"] for o in options] == ["0", "1", "2"]
    assert ["selected" in o.attrs for o in options] == [False, True, False]


def test_selectbox_value_is_the_option_client_value_the_index() -> None:
    widget = stgo.Selectbox("s", ["a", "b", "c"], 1, key="pick")
    assert widget.default == "b"
    session = session_with(pick="c")
    assert widget.value_for(session) == "c"
    assert widget.client_value(session) == 2
    assert widget.client_value(None) == 1
    assert widget.coerce("change", 2) == "c"
    assert widget.coerce("change", "a") == "a"  # an equal option is taken too
    for bad in (3, -1, True, None, "zzz", 1.5, [0]):
        with pytest.raises(ProtocolError):
            widget.coerce("change", bad)


def test_choice_keeps_bool_and_int_options_apart() -> None:
    widget = stgo.Selectbox("s", [1, True, 0, False], value=True)
    assert widget.client_value(None) == 1
    assert widget.coerce("change", 3) is False


def test_selectbox_format_func_and_value_argument() -> None:
    widget = stgo.Selectbox("s", [1, 2], value=2, format_func=lambda n: f"#{n} {XSS}")
    options = element(widget).find_all("option")
    assert [o.all_text() for o in options] == [f"#1 {XSS}", f"#2 {XSS}"]
    assert "selected" in options[1].attrs
    with pytest.raises(WidgetError):
        stgo.Selectbox("s", [1, 2], value=3)
    with pytest.raises(WidgetError):
        stgo.Selectbox("s", [1, 2], 5)
    with pytest.raises(WidgetError):
        stgo.Selectbox("s", "abc")


def test_set_options_notifies_and_stale_values_fall_back() -> None:
    widget = stgo.Selectbox("s", ["a", "b"], key="pick")
    rec = recorded(widget)
    session = session_with(pick="b")
    widget.set_options(["x", "y", XSS], index=2)
    assert rec.kinds() == ["update"]
    assert widget.options == ["x", "y", XSS]
    assert widget.value_for(session) == XSS  # "b" is gone: the new default
    assert widget.client_value(session) == 2
    assert [o.all_text() for o in element(widget, session).find_all("option")] == [
        "x", "y", XSS]
    with pytest.raises(WidgetError):
        widget.set_options(["only"], index=3)
    assert widget.options == ["x", "y", XSS]


def test_radio_dom_fieldset_legend_and_labelled_options() -> None:
    widget = stgo.Radio(XSS, ["a", XSS], key="r", horizontal=True)
    root = root_of(widget, session_with(r=XSS))
    fieldset = root.find_all("fieldset")[0]
    assert "stgo-horizontal" in fieldset.classes()
    assert fieldset.find_all("legend")[0].all_text() == XSS
    radios = root.find_all("input")
    assert [r.attrs["type"] for r in radios] == ["radio", "radio"]
    assert [r.attrs["value"] for r in radios] == ["0", "1"]
    assert {r.attrs["name"] for r in radios} == {widget.id}
    assert all(r.attrs["data-event"] == "change" for r in radios)
    assert ["checked" in r.attrs for r in radios] == [False, True]
    labels = {lab.attrs["for"]: lab.all_text() for lab in root.find_all("label")}
    assert labels == {radios[0].attrs["id"]: "a", radios[1].attrs["id"]: XSS}
    assert widget.coerce("change", 0) == "a"
    with pytest.raises(ProtocolError):
        widget.coerce("change", 2)


# -- shared values, labels, handlers -----------------------------------------------


def test_shared_value_notifies_value_and_refuses_bad_values() -> None:
    widget = stgo.Slider("s", 0, 10, shared=True)
    rec = recorded(widget)
    widget.set_value(3)
    assert rec.kinds() == ["value"]
    assert widget.value == 3 and widget.client_value(session_with()) == 3
    with pytest.raises(WidgetError):
        widget.set_value(30)
    assert widget.value == 3


def test_shared_choice_pushes_the_index() -> None:
    widget = stgo.Radio("r", ["a", "b"], shared=True)
    recorded(widget)
    widget.set_value("b")
    assert widget.client_value(None) == 1


def test_per_session_input_refuses_set_value() -> None:
    with pytest.raises(WidgetError, match="session.set"):
        stgo.Checkbox("c").set_value(True)


def test_apply_stores_in_session_state() -> None:
    widget = stgo.Selectbox("s", ["a", "b"], key="pick")
    session = session_with()
    widget.apply(session, widget.coerce("change", 1))
    assert session.get("pick") == "b"


@pytest.mark.parametrize(
    "widget",
    [stgo.TextInput("a"), stgo.TextArea("a"), stgo.Checkbox("a"), stgo.NumberInput("a"),
     stgo.Slider("a"), stgo.Selectbox("a", [1]), stgo.Radio("a", [1])],
    ids=lambda w: type(w).__name__,
)
def test_every_input_set_label_and_disabled_notify(widget: InputWidget) -> None:
    rec = recorded(widget)
    widget.set_label(XSS)
    widget.set_disabled()
    assert rec.kinds() == ["update", "update"]
    root = root_of(widget)
    assert XSS in root.all_text()
    assert [n for n in root.iter() if "disabled" in n.attrs]


def test_on_change_kwarg_and_decorator() -> None:
    seen: list[Any] = []
    widget = stgo.Checkbox("c", on_change=lambda s, e, v: seen.append(v))

    @widget.on_change
    def second(session: Any, event: str, value: Any) -> None:
        seen.append(("second", value))

    for handler in widget.handlers("change"):
        handler(None, "change", True)
    assert seen == [True, ("second", True)]
    with pytest.raises(WidgetError):
        widget.on("click", second)


# -- factories ----------------------------------------------------------------------

INPUT_FACTORIES: list[tuple[str, tuple[Any, ...], dict[str, Any], type[Widget]]] = [
    ("button", ("b",), {}, stgo.Button),
    ("text_input", ("t", "v"), {}, stgo.TextInput),
    ("text_area", ("t", "v"), {"height": 50}, stgo.TextArea),
    ("number_input", ("n", 1), {"min_value": 0}, stgo.NumberInput),
    ("checkbox", ("c", True), {}, stgo.Checkbox),
    ("slider", ("s", 0, 5, 2), {"step": 1}, stgo.Slider),
    ("selectbox", ("s", ["a", "b"], 1), {}, stgo.Selectbox),
    ("radio", ("r", ["a", "b"]), {"horizontal": True}, stgo.Radio),
]


@pytest.mark.parametrize(("name", "args", "kwargs", "cls"), INPUT_FACTORIES)
def test_input_factories_on_app_session_and_containers(
    name: str, args: tuple[Any, ...], kwargs: dict[str, Any], cls: type[Widget]
) -> None:
    app = App()
    session = Session("session_1_test")
    col = app.columns(2)[1]
    owners: list[Any] = [app, session, col, app.sidebar]
    for i, owner in enumerate(owners):
        # Keys are unique on a page: the App, its columns and sidebar are one.
        widget = getattr(owner, name)(*args, key=f"k-{name}-{i}", **kwargs)
        assert type(widget) is cls
        contents = owner.children if isinstance(owner, stgo.Group) else owner.widgets
        assert contents[-1] is widget


# -- over a real socket -----------------------------------------------------------------


def test_choice_speaks_indexes_on_the_wire(serve: Any, client_for: Any) -> None:
    """The client sends an index; state holds the option; a push sends the index back."""
    app = App()
    changes: list[Any] = []
    pick = app.selectbox("Pick", ["a", "b", "c"], key="pick",
                         on_change=lambda s, e, v: changes.append(v))
    client = client_for(serve(app))
    sock = client.connect()
    session = app.sessions.get(client.session_id)
    assert session is not None

    reply = sock.ack(sock.event(pick.id, "change", 2))
    assert reply["type"] == "patch"
    assert session.get("pick") == "c" and changes == ["c"]

    for bad in (True, 7, "zzz", None):
        reply = sock.ack(sock.event(pick.id, "change", bad))
        assert reply["type"] == "error", bad
    assert session.get("pick") == "c" and changes == ["c"]

    session.set("pick", "b")
    msg = sock.recv_until(lambda m: m["type"] == "patch" and m.get("ops"))
    assert {"op": "value", "id": pick.id, "value": 1} in msg["ops"]


def test_a_button_takes_on_change_as_on_click_and_can_be_disabled() -> None:
    from stgo.widgets.inputs import Button

    button = Button("Go")
    seen: list[str] = []
    changes: list[str] = []
    button.on_change(lambda session, event, value: seen.append(event))
    assert button.handlers("click")
    button.attach(None, lambda widget, change: changes.append(change))
    button.set_disabled()
    assert button.disabled and "disabled" in button.render() and changes == ["update"]
    button.set_disabled(False)
    assert "disabled" not in button.render()


# -- misuse caught when the page is built (issue 10, "found by a new user") -------------


def test_two_widgets_with_one_key_on_a_page_raise_widget_error() -> None:
    app = App()
    app.text_input("Name", key="name")
    with pytest.raises(WidgetError, match="'name' is already used"):
        app.text_input("Name again", key="name")
    with pytest.raises(WidgetError, match="'name'"):
        app.container().text("inside", key="name")  # the global tree is one page
    with pytest.raises(WidgetError, match="'name'"):
        app.sidebar.checkbox("Sidebar", key="name")
    box = stgo.Container()
    box.text("a", key="twice")
    box.text("b", key="twice")  # not on a page yet: checked when it joins one
    with pytest.raises(WidgetError, match="'twice'"):
        app.add_widget(box)
    assert [w.key for w in app.widgets].count("name") == 1


def test_a_session_page_includes_the_globals_keys() -> None:
    app = App()
    app.text_input("Name", key="name")
    session = app.sessions.create()
    try:
        with pytest.raises(WidgetError, match="'name'"):
            session.text_input("Mine", key="name")
        session.text("mine", key="mine")
        with pytest.raises(WidgetError, match="'mine'"):
            session.container().text("again", key="mine")
        assert session.get_widget("mine") is not None
    finally:
        app.sessions.delete(session.id)


class Handlers:
    def method(self, session: Any, event: str, value: Any) -> None: ...

    def __call__(self, *args: Any) -> None: ...


def test_handlers_are_checked_when_registered() -> None:
    import functools

    button = stgo.Button("Go")
    with pytest.raises(WidgetError, match="not callable"):
        button.on_click("clicked")  # type: ignore[arg-type]
    with pytest.raises(WidgetError, match=r"def \w+\(session, event, value\)"):
        button.on_click(lambda session: None)  # type: ignore[arg-type,misc]
    with pytest.raises(WidgetError):
        button.on_click(lambda session, event, value, extra: None)  # type: ignore[arg-type,misc]
    # What can take (session, event, value) is accepted.
    button.on_click(Handlers().method)
    button.on_click(Handlers())
    button.on_click(lambda *args: None)
    button.on_click(lambda session, event, value, extra=0: None)
    button.on_click(functools.partial(lambda tag, session, event, value: None, "t"))
    assert len(button.handlers("click")) == 5
    app = App()
    with pytest.raises(WidgetError, match="on_session_end"):
        app.on_session_end(lambda session: None)  # type: ignore[arg-type,misc]


def test_session_set_on_an_inputs_key_is_validated_like_user_input() -> None:
    app = App()
    app.number_input("Age", 30, min_value=0, max_value=150, key="age")
    app.radio("Pick", ["a", "b"], key="pick")
    session = app.sessions.create()
    try:
        session.text_input("Mine", key="mine_text", max_chars=5)
        session.set("age", 40.0)  # converted: an int input
        assert session.get("age") == 40 and type(session.get("age")) is int
        with pytest.raises(WidgetError, match="age"):
            session.set("age", "forty")
        with pytest.raises(WidgetError, match="above the maximum"):
            session.set("age", 200)
        with pytest.raises(WidgetError, match="not one of the options"):
            session.set("pick", "z")
        with pytest.raises(WidgetError, match="at most 5"):
            session.set("mine_text", "too long")
        assert session.get("age") == 40 and not session.has("pick")
        session.set("anything", object())  # a key of no input: any value
    finally:
        app.sessions.delete(session.id)


@pytest.mark.parametrize("cls", [stgo.Radio, stgo.Selectbox])
def test_value_none_or_index_none_means_nothing_chosen(cls: type[Any]) -> None:
    for widget in (cls("Pick", ["a", "b"], value=None), cls("Pick", ["a", "b"], index=None)):
        assert widget.default is None and widget.client_value(None) == -1
        assert "checked" not in widget.render() and " selected>" not in widget.render()
    chosen = cls("Pick", ["a", "b"])
    assert chosen.default == "a"  # without either, the first option as before


def test_text_inputs_have_a_default_max_chars() -> None:
    from stgo.widgets.inputs import DEFAULT_MAX_CHARS, DEFAULT_MAX_CHARS_AREA

    field, area = stgo.TextInput("t"), stgo.TextArea("a")
    assert field.max_chars == DEFAULT_MAX_CHARS and area.max_chars == DEFAULT_MAX_CHARS_AREA
    with pytest.raises(ProtocolError, match="at most"):
        field.coerce("change", "x" * (DEFAULT_MAX_CHARS + 1))
    assert stgo.TextInput("t", max_chars=None).coerce("change", "x" * 10**6)
