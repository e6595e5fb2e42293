"""The dispatcher over real sockets: what a hostile client may not make a widget do,
and what a user is told when the server fails."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

import pytest

import stgo
from stgo import App
from stgo.server import Server

from .helpers import Client, Socket

Serve = Callable[..., Server]
MakeClient = Callable[[Server], Client]


class Admin(App):
    """An app with an admin area that only some sessions are shown."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(title="Admin", **kwargs)
        self.ran: list[str] = []
        self.wipe = self.button("Wipe everything", key="wipe", visible=False,
                                on_click=self._record("wipe"))
        self.locked = self.button("Locked", key="locked", disabled=True,
                                  on_click=self._record("locked"))
        self.area = self.container(key="area", visible=False)
        self.deep = self.area.expander("More").button("Deep", key="deep",
                                                      on_click=self._record("deep"))
        self.folded = self.expander("Folded").button("Folded", key="folded",
                                                     on_click=self._record("folded"))
        self.later = self.tabs(["One", "Two"])[1].button("Later", key="later",
                                                        on_click=self._record("later"))
        self.hidden_name = self.text_input("Hidden", key="hidden_name", visible=False)
        self.level = self.slider("Level", 0, 10, step=2, key="level")
        self.ratio = self.number_input("Ratio", 0.0, min_value=0.0, max_value=1.0, step=0.1,
                                       key="ratio")
        self.count = self.number_input("Count", 1, key="count", min_value=0)
        self.name = self.text_input("Name", key="name")
        self.boom = self.button("Boom", key="boom", on_click=self.explode)

    def _record(self, name: str) -> Callable[[Any, str, Any], None]:
        def handler(session: Any, event: str, value: Any) -> None:
            self.ran.append(name)
        return handler

    def explode(self, session: Any, event: str, value: Any) -> None:
        raise RuntimeError("password=hunter2 in /srv/secret/db.py")


@pytest.fixture
def admin(serve: Serve) -> tuple[Admin, Server]:
    app = Admin()
    return app, serve(app)


def error_for(sock: Socket, seq: int) -> str:
    reply = sock.ack(seq)
    assert reply["type"] == "error", reply
    return str(reply["message"])


# -- finding 4: only what is shown can be used -----------------------------------------


def test_a_hidden_admin_buttons_handler_does_not_run(
    admin: tuple[Admin, Server], client_for: MakeClient
) -> None:
    app, server = admin
    sock = client_for(server).connect()
    message = error_for(sock, sock.event(app.wipe.id))
    assert "'wipe' is hidden" in message
    # Shown again, the same click works: the refusal is about being hidden.
    app.wipe.show()
    assert sock.ack(sock.event(app.wipe.id))["type"] == "patch"
    assert app.ran == ["wipe"]


def test_disabled_widgets_and_widgets_in_hidden_containers_take_no_events(
    admin: tuple[Admin, Server], client_for: MakeClient
) -> None:
    app, server = admin
    sock = client_for(server).connect()
    assert "'locked' is disabled" in error_for(sock, sock.event(app.locked.id))
    assert "'deep' is hidden" in error_for(sock, sock.event(app.deep.id))
    seq = sock.event(app.hidden_name.id, "change", "typed into a hidden field")
    assert "hidden" in error_for(sock, seq)
    assert app.ran == []
    session = app.sessions.get(sock_session(server, app))
    assert session is not None and not session.has("hidden_name")


def test_a_closed_expander_and_an_inactive_tab_are_still_usable(
    admin: tuple[Admin, Server], client_for: MakeClient
) -> None:
    app, server = admin
    sock = client_for(server).connect()
    assert sock.ack(sock.event(app.folded.id))["type"] == "patch"
    assert sock.ack(sock.event(app.later.id))["type"] == "patch"
    assert app.ran == ["folded", "later"]


def test_off_step_numbers_are_refused_and_on_step_ones_taken_without_float_drift(
    admin: tuple[Admin, Server], client_for: MakeClient
) -> None:
    app, server = admin
    client = client_for(server)
    sock = client.connect()
    assert "not on a step of 2" in error_for(sock, sock.event(app.level.id, "change", 3))
    assert sock.ack(sock.event(app.level.id, "change", 4))["type"] == "patch"
    # 0.3 is three steps of 0.1, though 0.1 * 3 != 0.3 in floats.
    assert sock.ack(sock.event(app.ratio.id, "change", 0.3))["type"] == "patch"
    assert "not on a step" in error_for(sock, sock.event(app.ratio.id, "change", 0.35))
    session = app.sessions.get(client.session_id or "")
    assert session is not None
    assert session.get("level") == 4 and session.get("ratio") == 0.3


# -- finding 6: a lone surrogate ---------------------------------------------------------


def test_a_lone_surrogate_is_refused_and_every_page_still_loads(
    admin: tuple[Admin, Server], client_for: MakeClient
) -> None:
    app, server = admin
    alice, bob = client_for(server), client_for(server)
    sock = alice.connect()
    bob.get("/")
    seq = sock.event(app.name.id, "change", "bad \ud800 text")
    assert "lone surrogate" in error_for(sock, seq)
    # A surrogate in a key or a nested value is refused as well.
    sock.send_json({"v": 1, "type": "event", "widget": app.name.id, "event": "change",
                    "value": {"\udfff": 1}, "seq": 99})
    assert "lone surrogate" in error_for(sock, 99)
    for client in (alice, bob, client_for(server)):
        assert client.get("/").status == 200
    # Text a program puts on the page is drawn with U+FFFD instead.
    app.text("from Python \ud800", key="py")
    for client in (alice, bob):
        page = client.get("/")
        assert page.status == 200 and "from Python \ufffd" in page.body
    assert sock.ack(sock.event(app.name.id, "change", "fine"))["type"] == "patch"


# -- finding 8: errors do not leak, and are logged once ----------------------------------


def test_a_failing_callback_shows_an_error_id_not_its_text(
    admin: tuple[Admin, Server], client_for: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    app, server = admin
    sock = client_for(server).connect()
    message = error_for(sock, sock.event(app.boom.id))
    found = re.fullmatch(r"Something went wrong \(error ([0-9a-f]{6})\)", message)
    assert found, message
    tracebacks = [r for r in caplog.records if r.exc_info and found.group(1) in r.getMessage()]
    assert len(tracebacks) == 1
    assert "hunter2" in str(tracebacks[0].exc_info[1])  # type: ignore[index]


def test_show_error_details_tells_the_user_what_raised(
    serve: Serve, client_for: MakeClient
) -> None:
    app = Admin(show_error_details=True)
    server = serve(app)
    sock = client_for(server).connect()
    message = error_for(sock, sock.event(app.boom.id))
    assert "RuntimeError: password=hunter2" in message and "Admin.explode" in message
    assert re.search(r"\(error [0-9a-f]{6}\)", message)


def test_a_callback_failing_again_and_again_logs_one_traceback_and_counts(
    admin: tuple[Admin, Server], client_for: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    app, server = admin
    sock = client_for(server).connect()
    messages = [error_for(sock, sock.event(app.boom.id)) for _ in range(9)]
    assert len(set(messages)) == 1  # one failure, one id
    mine = [r for r in caplog.records if "Admin.explode" in r.getMessage()]
    assert sum(1 for r in mine if r.exc_info) == 1
    counts = [r.getMessage() for r in mine if not r.exc_info]
    assert any("8 times" in m for m in counts), counts
    assert len(mine) < 9
    assert app.failures.count("callback Admin.explode", RuntimeError) == 9


def test_a_400_digit_number_gets_a_clear_error_and_no_traceback(
    admin: tuple[Admin, Server], client_for: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    app, server = admin
    sock = client_for(server).connect()
    huge = 10**400
    for widget in (app.ratio, app.count, app.level):
        message = error_for(sock, sock.event(widget.id, "change", huge))
        assert "above the maximum" in message or "too large" in message, message
        assert "Something went wrong" not in message
    with caplog.at_level(logging.DEBUG, logger="stgo"):
        error_for(sock, sock.event(app.ratio.id, "change", -huge))
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"


def sock_session(server: Server, app: App) -> str:
    ids = app.sessions.ids()
    assert len(ids) == 1
    return ids[0]


def test_stgo_exports_what_these_tests_use() -> None:
    assert stgo.App is App
