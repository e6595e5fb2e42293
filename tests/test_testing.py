"""stgo.testing itself: AppTester, SessionTester and the ``app_tester`` pytest fixture."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import stgo
from stgo.errors import AppLoadError
from stgo.testing import AppTester, LocalConnection, app_tester

Make = Callable[[Any], AppTester]


def sample_app(**kwargs: Any) -> stgo.App:
    """A small app with one of everything AppTester reads or drives."""
    app = stgo.App(title="Tested", **kwargs)
    app.title("Tested")
    total = app.metric("Total", 0, key="total")
    go = app.button("Go", key="go")
    boom = app.button("Boom", key="boom")
    app.text_input("Name", key="name")
    app.selectbox("Fruit", ["apple", "banana", "cherry"], key="fruit")
    app.number_input("Age", 30, min_value=0, max_value=150, key="age")
    app.text("Hidden words", key="hidden", visible=False)
    app.ended = []  # type: ignore[attr-defined]

    @app.on_session_start
    def setup(session: stgo.Session) -> None:
        session.text("Mine: 0", key="mine")

    @app.on_session_end
    def record(session: stgo.Session, reason: str) -> None:
        app.ended.append(reason)  # type: ignore[attr-defined]

    @go.on_click
    def clicked(session: stgo.Session, event: str, value: Any) -> None:
        mine = session.increment("n")
        session.widget("mine").set_text(f"Mine: {mine}")
        total.increment()

    @boom.on_click
    def explode(session: stgo.Session, event: str, value: Any) -> None:
        session.set("before_the_error", True)
        raise RuntimeError("kaput")

    return app


# -- the fixture ----------------------------------------------------------------------------


def test_fixture_makes_testers_from_apps_and_files(app_tester: Make, tmp_path: Path) -> None:
    assert isinstance(app_tester(sample_app()), AppTester)
    file = tmp_path / "tiny.py"
    file.write_text("import stgo\napp = stgo.App(title='Tiny')\napp.text('tiny text')\n")
    tab = app_tester(str(file)).new_session()
    assert tab.texts() == ["tiny text"]


def test_fixture_closes_its_testers_after_the_test() -> None:
    app = sample_app()
    fixture = app_tester()
    make = next(fixture)
    tab = make(app).new_session()
    assert len(app.sessions) == 1
    with pytest.raises(StopIteration):
        next(fixture)  # the teardown half
    assert len(app.sessions) == 0 and app.ended == ["shutdown"]  # type: ignore[attr-defined]
    assert not tab.conn.open


def test_fixture_is_registered_by_the_entry_point(tmp_path: Path) -> None:
    """A pytest run that knows nothing of this repo's conftest still gets ``app_tester``."""
    (tmp_path / "test_user.py").write_text(textwrap.dedent("""
        import stgo

        APPS = []

        def make():
            app = stgo.App(title="User")
            app.button("Go", key="go", on_click=lambda s, e, v: s.increment("n"))
            APPS.append(app)
            return app

        def test_uses_the_fixture(app_tester):
            tab = app_tester(make()).new_session()
            tab.click("Go")
            assert tab.state == {"n": 1}

        def test_previous_tester_was_closed():
            assert len(APPS) == 1 and len(APPS[0].sessions) == 0
    """))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_user.py"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


# -- finding and reading --------------------------------------------------------------------


def test_find_by_key_label_and_text(app_tester: Make) -> None:
    tab = app_tester(sample_app()).new_session()
    go = tab.find("go")
    assert tab.find("Go") is go  # label
    assert tab.find("Mine: 0").key == "mine"  # text
    assert tab.find(go.id) is go  # its DOM id, as in protocol messages
    with pytest.raises(KeyError) as info:
        tab.find("Nope")
    message = str(info.value)
    assert "'go'" in message and "'Name'" in message
    assert go.id not in message  # generated IDs are noise: not listed


def test_find_sees_only_this_sessions_widgets(app_tester: Make) -> None:
    tester = app_tester(sample_app())
    alice, bob = tester.new_session(), tester.new_session()
    alice.session.text("alice only", key="secret")
    assert alice.text("secret") == "alice only"
    with pytest.raises(KeyError):
        bob.find("secret")


def test_value_text_and_texts(app_tester: Make) -> None:
    tab = app_tester(sample_app()).new_session()
    assert tab.value("name") == "" and tab.value("Age") == 30 and tab.value("fruit") == "apple"
    assert tab.value("total") == 0  # a metric's own value
    assert tab.text("mine") == "Mine: 0"
    with pytest.raises(TypeError, match="has no text"):
        tab.text("total")
    with pytest.raises(TypeError, match="has no value"):
        tab.value("mine")
    assert "Tested" in tab.texts() and "Hidden words" not in tab.texts()


def test_html_is_the_server_render_and_escapes(app_tester: Make) -> None:
    tab = app_tester(sample_app()).new_session()
    tab.type("name", "<b>Ann</b>")
    html = tab.html()
    assert 'value="&lt;b&gt;Ann&lt;/b&gt;"' in html and "<b>Ann" not in html
    assert tab.messages[0]["type"] == "render"  # what a browser gets on connect


# -- acting -----------------------------------------------------------------------------------


def test_click_runs_the_handler_in_the_right_session(app_tester: Make) -> None:
    tester = app_tester(sample_app())
    alice, bob = tester.new_session(), tester.new_session()
    caused = alice.click("Go")
    assert caused[-1]["type"] == "patch" and caused[-1]["ack"] == 1  # its first event
    assert alice.text("mine") == "Mine: 1" and bob.text("mine") == "Mine: 0"
    assert alice.state == {"n": 1} and bob.state == {}
    assert bob.value("total") == 1
    assert any(op["op"] == "update" for m in bob.messages[1:] for op in m["ops"])


def test_typing_and_choosing_store_in_session_state(app_tester: Make) -> None:
    tester = app_tester(sample_app())
    alice, bob = tester.new_session(), tester.new_session()
    alice.type("Name", "Ann")
    alice.set_value("Fruit", "cherry")  # by option...
    bob.set_value("fruit", 1)  # ...or by index, as the browser sends it
    assert alice.state == {"name": "Ann", "fruit": "cherry"}
    assert bob.value("fruit") == "banana" and bob.value("name") == ""


def test_bad_values_and_events_are_refused_with_an_error(app_tester: Make) -> None:
    tab = app_tester(sample_app()).new_session()
    tab.set_value("age", 200)
    tab.set_value("age", "old")
    tab.send("name", "click")
    assert len(tab.errors) == 3
    assert "above the maximum" in tab.errors[0]
    assert "has no event 'click'" in tab.errors[2]
    assert "age" not in tab.state


def test_a_raising_callback_shows_an_error_to_that_session_only(app_tester: Make) -> None:
    tester = app_tester(sample_app(show_error_details=True))
    alice, bob = tester.new_session(), tester.new_session()
    alice.click("Boom")
    assert len(alice.errors) == 1
    assert "explode raised RuntimeError: kaput" in alice.errors[0]
    assert alice.state["before_the_error"] is True  # what ran before the error stays
    assert bob.errors == []
    alice.click("Go")  # the session carries on
    assert alice.text("mine") == "Mine: 1" and len(alice.errors) == 1


def test_another_sessions_widget_is_refused(app_tester: Make) -> None:
    tester = app_tester(sample_app())
    alice, bob = tester.new_session(), tester.new_session()
    bob.send(alice.find("mine"), "click")
    assert "unknown widget" in bob.errors[-1]


# -- sessions and tabs -------------------------------------------------------------------


def test_new_tab_shares_the_session(app_tester: Make) -> None:
    tester = app_tester(sample_app())
    first = tester.new_session()
    second = first.new_tab()
    assert second.session is first.session and second.conn is not first.conn
    seen = len(second.messages)
    first.click("Go")
    assert second.text("mine") == "Mine: 1"
    pushed = second.messages[seen:]
    assert pushed and all("ack" not in m for m in pushed)  # the ack goes to the sender only
    second.type("name", "Ann")
    assert first.value("name") == "Ann"
    assert any(op == {"op": "value", "id": first.find("name").id, "value": "Ann"}
               for m in first.messages for op in m.get("ops", []))


def test_expire_idle_spares_open_tabs_and_ends_closed_ones(app_tester: Make) -> None:
    app = sample_app()
    tester = app_tester(app)
    kept, left = tester.new_session(), tester.new_session()
    left.close()
    assert tester.expire_idle(app.sessions.session_timeout - 1) == 0
    assert tester.expire_idle(app.sessions.session_timeout + 1) == 1
    assert app.ended == ["timeout"]  # type: ignore[attr-defined]
    assert app.sessions.get(left.session.id) is None
    assert app.sessions.get(kept.session.id) is kept.session  # an open tab keeps it


def test_expire_idle_with_strict_idle_tells_the_tab(app_tester: Make) -> None:
    app = sample_app(strict_idle=True)
    tester = app_tester(app)
    tab = tester.new_session()
    assert tester.expire_idle(app.sessions.session_timeout + 1) == 1
    assert tab.expired and not tab.conn.open
    assert tab.messages[-1] == {"v": 1, "type": "expired", "message": "session expired"}


def test_close_ends_every_session_once(app_tester: Make) -> None:
    app = sample_app()
    with AppTester(app) as tester:
        tester.new_session().new_tab()
        tester.new_session()
    assert len(app.sessions) == 0
    assert app.ended == ["shutdown", "shutdown"]  # type: ignore[attr-defined]
    assert len(app.hub) == 0


def test_from_file_reports_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(AppLoadError, match="no such file"):
        AppTester.from_file(tmp_path / "missing.py")


def test_local_connection_refuses_after_close() -> None:
    conn = LocalConnection()
    assert conn.send('{"v": 1, "type": "patch", "ops": []}')
    conn.close(1001, "bye", final='{"v": 1, "type": "expired", "message": "x"}')
    assert not conn.send('{"v": 1}')
    assert conn.close_code == 1001 and [m["type"] for m in conn.messages] == ["patch", "expired"]
