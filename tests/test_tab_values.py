"""Per-tab input values (issue 26): ``scope="tab"`` keeps a value per browser
tab, ``bind="query"`` keeps it in the tab's URL; ``session.get`` inside an
event reads the value of the tab the event came from.  Driven through the
testing API (two tabs of one session), and with two Apps on one Redis (as two
processes would be)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest

import stgo
from stgo.errors import WidgetError
from stgo.testing import AppTester, SessionTester

from .services import RedisServer

REGIONS = ["all", "north", "south", "east"]


def _app(**options: Any) -> tuple[stgo.App, list[tuple[Any, Any]]]:
    """An app with a per-tab region, a URL-bound filter and a button that
    records what ``session.get`` reads in its event."""
    app = stgo.App(title="Reports", **options)
    app.selectbox("Region", REGIONS, key="region", scope="tab")
    app.selectbox("Filter", REGIONS, key="f", bind="query")
    seen: list[tuple[Any, Any]] = []

    def report(session: stgo.Session, event: str, value: Any) -> None:
        seen.append((session.get("region"), session.get("f")))

    app.button("Report", on_click=report)
    return app, seen


@pytest.fixture
def tester() -> Iterator[tuple[AppTester, list[tuple[Any, Any]]]]:
    app, seen = _app()
    with AppTester(app) as made:
        yield made, seen


def _urls(tab: SessionTester) -> list[dict[str, Any]]:
    return [m for m in tab.messages if m["type"] == "url"]


def test_two_tabs_of_one_session_keep_their_own_scope_tab_value_through_a_reload(
    tester: tuple[AppTester, list[tuple[Any, Any]]]
) -> None:
    made, seen = tester
    one = made.new_session()
    two = one.new_tab()
    assert one.session is two.session
    one.set_value("Region", "north")
    two.set_value("Region", "south")
    assert (one.value("Region"), two.value("Region")) == ("north", "south")
    # Each tab's event reads its own tab's value.
    one.click("Report")
    two.click("Report")
    assert [r for r, _ in seen] == ["north", "south"]
    # A reload of a tab (the same tab ID, a new connection) keeps its value.
    one.reload()
    two.reload()
    assert (one.value("Region"), two.value("Region")) == ("north", "south")
    assert 'selected>north<' in one.html() and 'selected>south<' in two.html()
    # A new tab starts from the default, not from another tab's choice.
    assert one.new_tab().value("Region") == "all"
    assert not one.errors and not two.errors


def test_a_full_render_draws_each_tab_with_its_own_value(
    tester: tuple[AppTester, list[tuple[Any, Any]]]
) -> None:
    made, _ = tester
    one = made.new_session()
    two = one.new_tab()
    one.set_value("Region", "east")
    made.app.hub.full_update(one.session)  # every tab of the session, at once
    renders = [[m for m in t.messages if m["type"] == "render"][-1] for t in (one, two)]
    assert "selected>east<" in renders[0]["roots"]["global"]
    assert "selected>east<" not in renders[1]["roots"]["global"]


def test_a_handler_setting_a_tab_value_changes_only_that_tab(
    tester: tuple[AppTester, list[tuple[Any, Any]]]
) -> None:
    made, _ = tester
    made.app.button("East", on_click=lambda s, e, v: s.set("region", "east"))
    one = made.new_session()
    two = one.new_tab()
    two.set_value("Region", "south")
    before = len(two.messages)
    one.click("East")
    assert (one.value("Region"), two.value("Region")) == ("east", "south")
    region = made.app.widget("region")
    pushed = [op for m in two.messages[before:] if m["type"] == "patch" for op in m["ops"]
              if op.get("id") == region.id]
    # The other tab is told its own value (if anything), never the clicking tab's.
    assert all(op["value"] == REGIONS.index("south") for op in pushed)
    mine = [op for m in one.messages if m["type"] == "patch" for op in m["ops"]
            if op.get("id") == region.id]
    assert mine[-1]["value"] == REGIONS.index("east")


def test_bind_query_reads_the_tab_url_and_moves_it_on_a_change(
    tester: tuple[AppTester, list[tuple[Any, Any]]]
) -> None:
    made, seen = tester
    north = made.new_session(query={"f": "north"})
    south = north.new_tab(query={"f": "south"})
    assert (north.value("Filter"), south.value("Filter")) == ("north", "south")
    north.click("Report")
    south.click("Report")
    assert [f for _, f in seen] == ["north", "south"]
    # A change moves that tab's URL (replaceState: a "url" message), no other's.
    south.set_value("Filter", "east")
    assert south.query == {"f": "east"} and north.query == {"f": "north"}
    assert _urls(south)[-1]["query"] == {"f": "east"} and not _urls(north)
    # Reload-safe and shareable: the URL brings the value back, in any tab.
    south.reload()
    assert south.value("Filter") == "east"
    shared = made.new_session(query=south.query)
    assert shared.value("Filter") == "east"
    assert "f" not in north.session.items()  # the URL holds it: nothing stored


def test_a_bad_query_value_shows_the_default_and_is_never_stored(
    tester: tuple[AppTester, list[tuple[Any, Any]]]
) -> None:
    made, seen = tester
    tab = made.new_session(query={"f": "atlantis", "region": "north"})
    assert tab.value("Filter") == "all"
    tab.click("Report")
    # Nothing set (as for any input never changed); the query's "region"
    # binds nothing: that input is scope="tab" only.
    assert seen == [(None, None)]
    assert tab.state == {} and not tab.errors


def test_outside_an_event_the_session_value_is_read_and_set_for_every_tab(
    tester: tuple[AppTester, list[tuple[Any, Any]]]
) -> None:
    made, _ = tester
    one = made.new_session(query={"f": "north"})
    two = one.new_tab()
    one.set_value("Region", "north")
    two.set_value("Region", "south")
    session = one.session
    # Outside any event: the session's value (none set: the default given).
    assert session.get("region", "all") == "all"
    session.set("region", "east")  # a background thread: every tab
    assert session.get("region") == "east"
    assert (one.value("Region"), two.value("Region")) == ("east", "east")
    session.set("f", "south")
    assert one.query == {"f": "south"} and two.query == {"f": "south"}
    assert (one.value("Filter"), two.value("Filter")) == ("south", "south")
    with pytest.raises(WidgetError):
        session.set("region", "atlantis")  # checked as the input's value


def test_scope_tab_works_on_pages_and_for_private_inputs() -> None:
    app = stgo.App(title="Pages")
    reports = app.page("/reports")
    reports.slider("Days", 1, 30, 7, key="days", scope="tab")
    mine: list[Any] = []

    @app.on_session_start
    def start(session: stgo.Session) -> None:
        session.checkbox("Compact", key="compact", scope="tab")

    reports.button("Read", on_click=lambda s, e, v: mine.append((s.get("days"),
                                                                   s.get("compact"))))
    with AppTester(app) as made:
        one = made.new_session()
        two = one.new_tab()
        for tab, days, compact in ((one, 3, True), (two, 20, False)):
            tab.navigate("/reports")
            tab.set_value("Days", days)
            tab.set_value("Compact", compact)
        one.click("Read")
        two.click("Read")
        assert mine == [(3, True), (20, False)]
        bad = two.send("Days", "change", 31)
        assert any("bad value" in m["message"] for m in bad if m["type"] == "error")
        assert two.value("Days") == 20


def test_query_text_for_each_kind_of_input() -> None:
    app = stgo.App(title="Kinds")
    app.number_input("N", value=1, min_value=0, max_value=10, key="n", bind="query")
    app.checkbox("On", key="on", bind="query")
    app.multiselect("Tags", ["a", "b", "c"], key="tags", bind="query")
    app.date_input("Day", dt.date(2026, 1, 1), key="day", bind="query")
    app.text_input("Name", key="name", bind="query", max_chars=5)
    with AppTester(app) as made:
        tab = made.new_session(query={"n": "7", "on": "true", "tags": "a,c",
                                      "day": "2026-03-04", "name": "Ann"})
        assert [tab.value(k) for k in ("n", "on", "tags", "day", "name")] == [
            7, True, ["a", "c"], dt.date(2026, 3, 4), "Ann"]
        tab.set_value("Day", dt.date(2026, 5, 6))
        tab.set_value("Tags", ["b"])
        tab.set_value("On", False)
        assert {k: tab.query[k] for k in ("day", "tags", "on")} == {
            "day": "2026-05-06", "tags": "b", "on": "false"}
        bad = made.new_session(query={"n": "11", "on": "yes", "tags": "a,z",
                                      "day": "someday", "name": "Annabel"})
        assert [bad.value(k) for k in ("n", "on", "tags", "day", "name")] == [
            1, False, [], dt.date(2026, 1, 1), ""]


@pytest.mark.parametrize(("options", "message"), [
    ({"scope": "browser"}, "scope must be one of"),
    ({"bind": "cookie"}, "bind must be None or 'query'"),
    ({"bind": "query", "key": None}, "needs a key="),
    ({"scope": "tab", "shared": True}, "shared=True"),
])
def test_bad_scope_or_bind_is_refused_naming_the_input(options: dict[str, Any],
                                                       message: str) -> None:
    app = stgo.App(title="Bad")
    given = {"key": "region", **options}
    with pytest.raises(WidgetError, match=message) as caught:
        app.selectbox("Region", REGIONS, **given)
    assert "Region" in str(caught.value)


def test_each_tab_keeps_its_own_value_across_two_apps_on_one_redis(
    redis_server: RedisServer
) -> None:
    """Two Apps on one Redis stand for two processes: a tab that reconnects
    to the other one (the same tab ID, as the page keeps it) finds its own
    value, and a tab of the same session there keeps its own."""
    first, _ = _app(store=redis_server.url)
    second, seen = _app(store=redis_server.url)
    first.start()
    second.start()
    try:
        one = AppTester(first).new_session()
        two = one.new_tab()
        one.set_value("Region", "north")
        two.set_value("Region", "south")
        session = second.sessions.get(one.session.id)
        assert session is not None
        elsewhere = AppTester(second)
        moved_one = elsewhere.tab(session, tab_id=one.tab.id)
        moved_two = elsewhere.tab(session, tab_id=two.tab.id)
        assert (moved_one.value("Region"), moved_two.value("Region")) == ("north", "south")
        moved_two.set_value("Region", "east")
        moved_one.click("Report")
        moved_two.click("Report")
        assert [r for r, _ in seen] == ["north", "east"]
        assert one.value("Region") == "north"
    finally:
        first.stop()
        second.stop()


def test_scope_tab_values_are_kept_for_the_32_tabs_used_last(
    tester: tuple[AppTester, list[tuple[Any, Any]]]
) -> None:
    made, _ = tester
    first = made.new_session()
    first.set_value("Region", "north")
    tabs = [first.new_tab() for _ in range(32)]
    for tab in tabs[:31]:
        tab.set_value("Region", "south")
    tabs[0].set_value("Region", "east")  # used again: the least recently used is another
    first.set_value("Region", "north")
    tabs[31].set_value("Region", "south")  # the 33rd tab with a value
    own = [k for k in first.state if k.startswith("stgo.tab:")]
    assert len(own) == 32
    assert tabs[1].value("Region") == "all"  # its value went
    assert [t.value("Region") for t in (first, tabs[0], tabs[2], tabs[31])] == [
        "north", "east", "south", "south"]
    assert not any(t.errors for t in (first, *tabs))


def test_a_query_changed_by_the_client_redraws_the_bound_input_of_that_tab(
    tester: tuple[AppTester, list[tuple[Any, Any]]]
) -> None:
    made, _ = tester
    tab = made.new_session(query={"f": "north"})
    other = tab.new_tab()
    before = len(tab.messages)
    tab._dispatch(json.dumps({"v": 1, "type": "query", "query": {"f": "east"}}))
    ops = [op for m in tab.messages[before:] if m["type"] == "patch" for op in m["ops"]]
    assert {"op": "value", "id": made.app.widget("f").id,
            "value": REGIONS.index("east")} in ops
    assert tab.value("Filter") == "east" and other.value("Filter") == "all"


def test_the_app_setting_a_tab_query_redraws_the_input_bound_to_it(
    tester: tuple[AppTester, list[tuple[Any, Any]]]
) -> None:
    made, _ = tester
    made.app.button("South", on_click=lambda s, e, v: s.tab.update_query(f="south"))
    tab = made.new_session(query={"f": "north"})
    other = tab.new_tab(query={"f": "east"})
    tab.click("South")
    assert tab.value("Filter") == "south" and other.value("Filter") == "east"
    region = made.app.widget("f")
    ops = [op for m in tab.messages if m["type"] == "patch" for op in m["ops"]
           if op.get("id") == region.id]
    assert ops[-1]["value"] == REGIONS.index("south")
