"""Data widgets: table shapes, escaping, dataframe box, metric deltas, pandas."""

from __future__ import annotations

import sys
import threading
import types
from typing import Any

import pytest

import stgo
from stgo import App, Session, WidgetError
from stgo.widgets.data import table_data

from .markup import XSS, Node, assert_inert, parse, recorded


def grid(widget: stgo.Table) -> tuple[list[str], list[list[str]]]:
    """Header texts and row texts (th and td) of a rendered table."""
    table = assert_inert(widget.render()).find_all("table")[0]
    head = [th.all_text() for th in table.find_all("thead")[0].find_all("th")]
    rows = [
        [c.all_text() for c in tr.children if c.tag in ("th", "td")]
        for tr in table.find_all("tbody")[0].find_all("tr")
    ]
    return head, rows


# -- shapes -----------------------------------------------------------------------------


def test_list_of_dicts_unions_keys_in_order() -> None:
    head, rows = grid(stgo.Table([{"a": 1, "b": 2}, {"c": 3, "a": None}]))
    assert head == ["a", "b", "c"]
    assert rows == [["1", "2", ""], ["", "", "3"]]


def test_dict_of_lists_pads_short_columns() -> None:
    head, rows = grid(stgo.Table({"x": [1, 2, 3], "y": ["a"]}))
    assert head == ["x", "y"]
    assert rows == [["1", "a"], ["2", ""], ["3", ""]]


def test_dict_of_scalars_is_one_row() -> None:
    assert grid(stgo.Table({"x": 1, "y": "z"})) == (["x", "y"], [["1", "z"]])


def test_list_of_lists_with_and_without_column_names() -> None:
    assert grid(stgo.Table([[1, 2], [3]])) == (["0", "1"], [["1", "2"], ["3", ""]])
    assert grid(stgo.Table([(1, 2)], columns=["p", "q"])) == (["p", "q"], [["1", "2"]])
    with pytest.raises(WidgetError):
        stgo.Table([[1, 2]], columns=["only"])


def test_plain_values_and_iterables_and_empty() -> None:
    assert grid(stgo.Table(iter([5, 6]))) == (["0"], [["5"], ["6"]])
    assert grid(stgo.Table(None)) == ([], [])
    assert grid(stgo.Table([])) == ([], [])
    assert table_data(x * 2 for x in range(2)).rows == [[0], [2]]


@pytest.mark.parametrize("bad", ["text", 42, b"bytes", [{"a": 1}, [1]], [1, [2]]])
def test_not_table_like_is_refused(bad: Any) -> None:
    with pytest.raises(WidgetError):
        stgo.Table(bad)


def test_headers_and_cells_are_escaped_and_numbers_marked() -> None:
    widget = stgo.Table([{XSS: XSS, "n": 1.5, "flag": True}])
    head, rows = grid(widget)
    assert head == [XSS, "n", "flag"]
    assert rows == [[XSS, "1.5", "True"]]
    tds = parse(widget.render()).find_all("td")
    assert ["stgo-num" in td.classes() for td in tds] == [False, True, False]


def test_nan_cells_show_empty() -> None:
    assert grid(stgo.Table([[float("nan"), 1]]))[1] == [["", "1"]]


def test_index_column_options() -> None:
    assert grid(stgo.Table([[7], [8]]))[1] == [["7"], ["8"]]
    head, rows = grid(stgo.Table([[7], [8]], hide_index=False))
    assert head == ["", "0"] and rows == [["0", "7"], ["1", "8"]]


def test_set_data_notifies_and_keeps_column_names() -> None:
    widget = stgo.Table([[1, 2]], columns=["a", "b"])
    rec = recorded(widget)
    widget.set_data([[3, XSS]])
    assert rec.kinds() == ["update"]
    assert grid(widget) == (["a", "b"], [["3", XSS]])


# -- dataframe ------------------------------------------------------------------------------


def test_dataframe_scroll_box() -> None:
    widget = stgo.Dataframe({"a": [1, 2]}, height=250, hide_index=False)
    root = assert_inert(widget.render())
    box = [n for n in root.iter() if "stgo-dataframe-scroll" in n.classes()][0]
    assert box.attrs["data-stgo-style"] == "max-height: 250px"
    assert box.attrs["tabindex"] == "0" and box.attrs["role"] == "region"
    assert box.find_all("table")[0].classes() == ["stgo-datatable"]
    assert grid(widget) == (["", "a"], [["0", "1"], ["1", "2"]])


@pytest.mark.parametrize("height", [0, -5, True, "100"])
def test_dataframe_bad_height(height: Any) -> None:
    with pytest.raises(WidgetError):
        stgo.Dataframe([], height=height)


# -- pandas -----------------------------------------------------------------------------------


def _fake_pandas() -> types.ModuleType:
    """Just enough of pandas' API to exercise the branch without pandas."""
    module = types.ModuleType("pandas")

    class Index(list[Any]):
        name: str | None = None

    class DataFrame:
        def __init__(self, data: dict[str, list[Any]], index: list[Any], name: str | None):
            self.columns = list(data)
            self._data = data
            self.index = Index(index)
            self.index.name = name

        def itertuples(self, index: bool = True, name: Any = "Pandas") -> Any:
            assert index is False and name is None
            return zip(*self._data.values(), strict=True)

    class Series:
        def __init__(self, values: list[Any], index: list[Any], name: str) -> None:
            self.values, self.index_, self.name = values, index, name

        def to_frame(self) -> DataFrame:
            return DataFrame({self.name: self.values}, self.index_, None)

    module.DataFrame = DataFrame  # type: ignore[attr-defined]
    module.Series = Series  # type: ignore[attr-defined]
    return module


def test_pandas_branch_with_a_stand_in(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = _fake_pandas()
    monkeypatch.setitem(sys.modules, "pandas", fake)
    frame = fake.DataFrame({"a": [1, 2], XSS: ["x", XSS]}, ["r1", XSS], "idx")
    head, rows = grid(stgo.Table(frame))
    assert head == ["idx", "a", XSS]
    assert rows == [["r1", "1", "x"], [XSS, "2", XSS]]
    assert grid(stgo.Table(frame, hide_index=True))[0] == ["a", XSS]
    series = fake.Series([3], ["only"], "s")
    assert grid(stgo.Dataframe(series)) == (["", "s"], [["only", "3"]])
    root = parse(stgo.Write(frame).render())
    assert root.find_all("table")


def test_real_pandas_dataframe_and_series() -> None:
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"a": [1, 2], "b": [XSS, None]}, index=pd.Index(["x", "y"], name="k"))
    head, rows = grid(stgo.Table(frame))
    assert head == ["k", "a", "b"]
    assert rows[0] == ["x", "1", XSS]
    assert grid(stgo.Dataframe(pd.Series([1.5], name="v")))[1] == [["0", "1.5"]]


def test_without_pandas_nothing_imports_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "pandas", raising=False)
    stgo.Table({"a": [1]}).render()
    assert "pandas" not in sys.modules


# -- metric ----------------------------------------------------------------------------------


def delta_node(metric: stgo.Metric) -> Node:
    root = assert_inert(metric.render())
    return [n for n in root.iter() if "stgo-metric-delta" in n.classes()][0]


@pytest.mark.parametrize(
    ("delta", "color", "classes", "arrow"),
    [
        (5, "normal", ["stgo-up", "stgo-good"], "\u25b2"),
        (-5, "normal", ["stgo-down", "stgo-bad"], "\u25bc"),
        (5, "inverse", ["stgo-up", "stgo-bad"], "\u25b2"),
        (-0.5, "inverse", ["stgo-down", "stgo-good"], "\u25bc"),
        (5, "off", ["stgo-up", "stgo-neutral"], "\u25b2"),
        ("-3 %", "normal", ["stgo-down", "stgo-bad"], "\u25bc"),
        ("+2", "normal", ["stgo-up", "stgo-good"], "\u25b2"),
        (0, "normal", ["stgo-flat", "stgo-neutral"], ""),
    ],
)
def test_metric_delta_classes(delta: Any, color: str, classes: list[str], arrow: str) -> None:
    node = delta_node(stgo.Metric("m", 1, delta, delta_color=color))
    assert node.classes() == ["stgo-metric-delta", *classes]
    assert node.all_text().strip() == f"{arrow} {delta}".strip()


def test_metric_escapes_label_value_delta_help() -> None:
    metric = stgo.Metric(XSS, XSS, XSS, help=XSS)
    root = assert_inert(metric.render())
    texts = {c: n.all_text() for n in root.iter() for c in n.classes() if c.startswith("stgo-m")}
    assert texts["stgo-metric-label"] == XSS
    assert texts["stgo-metric-value"] == XSS
    assert texts["stgo-metric-delta"].endswith(XSS)
    assert root.find(title=XSS)


def test_metric_without_delta_or_value() -> None:
    root = parse(stgo.Metric("m").render())
    assert not [n for n in root.iter() if "stgo-metric-delta" in n.classes()]
    assert "\u2014" in root.all_text()


def test_metric_setters_notify() -> None:
    metric = stgo.Metric("m", 1)
    rec = recorded(metric)
    metric.set_value(2)
    metric.set_delta(-1)
    metric.set_value(3, delta=None)
    metric.set_label("n")
    assert rec.kinds() == ["update"] * 4
    assert (metric.value, metric.delta, metric.label) == (3, None, "n")


def test_metric_increment_is_atomic() -> None:
    metric = stgo.Metric("m", 0)
    recorded(metric)

    def bump() -> None:
        for _ in range(500):
            metric.increment()

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert metric.value == 2000


def test_metric_bad_delta_color() -> None:
    with pytest.raises(WidgetError):
        stgo.Metric("m", 1, 1, delta_color="green")


# -- factories --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "args", "cls"),
    [("table", ([[1]],), stgo.Table), ("dataframe", ({"a": [1]},), stgo.Dataframe),
     ("metric", ("m", 1, 2), stgo.Metric)],
)
def test_data_factories(name: str, args: tuple[Any, ...], cls: type[Any]) -> None:
    app = App()
    session = Session("session_1_test")
    owners: list[Any] = [app, session, app.columns(2)[0], app.tabs(["t"])[0]]
    for owner in owners:
        made = getattr(owner, name)(*args)
        assert type(made) is cls
        contents = owner.children if isinstance(owner, stgo.Group) else owner.widgets
        assert contents[-1] is made


def test_a_numeric_column_has_a_right_aligned_header() -> None:
    from stgo.widgets.data import Table

    html = Table([{"n": 1, "s": "x"}, {"n": 2.5, "s": None}]).render()
    assert '<th scope="col" class="stgo-num">n</th>' in html
    assert '<th scope="col">s</th>' in html
