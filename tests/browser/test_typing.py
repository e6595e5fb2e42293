"""Typing in a real browser while the server pushes: nothing the user does is lost."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

import stgo

from ..helpers import wait_until
from .conftest import session_of


@pytest.fixture
def ticker() -> Iterator[Callable[[Callable[[int], None], float], None]]:
    """Run ``step(n)`` every *interval* seconds on a background thread until the test ends."""
    stop = threading.Event()
    threads: list[threading.Thread] = []

    def start(step: Callable[[int], None], interval: float) -> None:
        def loop() -> None:
            n = 0
            while not stop.wait(interval):
                n += 1
                step(n)

        thread = threading.Thread(target=loop, name="test-ticker", daemon=True)
        threads.append(thread)
        thread.start()

    yield start
    stop.set()
    for thread in threads:
        thread.join(5)


def typing_app() -> stgo.App:
    app = stgo.App(title="Typing")
    app.text("tick 0", key="tick")
    name = app.text_input("Name", key="name")
    app.text_area("Notes", key="notes")

    @app.on_session_start
    def setup(session: stgo.Session) -> None:
        session.text("", key="echo")

    @name.on_change
    def echo(session: stgo.Session, event: str, value: Any) -> None:
        session.widget("echo").set_text(f"echo: {value}")

    return app


def count_messages(page: Any) -> None:
    page.evaluate("""() => {
        window.__messages = 0;
        document.addEventListener('stgo:message', () => { window.__messages += 1; });
    }""")


def caret(page: Any) -> dict[str, Any]:
    return page.evaluate("""() => {
        const a = document.activeElement;
        return {id: a.id, label: a.labels && a.labels[0] ? a.labels[0].textContent : null,
                value: a.value, start: a.selectionStart, end: a.selectionEnd};
    }""")


def test_typing_while_global_pushes_arrive_keeps_text_focus_and_caret(
    serve, new_page, ticker
) -> None:
    app = typing_app()
    tick = app.widget("tick")
    server = serve(app)
    page = new_page(server.url)
    count_messages(page)
    ticker(lambda n: tick.set_text(f"tick {n}"), 0.005)

    field = page.get_by_label("Name")
    field.click()
    # Slow typing with pauses longer than the client's typing pause, so the
    # text is sent (and echoed) while the user is still typing.
    page.keyboard.type("Hello", delay=60)
    page.wait_for_function("() => window.stgo.acked >= 1")
    page.keyboard.type(", world", delay=60)
    now = caret(page)
    assert now["label"] == "Name"
    assert now["value"] == "Hello, world"
    assert now["start"] == now["end"] == len("Hello, world")
    # The caret in the middle stays where the user put it.
    page.keyboard.press("Home")
    page.keyboard.type("Say: ", delay=40)
    now = caret(page)
    assert now["value"] == "Say: Hello, world"
    assert now["start"] == now["end"] == len("Say: ")
    assert page.evaluate("window.__messages") > 50, "pushes did not arrive while typing"
    field.press("Enter")
    expect(page.locator("[data-key=echo]")).to_have_text("echo: Say: Hello, world")
    assert session_of(app, page).get("name") == "Say: Hello, world"
    expect(field).to_be_focused()


def test_typing_while_the_field_itself_is_redrawn_keeps_text_focus_and_caret(
    serve, new_page, ticker
) -> None:
    app = typing_app()
    notes = app.widget("notes")
    server = serve(app)
    page = new_page(server.url)
    count_messages(page)
    page.locator("textarea").click()
    # Each new label redraws the whole text area widget (an "update" op).
    ticker(lambda n: notes.set_label(f"Notes ({n})"), 0.005)
    page.keyboard.type("first line", delay=50)
    page.keyboard.press("Enter")
    page.keyboard.type("second", delay=50)
    expected = "first line\nsecond"
    now = caret(page)
    assert now["label"].startswith("Notes (")
    assert now["value"] == expected
    assert now["start"] == now["end"] == len(expected)
    # Select a word with the keyboard: the selection survives the redraws too.
    page.keyboard.press("Shift+ArrowLeft")
    page.keyboard.press("Shift+ArrowLeft")
    page.wait_for_function("() => window.__messages > 60")
    now = caret(page)
    assert (now["start"], now["end"]) == (len(expected) - 2, len(expected))
    assert page.evaluate("window.__messages") > 60, "the field was not redrawn while typing"
    page.keyboard.press("Tab")  # blur sends
    wait_until(lambda: session_of(app, page).get("notes") == expected)


def test_typing_during_a_slow_round_trip_is_not_overwritten(serve, new_page) -> None:
    app = typing_app()
    entered, release = threading.Event(), threading.Event()

    @app.widget("name").on_change
    def slow(session: stgo.Session, event: str, value: Any) -> None:
        if value == "abc":
            entered.set()
            release.wait(5)

    server = serve(app)
    page = new_page(server.url)
    page.get_by_label("Name").click()
    page.keyboard.type("abc")
    # The typing pause sends "abc"; its handler is now blocked on the server.
    assert entered.wait(5)
    page.keyboard.type("def")
    release.set()
    # The ack for "abc" (with the value "abc" for this input) arrives after
    # "def" was typed: it must not wipe "def".
    page.wait_for_function("() => window.stgo.acked >= 1")
    expect(page.get_by_label("Name")).to_have_value("abcdef")
    wait_until(lambda: session_of(app, page).get("name") == "abcdef")
    expect(page.get_by_label("Name")).to_have_value("abcdef")
    expect(page.locator("[data-key=echo]")).to_have_text("echo: abcdef")


XSS = ('<img src=x onerror="window.__xss=1;alert(1)">'
       '<script>window.__xss=2</script>"><svg onload=alert(3)>')


def test_xss_payload_typed_and_echoed_shows_as_text_and_runs_nothing(serve, new_page) -> None:
    app = stgo.App(title="Echo")
    said = app.text_input("Say something", key="said")

    @app.on_session_start
    def setup(session: stgo.Session) -> None:
        session.text("", key="echo")
        session.markdown("", key="echo_md")

    @said.on_change
    def echo(session: stgo.Session, event: str, value: Any) -> None:
        session.widget("echo").set_text(f"You said: {value}")
        session.widget("echo_md").set_text(f"**Markdown** says: {value}")

    server = serve(app)
    page = new_page(server.url)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.get_by_label("Say something").fill(XSS)
    page.get_by_label("Say something").press("Enter")
    echo_el = page.locator("[data-key=echo]")
    expect(echo_el).to_have_text(f"You said: {XSS}")
    expect(page.locator("[data-key=echo_md]")).to_contain_text(XSS)

    def assert_inert() -> None:
        root = page.locator("#stgo-app")
        assert root.locator("img, script:not([src]), svg").count() == 0
        assert page.evaluate("window.__xss") is None
        assert dialogs == []

    assert_inert()
    # A full server render (after a reload) escapes it too, also in the value attribute.
    page.reload()
    page.wait_for_function("() => window.stgo && window.stgo.connected")
    expect(page.get_by_label("Say something")).to_have_value(XSS)
    expect(page.locator("[data-key=echo]")).to_have_text(f"You said: {XSS}")
    assert_inert()
