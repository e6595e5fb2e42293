"""The data editor in Chromium: edit a number cell, add and delete rows,
refusal shown on the cell, keyboard moves; and a dataframe's column formats."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

import stgo

from ..helpers import wait_until
from .conftest import session_of


def editor_app(got: list[tuple[str, Any]]) -> stgo.App:
    app = stgo.App(title="Editor")
    rows = [{"item": "apple", "price": 1.5, "ok": True, "kind": "fruit"},
            {"item": "leek", "price": 2.0, "ok": False, "kind": "veg"}]
    editor = app.data_editor(rows, key="ed", num_rows="dynamic", label="Stock", column_config={
        "price": stgo.column.number("Price", format="$%.2f", min=0),
        "kind": stgo.column.select(["fruit", "veg"]),
        "item": stgo.column.text("Item", default="new"),
    })

    @editor.on_change
    def changed(session: stgo.Session, event: str, rows: Any) -> None:
        got.append((str(event), [dict(r) for r in rows]))

    app.dataframe([{"sku": "A-1", "price": 1234.5, "secret": "hidden-value"}], key="t",
                  column_config={"price": stgo.column.number("Unit price", format="$%.2f"),
                                 "secret": None})
    return app


def cell(page: Any, row: int, column: str) -> Any:
    return page.locator(f"[data-key=ed] tr[data-row='{row}'] [data-column='{column}']")


def test_edit_add_delete_and_a_refused_cell(serve, new_page) -> None:
    got: list[tuple[str, Any]] = []
    app = editor_app(got)
    server = serve(app)
    page = new_page(server.url)
    price = cell(page, 0, "price")
    expect(price).to_have_value("$1.50")  # formatted until focused
    expect(price).to_have_attribute("aria-label", "Price, row 1")

    # Edit a number cell: focus shows the raw value, Enter commits.
    price.click()
    expect(price).to_have_value("1.5")
    price.fill("2.75")
    price.press("Enter")
    wait_until(lambda: got and got[-1][0] == "edited")
    assert got[-1][1][0]["price"] == 2.75
    session = session_of(app, page)
    assert session.get("ed")[0]["price"] == 2.75
    price.press("Tab")  # leaving the cell shows the format again
    expect(price).to_have_value("$2.75")

    # A letter in a number column: refused on the cell, nothing stored.
    other = cell(page, 1, "price")
    other.click()
    other.fill("abc")
    other.press("Enter")
    expect(other).to_have_attribute("aria-invalid", "true")
    error = page.locator(f"#{other.get_attribute('id')}-error")
    expect(error).to_contain_text("expected a number")
    expect(other).to_have_attribute("aria-describedby", error.get_attribute("id") or "")
    assert session.get("ed")[1]["price"] == 2.0 and len(got) == 1
    other.press("Escape")  # puts the cell back
    expect(other).not_to_have_attribute("aria-invalid", "true")
    expect(other).to_have_value("2.0")
    expect(error).to_have_count(0)

    # Add a row, then type into it.
    page.get_by_role("button", name="+ Add row").click()
    wait_until(lambda: got[-1][0] == "added")
    assert got[-1][1][2] == {"item": "new", "price": None, "ok": None, "kind": None}
    expect(cell(page, 2, "item")).to_have_value("new")
    cell(page, 2, "item").fill("kale")
    cell(page, 2, "item").press("Enter")
    wait_until(lambda: got[-1][1][2]["item"] == "kale")

    # A checkbox and a select cell.
    cell(page, 1, "ok").check()
    wait_until(lambda: got[-1][1][1]["ok"] is True)
    cell(page, 2, "kind").select_option("fruit")
    wait_until(lambda: got[-1][1][2]["kind"] == "fruit")

    # Delete the first row.
    page.get_by_role("button", name="Delete row 1").click()
    wait_until(lambda: got[-1][0] == "deleted")
    assert [r["item"] for r in got[-1][1]] == ["leek", "kale"]
    expect(page.locator("[data-key=ed] tbody tr")).to_have_count(2)
    assert [r["item"] for r in session.get("ed")] == ["leek", "kale"]

    # A dataframe's column_config: formatted, labelled, a column hidden.
    table = page.locator("[data-key=t]")
    expect(table.locator("th", has_text="Unit price")).to_have_count(1)
    expect(table.locator("td").nth(1)).to_have_text("$1234.50")
    expect(table).not_to_contain_text("hidden-value")


def test_keyboard_moves_between_cells(serve, new_page) -> None:
    got: list[tuple[str, Any]] = []
    server = serve(editor_app(got))
    page = new_page(server.url)
    first = cell(page, 0, "item")
    first.focus()
    page.keyboard.press("ArrowDown")
    expect(cell(page, 1, "item")).to_be_focused()
    page.keyboard.press("ArrowRight")  # all text selected: the caret moves first
    page.keyboard.press("ArrowRight")
    expect(cell(page, 1, "price")).to_be_focused()
    page.keyboard.press("ArrowUp")
    expect(cell(page, 0, "price")).to_be_focused()
    page.keyboard.press("Tab")
    expect(cell(page, 0, "ok")).to_be_focused()
    page.keyboard.press("Enter")  # ticks the box
    wait_until(lambda: got and got[-1][1][0]["ok"] is False)
    # Typing then Escape leaves the cell as it was; nothing sent.
    cell(page, 0, "item").focus()
    page.keyboard.type("zzz")
    page.keyboard.press("Escape")
    expect(cell(page, 0, "item")).to_have_value("apple")
    page.keyboard.press("Tab")
    expect(cell(page, 0, "price")).to_be_focused()
    assert len(got) == 1


def test_typing_survives_a_redraw_from_another_tab(serve, new_page) -> None:
    got: list[tuple[str, Any]] = []
    server = serve(editor_app(got))
    page = new_page(server.url)
    other = new_page(server.url, context=page.context)  # the same session, another tab
    item = cell(page, 0, "item")
    item.focus()
    page.keyboard.type("pe")
    # The other tab's edit redraws this session's table in both tabs.
    cell(other, 1, "price").fill("3")
    cell(other, 1, "price").press("Enter")
    expect(cell(page, 1, "price")).to_have_value("$3.00")
    expect(item).to_be_focused()
    page.keyboard.type("ar")
    page.keyboard.press("Enter")
    wait_until(lambda: got[-1][1][0]["item"] == "pear")
    expect(item).to_have_value("pear")
    # The redraw did not send the half-typed text.
    assert [rows[0]["item"] for event, rows in got] == ["apple", "pear"]


def test_the_gallery_editor_works(serve, new_page) -> None:
    from .test_gallery import gallery

    app = gallery.make_app()
    server = serve(app)
    page = new_page(server.url)
    stock = page.get_by_label("In stock, row 2")
    expect(stock).to_have_value("3")
    stock.fill("4")
    stock.press("Enter")
    wait_until(lambda: (session_of(app, page).get("menu") or [{}, {}])[1].get("stock") == 4)
    stock.fill("x")
    stock.press("Enter")
    expect(stock).to_have_attribute("aria-invalid", "true")
    assert session_of(app, page).get("menu")[1]["stock"] == 4


def test_an_edit_left_for_a_delete_applies_to_its_own_row(serve, new_page) -> None:
    got: list[tuple[str, Any]] = []
    app = editor_app(got)
    server = serve(app)
    page = new_page(server.url)
    cell(page, 1, "item").fill("chard")  # typed, not sent yet...
    page.get_by_role("button", name="Delete row 1").click()  # ...when row 1 goes
    wait_until(lambda: len(got) == 2)
    assert [event for event, _ in got] == ["edited", "deleted"]
    assert [r["item"] for r in session_of(app, page).get("ed")] == ["chard"]


def test_pages_of_a_long_table(serve, new_page) -> None:
    app = stgo.App(title="Pages")
    app.data_editor([{"n": i} for i in range(5)], key="ed", num_rows="dynamic", page_size=2)
    server = serve(app)
    page = new_page(server.url)
    rows = page.locator("[data-key=ed] tbody tr")
    expect(rows).to_have_count(2)
    page.get_by_role("button", name="Next \u203a").click()
    expect(page.locator("[data-key=ed] .stgo-page-info")).to_have_text("Rows 3\u20134 of 5")
    cell(page, 3, "n").fill("30")
    cell(page, 3, "n").press("Enter")
    wait_until(lambda: (session_of(app, page).get("ed") or [{}] * 4)[3] == {"n": 30})
    page.get_by_role("button", name="+ Add row").click()
    expect(page.locator("[data-key=ed] .stgo-page-info")).to_have_text("Rows 5\u20136 of 6")
    expect(rows).to_have_count(2)
