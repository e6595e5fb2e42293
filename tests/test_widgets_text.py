"""Text widgets: rendering, escaping, write() dispatch, factories, change notes."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

import stgo
from stgo import App, Session, WidgetError
from stgo.widgets.base import Widget

from .markup import XSS, assert_inert, parse, recorded

# -- the base widget ----------------------------------------------------------------


def test_root_wrapper_carries_id_key_kind_and_escaped_key() -> None:
    widget = stgo.Text("hi", key=XSS)
    root = assert_inert(widget.render()).children[0]
    assert root.tag == "div"
    assert root.classes() == ["stgo-w", "stgo-text"]
    assert root.attrs["id"] == widget.id
    assert root.attrs["data-key"] == XSS
    assert root.attrs["data-kind"] == "text"
    assert "hidden" not in root.attrs


def test_hidden_widget_renders_hidden_and_hide_notifies() -> None:
    widget = stgo.Text("hi")
    rec = recorded(widget)
    widget.hide()
    assert "hidden" in parse(widget.render()).children[0].attrs
    assert rec.kinds() == ["update"]
    widget.visible = True
    assert "hidden" not in parse(widget.render()).children[0].attrs


@pytest.mark.parametrize("key", ["", 3])
def test_bad_key_is_refused(key: Any) -> None:
    with pytest.raises(WidgetError):
        stgo.Text("x", key=key)


def test_display_widget_has_no_change_event() -> None:
    with pytest.raises(WidgetError, match="no 'change' event"):
        stgo.Text("x").on_change(lambda s, e, v: None)


# -- text, headings, code ---------------------------------------------------------


@pytest.mark.parametrize(
    ("cls", "tag"),
    [(stgo.Title, "h1"), (stgo.Header, "h2"), (stgo.Subheader, "h3"), (stgo.Text, "p"),
     (stgo.Caption, "small")],
)
def test_text_like_widgets_escape_their_text(cls: type[stgo.Text], tag: str) -> None:
    root = assert_inert(cls(XSS).render())
    element = root.find_all(tag)[0]
    assert element.all_text() == XSS


def test_header_divider() -> None:
    assert parse(stgo.Header("h", divider=True).render()).find_all("hr")
    assert not parse(stgo.Header("h").render()).find_all("hr")


def test_code_escapes_code_and_language() -> None:
    root = assert_inert(stgo.Code(XSS, language=XSS).render())
    code = root.find_all("code")[0]
    assert code.all_text() == XSS
    assert code.attrs["class"] == f"language-{XSS}"


def test_set_text_notifies_update_and_rerenders() -> None:
    widget = stgo.Text("old")
    rec = recorded(widget)
    widget.set_text("new")
    assert rec.kinds() == ["update"]
    assert "new" in widget.render() and "old" not in widget.render()


# -- markdown -------------------------------------------------------------------


def test_markdown_renders_and_escapes_raw_html() -> None:
    pytest.importorskip("markdown_it")
    root = assert_inert(stgo.Markdown(f"**bold** {XSS}\n\n<script>x()</script>").render())
    assert root.find_all("strong")[0].all_text() == "bold"
    assert "<script>" in root.all_text()  # shown as text


def test_markdown_refuses_javascript_links() -> None:
    pytest.importorskip("markdown_it")
    root = assert_inert(stgo.Markdown("[click](javascript:alert(1))").render())
    assert not [a for a in root.find_all("a") if "javascript" in (a.attrs.get("href") or "")]


def test_markdown_passes_html_only_when_asked() -> None:
    pytest.importorskip("markdown_it")
    html = stgo.Markdown("<b>raw</b>", unsafe_allow_html=True).render()
    assert parse(html).find_all("b")


# -- json -----------------------------------------------------------------------


def test_json_is_pretty_and_escaped() -> None:
    widget = stgo.Json({XSS: [1, XSS], "when": datetime.date(2024, 1, 2)})
    root = assert_inert(widget.render())
    text = root.find_all("code")[0].all_text()
    assert f'"{XSS}": [' in text.replace('\\"', '"')
    assert '\n  "when": "2024-01-02"' in text
    assert root.find_all("pre")[0].classes() == ["stgo-json-block"]


def test_json_set_data_notifies() -> None:
    widget = stgo.Json({"a": 1})
    rec = recorded(widget)
    widget.set_data({"b": 2})
    assert rec.kinds() == ["update"]
    assert widget.data == {"b": 2}
    assert '"b": 2' in parse(widget.render()).all_text()


# -- write ----------------------------------------------------------------------


def test_write_text_is_safe_markdown() -> None:
    pytest.importorskip("markdown_it")
    root = assert_inert(stgo.Write(f"*hi* {XSS}").render())
    assert root.find_all("em")


def test_write_numbers_and_bools_are_plain_text() -> None:
    root = parse(stgo.Write(3, True, None).render())
    values = [n.all_text() for n in root.iter() if "stgo-write-value" in n.classes()]
    assert values == ["3", "True", "None"]


@pytest.mark.parametrize(
    "data",
    [[{"a": XSS}, {"a": 2}], {"a": [XSS, 2]}],
    ids=["list-of-dicts", "dict-of-lists"],
)
def test_write_table_like_data_is_a_table(data: Any) -> None:
    root = assert_inert(stgo.Write(data).render())
    table = root.find_all("table")[0]
    cells = [td.all_text() for td in table.find_all("td")]
    assert cells == [XSS, "2"]


@pytest.mark.parametrize(
    "data", [{"a": 1, "b": XSS}, [1, 2, XSS], (1, 2), {"a": [1], "b": [1, 2]}]
)
def test_write_other_containers_are_json(data: Any) -> None:
    root = assert_inert(stgo.Write(data).render())
    assert not root.find_all("table")
    assert root.find_all("pre")[0].classes() == ["stgo-json-block"]


def test_write_other_objects_show_their_repr() -> None:
    class Thing:
        def __repr__(self) -> str:
            return XSS

    root = assert_inert(stgo.Write(Thing()).render())
    assert root.find_all("code")[0].all_text() == XSS


def test_write_set_value_notifies() -> None:
    widget = stgo.Write(1)
    rec = recorded(widget)
    widget.set_value(2, 3)
    assert rec.kinds() == ["update"]
    assert widget.objects == (2, 3)


# -- factories ------------------------------------------------------------------

TEXT_FACTORIES: list[tuple[str, tuple[Any, ...], type[Widget]]] = [
    ("title", ("t",), stgo.Title),
    ("header", ("h",), stgo.Header),
    ("subheader", ("s",), stgo.Subheader),
    ("text", ("t",), stgo.Text),
    ("caption", ("c",), stgo.Caption),
    ("code", ("x = 1", "python"), stgo.Code),
    ("markdown", ("*m*",), stgo.Markdown),
    ("json", ({"a": 1},), stgo.Json),
    ("write", ("w", 1), stgo.Write),
]


@pytest.mark.parametrize(("name", "args", "cls"), TEXT_FACTORIES)
def test_text_factories_on_app_session_and_container(
    name: str, args: tuple[Any, ...], cls: type[Widget]
) -> None:
    app = App()
    session = Session("session_1_test")
    box = app.container()
    for i, (owner, widgets) in enumerate([(app, lambda: app.widgets),
                                          (session, lambda: session.widgets),
                                          (box, lambda: box.children)]):
        # Keys are unique on a page: the App and its container are one.
        widget = getattr(owner, name)(*args, key=f"k-{name}-{i}")
        assert type(widget) is cls
        assert widget in widgets()
        assert widget.key == f"k-{name}-{i}"
