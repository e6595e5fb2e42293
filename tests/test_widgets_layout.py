"""Layout containers: DOM (children holders, grid, tabs), factories, change notes."""

from __future__ import annotations

from typing import Any

import pytest

import stgo
from stgo import App, Session, WidgetError
from stgo.widgets.layout import Group

from .markup import XSS, Node, assert_inert, parse, recorded


def root_of(html: str, widget_id: str) -> Node:
    return parse(html).find(id=widget_id)


def children_holder(root: Node) -> Node:
    """The first [data-children] strictly inside *root*, as the client finds it."""
    for node in root.iter():
        if node is not root and "data-children" in node.attrs:
            return node
    raise AssertionError("no [data-children]")


def assert_holds(group: Group) -> Node:
    """The group's own holder has exactly its children's roots, in order."""
    html = group.render()
    assert_inert(html)
    holder = children_holder(root_of(html, group.id))
    assert [n.attrs.get("id") for n in holder.children] == [c.id for c in group.children]
    return holder


# -- container ------------------------------------------------------------------------


def test_container_border_with_block_and_holder() -> None:
    box = stgo.Container(border=True)
    with box as same:
        assert same is box
        same.text("a")
        same.text("b")
    holder = assert_holds(box)
    assert holder.classes() == ["stgo-box", "stgo-border"]
    plain = stgo.Container()
    assert children_holder(root_of(plain.render(), plain.id)).classes() == ["stgo-box"]


def test_container_add_and_remove_notify_insert_and_remove() -> None:
    box = stgo.Container()
    rec = recorded(box)
    text = box.text("hi")
    # "adopt" first: the owner may refuse the widget (a key already on the page).
    assert rec.calls == [(text, "adopt"), (text, "insert")]
    assert text.parent is box and text.attached
    assert box.remove_child(text) is True
    assert rec.calls[-1] == (text, "remove")
    assert text.parent is None and not text.attached
    assert box.remove_child(text) is False


def test_widget_cannot_be_added_twice() -> None:
    box = stgo.Container()
    text = box.text("x")
    with pytest.raises(WidgetError):
        stgo.Container().add(text)


def test_nested_children_follow_attach() -> None:
    box = stgo.Container()
    inner = box.expander("more")
    leaf = inner.text("deep")
    rec = recorded(box)
    assert leaf.attached
    leaf.set_text("changed")
    assert rec.calls == [(leaf, "update")]
    assert [w.kind for w in box.walk()] == ["container", "expander", "text"]


def test_per_session_follows_children() -> None:
    box = stgo.Container()
    box.text("x")
    assert not box.per_session
    box.expander("e").checkbox("c")
    assert box.per_session


# -- columns ----------------------------------------------------------------------------


def test_columns_count_and_grid() -> None:
    row = stgo.Columns(3)
    holder = assert_holds(row)
    assert holder.classes() == ["stgo-columns-grid", "stgo-gap-small"]
    assert holder.attrs["data-stgo-style"] == (
        "grid-template-columns: minmax(0, 1fr) minmax(0, 1fr) minmax(0, 1fr)")
    assert all(type(c) is stgo.Column and c.parent is row for c in row.columns)


def test_columns_ratios_are_fr_units() -> None:
    row = stgo.Columns([2, 1, 0.5], gap="large", border=True)
    holder = assert_holds(row)
    assert holder.attrs["data-stgo-style"] == (
        "grid-template-columns: minmax(0, 2fr) minmax(0, 1fr) minmax(0, 0.5fr)")
    assert "stgo-gap-large" in holder.classes()
    col_html = row.columns[0].render()
    assert children_holder(root_of(col_html, row.columns[0].id)).classes() == [
        "stgo-column-body", "stgo-border"]


@pytest.mark.parametrize("spec", [0, -1, [], [1, 0], [1, -2], ["1"], True, [float("inf")]])
def test_columns_bad_spec(spec: Any) -> None:
    with pytest.raises(WidgetError):
        stgo.Columns(spec)


def test_columns_bad_gap() -> None:
    with pytest.raises(WidgetError):
        stgo.Columns(2, gap="huge")


def test_column_holds_its_own_children() -> None:
    left, right = stgo.Columns(2).columns
    left.metric("m", 1)
    with right:
        right.text("r1")
        right.text("r2")
    assert_holds(left)
    assert_holds(right)


def test_removing_a_column_redraws_the_row() -> None:
    row = stgo.Columns([3, 1])
    rec = recorded(row)
    first = row.columns[0]
    assert row.remove_child(first)
    assert rec.kinds() == ["remove", "update"]
    assert row.ratios == [1.0]
    assert "minmax(0, 1fr)" in row.render() and "3fr" not in row.render()


def test_columns_factory_returns_columns() -> None:
    app = App()
    cols = app.columns([1, 2])
    assert [type(c) for c in cols] == [stgo.Column, stgo.Column]
    row = app.widgets[-1]
    assert isinstance(row, stgo.Columns) and row.columns == cols


# -- expander -------------------------------------------------------------------------------


def test_expander_details_summary_then_holder() -> None:
    exp = stgo.Expander(XSS, expanded=True)
    exp.text("inside")
    assert_holds(exp)
    root = root_of(exp.render(), exp.id)
    details = root.find_all("details")[0]
    assert "open" in details.attrs
    summary, body = details.children
    assert summary.tag == "summary" and summary.all_text() == XSS
    assert body is children_holder(root) and body.classes() == ["stgo-expander-body"]
    assert "open" not in parse(stgo.Expander("x").render()).find_all("details")[0].attrs


def test_expander_set_label_notifies() -> None:
    exp = stgo.Expander("a")
    rec = recorded(exp)
    exp.set_label("b")
    assert rec.kinds() == ["update"]


# -- tabs --------------------------------------------------------------------------------------


def test_tabs_dom_roles_and_targets() -> None:
    tabs = stgo.Tabs(["One", XSS])
    first, second = tabs.tabs
    first.text("a")
    second.text("b")
    html = tabs.render()
    holder = assert_holds(tabs)
    root = root_of(html, tabs.id)
    tablist = root.find(role="tablist")
    buttons = tablist.find_all("button")
    assert [b.all_text() for b in buttons] == ["One", XSS]
    assert [b.attrs["role"] for b in buttons] == ["tab", "tab"]
    assert [b.attrs["data-tab-target"] for b in buttons] == [first.id, second.id]
    assert [b.attrs["aria-controls"] for b in buttons] == [first.id, second.id]
    assert [b.attrs["aria-selected"] for b in buttons] == ["true", "false"]
    panels = holder.children
    assert [p.attrs["role"] for p in panels] == ["tabpanel", "tabpanel"]
    assert [p.attrs["aria-labelledby"] for p in panels] == [b.attrs["id"] for b in buttons]
    assert ["hidden" in p.attrs for p in panels] == [False, True]
    # the panel root is still the standard widget wrapper
    assert panels[0].classes() == ["stgo-w", "stgo-tab"] and panels[0].attrs["data-kind"] == "tab"
    for tab in tabs.tabs:
        assert_holds(tab)


def test_tab_label_and_visibility_redraw_the_tab_set() -> None:
    tabs = stgo.Tabs(["a", "b"])
    rec = recorded(tabs)
    first, second = tabs.tabs
    first.set_label("A")
    first.hide()
    assert rec.calls == [(tabs, "update"), (tabs, "update")]
    root = root_of(tabs.render(), tabs.id)
    buttons = root.find(role="tablist").find_all("button")
    assert "hidden" in buttons[0].attrs and buttons[0].all_text() == "A"
    assert buttons[1].attrs["aria-selected"] == "true"
    assert "hidden" not in root.find(id=second.id).attrs


def test_tab_content_changes_do_not_redraw_the_tab_set() -> None:
    tabs = stgo.Tabs(["a"])
    rec = recorded(tabs)
    text = tabs.tabs[0].text("x")
    text.set_text("y")
    assert rec.calls == [(text, "adopt"), (text, "insert"), (text, "update")]


@pytest.mark.parametrize("labels", [[], "ab"])
def test_tabs_bad_labels(labels: Any) -> None:
    with pytest.raises(WidgetError):
        stgo.Tabs(labels)


def test_tabs_factory_returns_tabs_and_they_nest() -> None:
    session = Session("session_1_test")
    one, two = session.tabs(["one", "two"])
    assert [type(t) for t in (one, two)] == [stgo.Tab, stgo.Tab]
    left, _right = two.columns(2)
    metric = left.metric("m", 1)
    assert session.get_widget(metric.key) is metric
    assert isinstance(session.widgets[-1], stgo.Tabs)


# -- sidebar and factories -------------------------------------------------------------------


def test_sidebar_is_container_like() -> None:
    app = App()
    slider = app.sidebar.slider("s")
    assert slider.parent is app.sidebar
    assert isinstance(app.sidebar, stgo.Container)
    assert_holds(app.sidebar)


LAYOUT_FACTORIES: list[tuple[str, tuple[Any, ...], type[Any]]] = [
    ("container", (), stgo.Container),
    ("expander", ("e",), stgo.Expander),
]


@pytest.mark.parametrize(("name", "args", "cls"), LAYOUT_FACTORIES)
def test_layout_factories_everywhere(name: str, args: tuple[Any, ...], cls: type[Any]) -> None:
    app = App()
    session = Session("session_1_test")
    owners: list[Any] = [app, session, app.container(), app.tabs(["t"])[0],
                         app.columns(1)[0], app.expander("x")]
    for owner in owners:
        made = getattr(owner, name)(*args, border=True) if name == "container" else \
            getattr(owner, name)(*args)
        assert type(made) is cls
        contents = owner.children if isinstance(owner, Group) else owner.widgets
        assert contents[-1] is made
