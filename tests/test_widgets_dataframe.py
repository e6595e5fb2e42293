"""The interactive dataframe: per-session sort and page, validated selection, styles."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

import stgo
from stgo.testing import AppTester


def people(n: int) -> list[dict[str, Any]]:
    return [{"name": f"p{i:03d}", "score": (i * 37) % 101} for i in range(n)]


def test_large_table_sends_one_page() -> None:
    table = stgo.Dataframe(people(100_000), page_size=50)
    html = table.render()
    assert html.count("<tr data-row=") == 50
    assert "Rows 1\u201350 of 100000" in html
    assert len(html) < 20_000


def test_sort_and_page_are_per_session() -> None:
    app = stgo.App()
    table = app.dataframe(people(500), page_size=100, key="t")
    with AppTester(app) as tester:
        alice, bob = tester.new_session(), tester.new_session()
        alice.sort("t", "score")
        scores = [int(r[1]) for r in alice.table_rows("t")]
        assert scores == sorted(scores) and scores[0] == 0
        assert bob.table_rows("t")[0] == ["p000", "0"]  # bob's view is untouched
        alice.sort("t", "score")
        assert int(alice.table_rows("t")[0][1]) == 100  # descending now
        alice.page("t", 4)
        assert len(alice.table_rows("t")) == 100 and table.view(alice.session)[2] == 4
        alice.sort("t", "score")  # third click: back to the data's order, first page
        assert alice.table_rows("t")[0] == ["p000", "0"]
        assert table.view(alice.session) == (None, False, 0)
        alice.page("t", 5)
        assert "bad page" in alice.errors[-1]
        alice.send("t", "sort", 7)
        assert "bad column" in alice.errors[-1]


def test_selection_validated_and_reported_as_rows() -> None:
    app = stgo.App()
    table = app.dataframe(people(10), selection="multi", key="t")
    got: list[Any] = []

    @table.on_select
    def chosen(session: stgo.Session, event: str, rows: Any) -> None:
        got.append((event, list(rows), rows.indices))

    with AppTester(app) as tester:
        tab = tester.new_session()
        tab.select_rows("t", [3, 1])
        assert got == [("select", [{"name": "p001", "score": 37}, {"name": "p003", "score": 10}],
                        [1, 3])]
        assert tab.session.get("t") == [1, 3]
        assert 'aria-selected="true"' in tab.html()
        for bad in ([10], [-1], [1, 1], ["1"], 3, [True]):
            tab.send("t", "select", bad)
            assert "bad selection" in tab.errors[-1], bad
        assert len(got) == 1


def test_single_selection_and_no_selection() -> None:
    app = stgo.App()
    app.dataframe(people(5), selection="single", key="one")
    plain = app.dataframe(people(5), key="plain")
    with pytest.raises(stgo.WidgetError, match="no selection"):
        plain.on_select(lambda s, e, r: None)
    with AppTester(app) as tester:
        tab = tester.new_session()
        tab.select_rows("one", [1, 2])
        assert "one row at a time" in tab.errors[-1]
        tab.select_rows("plain", [1])
        assert "has no selection" in tab.errors[-1]


def test_row_style_with_each_users_threshold() -> None:
    app = stgo.App()

    def above(session: stgo.Session, row: dict[str, Any]) -> str | None:
        return "highlight" if row["score"] > session.get("threshold", 50) else None

    app.dataframe(people(20), row_style=above,
                  cell_style=lambda value, column: "bold" if value == 0 else None, key="t")
    with AppTester(app) as tester:
        alice, bob = tester.new_session(), tester.new_session()
        alice.session.set("threshold", 90)
        high_alice = alice.html().count("stgo-row-highlight")
        high_bob = bob.html().count("stgo-row-highlight")
        assert high_alice == sum(p["score"] > 90 for p in people(20)) and high_bob > high_alice
        assert "stgo-cell-bold" in bob.html()


def test_unknown_style_names_are_ignored() -> None:
    table = stgo.Dataframe(people(3), row_style=lambda row: "red; background: url(x)")
    assert "url(x)" not in table.render() and "stgo-row-" not in table.render()


def test_bad_options() -> None:
    with pytest.raises(stgo.WidgetError, match="selection"):
        stgo.Dataframe([], selection="all")
    with pytest.raises(stgo.WidgetError, match="page_size"):
        stgo.Dataframe([], page_size=0)


def test_pandas_styler_takes_its_data() -> None:
    pd = pytest.importorskip("pandas")
    pytest.importorskip("jinja2")
    frame = pd.DataFrame({"a": [2, 1]})
    table = stgo.Dataframe(frame.style, row_style=lambda row: "info" if row["a"] > 1 else None)
    assert table.data.rows == [[2], [1]] and "stgo-row-info" in table.render()


def test_program_sets_the_selection_and_the_page_follows() -> None:
    app = stgo.App()
    table = app.dataframe(people(5), selection="multi", key="t")
    with AppTester(app) as tester:
        tab = tester.new_session()
        mark = len(tab.messages)
        tab.session.set("t", [2])
        ops = [op for m in tab.messages[mark:] for op in m.get("ops", [])]
        assert [op["op"] for op in ops] == ["update"] and ops[0]["id"] == table.id
        assert 'data-row="2" aria-selected="true"' in ops[0]["html"]


# -- sorting a big table costs a bounded amount of CPU ----------------------------------------


@pytest.fixture
def sorts(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, bool]]:
    """Every sort of a table's data made (column, descending), whoever asks."""
    made: list[tuple[int, bool]] = []
    compute = stgo.Dataframe._compute_order

    def counting(self: stgo.Dataframe, rows: Any, sort: int, descending: bool) -> Any:
        made.append((sort, descending))
        return compute(self, rows, sort, descending)

    monkeypatch.setattr(stgo.Dataframe, "_compute_order", counting)
    return made


def wide(n: int, columns: int) -> list[list[int]]:
    return [[(i * (c + 7)) % 97 for c in range(columns)] for i in range(n)]


def test_a_sort_of_unchanged_data_is_made_once_and_new_data_sorts_anew(
        sorts: list[tuple[int, bool]]) -> None:
    app = stgo.App()
    table = app.dataframe(wide(300, 6), key="t", page_size=50)
    with AppTester(app) as tester:
        alice, bob = tester.new_session(), tester.new_session()
        for _ in range(2):  # every column up, down, off; then all again
            for column in range(6):
                for _ in range(3):
                    alice.sort("t", column)
                    assert not alice.errors
        assert sorted(sorts) == sorted({(c, d) for c in range(6) for d in (False, True)})
        bob.sort("t", 2)  # another session, the same data: the same order
        assert len(sorts) == 12
        first = [int(r[2]) for r in bob.table_rows("t")]
        assert first == sorted(first)
        # New data of the same size: its own orders (a kept one would be wrong).
        table.set_data([[100 - r[0]] * 6 for r in wide(300, 6)])
        again = [int(r[2]) for r in bob.table_rows("t")]
        assert again == sorted(again) and again != first
        assert sorts[12:] == [(2, False)]


def test_sorts_waiting_behind_a_busy_session_are_made_once(
        serve: Any, client_for: Any, sorts: list[tuple[int, bool]]) -> None:
    app = stgo.App()
    table = app.dataframe(wide(500, 3), key="t")
    go_on = threading.Event()
    hold = app.button("Hold", key="hold", on_click=lambda s, e, v: go_on.wait(10))
    client = client_for(serve(app))
    sock = client.connect()
    try:
        held = sock.event(hold.id)
        last = 0
        for _ in range(7):  # up, down, off, up, down, off, up: waiting together
            last = sock.event(table.id, "sort", 1)
        sock.ws.send("not json")  # answered on the loop once the sorts are read
        sock.recv_until(lambda m: m["type"] == "error" and "JSON" in m["message"])
    finally:
        go_on.set()
    sock.ack(held)
    assert sock.ack(last)["type"] == "patch"
    assert not [m for m in sock.messages if m["type"] == "error" and "JSON" not in m["message"]]
    session = app.sessions.get(client.session_id or "")
    assert table.view(session) == (1, False, 0)  # seven clicks, in order
    assert sorts == [(1, False)]  # one drawing, of the last


def test_a_burst_of_sorts_of_a_big_table_is_bounded_per_session(
        serve: Any, client_for: Any, sorts: list[tuple[int, bool]],
        monkeypatch: pytest.MonkeyPatch) -> None:
    # 20 KB of sort events on a 100,000-row table cost 55 s of CPU.  Scaled
    # down: 2,000 rows, a budget of five sorts back to back, then one a second.
    monkeypatch.setattr(stgo.widgets.dataframe, "SORT_ROWS_BURST", 10_000)
    monkeypatch.setattr(stgo.widgets.dataframe, "SORT_ROWS_RATE", 2_000)
    app = stgo.App()
    table = app.dataframe(wide(2_000, 30), key="t")
    sock = client_for(serve(app)).connect()
    began = time.monotonic()
    last = 0
    for i in range(300):  # a new column each time: each one a new sort
        last = sock.event(table.id, "sort", i % 30)
    sock.ack(last, timeout=30)
    sock.ack(sock.event(table.id, "sort", 0))  # everything before it has run
    elapsed = time.monotonic() - began
    assert len(sorts) <= 5 + elapsed + 1, (len(sorts), elapsed)
    refused = [m for m in sock.messages if m["type"] == "error"]
    assert refused and all("sorted too often" in m["message"] for m in refused)
    assert all(c.open for c in app.hub.connections())  # refused, not closed
