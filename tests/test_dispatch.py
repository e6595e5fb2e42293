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


class Forged(App):
    """What an outside review reached with hand-made events: a dialog's button,
    a form with its only submit button disabled, a form field in a hidden box."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(title="Forged", **kwargs)
        self.ran: list[str] = []
        self.confirm = self.dialog("Delete everything?", key="confirm")
        self.yes = self.confirm.button("Yes, delete", key="yes",
                                       on_click=lambda s, e, v: self.ran.append("yes"))
        self.closed = self.form("closed")
        self.closed.text_input("Comment", key="comment")
        self.closed.submit_button("Send", key="send", disabled=True)
        self.closed.on_submit(lambda session, values: self.ran.append("closed"))
        self.profile = self.form("profile")
        self.profile.text_input("Name", key="pname")
        self.staff = self.profile.container(key="staff", visible=False)
        self.role = self.staff.text_input("Role", "user", key="role")
        self.level = self.profile.expander("More", visible=False).text_input(
            "Level", "1", key="plevel")
        self.profile.submit_button("Save")
        self.profile.on_submit(lambda session, values: self.ran.append("profile"))


@pytest.fixture
def forged(serve: Serve) -> tuple[Forged, Server]:
    app = Forged()
    return app, serve(app)


def test_a_button_in_a_dialog_the_session_never_opened_is_refused(
    forged: tuple[Forged, Server], client_for: MakeClient
) -> None:
    app, server = forged
    client = client_for(server)
    sock = client.connect()
    other = client_for(server).connect()
    message = error_for(sock, sock.event(app.yes.id))
    assert "'yes' is hidden (in dialog 'confirm')" in message
    assert app.ran == []
    # Opened for the first session only: its click runs, the other's is refused.
    mine = app.sessions.get(client.session_id or "")
    assert mine is not None
    app.confirm.open(mine)
    assert sock.ack(sock.event(app.yes.id))["type"] == "patch"
    assert app.ran == ["yes"]
    assert "hidden" in error_for(other, other.event(app.yes.id))
    assert app.ran == ["yes"]
    # Closed again: refused again; the connection took every refusal.
    app.confirm.close(mine)
    assert "hidden" in error_for(sock, sock.event(app.yes.id))
    assert sock.ack(sock.event(app.confirm.id, "close", True))["type"] == "error"
    assert app.ran == ["yes"] and all(c.open for c in app.hub.connections())


def test_a_form_whose_only_submit_button_is_disabled_cannot_be_submitted(
    forged: tuple[Forged, Server], client_for: MakeClient
) -> None:
    app, server = forged
    client = client_for(server)
    sock = client.connect()
    field = app.widget("comment").id
    seq = sock.event(app.closed.id, "submit", {field: "forged"})
    assert "form 'closed' has no submit button that is enabled and shown" in error_for(sock, seq)
    assert app.ran == []
    session = app.sessions.get(client.session_id or "")
    assert session is not None and not session.has("comment")
    # Enabled by the app: the same submit goes through.
    app.widget("send").set_disabled(False)
    assert sock.ack(sock.event(app.closed.id, "submit", {field: "kept"}))["type"] == "patch"
    assert app.ran == ["closed"] and session.get("comment") == "kept"


def test_a_form_field_in_a_hidden_container_is_not_set_by_the_submit(
    forged: tuple[Forged, Server], client_for: MakeClient
) -> None:
    app, server = forged
    client = client_for(server)
    sock = client.connect()
    values = {app.widget("pname").id: "Mallory", app.role.id: "admin", app.level.id: "99"}
    assert sock.ack(sock.event(app.profile.id, "submit", values))["type"] == "patch"
    # The shown field is taken; the ones in hidden boxes keep their values.
    session = app.sessions.get(client.session_id or "")
    assert session is not None
    assert session.get("pname") == "Mallory"
    assert app.role.value_for(session) == "user" and app.level.value_for(session) == "1"
    assert app.ran == ["profile"]
    # Shown by the app, the box's field is the user's to set.
    app.staff.show()
    assert sock.ack(sock.event(app.profile.id, "submit", values))["type"] == "patch"
    assert app.role.value_for(session) == "admin"


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
