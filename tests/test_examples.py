"""The examples: each served by a real ``python -m stgo run``, and each one's behaviour.

The smoke test starts every file in ``examples/`` as a child process, loads its
page twice (two fresh sessions), opens a WebSocket, then stops it with SIGTERM.
The behaviour tests drive each example headlessly with :mod:`stgo.testing`.
"""

from __future__ import annotations

import datetime as dt
import re
import runpy
import signal
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import stgo
from stgo.ids import is_valid_session_id
from stgo.protocol import CLOSE_ROTATED
from stgo.testing import AppTester, SessionTester

from .helpers import Client, Socket, request, session_cookie, stgo_run, wait_until
from .hostile import ws_from

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

# What each example's first page must show (as it appears in the HTML).
EXPECTED: dict[str, list[str]] = {
    "hello.py": ["Hello, stgo", "Clicks by everyone", "Increment", "You clicked 0 times",
                 "Sessions open", "Your name"],
    "counter.py": ["Counter", "Clicks by everyone", "Increment", "Your clicks", "Reset mine"],
    "session_widgets.py": ["Global title: shared by all users", "Every user sees this text.",
                           "Add a widget for me", "Clear my widgets"],
    "widget_update.py": ["This text can be updated", "This text can be deleted", "Update text",
                         "Hide / show text", "Your private note", "Delete my note"],
    "login.py": ["Sign in", "Signed in now", "auth/login"],
    "sso.py": ["Team board", "not signed in"],
    "dashboard.py": ["Live dashboard", "Requests / s", "Latency (ms)", "Nightly batch",
                     "Restart the batch", "stgo-plot", "Highlight latency above (ms)", "billing"],
    "files.py": ["Files", "Upload a CSV", "Download the summary", "stgo-file_uploader"],
    "chat.py": ["Chat room", "No messages yet", "Your name", "Message", "Send", "People here"],
    "multipage.py": ["Home", "Your name", "See the reports", "Log in as admin", "Reports",
                     "Notes"],
    "poll.py": ["Where shall we eat?", "Your choice", "Vote", "Results", "Admin",
                "stgo-slot", "stgo-form"],
    "todo.py": ["To-do", "Task", "Due", "Tags", "Add", "Hide done tasks", "Nothing to do yet."],
    "chatbot.py": ["Chat bot", "Ask me anything", "stgo-chat_input"],
    "jobs.py": ["Jobs", "Plotting demo", "Animation demo"],
    "layout.py": ["Layout and data", "stgo-columns", "stgo-sidebar", "stgo-expander",
                  "stgo-tabs", "stgo-table", "stgo-dataframe", "Lisbon", "Your view"],
    "regions.py": ["Sales by region", "Region", "Unit", "Sold", 'data-layout="wide"',
                   "Details"],
}

Make = Callable[[Any], AppTester]


def example(name: str) -> str:
    return str(EXAMPLES / name)


#: The password login that examples/login.py was before stgo.OIDC: the ID
#: rotation tests' app.
PASSWORD_LOGIN = str(Path(__file__).resolve().parent / "apps" / "password_login.py")


def test_every_example_is_covered() -> None:
    files = {p.name for p in EXAMPLES.glob("*.py")}
    assert set(EXPECTED) <= files, "an example listed here is missing"


# -- smoke: each example as a real server process -----------------------------------------


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.glob("*.py")))
def test_example_serves_a_fresh_session(name: str) -> None:
    proc = stgo_run(example(name))
    client: Client | None = None
    try:
        url = proc.wait_url()
        first = request(url, "/")
        assert first.status == 200, proc.output()
        for text in EXPECTED.get(name, []):
            assert text in first.body, f"{name}: {text!r} not on the page"
        sid, header = session_cookie(first.cookies())
        assert is_valid_session_id(sid)
        attrs = [a.strip().lower() for a in header.split(";")[1:]]
        assert {"httponly", "samesite=lax", "path=/"} <= set(attrs)
        assert not any(a.startswith(("expires", "max-age", "secure")) for a in attrs)
        # Another browser (no cookie) gets its own session, never the first one's.
        second_sid, _ = session_cookie(request(url, "/").cookies())
        assert second_sid != sid
        assert request(url, "/health").json() == {"status": "ok"}
        # The page's live half works too: a WebSocket gets the full render.
        client = Client(url)
        sock = client.connect()
        assert sock.messages[-1]["type"] == "render"
        proc.signal(signal.SIGTERM)
        assert sock.recv_close() == 1001
        assert proc.wait() == 0, proc.output()
        assert "Traceback" not in proc.output()
    finally:
        if client is not None:
            client.close()
        proc.kill()


def test_dashboard_pushes_from_its_timer_on_a_real_server() -> None:
    proc = stgo_run(example("dashboard.py"))
    client: Client | None = None
    try:
        client = Client(proc.wait_url())
        sock = client.connect()
        # No event sent: a patch can only come from the timer (1 s interval).
        patch = sock.recv_until(lambda m: m["type"] == "patch" and m["ops"], timeout=10)
        assert any("Last update" in op.get("html", "") for op in patch["ops"])
        proc.signal(signal.SIGTERM)
        assert proc.wait() == 0, proc.output()
    finally:
        if client is not None:
            client.close()
        proc.kill()


# -- hello.py ---------------------------------------------------------------------------------


def test_hello_counts_per_session_and_for_everybody(app_tester: Make) -> None:
    tester = app_tester(example("hello.py"))
    alice, bob = tester.new_session(), tester.new_session()
    assert alice.value("online") == 2
    alice.click("Increment")
    alice.click("Increment")
    bob.click("increment")
    assert alice.text("mine_text") == "You clicked 2 times"
    assert bob.text("mine_text") == "You clicked 1 times"
    assert alice.value("total") == bob.value("total") == 3
    assert alice.state["mine"] == 2 and bob.state["mine"] == 1
    assert not alice.errors and not bob.errors


def test_hello_name_is_private_and_mood_is_shared(app_tester: Make) -> None:
    tester = app_tester(example("hello.py"))
    alice, bob = tester.new_session(), tester.new_session()
    alice.type("name", "Alice")
    assert alice.text("greeting") == "Hello, Alice!"
    assert bob.text("greeting") == "Hello, stranger!"
    assert bob.value("name") == ""
    bob.set_value("mood", 9)
    assert alice.value("mood") == 9
    assert alice.session.get("mood") is None  # shared: kept on the widget, not in state
    tester.app.sessions.delete(bob.session.id)
    assert alice.value("online") == 1


# -- counter.py -------------------------------------------------------------------------------


def test_counter_isolates_sessions(app_tester: Make) -> None:
    tester = app_tester(example("counter.py"))
    alice, bob = tester.new_session(), tester.new_session()
    for _ in range(3):
        alice.click("Increment")
    bob.click("Increment")
    assert alice.value("mine") == 3 and bob.value("mine") == 1
    assert bob.value("total") == 4
    alice.click("Reset mine")
    assert alice.value("mine") == 0 and alice.state["mine"] == 0
    assert bob.value("mine") == 1 and bob.value("total") == 4


def test_counter_total_survives_concurrent_clicks(app_tester: Make) -> None:
    tester = app_tester(example("counter.py"))
    tabs = [tester.new_session() for _ in range(8)]
    clicks = 40
    start = threading.Barrier(len(tabs))

    def click_many(tab: SessionTester) -> None:
        start.wait()
        for _ in range(clicks):
            tab.click("increment")

    threads = [threading.Thread(target=click_many, args=(t,), name="test-clicker")
               for t in tabs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not any(t.is_alive() for t in threads)
    assert tabs[0].value("total") == len(tabs) * clicks
    assert all(t.value("mine") == clicks for t in tabs)


# -- session_widgets.py -------------------------------------------------------------------


def test_session_widgets_are_added_for_the_clicker_only(app_tester: Make) -> None:
    tester = app_tester(example("session_widgets.py"))
    alice, bob = tester.new_session(), tester.new_session()
    bob_seen = len(bob.messages)
    alice.click("Add a widget for me")
    alice.click("Add a widget for me")
    assert [w.text for w in alice.session.widgets] == ["Your counter: 1", "Your counter: 2"]
    assert "Your counter" not in bob.html()
    assert bob.session.widgets == []
    assert len(bob.messages) == bob_seen  # nothing at all was pushed to bob
    inserts = [op for m in alice.messages[-2:] for op in m["ops"]]
    assert [op["op"] for op in inserts] == ["insert", "insert"]
    assert all(op["parent"] == "session" for op in inserts)
    # Bob cannot click alice's widgets, even knowing their IDs.
    bob.send(alice.session.widgets[0], "click")
    assert bob.errors and "unknown widget" in bob.errors[-1]
    alice.click("Clear my widgets")
    assert alice.session.widgets == [] and alice.state["count"] == 0


# -- widget_update.py ---------------------------------------------------------------------


def test_widget_update_changes_global_widgets_for_everybody(app_tester: Make) -> None:
    tester = app_tester(example("widget_update.py"))
    alice, bob = tester.new_session(), tester.new_session()
    alice.click("Update text")
    assert bob.text("update_text").startswith("Text updated at ")
    alice.click("Hide / show text")
    assert not bob.find("update_text").visible
    assert not any(t.startswith("Text updated") for t in bob.texts())  # hidden text
    bob.click("Hide / show text")
    assert alice.find("update_text").visible
    deleted = alice.find("delete_text")
    bob.click("delete")
    assert "This text can be deleted" not in alice.texts()
    assert {"op": "remove", "id": deleted.id} in alice.messages[-1]["ops"]
    alice.click("delete")
    assert "This text can be deleted" in bob.texts()
    assert deleted.parent is tester.app.widget("slot")


def test_widget_update_session_note_is_private(app_tester: Make) -> None:
    tester = app_tester(example("widget_update.py"))
    alice, bob = tester.new_session(), tester.new_session()
    alice.click("Update my note")
    assert alice.text("note") == "Your private note, edited 1 times"
    assert bob.text("note") == "Your private note"
    alice.click("Delete my note")
    assert alice.session.get_widget("note") is None
    assert bob.text("note") == "Your private note"
    alice.click("Update my note")
    note = alice.find("note")
    assert note.text == "Your private note, edited 2 times"
    assert note.parent is alice.session.widget("note_slot")


# -- the password login (tests/apps/password_login.py) ------------------------------------


def log_in(tab: SessionTester, username: str, password: str) -> None:
    tab.type("Username", username)
    tab.type("Password", password)
    tab.click("Log in")


def test_login_wrong_password(app_tester: Make) -> None:
    tester = app_tester(PASSWORD_LOGIN)
    alice = tester.new_session()
    log_in(alice, "alice", "nope")
    error = alice.find("login_error")
    assert error.visible and "Wrong username or password" in alice.text(error)
    assert alice.state["password"] == ""  # never kept
    assert "user" not in alice.state
    assert alice.value("signed_in") == 0


def test_login_gives_a_per_session_identity_and_rotates_the_id_on_login_and_logout(
    app_tester: Make,
) -> None:
    tester = app_tester(PASSWORD_LOGIN)
    alice, bob = tester.new_session(), tester.new_session()
    alice_second_tab = alice.new_tab()
    before_login = alice.session.id
    log_in(alice, "alice", "wonderland")
    assert alice.state["user"] == "alice" and alice.state["password"] == ""
    assert alice.text("welcome") == "Welcome, alice!"
    assert alice_second_tab.text("welcome") == "Welcome, alice!"  # same session
    assert "user" not in bob.state
    assert bob.find("Log in") is not None
    assert bob.value("signed_in") == 1
    # Login rotated the ID: the old one is dead, every tab was closed (and
    # reconnected), only the tab that logged in got a token, nobody the ID.
    signed_in_id = alice.session.id
    assert signed_in_id != before_login and is_valid_session_id(signed_in_id)
    assert tester.app.sessions.get(before_login) is None
    assert tester.app.sessions.get(signed_in_id) is alice.session
    for tab, tokens in ((alice, 1), (alice_second_tab, 0)):
        cookies = [m for m in tab.messages if m["type"] == "cookie"]
        assert len(cookies) == tokens and all(set(m) == {"v", "type", "token"} for m in cookies)
        assert tab.conn.close_codes == [CLOSE_ROTATED] and tab.conn.open
        assert signed_in_id not in repr(tab.messages)

    alice.type("notes", "my secret plans")
    alice.click("Log out")
    # Logout clears the identity, shows the form again, and rotates once more;
    # the session itself (and its tabs) carries on, signed out.
    assert not alice.expired and not alice_second_tab.expired
    assert not alice.session.ended
    assert alice.session.id not in (before_login, signed_in_id)
    assert tester.app.sessions.get(signed_in_id) is None
    assert not {"user", "username", "notes"} & set(alice.state)
    for tab in (alice, alice_second_tab):
        assert tab.find("Log in") is not None
        assert "my secret plans" not in tab.html() and "Welcome" not in tab.html()
    assert bob.value("signed_in") == 0 and not bob.expired
    # Logging in again works, and rotates again.
    log_in(alice, "alice", "wonderland")
    assert alice.text("welcome") == "Welcome, alice!" and bob.value("signed_in") == 1


def test_login_limits_tries_per_client_address_not_per_session(app_tester: Make) -> None:
    ns = runpy.run_path(PASSWORD_LOGIN)
    tester = app_tester(ns["app"])
    mallory = tester.new_session(client="203.0.113.9")
    for _ in range(ns["MAX_ATTEMPTS"] - 1):
        log_in(mallory, "alice", "guess")
    # A new session does not start the count again: it is the address's.
    fresh = tester.new_session(client="203.0.113.9")
    log_in(fresh, "alice", "guess")
    assert fresh.find("Log in").disabled
    log_in(fresh, "alice", "wonderland")  # a hand-made click on the disabled button
    assert "user" not in fresh.state
    again = tester.new_session(client="203.0.113.9")
    log_in(again, "alice", "wonderland")  # even the right password, from there
    assert "user" not in again.state and again.find("Log in").disabled
    assert "Too many tries" in " ".join(again.texts())
    # Another address is not locked out.
    alice = tester.new_session(client="198.51.100.4")
    log_in(alice, "alice", "wonderland")
    assert alice.state["user"] == "alice"
    # The count lapses after the window.
    now = [1000.0]
    attempts = ns["Attempts"](2, 60.0, clock=lambda: now[0])
    attempts.fail("203.0.113.9")
    now[0] += 30
    attempts.fail("203.0.113.9")
    assert attempts.blocked("203.0.113.9")
    now[0] += 31  # the first failure lapsed
    assert not attempts.blocked("203.0.113.9")


# -- dashboard.py ---------------------------------------------------------------------------


@pytest.fixture
def dashboard(app_tester: Make) -> Iterator[tuple[AppTester, Any]]:
    ns = runpy.run_path(example("dashboard.py"))
    tester = app_tester(ns["app"])

    def update() -> None:  # a tick by hand, as the timer runs it: in one batch
        with tester.app.batch():
            ns["update"]()

    yield tester, update


def test_dashboard_tick_moves_every_number(dashboard: tuple[AppTester, Any]) -> None:
    tester, update = dashboard
    viewer = tester.new_session()
    before = len(viewer.messages)
    for _ in range(20):
        update()
    assert len(viewer.messages) == before + 20  # one message per tick (a batch)
    assert viewer.value("batch") == 100 and viewer.value("batches_done") == 0
    update()
    assert viewer.value("batch") == 0 and viewer.value("batches_done") == 1  # wrapped
    assert viewer.text("updated").endswith("(tick 21)")
    viewer.click("Restart the batch")
    assert viewer.value("batch") == 0


def test_dashboard_timer_ticks_while_the_app_runs_and_somebody_watches(
    dashboard: tuple[AppTester, Any],
) -> None:
    tester, _ = dashboard
    app = tester.app
    [timer] = app.timers.timers()  # @app.every: no thread of the example's own
    assert timer.name.endswith("tick") and timer.interval == 1.0
    watching = {"tabs": 0}
    app.online = lambda: dict(watching)  # type: ignore[method-assign]
    app.start()
    wait_until(lambda: timer.ticks >= 1, timeout=5)
    assert app.state.get("ticks") is None  # nobody watching: nothing moved
    watching["tabs"] = 1
    viewer = tester.new_session()
    updated = viewer.find("updated")
    wait_until(lambda: any(op.get("id") == updated.id
                           for m in viewer.messages if m["type"] == "patch" for op in m["ops"]))
    app.stop()
    assert not any(t.name == "stgo-timers" for t in threading.enumerate())


def test_dashboard_chart_grows_and_rows_follow_each_threshold(
    dashboard: tuple[AppTester, Any],
) -> None:
    tester, update = dashboard
    alice, bob = tester.new_session(), tester.new_session()
    alice.set_value("threshold", 0.0)   # every row is above 0 ms
    bob.set_value("threshold", 1000.0)  # none is above 1 s
    mark = len(alice.messages)
    for _ in range(3):
        update()
    assert alice.chart_data("trend")["tick"] == [1, 2, 3]
    extends = [op for m in alice.messages[mark:] for op in m.get("ops", [])
               if op["op"] == "extend"]
    assert len(extends) == 2  # the first tick made the series, then one point each
    assert alice.html().count("stgo-row-highlight") == 5
    assert bob.html().count("stgo-row-highlight") == 0


# -- files.py ---------------------------------------------------------------------------------


def test_files_upload_process_download(app_tester: Make) -> None:
    tester = app_tester(example("files.py"))
    alice, bob = tester.new_session(), tester.new_session()
    alice.upload("Upload a CSV", "sales.csv", "region,amount\nnorth,10\nsouth,2.5\n")
    assert alice.text("status") == "sales.csv: 2 rows, 33 bytes"
    body, name, mime = alice.download("Download the summary")
    assert name == "summary.csv" and mime == "text/csv"
    assert body.decode().splitlines() == ["column,sum", "region,", "amount,12.5"]
    assert bob.text("status") == "No file yet."  # bob's page is his own
    alice.upload("Upload a CSV", "notes.txt", "hello")
    assert "not an accepted type" in alice.errors[-1]
    alice.clear_upload("Upload a CSV")
    assert alice.text("status") == "No file yet."


# -- chat.py --------------------------------------------------------------------------------------


def test_chat_messages_reach_everybody(app_tester: Make) -> None:
    tester = app_tester(example("chat.py"))
    alice, bob = tester.new_session(), tester.new_session()
    assert alice.value("name").startswith("guest-")
    assert alice.value("people") == 2
    alice.type("name", "alice")
    bob.type("name", "bob")
    bob.type("message", "draft in progress")
    alice.type("message", "hi bob <script>")
    alice.click("Send")
    line = next(t for t in bob.texts() if "alice: hi bob" in t)
    assert re.fullmatch(r"\[\d\d:\d\d\] alice: hi bob <script>", line)
    assert "&lt;script&gt;" in bob.html() and "<script>" not in bob.html()
    assert "No messages yet. Say hello!" not in alice.texts()
    assert alice.value("message") == ""  # her field is cleared...
    assert bob.value("message") == "draft in progress"  # ...not his
    assert bob.value("name") == "bob"


def test_chat_ignores_empty_messages_and_keeps_a_bounded_history(app_tester: Make) -> None:
    ns = runpy.run_path(example("chat.py"))
    tester = app_tester(ns["app"])
    alice = tester.new_session()
    alice.type("message", "   ")
    alice.click("Send")
    assert alice.texts().count("No messages yet. Say hello!") == 1
    history = ns["HISTORY"]
    for i in range(history + 5):
        alice.type("message", f"message {i}")
        alice.click("Send")
    lines = tester.app.widget("messages").children
    assert len(lines) == history
    assert lines[0].text.endswith(f"message {5}") and lines[-1].text.endswith(
        f"message {history + 4}")
    assert not alice.errors


# -- layout.py --------------------------------------------------------------------------------


def test_layout_sidebar_choices_are_per_session(app_tester: Make) -> None:
    tester = app_tester(example("layout.py"))
    alice, bob = tester.new_session(), tester.new_session()
    alice.set_value("City", "Oslo")
    alice.set_value("unit", "Fahrenheit")
    alice.set_value("rows", 5)
    assert alice.text("choice").startswith("Oslo, Norway: 709 thousand people")
    assert alice.text("choice").endswith("Fahrenheit.")
    assert len(alice.find("my_rows").data.rows) == 5
    assert bob.text("choice").startswith("Lisbon, Portugal")
    assert len(bob.find("my_rows").data.rows) == 3
    assert alice.state["city"] == "Oslo" and "city" not in bob.state
    assert not alice.errors


def test_layout_builds_every_container(app_tester: Make) -> None:
    tester = app_tester(example("layout.py"))
    kinds = {w.kind for top in tester.app.global_widgets() for w in top.walk()}
    assert {"sidebar", "columns", "column", "container", "expander", "tabs", "tab", "table",
            "dataframe", "json", "metric", "code"} <= kinds
    assert isinstance(tester.app.widget("frame"), stgo.Dataframe)


def test_login_limits_tries_per_client_address_over_real_sockets(serve: Any) -> None:
    ns = runpy.run_path(PASSWORD_LOGIN)
    app = ns["app"]
    server = serve(app)

    def attempt(source: str, password: str) -> bool:
        """Log in as alice in a new session from *source*; whether it worked."""
        client = Client(server.url)
        client.get("/")
        session = app.sessions.get(client.session_id)
        sock = Socket(ws_from(server.url, client.session_id or "", source=source))
        try:
            sock.recv_until(lambda m: m["type"] == "render")
            for key, value in (("username", "alice"), ("password", password)):
                sock.ack(sock.event(session.widget(key).id, "change", value))
            seq = sock.event(session.widget("login").id)
            answer = sock.recv_until(lambda m: m.get("ack") == seq or m["type"] == "cookie")
            return answer["type"] == "cookie" and session.get("user") == "alice"
        finally:
            sock.close()

    for _ in range(ns["MAX_ATTEMPTS"]):
        assert not attempt("127.0.0.2", "guess")  # a new session for each try
    assert not attempt("127.0.0.2", "wonderland")  # locked out, however fresh the session
    assert attempt("127.0.0.1", "wonderland")  # another address is not


# -- multipage.py -------------------------------------------------------------------------


def test_multipage_carries_the_name_keeps_drafts_per_tab_and_guards_admin(
        app_tester: Make) -> None:
    tester = app_tester(example("multipage.py"))
    alice = tester.new_session()
    alice.type("Your name", "Ada")
    alice.navigate("/reports", {"region": "east"})
    assert alice.value("Your name") == "Ada"
    assert alice.value("Region") == "east"  # read from the tab's URL when it opened
    alice.set_value("Region", "west")
    assert alice.tab.query == {"region": "west"}
    # Two tabs of one session: one name, a draft each.
    other = alice.new_tab()
    other.navigate("/notes")
    alice.navigate("/notes")
    alice.type("Draft", "first tab's")
    alice.click("Save draft to this tab")
    other.click("Show this tab's draft")
    assert "This tab's draft: (none)" in other.texts()
    alice.click("Show this tab's draft")
    assert "This tab's draft: first tab's" in alice.texts()
    # The admin page refuses until logged in; the login button moves the tab.
    [render] = [m for m in alice.navigate("/admin") if m["type"] == "render"]
    assert render["status"] == 403
    alice.navigate("/")
    alice.click("Log in as admin")
    assert alice.path == "/admin"
    assert "You may see this page." in alice.texts()


# -- poll.py ------------------------------------------------------------------------------------


def test_poll_votes_are_shared_and_each_voter_sees_their_own_vote(app_tester: Make) -> None:
    tester = app_tester(example("poll.py"))
    alice, bob = tester.new_session(), tester.new_session()
    alice.submit("ballot", {"choice": "Sushi", "comment": "fresh"})
    bob.submit("ballot", {"choice": "Pizza"})
    bob.submit("ballot", {"choice": "Sushi"})
    assert alice.value("total") == bob.value("total") == 2
    assert "Sushi: 2 votes" in bob.texts() and "Pizza: 0 votes" in alice.texts()
    assert "You voted Sushi" in alice.texts() and "Your comment: fresh" in alice.texts()
    assert "You voted Sushi (changed)" in bob.texts()
    assert "Your comment: fresh" not in bob.texts()
    assert alice.toasts == ["Thanks for voting!"] and len(bob.toasts) == 2
    # The vote note sits under the form, above the shared results.
    html = alice.html()
    assert html.index("Vote") < html.index("You voted Sushi") < html.index("Results")
    bob.submit("ballot", {"choice": "Curry"})       # not an option: refused
    assert "not submitted" in bob.errors[-1] and bob.value("total") == 2
    carol = tester.new_session()
    assert carol.value("choice") is None            # nothing chosen for a newcomer
    carol.click("Vote")
    assert carol.toasts == ["Pick a place first"] and carol.value("total") == 2


def test_poll_reset_asks_first_and_clears_every_vote(app_tester: Make) -> None:
    tester = app_tester(example("poll.py"))
    alice, bob = tester.new_session(), tester.new_session()
    alice.submit("ballot", {"choice": "Tacos"})
    bob.click("reset")
    confirm = tester.app.widget("confirm")
    assert confirm.is_open(bob.session) and not confirm.is_open(alice.session)
    bob.click("yes")
    assert not confirm.is_open(bob.session)
    assert alice.value("total") == 0 and "You voted Tacos" not in alice.html()
    assert "The poll was reset" in alice.toasts


# -- todo.py --------------------------------------------------------------------------------------


def test_todo_rows_share_one_handler_and_stay_private(app_tester: Make) -> None:
    tester = app_tester(example("todo.py"))
    alice, bob = tester.new_session(), tester.new_session()
    alice.submit("add", {"Task": "Buy milk", "Due": dt.date(2026, 3, 2), "Tags": ["errand"]})
    alice.submit("add", {"Task": "Call Bob"})
    alice.submit("add", {"Task": "   "})
    assert alice.toasts == ["Type a task first"]
    rows = alice.session.widget("rows").children
    assert [r.key for r in rows] == ["row-1", "row-2"] and bob.session.widget("rows").children == []
    assert "**Buy milk** \u2014 due Mon 02 Mar #errand" in alice.texts()
    assert alice.value("task") == ""                # the form cleared itself
    alice.set_value("done-1", True)
    alice.set_value("hide_done", True)
    assert not alice.session.widget("row-1").visible and alice.session.widget("row-2").visible
    alice.click("delete-2")                          # the handler finds its row from the widget
    assert [r.key for r in alice.session.widget("rows").children] == ["row-1"]
    assert not alice.errors and not bob.errors


# -- chatbot.py ------------------------------------------------------------------------------------


def test_chatbot_streams_its_answer_into_the_session(app_tester: Make, monkeypatch) -> None:
    monkeypatch.setenv("CHATBOT_TOKEN_DELAY", "0")
    tester = app_tester(example("chatbot.py"))
    alice, bob = tester.new_session(), tester.new_session()
    start = len(alice.messages)
    alice.chat("ask", "hello there")
    assert alice.state["last_answer"].startswith("You said 2 words. Backwards, that is: "
                                                 "there hello.")
    # Token by token: many pushes for one event, and the input was disabled meanwhile.
    assert len(alice.messages) - start > 10
    assert "hello there" in alice.html() and "hello there" not in bob.html()
    assert not tester.app.get_widget("ask") and not alice.find("ask").disabled
    alice.chat("ask", "   ")
    assert "empty" in alice.errors[-1]


# -- jobs.py ------------------------------------------------------------------------------------


def test_jobs_run_as_tasks_restart_on_a_slider_and_stop_on_leaving(
        app_tester: Make, monkeypatch) -> None:
    monkeypatch.setenv("JOBS_STEP_DELAY", "0")
    monkeypatch.setenv("JOBS_FRAME_DELAY", "0.2")  # 20 s of frames: stopped, not finished
    tester = app_tester(example("jobs.py"))
    alice = tester.new_session()
    alice.navigate("/plotting")
    wait_until(lambda: "Done" in alice.texts(), timeout=20)
    assert "100% complete" not in alice.texts()  # "Done" replaced it
    chart = alice.session.widget("stgo-page:/plotting").children[2]
    assert len(alice.chart_data(chart)["value"]) == 501  # the first point and 100 x 5
    assert alice.session.tasks() == []
    alice.navigate("/animation")
    wait_until(lambda: alice.session.tasks() and any("@" in t for t in alice.texts()))
    [first] = alice.session.tasks()
    alice.set_value("Number of iterations", 5)  # restarts the job: the first is cancelled
    assert first.cancelled
    wait_until(lambda: first.done)
    [second] = alice.session.tasks()
    assert second.args[3] == 5 and not second.done
    alice.navigate("/")  # leaving the page stops it (long before its 20 s)
    wait_until(lambda: second.done and alice.session.tasks() == [])
    assert not alice.errors


# -- login.py and sso.py (sign-in: issue 25) --------------------------------------------------


def test_login_greets_the_user_and_their_notes_follow_them(app_tester: Make) -> None:
    tester = app_tester(example("login.py"))
    nobody = tester.new_session()
    assert nobody.text("greeting") == "You are not signed in."
    phone = tester.session(user=stgo.User(id="alice", name="Alice"))
    laptop = tester.session(user=stgo.User(id="alice", name="Alice"))
    assert phone.text("greeting") == "Welcome, Alice!" and phone.value("signed_in") == 2
    phone.type("Notes", "buy milk")
    phone.click("Save to my account")
    assert laptop.text("saved") == "Your notes (on every device): buy milk"  # live
    assert phone.text("saved") == "Your notes (on every device): buy milk"
    phone.session.logout(everywhere=True)
    assert laptop.expired and phone.text("greeting") == "You are not signed in."
    assert nobody.value("signed_in") == 0


def test_sso_trusts_the_proxys_header(app_tester: Make) -> None:
    tester = app_tester(example("sso.py"))
    assert tester.new_session().text("who").startswith("You are not signed in")
    alice = tester.session(user=stgo.User(id="alice", email="alice@example.com"))
    assert alice.text("who") == "Hello alice (alice@example.com)"
    assert alice.text("mine") == "Your sign-ins, on any device: 1"
    assert alice.value("visits") == 1


# -- regions.py -----------------------------------------------------------------------------


def test_regions_keeps_a_region_and_unit_per_tab(app_tester: Make) -> None:
    tester = app_tester(example("regions.py"))
    north = tester.new_session(query={"region": "north"})  # a shared link
    other = north.new_tab()
    assert north.value("Sold") == "north: 120 units"
    assert other.value("Sold") == "all: 355 units"
    other.set_value("Unit", "dozens")
    north.set_value("Region", "south")
    assert north.query == {"region": "south"} and other.query == {}
    assert north.value("Sold") == "south: 80 units"
    assert other.value("Sold") == "all: 29.6 dozen"
    assert north.reload().value("Sold") == "south: 80 units"
    assert other.reload().value("Unit") == "dozens"
    # The details page has a sidebar of its own.
    other.navigate("/details")
    other.set_value("Sort by", "sold")
    assert other.value("Sort by") == "sold" and north.value("Region") == "south"
