"""A 500-row interactive dataframe in a real browser: sort, page, select."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

import stgo

from ..helpers import wait_until
from .conftest import wait_connected


def table_app(got: list[Any]) -> stgo.App:
    app = stgo.App(title="Table")
    rows = [{"name": f"p{i:03d}", "score": (i * 37) % 500} for i in range(500)]
    table = app.dataframe(rows, selection="multi", page_size=100, key="t",
                          row_style=lambda row: "highlight" if row["score"] >= 495 else None)

    @table.on_select
    def chosen(session: stgo.Session, event: str, picked: Any) -> None:
        got.append([r["name"] for r in picked])

    return app


def first_cells(page: Any) -> list[str]:
    return page.locator("[data-key=t] tbody tr td:nth-child(2)").all_inner_texts()


def test_sort_page_and_select(serve, new_page) -> None:
    got: list[Any] = []
    server = serve(table_app(got))
    page = new_page(server.url)
    other = new_page(server.url)
    rows = page.locator("[data-key=t] tbody tr")
    expect(rows).to_have_count(100)
    expect(page.locator("[data-key=t] .stgo-page-info")).to_have_text("Rows 1\u2013100 of 500")
    high = sum((i * 37) % 500 >= 495 for i in range(100))
    assert high > 0
    expect(page.locator("[data-key=t] tr.stgo-row-highlight")).to_have_count(high)
    # Sort by score: ascending, then descending.
    page.locator("[data-key=t] th", has_text="score").click()
    expect(page.locator("[data-key=t] th", has_text="score")).to_have_attribute(
        "aria-sort", "ascending")
    expect(page.locator("[data-key=t] tbody tr").first.locator("td").nth(2)).to_have_text("0")
    page.locator("[data-key=t] th", has_text="score").click()
    expect(page.locator("[data-key=t] tbody tr").first.locator("td").nth(2)).to_have_text("499")
    # The other user's table keeps the data's order.
    expect(other.locator("[data-key=t] tbody tr").first.locator("td").nth(1)).to_have_text("p000")
    # Next page.
    page.get_by_role("button", name="Next \u203a").click()
    expect(page.locator("[data-key=t] .stgo-page-info")).to_have_text("Rows 101\u2013200 of 500")
    top = page.locator("[data-key=t] tbody tr").first
    name = top.locator("td").nth(1).inner_text()
    top.locator("input[data-select]").check()
    wait_until(lambda: got == [[name]])
    second = page.locator("[data-key=t] tbody tr").nth(1)
    name2 = second.locator("td").nth(1).inner_text()
    second.locator("input[data-select]").check()
    wait_until(lambda: len(got) == 2)
    assert sorted(got[-1]) == sorted([name, name2])
    expect(page.locator("[data-key=t] tr[aria-selected=true]")).to_have_count(2)


def test_a_click_made_before_the_table_script_ran_is_not_lost(serve, new_page) -> None:
    """The sorting and paging script loads when the page shows a table; a
    sort clicked before it ran (a busy machine, a slow link) is held and
    given again once it has, not dropped."""
    server = serve(table_app([]))
    page = new_page()
    waiting: list[Any] = []  # the script's request, answered when the test says
    page.route("**/static/table.js*", lambda route: waiting.append(route))
    page.goto(server.url, wait_until="domcontentloaded")  # "load" waits for the script
    wait_connected(page)
    wait_until(lambda: page.evaluate("() => 0") == 0 and bool(waiting))  # (lets the route in)
    header = page.locator("[data-key=t] th", has_text="score")
    assert page.evaluate("() => !window.stgo.tableReady")
    header.evaluate("th => th.click()")  # as a user's click, before the script ran
    waiting[0].continue_()
    expect(header).to_have_attribute("aria-sort", "ascending")
    expect(page.locator("[data-key=t] tbody tr").first.locator("td").nth(2)).to_have_text("0")


def test_a_click_held_for_the_table_script_survives_a_redraw_of_the_table(serve, new_page) -> None:
    """The socket's first render replaces what the page drew; a sort clicked
    in the old table, before the script ran, is given to the same header of
    the new one (it was lost: one user of 50 in the head-to-head run)."""
    server = serve(table_app([]))
    page = new_page()
    waiting: list[Any] = []
    page.route("**/static/table.js*", lambda route: waiting.append(route))
    page.goto(server.url, wait_until="domcontentloaded")
    wait_connected(page)
    wait_until(lambda: page.evaluate("() => 0") == 0 and bool(waiting))
    header = page.locator("[data-key=t] th", has_text="score")
    header.evaluate("th => { th.click(); th.dataset.old = '1'; }")  # held, then marked
    page.evaluate("() => window.stgo.resync()")  # a full render: a new table element
    wait_until(lambda: page.evaluate(
        "() => { const th = [...document.querySelectorAll('[data-key=t] th')]"
        ".find(e => e.textContent.includes('score')); return !!th && !th.dataset.old; }"))
    waiting[0].continue_()
    expect(header).to_have_attribute("aria-sort", "ascending")
    expect(page.locator("[data-key=t] tbody tr").first.locator("td").nth(2)).to_have_text("0")
