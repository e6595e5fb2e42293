"""Charts: data shapes, the figure, and add_rows/set_data pushing only what changed."""

from __future__ import annotations

import datetime as dt
import json
import threading
from typing import Any

import pytest

import stgo
from stgo.testing import AppTester
from stgo.widgets.charts import chart_columns


def ops(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [op for m in messages if m["type"] == "patch" for op in m["ops"]]


@pytest.mark.parametrize("data, x, y", [
    ({"x": [1, 2, 3], "y": [4, 5, 6]}, "x", "y"),
    ([{"x": 1, "y": 4}, {"x": 2, "y": 5}, {"x": 3, "y": 6}], "x", "y"),
    ([[1, 4], [2, 5], [3, 6]], "0", "1"),
])
def test_shapes_accepted(data: Any, x: str, y: str) -> None:
    chart = stgo.LineChart(data, x=x, y=y)
    trace = chart.figure()["data"][0]
    assert trace["x"] == [1, 2, 3] and trace["y"] == [4, 5, 6]


def test_list_of_numbers_and_default_columns() -> None:
    chart = stgo.LineChart([3, 1, 2])
    assert chart.figure()["data"][0] == {"type": "scatter", "mode": "lines", "name": "value",
                                         "x": [0, 1, 2], "y": [3, 1, 2]}
    multi = stgo.AreaChart({"when": ["a", "b"], "up": [1, 2], "down": [2, 1]}, x="when")
    names = [t["name"] for t in multi.figure()["data"]]
    assert names == ["up", "down"]  # every numeric column but x
    assert all(t["stackgroup"] == "one" for t in multi.figure()["data"])


@pytest.mark.parametrize("data, message", [
    ("abc", "cannot draw str"),
    (42, "cannot draw int"),
    ([{"a": 1}, [1, 2]], "cannot draw this data"),
    (object(), "cannot draw object"),
])
def test_shapes_refused_with_a_clear_error(data: Any, message: str) -> None:
    with pytest.raises(stgo.WidgetError, match=message):
        stgo.LineChart(data)


def test_bad_columns_and_values_are_clear() -> None:
    with pytest.raises(stgo.WidgetError, match=r"lack column\(s\) \['t'\]"):
        stgo.LineChart({"x": [1]}, x="t", y="x")
    with pytest.raises(stgo.WidgetError, match="y values must be numbers"):
        stgo.LineChart({"x": [1], "y": ["high"]}, x="x", y="y")
    chart = stgo.LineChart({"x": [1], "y": [2]}, x="x", y="y")
    with pytest.raises(stgo.WidgetError, match="they have"):
        chart.add_rows({"x": [2]})
    with pytest.raises(stgo.WidgetError, match="height"):
        stgo.BarChart([1], height=0)
    with pytest.raises(stgo.WidgetError, match="max_points"):
        stgo.BarChart([1], max_points=0)


def test_json_safe_values() -> None:
    day = dt.date(2024, 5, 1)
    chart = stgo.ScatterChart({"d": [day, day], "v": [float("nan"), float("inf")]}, x="d")
    trace = chart.figure()["data"][0]
    assert trace["x"] == ["2024-05-01", "2024-05-01"] and trace["y"] == [None, None]
    json.dumps(chart.figure(), allow_nan=False)  # the browser's JSON.parse takes it


def test_pandas_frame_with_index() -> None:
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"v": [1.5, 2.5]},
                         index=pd.Index(pd.to_datetime(["2024-01-01", "2024-01-02"]), name="t"))
    trace = stgo.LineChart(frame).figure()["data"][0]
    assert trace["x"][0].startswith("2024-01-01") and trace["y"] == [1.5, 2.5]
    plain = stgo.LineChart(pd.DataFrame({"v": [1, 2]}))
    plain.add_rows(pd.DataFrame({"v": [3]}))  # a fresh RangeIndex continues the count
    assert plain.data == {"index": [0, 1, 2], "v": [1, 2, 3]}


def test_color_column_splits_series() -> None:
    chart = stgo.BarChart({"k": ["a", "b", "a"], "v": [1, 2, 3]}, color="k", y="v")
    assert [(t["name"], t["y"]) for t in chart.figure()["data"]] == [("a", [1, 3]), ("b", [2])]
    coloured = stgo.LineChart({"v": [1]}, color="#ff0000")
    assert coloured.figure()["data"][0]["line"] == {"color": "#ff0000"}


def test_add_rows_pushes_only_new_points_to_every_tab() -> None:
    app = stgo.App()
    chart = app.line_chart({"t": list(range(1000)), "v": [0.0] * 1000}, x="t", y="v", key="c")
    with AppTester(app) as tester:
        tabs = [tester.new_session() for _ in range(3)]
        marks = [len(t.messages) for t in tabs]
        chart.add_rows({"t": [1000], "v": [1.0]})
        for tab, mark in zip(tabs, marks, strict=True):
            (op,) = ops(tab.messages[mark:])
            assert op == {"op": "extend", "id": chart.id, "start": 1000, "count": 1,
                          "traces": [0], "x": [[1000]], "y": [[1.0]], "max": None,
                          "aligned": True}
        sent = len(json.dumps(op))
        assert sent < len(chart.render()) / 20  # a point, not the chart
        assert tabs[0].chart_data("c")["v"][-1] == 1.0


def test_add_rows_from_a_thread_and_max_points() -> None:
    app = stgo.App()
    chart = app.line_chart(key="c", max_points=5)
    with AppTester(app) as tester:
        tab = tester.new_session()
        mark = len(tab.messages)
        job = threading.Thread(target=lambda: [chart.add_rows({"v": [i]}) for i in range(8)])
        job.start()
        job.join()
        got = ops(tab.messages[mark:])
        assert got[0]["op"] == "figure"  # the first rows make the series
        assert all(o["op"] == "extend" and o["max"] == 5 for o in got[1:])
        assert chart.data == {"index": [3, 4, 5, 6, 7], "v": [3, 4, 5, 6, 7]}
        assert got[-1]["start"] == 7 and got[-1]["count"] == 1


def test_add_rows_with_a_new_column_draws_a_new_series() -> None:
    # A host that joins later gets its own line; the rows before it get no value.
    app = stgo.App()
    chart = app.line_chart({"t": [0, 1], "web1": [1.0, 2.0]}, x="t", key="c")
    with AppTester(app) as tester:
        tab = tester.new_session()
        mark = len(tab.messages)
        chart.add_rows({"t": [2], "web1": [3.0], "web2": [5.0]})
        (op,) = ops(tab.messages[mark:])
        assert op["op"] == "figure"  # a new trace: the whole figure, not an extend
        traces = {t["name"]: (t["x"], t["y"]) for t in op["figure"]["data"]}
        assert traces == {"web1": ([0, 1, 2], [1.0, 2.0, 3.0]),
                          "web2": ([0, 1, 2], [None, None, 5.0])}
        assert op["figure"]["layout"]["showlegend"] is True
        # Then only points again; a host that left gets a gap, not an error.
        mark = len(tab.messages)
        chart.add_rows({"t": [3], "web2": [6.0]})
        (op,) = ops(tab.messages[mark:])
        assert op["op"] == "extend" and op["x"] == [[3], [3]] and op["y"] == [[None], [6.0]]
        assert tab.chart_data("c") == {"t": [0, 1, 2, 3], "web1": [1.0, 2.0, 3.0, None],
                                       "web2": [None, None, 5.0, 6.0]}
    # y= names the series: other columns stay out of the chart, as they always did.
    fixed = stgo.LineChart({"t": [0], "a": [1]}, x="t", y="a")
    fixed.add_rows({"t": [1], "a": [2], "b": [3]})
    assert [t["name"] for t in fixed.figure()["data"]] == ["a"]


def test_session_chart_reaches_only_its_session() -> None:
    app = stgo.App()
    with AppTester(app) as tester:
        alice, bob = tester.new_session(), tester.new_session()
        mine = alice.session.line_chart([1, 2], key="mine")
        before = len(bob.messages)
        mine.add_rows([3])
        assert ops(alice.messages)[-1]["op"] == "extend"
        assert bob.messages[before:] == []


def test_set_data_sends_a_figure_and_batches_merge() -> None:
    app = stgo.App()
    chart = app.bar_chart({"v": [1, 2]}, key="c")
    with AppTester(app) as tester:
        tab = tester.new_session()
        mark = len(tab.messages)
        with app.batch():
            chart.add_rows({"v": [3]})
            chart.set_data({"v": [9]})
            chart.add_rows({"v": [10]})
        (op,) = ops(tab.messages[mark:])
        assert op["op"] == "figure" and op["figure"]["data"][0]["y"] == [9, 10]
        assert op["figure"]["layout"]["uirevision"] == "stgo"  # the user's zoom stays


def test_render_says_which_rows_it_holds() -> None:
    chart = stgo.LineChart([1, 2, 3], max_points=2)
    html = chart.render()
    assert 'data-total="3"' in html and "static/vendor/plotly.min.js" in html
    assert ('data-requires="static/charts-style.js static/vendor/plotly.min.js '
            'static/charts.js"') in html


def test_plotly_chart_and_dict_figures() -> None:
    go = pytest.importorskip("plotly.graph_objects")
    fig = go.Figure(go.Scatter(x=[1, 2], y=[3, 4], name="s"), layout={"title": "T"})
    widget = stgo.PlotlyChart(fig)
    spec = widget.figure()
    assert spec["data"][0]["name"] == "s" and "template" not in spec["layout"]
    assert "template" in stgo.PlotlyChart(fig, theme=None).figure()["layout"]
    assert stgo.PlotlyChart({"data": [{"type": "bar", "y": [1]}]}).figure()["data"][0]["y"] == [1]
    with pytest.raises(stgo.WidgetError, match="plotly figure"):
        stgo.PlotlyChart([1, 2])


def test_pyplot_renders_svg_in_an_img() -> None:
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure()
    fig.add_subplot().plot([1, 2, 3])
    widget = stgo.Pyplot(fig, alt="a line")
    assert widget.svg.lstrip().startswith(b"<?xml") and b"<svg" in widget.svg
    html = widget.render()
    assert '<img class="stgo-pyplot-img" alt="a line" src="data:image/svg+xml;base64,' in html
    with pytest.raises(stgo.WidgetError, match="matplotlib Figure"):
        stgo.Pyplot("not a figure")


def test_missing_plotly_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from stgo.widgets import charts

    monkeypatch.setattr(charts, "plotly_js_path", lambda: None)
    with pytest.raises(stgo.MissingExtraError, match=r"stgo\[charts\]"):
        stgo.LineChart([1])


def test_plotly_js_is_served_from_the_package(serve: Any) -> None:
    from .helpers import request

    server = serve(stgo.App())
    resp = request(server.url, "/static/vendor/plotly.min.js")
    assert resp.status == 200 and "javascript" in resp.headers["Content-Type"]
    assert "plotly" in resp.body[:2000].lower()
    assert "max-age" in resp.headers["Cache-Control"]
    packed = request(server.url, "/static/vendor/plotly.min.js",
                     headers={"Accept-Encoding": "gzip"})
    assert packed.headers["Content-Encoding"] == "gzip"


def test_chart_columns_of_a_dict_of_scalars_is_one_row() -> None:
    assert chart_columns({"x": 1, "y": 2})[0] == {"x": [1], "y": [2]}


def test_numpy_columns_and_missing_values() -> None:
    np = pytest.importorskip("numpy")
    chart = stgo.LineChart({"x": np.arange(3), "y": np.array([1.5, np.nan, 2.5])}, x="x")
    trace = chart.figure()["data"][0]
    assert trace["x"] == [0, 1, 2] and trace["y"] == [1.5, None, 2.5]
    stamps = stgo.ScatterChart({"t": np.array(["2024-01-02"], dtype="datetime64[ns]"),
                                "v": [np.int64(3)]}, x="t")
    trace = stamps.figure()["data"][0]
    assert trace["x"][0].startswith("2024-01-02") and trace["y"] == [3]
    json.dumps(stamps.figure(), allow_nan=False)


def test_pandas_missing_times_are_gaps() -> None:
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"t": pd.to_datetime(["2024-01-01", None]), "v": [1, 2]})
    assert stgo.LineChart(frame, x="t").figure()["data"][0]["x"][1] is None
