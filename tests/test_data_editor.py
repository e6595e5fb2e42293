"""The data editor and column configuration: cells checked by their column,
per-session drafts, edited/added/deleted events, dataframe formatting."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

import stgo
from stgo.server import Server
from stgo.testing import AppTester

from .helpers import Client, wait_until

ROWS = [
    {"item": "apple", "price": 1.5, "qty": 3, "ok": True, "kind": "fruit",
     "when": dt.date(2026, 1, 5)},
    {"item": "leek", "price": 2.0, "qty": 1, "ok": False, "kind": "veg",
     "when": dt.date(2026, 2, 1)},
]


def editor_app(got: list[tuple[str, Any]], **options: Any) -> stgo.App:
    app = stgo.App(title="Editor")
    editor = app.data_editor(ROWS, key="ed", num_rows="dynamic", column_config={
        "item": stgo.column.text("Item", max_chars=12, validate=r"[a-z ]+", required=True),
        "price": stgo.column.number("Price", format="$%.2f", min=0, max=100),
        "qty": stgo.column.number(min=0, step=1, default=1),
        "ok": stgo.column.checkbox("In stock"),
        "kind": stgo.column.select(["fruit", "veg"], required=True, default="fruit"),
        "when": stgo.column.date(min="2026-01-01", max=dt.date(2026, 12, 31)),
    }, **options)

    @editor.on_change
    def changed(session: stgo.Session, event: str, rows: Any) -> None:
        got.append((str(event), rows))

    return app


def test_edit_add_delete_reach_on_change_and_the_session() -> None:
    got: list[tuple[str, Any]] = []
    with AppTester(editor_app(got)) as tester:
        tab = tester.new_session()
        tab.edit_cell("ed", 0, "price", 2.25)
        event, rows = got[-1]
        assert event == "edited" and rows.change == "edited"
        assert rows.indices == [0] and rows.column == "price"
        assert (rows.previous, rows.value) == (1.5, 2.25)
        assert rows[0]["price"] == 2.25 and rows[1] == ROWS[1]
        tab.add_row("ed", {"item": "kale", "price": 3})
        event, rows = got[-1]
        assert event == "added" and rows.indices == [2]
        # The cells not given take their column's default.
        assert rows[2] == {"item": "kale", "price": 3, "qty": 1, "ok": None, "kind": "fruit",
                           "when": None}
        tab.delete_rows("ed", [0])
        event, rows = got[-1]
        assert event == "deleted" and rows.indices == [0]
        assert rows.removed[0]["item"] == "apple"
        assert [r["item"] for r in rows] == ["leek", "kale"]
        assert [r["item"] for r in tab.session.get("ed")] == ["leek", "kale"]
        assert tab.value("ed") == tab.session.get("ed")
        tab.edit_cell("ed", 0, "kind", "fruit")  # a select cell: sent as its index
        tab.edit_cell("ed", 0, "when", dt.date(2026, 3, 4))
        tab.edit_cell("ed", 0, "ok", True)
        assert tab.session.get("ed")[0] == {"item": "leek", "price": 2.0, "qty": 1, "ok": True,
                                            "kind": "fruit", "when": dt.date(2026, 3, 4)}
        assert tab.errors == []


@pytest.mark.parametrize(("column", "value", "says"), [
    ("price", "abc", "expected a number, got 'abc'"),
    ("price", -1, "below the minimum 0"),
    ("price", 101, "above the maximum 100"),
    ("price", True, "expected a number, got bool"),
    ("qty", 2.5, "not on a step of 1"),
    ("item", "x" * 13, "at most 12 characters"),
    ("item", "Kale!", "does not match"),
    ("item", "", "a value is required"),
    ("item", 5, "expected text"),
    ("ok", "yes", "expected true or false"),
    ("kind", 7, "no option number 7"),
    ("kind", "meat", "not one of the options"),
    ("kind", None, "a value is required"),
    ("when", "2025-12-31", "before the earliest date"),
    ("when", "soon", "not a date"),
])
def test_bad_cell_values_are_refused_with_a_clear_error(column: str, value: Any,
                                                        says: str) -> None:
    got: list[tuple[str, Any]] = []
    with AppTester(editor_app(got)) as tester:
        tab = tester.new_session()
        tab.send("ed", "edited", {"row": 1, "column": column, "value": value})
        assert len(tab.errors) == 1 and says in tab.errors[0], tab.errors
        assert "row 2" in tab.errors[0]  # the cell is named, as the user counts rows
        assert got == [] and tab.session.get("ed") is None  # nothing stored, no handler


@pytest.mark.parametrize(("event", "value"), [
    ("edited", {"row": 5, "column": "price", "value": 1}),      # no such row
    ("edited", {"row": -1, "column": "price", "value": 1}),
    ("edited", {"row": 0, "column": "nope", "value": 1}),
    ("edited", {"row": 0, "column": "price"}),                  # malformed
    ("edited", [0, "price", 1]),
    ("added", {"nope": 1}),
    ("added", "row"),
    ("deleted", [0, 0]),
    ("deleted", [7]),
    ("deleted", []),
    ("deleted", ["0"]),
    ("change", [{"item": "x"}] * 1001),                        # past max_rows
    ("change", "rows"),
    ("sort", 0),
])
def test_malformed_edits_are_refused(event: str, value: Any) -> None:
    got: list[tuple[str, Any]] = []
    with AppTester(editor_app(got)) as tester:
        tab = tester.new_session()
        tab.send("ed", event, value)
        assert len(tab.errors) == 1 and got == []
        assert tab.session.get("ed") is None
        tab.edit_cell("ed", 0, "qty", 4)  # and the editor still works
        assert tab.session.get("ed")[0]["qty"] == 4


def test_fixed_rows_disabled_and_hidden_columns() -> None:
    app = stgo.App()
    app.data_editor(ROWS, key="ed", disabled=["qty"],
                    column_config={"price": stgo.column.number(disabled=True),
                                   "when": None, "ok": "In stock"})
    with AppTester(app) as tester:
        tab = tester.new_session()
        for event, value in [("added", None), ("deleted", [0]),
                             ("edited", {"row": 0, "column": "price", "value": 3}),
                             ("edited", {"row": 0, "column": "qty", "value": 3}),
                             ("edited", {"row": 0, "column": "when", "value": "2026-01-01"})]:
            tab.send("ed", event, value)
        assert len(tab.errors) == 5
        assert 'num_rows="fixed"' in tab.errors[0] and "cannot be edited" in tab.errors[2]
        html = tab.html()
        assert "Delete row" not in html and "Add row" not in html
        assert "when" not in html and "2026-01-05" not in html  # hidden: not even sent
        assert ">In stock</th>" in html
        assert 'data-column="price"' not in html  # a disabled column is text, not a field
        tab.edit_cell("ed", 1, "ok", True)  # a label-only config keeps the checkbox type
        assert tab.session.get("ed")[1]["ok"] is True


def test_each_session_edits_its_own_draft_unless_shared() -> None:
    app = stgo.App()
    editor = app.data_editor(ROWS, key="ed")
    shared = app.data_editor(ROWS, key="team", shared=True)
    with AppTester(app) as tester:
        alice, bob = tester.new_session(), tester.new_session()
        alice.edit_cell("ed", 0, "item", "pear")
        assert alice.value("ed")[0]["item"] == "pear"
        assert bob.value("ed")[0]["item"] == "apple" and editor.value[0]["item"] == "apple"
        assert 'value="pear"' in alice.html() and 'value="pear"' not in bob.html()
        alice.edit_cell("team", 1, "qty", 9)
        assert shared.value[1]["qty"] == 9 and bob.value("team")[1]["qty"] == 9
        seen = len(bob.messages)
        # Everybody's page shows the shared table's change.
        alice.edit_cell("team", 1, "qty", 10)
        assert any(m["type"] == "patch" and 'data-key="team"' in str(m) and 'value="10"' in str(m)
                   for m in bob.messages[seen:])
        # The app replaces a session's draft with session.set, checked like any value.
        alice.session.set("ed", [{"item": "fig"}])
        assert alice.value("ed") == [{"item": "fig", "price": None, "qty": None, "ok": None,
                                      "kind": None, "when": None}]
        with pytest.raises(stgo.WidgetError, match="no column 'colour'"):
            alice.session.set("ed", [{"colour": "red"}])


def test_set_value_sends_the_whole_table() -> None:
    got: list[tuple[str, Any]] = []
    app = editor_app(got)
    with AppTester(app) as tester:
        tab = tester.new_session()
        rows = [dict(r) for r in ROWS] + [dict(ROWS[0], item="kiwi")]
        tab.set_value("ed", rows)
        assert tab.errors == [] and got[-1][0] == "change"
        assert [r["item"] for r in tab.value("ed")] == ["apple", "leek", "kiwi"]
        tab.set_value("ed", [dict(ROWS[0], price="free")])
        assert "expected a number" in tab.errors[-1] and len(tab.value("ed")) == 3


def test_rows_limit() -> None:
    app = stgo.App()
    app.data_editor([{"a": 1}], key="ed", num_rows="dynamic", max_rows=2)
    with AppTester(app) as tester:
        tab = tester.new_session()
        tab.add_row("ed")
        assert tab.errors == [] and len(tab.value("ed")) == 2
        assert "data-add-row disabled" in tab.html()
        tab.add_row("ed")
        assert "at most 2 rows" in tab.errors[-1] and len(tab.value("ed")) == 2


def test_an_empty_table_takes_its_columns_from_the_config() -> None:
    app = stgo.App()
    app.data_editor([], key="ed", num_rows="dynamic",
                    column_config={"name": stgo.column.text(), "n": stgo.column.number()})
    with AppTester(app) as tester:
        tab = tester.new_session()
        tab.add_row("ed", {"name": "x", "n": 2})
        assert tab.value("ed") == [{"name": "x", "n": 2}]


@pytest.mark.parametrize(("make", "says"), [
    (lambda: stgo.column.number(min=5, max=1), "above max"),
    (lambda: stgo.column.number(format="%d and %d"), "bad number format"),
    (lambda: stgo.column.number(step=0), "step must be positive"),
    (lambda: stgo.column.text(validate="("), "regular expression"),
    (lambda: stgo.column.text(max_chars=0), "max_chars"),
    (lambda: stgo.column.select("abc"), "not one string"),
    (lambda: stgo.column.select([]), "needs options"),
    (lambda: stgo.column.date(min="later"), "not a date"),
    (lambda: stgo.column.text(width="huge"), "width"),
    (lambda: stgo.column.number(default="x"), "bad default"),
    (lambda: stgo.DataEditor(ROWS, column_config={"colour": stgo.column.text()}),
     "which the data does not have"),
    (lambda: stgo.DataEditor(ROWS, column_config={"item": 5}), "column_config"),
    (lambda: stgo.DataEditor(ROWS, num_rows="many"), "num_rows"),
    (lambda: stgo.DataEditor(ROWS, max_rows=0), "max_rows"),
    (lambda: stgo.DataEditor("not a table"), "cannot show str"),
])
def test_misconfiguration_is_a_widget_error(make: Any, says: str) -> None:
    with pytest.raises(stgo.WidgetError, match=says):
        make()


def test_number_formats() -> None:
    cases = [("$%.2f", 1234.5, "$1234.50"), ("{:,.1f}", 1234.56, "1,234.6"),
             ("percent", 0.125, "12.50%"), ("dollar", -1234.5, "-$1,234.50"),
             ("localized", 1234567, "1,234,567"), ("%d units", 3.0, "3 units"),
             (None, 2.5, "2.5")]
    for fmt, value, text in cases:
        assert stgo.column.number(format=fmt).display(value) == text
    assert stgo.column.number(format="$%.2f").display(None) == ""
    assert stgo.column.date().display(dt.date(2026, 5, 1)) == "2026-05-01"


def test_dataframe_column_config_formats_labels_and_hides() -> None:
    app = stgo.App()
    app.dataframe([{"sku": "A-1", "price": 1234.5, "cost": 3, "secret": "s3cr3t"}], key="t",
                  column_config={"price": stgo.column.number("Price", format="$%.2f",
                                                             help="incl. tax"),
                                 "cost": "Cost", "secret": None})
    with AppTester(app) as tester:
        tab = tester.new_session()
        assert tab.table_rows("t") == [["A-1", "$1234.50", "3"]]
        html = tab.html()
        assert "s3cr3t" not in html and "secret" not in html
        assert 'title="incl. tax"' in html and ">Price</th>" in html and ">Cost</th>" in html
        tab.sort("t", "price")  # sorting still counts every column, hidden or not
        assert tab.errors == []


def test_factory_on_sessions_and_containers_but_not_forms() -> None:
    app = stgo.App()
    box = app.container()
    assert isinstance(box.data_editor([{"a": 1}], key="in_box"), stgo.DataEditor)
    form = app.form("f")
    with pytest.raises(stgo.WidgetError, match="cannot be in form 'f'"):
        form.data_editor([{"a": 1}], key="in_form")

    @app.session_page
    def page(session: stgo.Session) -> None:
        session.data_editor([{"a": 1}], key="mine", num_rows="dynamic")

    with AppTester(app) as tester:
        tab = tester.new_session()
        tab.edit_cell("in_box", 0, "a", 5)
        tab.add_row("mine", {"a": 2})
        assert tab.value("in_box") == [{"a": 5}] and tab.value("mine") == [{"a": 1}, {"a": 2}]


def test_drafts_live_in_the_redis_store_for_every_process(redis_server: Any,
                                                          make_app: Any) -> None:
    def build(title: str) -> stgo.App:
        app = make_app(title=title, store=redis_server.url)
        app.data_editor(ROWS, key="ed", num_rows="dynamic")
        return app

    first, second = build("a"), build("b")
    with AppTester(first) as tester:
        tab = tester.new_session()
        tab.edit_cell("ed", 0, "when", dt.date(2026, 6, 1))
        tab.add_row("ed", {"item": "kale", "price": 3.5})
        elsewhere = second.sessions.get(tab.session.id)  # the same session, another process
        assert elsewhere is not None
        rows = elsewhere.get("ed")
        assert rows[0]["when"] == dt.date(2026, 6, 1) and rows[2]["item"] == "kale"
        assert rows == tab.session.get("ed") and len(rows) == 3


def test_a_long_table_is_drawn_a_page_at_a_time_per_session() -> None:
    app = stgo.App()
    app.data_editor([{"n": i} for i in range(250)], key="ed", num_rows="dynamic",
                    page_size=100, shared=True)
    with AppTester(app) as tester:
        alice, bob = tester.new_session(), tester.new_session()
        assert alice.html().count("<tr data-row=") == 100 and "Rows 1\u2013100 of 250" in \
            alice.html()
        alice.send("ed", "page", 2)
        assert 'data-row="249"' in alice.html() and 'data-row="0"' not in alice.html()
        assert 'data-row="0"' in bob.html()  # bob's page is his own
        alice.edit_cell("ed", 249, "n", 1)   # rows are numbered in the whole table
        assert alice.value("ed")[249] == {"n": 1}
        bob.add_row("ed")                    # a new row: its adder sees the last page
        assert 'data-row="250"' in bob.html() and "of 251" in alice.html()
        for bad in (3, -1, "1", 1.0):
            alice.send("ed", "page", bad)
        assert len(alice.errors) == 4


def test_a_shared_editor_is_saved_and_relayed_to_another_process(redis_server: Any) -> None:
    def build(title: str) -> Server:
        app = stgo.App(title=title, store=redis_server.url)
        app.data_editor(ROWS, key="team", shared=True, num_rows="dynamic")
        server = Server(app, "127.0.0.1", 0)
        server.start()
        servers.append(server)
        return server

    servers: list[Server] = []
    try:
        here, there = build("a"), build("b")
        tab = Client(here.url).connect()
        widget = here.app.widget("team")
        tab.ack(tab.event(widget.id, "edited", {"row": 1, "column": "qty", "value": 7}))
        wait_until(lambda: there.app.widget("team").value[1]["qty"] == 7)
        tab.close()
        later = build("c")  # a process started afterwards restores it
        assert later.app.widget("team").value[1]["qty"] == 7
    finally:
        for server in servers:
            server.stop()


def test_a_read_only_table_still_pages() -> None:
    app = stgo.App()
    app.data_editor([{"n": i} for i in range(5)], key="ed", disabled=True, page_size=2,
                    num_rows="dynamic")
    with AppTester(app) as tester:
        tab = tester.new_session()
        assert "data-cell" not in tab.html() and "Add row" not in tab.html()
        tab.edit_cell("ed", 0, "n", 9)
        tab.add_row("ed")
        assert len(tab.errors) == 2 and "read-only" in tab.errors[0]
        tab.send("ed", "page", 2)
        assert len(tab.errors) == 2 and 'data-row="4"' in tab.html()


def test_a_dataframe_refuses_config_of_a_column_it_lacks() -> None:
    with pytest.raises(stgo.WidgetError, match="'prize', which the data does not have"):
        stgo.Dataframe([{"price": 1}], column_config={"prize": stgo.column.number()})
    table = stgo.Dataframe(None, column_config={"price": stgo.column.number(format="%.1f")})
    table.set_data([{"price": 2}])  # no columns yet: judged by nobody, applied once they come
    assert ">2.0</td>" in table.render()


def test_set_value_of_a_shared_editor_redraws_it_for_everybody() -> None:
    app = stgo.App()
    team = app.data_editor(ROWS, key="team", shared=True)
    mine = app.data_editor(ROWS, key="mine")
    with AppTester(app) as tester:
        tab = tester.new_session()
        seen = len(tab.messages)
        team.set_value([{"item": "fig"}])
        ops = [op for m in tab.messages[seen:] if m["type"] == "patch" for op in m["ops"]]
        assert [op["op"] for op in ops] == ["update"] and 'value="fig"' in ops[0]["html"]
        with pytest.raises(stgo.WidgetError, match="one value per session"):
            mine.set_value([{"item": "fig"}])


def test_handlers_by_keyword_decorator_arguments_and_event_widget() -> None:
    seen: list[Any] = []
    app = stgo.App()
    editor = app.data_editor([{"a": 1}], key="ed", num_rows="dynamic",
                             on_change=lambda s, e, rows: seen.append(("kw", str(e))))

    @editor.on_change(args=("extra",))
    def tagged(session: stgo.Session, event: Any, rows: Any, tag: str) -> None:
        seen.append((tag, event.widget.key, rows.change))

    with pytest.raises(stgo.WidgetError, match="must be a function taking"):
        editor.on_change(lambda session: None)
    with AppTester(app) as tester:
        tester.new_session().add_row("ed")
    assert seen == [("kw", "added"), ("extra", "ed", "added")]
