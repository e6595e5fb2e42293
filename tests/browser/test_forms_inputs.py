"""Forms and the richer inputs in a real browser: keyboard, mouse, drafts, submit."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

from playwright.sync_api import expect

import stgo

from ..helpers import wait_until
from .conftest import session_of


def form_app(gate: threading.Event | None = None) -> tuple[stgo.App, list[Any], list[Any]]:
    app = stgo.App(title="Forms")
    events: list[Any] = []
    submits: list[Any] = []
    form = app.form("signup", clear_on_submit=False)
    form.text_input("Name", key="name", max_chars=20)
    form.number_input("Age", 30, min_value=18, max_value=120, key="age")
    form.multiselect("Topics", ["news", "sport", "music"], key="topics")
    form.checkbox("Newsletter", key="news")
    form.selectbox("Plan", ["free", "pro"], index=None, key="plan")   # nothing chosen
    form.submit_button("Sign up")

    @app.on_event
    def seen(session: stgo.Session, widget: stgo.Widget, event: str, value: Any) -> None:
        events.append((widget.key, event, value))

    @form.on_submit
    def signed(session: stgo.Session, values: dict[str, Any]) -> None:
        if gate is not None:
            gate.wait(10)
        submits.append(values)
        session.text(f"Welcome {values['name']}", key="welcome")

    return app, events, submits


def test_a_form_sends_nothing_until_submit_then_everything_at_once(serve, new_page) -> None:
    gate = threading.Event()
    app, events, submits = form_app(gate)
    server = serve(app)
    page = new_page(server.url)
    page.get_by_label("Name").fill("Ada")
    page.get_by_label("Age").fill("36")
    page.get_by_label("Age").press("Tab")
    page.get_by_text("sport").click()                 # a mouse click on a chip
    page.get_by_label("music").focus()
    page.keyboard.press("Space")                      # and a key press on another
    page.get_by_label("Newsletter").check()
    # Nothing left the browser: no event, no state.
    assert page.evaluate("() => window.stgo.seq") == 0
    session = session_of(app, page)
    assert events == [] and session.items() == {}

    button = page.get_by_role("button", name="Sign up")
    button.click()
    wait_until(lambda: len(events) == 1)
    # Disabled until the server acknowledges the submit (its handler is held).
    expect(button).to_be_disabled()
    gate.set()
    expect(page.get_by_text("Welcome Ada")).to_be_visible()
    expect(button).to_be_enabled()
    assert page.evaluate("() => window.stgo.seq") == 1
    expected = {"name": "Ada", "age": 36, "topics": ["sport", "music"], "news": True,
                "plan": None}
    assert submits == [expected]
    assert {k: session.get(k) for k in expected} == expected


def test_a_bad_field_refuses_the_whole_submit_and_keeps_the_draft(serve, new_page) -> None:
    app, events, submits = form_app()
    server = serve(app)
    page = new_page(server.url)
    page.get_by_label("Name").fill("Bob")
    page.get_by_label("Age").fill("12")              # below the minimum
    page.get_by_label("Name").press("Enter")          # Enter in a one-line field submits
    expect(page.locator(".stgo-alert-error")).to_contain_text("Age: 12 is below the minimum 18")
    assert submits == [] and session_of(app, page).items() == {}
    expect(page.get_by_label("Name")).to_have_value("Bob")
    # The refused draft is still protected from pushes.
    session_of(app, page).set("age", 99)
    session_of(app, page).set("news", True)
    expect(page.get_by_label("Newsletter")).to_be_checked()     # untouched: follows
    expect(page.get_by_label("Age")).to_have_value("12")
    page.get_by_label("Age").fill("40")
    page.get_by_label("Plan").select_option("pro")
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_text("Welcome Bob")).to_be_visible()
    assert submits[0]["age"] == 40 and submits[0]["plan"] == "pro"


def test_another_tabs_submit_does_not_wipe_a_draft(serve, new_page) -> None:
    app, events, submits = form_app()
    server = serve(app)
    first = new_page(server.url)
    second = new_page(server.url, context=first.context)   # the same session
    first.get_by_label("Name").fill("draft in tab one")
    second.get_by_label("Name").fill("Carol")
    second.get_by_label("Age").fill("50")
    second.get_by_role("button", name="Sign up").click()
    expect(first.get_by_text("Welcome Carol")).to_be_visible()
    # The pushed values reached tab one's untouched field, not its draft.
    expect(first.get_by_label("Age")).to_have_value("50")
    expect(first.get_by_label("Name")).to_have_value("draft in tab one")
    first.get_by_role("button", name="Sign up").click()
    wait_until(lambda: len(submits) == 2)
    assert submits[1]["name"] == "draft in tab one" and submits[1]["age"] == 50


def inputs_app() -> stgo.App:
    app = stgo.App(title="Inputs")
    app.date_input("Day", dt.date(2026, 1, 10), key="day")
    app.date_input("Trip", (dt.date(2026, 1, 1), dt.date(2026, 1, 5)), key="trip",
                   min_value=dt.date(2025, 1, 1), max_value=dt.date(2027, 12, 31))
    app.multiselect("Fruit", ["apple", "banana", "cherry"], ["banana"], key="fruit",
                    max_selections=2)
    app.slider("Price", 0, 10, value=(2, 6), key="price")
    app.select_slider("Size", ["S", "M", "L", "XL"], "M", key="size")
    app.toggle("Dark mode", key="dark")
    app.color_picker("Colour", "#112233", key="colour")
    return app


def test_date_multiselect_and_range_inputs_with_the_keyboard(serve, new_page) -> None:
    app = inputs_app()
    server = serve(app)
    page = new_page(server.url)
    session = session_of(app, page)
    day = page.get_by_label("Day")
    day.focus()                       # the month part (en-US: mm/dd/yyyy)
    page.keyboard.type("03152026")
    wait_until(lambda: session.get("day") == dt.date(2026, 3, 15))

    # The trip's end, one day later with the arrow key on its day part.
    end = page.get_by_label("Trip: end")
    end.focus()
    page.keyboard.press("Tab")        # month -> day part
    page.keyboard.press("ArrowUp")
    wait_until(lambda: session.get("trip") == (dt.date(2026, 1, 1), dt.date(2026, 1, 6)))

    page.get_by_label("cherry").focus()
    page.keyboard.press("Space")
    wait_until(lambda: session.get("fruit") == ["banana", "cherry"])
    page.get_by_label("banana").focus()
    page.keyboard.press("Space")
    wait_until(lambda: session.get("fruit") == ["cherry"])
    expect(page.get_by_label("apple")).to_be_enabled()

    low = page.get_by_label("Price: low")
    low.focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    wait_until(lambda: session.get("price") == (4, 6))
    expect(page.locator("[data-key=price] output")).to_have_text("4 \u2013 6")
    # Past the other end it stops there: the ends never cross.
    for _ in range(5):
        page.keyboard.press("ArrowRight")
    wait_until(lambda: session.get("price") == (6, 6))

    page.get_by_label("Size").focus()
    page.keyboard.press("ArrowRight")
    wait_until(lambda: session.get("size") == "L")
    expect(page.locator("[data-key=size] output")).to_have_text("L")
    page.get_by_label("Dark mode").focus()
    page.keyboard.press("Space")
    wait_until(lambda: session.get("dark") is True)
    assert page.locator(".stgo-alert-error").all_inner_texts() == []


def test_multiselect_range_and_toggle_with_the_mouse(serve, new_page) -> None:
    app = inputs_app()
    server = serve(app)
    page = new_page(server.url)
    session = session_of(app, page)
    page.get_by_text("apple").click()
    wait_until(lambda: session.get("fruit") == ["apple", "banana"])
    expect(page.get_by_label("cherry")).to_be_disabled()     # two at most
    page.get_by_text("banana").click()
    expect(page.get_by_label("cherry")).to_be_enabled()
    wait_until(lambda: session.get("fruit") == ["apple"])

    high = page.get_by_label("Price: high")
    box = high.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] - 2, box["y"] + box["height"] / 2)
    wait_until(lambda: session.get("price") == (2, 10))

    page.get_by_text("Dark mode").click()
    wait_until(lambda: session.get("dark") is True)
    # The server pushes a new range: both handles and the output follow.
    session.set("price", (1, 3))
    expect(page.get_by_label("Price: low")).to_have_value("1")
    expect(page.get_by_label("Price: high")).to_have_value("3")


def test_clear_on_submit_empties_the_submitting_tab_and_keeps_others_drafts(
    serve, new_page
) -> None:
    app = stgo.App(title="Notes")
    form = app.form("notes", clear_on_submit=True)
    form.text_input("Note", key="note")
    form.date_input("When", dt.date(2026, 1, 1), key="when")
    form.submit_button("Save")
    saved: list[Any] = []
    form.on_submit(lambda session, values: saved.append(values))
    server = serve(app)
    page = new_page(server.url)
    other = new_page(server.url, context=page.context)
    other.get_by_label("Note").fill("half-written")
    page.get_by_label("Note").fill("first note")
    page.get_by_label("When").fill("2026-02-03")
    page.get_by_label("Note").press("Enter")
    wait_until(lambda: saved == [{"note": "first note", "when": dt.date(2026, 2, 3)}])
    expect(page.get_by_label("Note")).to_have_value("")
    expect(page.get_by_label("When")).to_have_value("2026-01-01")
    expect(other.get_by_label("When")).to_have_value("2026-01-01")
    expect(other.get_by_label("Note")).to_have_value("half-written")


def test_enter_does_not_submit_a_form_that_asks_for_its_button(serve, new_page) -> None:
    app = stgo.App(title="Button only")
    form = app.form("search", enter_to_submit=False)
    form.text_input("Query", key="query")
    form.submit_button("Search")
    searched: list[Any] = []
    form.on_submit(lambda session, values: searched.append(values["query"]))
    server = serve(app)
    page = new_page(server.url)
    page.get_by_label("Query").fill("stgo")
    page.get_by_label("Query").press("Enter")
    assert page.evaluate("() => window.stgo.seq") == 0
    page.get_by_role("button", name="Search").click()
    wait_until(lambda: searched == ["stgo"])
