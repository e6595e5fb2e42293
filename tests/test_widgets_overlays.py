"""Toasts, spinners, dialogs, popovers, status boxes, chat and session slots."""

from __future__ import annotations

from typing import Any

import pytest

import stgo
from stgo import WidgetError
from stgo.testing import AppTester

from .markup import XSS, assert_inert


def kinds(messages: list[dict[str, Any]]) -> list[str]:
    return [m["type"] for m in messages]


def test_session_toasts_reach_that_session_and_app_toasts_everybody() -> None:
    app = stgo.App()
    button = app.button("Save")
    button.on_click(lambda session, event, value: session.toast("Saved", icon="!"))
    with AppTester(app) as tester:
        alice, bob = tester.new_session(), tester.new_session()
        alice_tab2 = alice.new_tab()
        alice.click("Save")
        assert alice.toasts == ["Saved"] and alice_tab2.toasts == ["Saved"]
        assert bob.toasts == []
        assert app.toast("Maintenance at noon", duration=0) == 3
        assert bob.toasts == ["Maintenance at noon"]
        toast = [m for m in alice.messages if m["type"] == "toast"][0]
        assert toast["icon"] == "!" and toast["duration"] == 4.0
        with pytest.raises(WidgetError):
            alice.session.toast("x", duration=-1)


def test_a_spinner_is_pushed_before_the_callbacks_other_changes() -> None:
    app = stgo.App(show_error_details=True)
    result = app.text("", key="result")
    seen_mid_callback: list[list[str]] = []
    button = app.button("Work")

    @button.on_click
    def work(session: stgo.Session, event: str, value: Any) -> None:
        result.set_text("done")          # waits for the end of the callback ...
        with session.spinner("Working"):
            seen_mid_callback.append(kinds(tab.conn.messages[before:]))
        raise RuntimeError("boom")       # ... and the spinner goes even so

    with AppTester(app) as tester:
        tab = tester.new_session()
        before = len(tab.messages)
        tab.click("Work")
        # Inside the block the tab already had what was pending and the spinner.
        assert seen_mid_callback == [["patch", "spinner"]]
        spin = [m for m in tab.messages if m["type"] == "spinner"]
        assert spin[0]["text"] == "Working" and "done" not in spin[0]
        assert spin[1]["done"] is True and spin[1]["id"] == spin[0]["id"]
        assert "boom" in tab.errors[-1]


def test_a_status_pushes_each_step_while_the_callback_runs() -> None:
    app = stgo.App()
    button = app.button("Run")
    counts: list[int] = []

    @button.on_click
    def run(session: stgo.Session, event: str, value: Any) -> None:
        with session.status("Working") as status:
            counts.append(len(tab.conn.messages))
            status.text("step 1")
            counts.append(len(tab.conn.messages))
            status.update(label="Almost")
            counts.append(len(tab.conn.messages))

    with AppTester(app) as tester:
        tab = tester.new_session()
        start = len(tab.messages)
        tab.click("Run")
        assert counts == [start + 1, start + 2, start + 3]   # one push per step, at once
        status = tab.find("Almost")
        assert isinstance(status, stgo.Status) and status.state == "complete"
    with pytest.raises(WidgetError):
        stgo.Status("x", state="sleeping")


def test_a_dialog_opens_and_closes_per_session() -> None:
    app = stgo.App()
    dialog = app.dialog("Confirm", key="confirm")
    dialog.text("Sure?")
    dismissed: list[str] = []
    dialog.on_dismiss(lambda session, event, value: dismissed.append(event.widget.key))
    with AppTester(app) as tester:
        alice, bob = tester.new_session(), tester.new_session()
        dialog.open(alice.session)
        assert dialog.is_open(alice.session) and not dialog.is_open(bob.session)
        assert alice.messages[-1] == {"v": 1, "type": "dialog", "id": dialog.id, "open": True}
        assert "data-open" in alice.html() and "data-open" not in bob.html()
        assert "dialog" not in kinds(bob.messages)
        alice.send(dialog, "close", True)          # Escape in the browser
        assert not dialog.is_open(alice.session) and dismissed == ["confirm"]
        strict = app.dialog("Must answer", dismissible=False)
        strict.open(bob.session)
        bob.send(strict, "close", True)
        assert strict.is_open(bob.session) and "only be closed by the app" in bob.errors[-1]
    with pytest.raises(WidgetError):
        stgo.Dialog("loose").open(object())


def test_popover_and_dialog_escape_their_text() -> None:
    app = stgo.App()
    pop = app.popover(XSS)
    pop.text(XSS)
    assert_inert(pop.render(None))
    assert_inert(app.dialog(XSS).render(None), allow=frozenset())
    assert_inert(app.chat_message(XSS, avatar=XSS).render(None))
    assert_inert(app.chat_input(XSS).render(None))
    app.stop()


def test_chat_input_and_a_streamed_message_reach_every_tab_as_it_comes() -> None:
    app = stgo.App()
    history = app.container()
    chat = app.chat_input("Say something", max_chars=20)
    answers: list[str] = []
    pushes: list[int] = []

    def tokens() -> Any:
        for token in ["Hel", "lo", 7]:
            pushes.append(len(bob.conn.messages))
            yield token

    @chat.on_submit
    def said(session: stgo.Session, event: stgo.Event, text: str) -> None:
        assert event.widget is chat
        history.chat_message("user").markdown(text)
        answers.append(history.chat_message("assistant").write_stream(tokens()))

    with AppTester(app) as tester:
        alice, bob = tester.new_session(), tester.new_session()
        start = len(bob.messages)
        alice.chat(chat, "  hi there ")
        assert answers == ["Hello7"]
        # Bob's tab got the message box, then each chunk, while the callback ran.
        assert pushes == [start + 1, start + 2, start + 3]
        assert "Hello7" in bob.html() and "hi there" in bob.html()
        for bad, reason in (("   ", "empty"), ("x" * 21, "at most 20"), (5, "expected text")):
            alice.chat(chat, bad)  # type: ignore[arg-type]
            assert reason in alice.errors[-1]
        assert len(answers) == 1
    with pytest.raises(WidgetError):
        stgo.ChatMessage("")


def test_a_slot_holds_each_sessions_own_widgets_in_place() -> None:
    app = stgo.App()
    app.text("above", key="above")
    slot = app.session_slot("yours")
    app.text("below", key="below")
    vote = app.radio("Vote", ["yes", "no"], key="vote")

    @vote.on_change
    def voted(session: stgo.Session, event: str, value: Any) -> None:
        box = slot.for_session(session)
        box.clear()
        box.text(f"you voted {value}", key="note")
        box.button("Undo", key="undo", on_click=undo)

    def undo(session: stgo.Session, event: str, value: Any) -> None:
        slot.clear_for(session)

    with AppTester(app) as tester:
        alice, bob = tester.new_session(), tester.new_session()
        alice.set_value("vote", "no")
        bob.set_value("vote", "yes")
        for tab, mine in ((alice, "you voted no"), (bob, "you voted yes")):
            html = tab.html()
            assert html.index("above") < html.index(mine) < html.index("below")
            assert html.count("you voted") == 1
        # The content's insert went into the slot, to that session only.
        ops = [op for m in alice.messages if m["type"] == "patch" for op in m["ops"]
               if op["op"] == "insert"]
        assert ops[-1]["parent"] == slot.id
        # Its widgets are that session's: events work there, and nowhere else.
        undo_button = alice.find("undo")
        bob.click(undo_button)
        assert "unknown widget" in bob.errors[-1]
        alice.click("undo")
        assert "you voted" not in alice.html() and "you voted yes" in bob.html()
        assert slot.for_session(alice.session) is slot.for_session(alice.session)

