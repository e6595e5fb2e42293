"""axe-core (the ``axe-playwright-python`` package) over every example, served by a
real ``python -m stgo run``: no violation of any impact, on every page of each, and
on the gallery (every widget) in the light and the dark theme, also in the states
that show hidden markup (an open expander, popover and dialog, each tab, a toast,
selected and sorted rows)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

import stgo

from ..helpers import ServerProcess, stgo_run
from .conftest import wait_connected

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
#: Pages beside "/" that an example serves (the "/admin" one refuses a stranger).
PAGES = {"multipage.py": ["reports", "notes", "admin"]}

AXE = Axe()


def violations(page: Any) -> list[str]:
    """axe-core's violations on *page* now, one line each (rule, impact, elements)."""
    found = AXE.run(page).response["violations"]
    return [f"{v['impact']} {v['id']}: {v['help']} at "
            f"{[n['target'] for n in v['nodes']][:5]}" for v in found]


def served(processes: list[ServerProcess], name: str) -> str:
    proc = stgo_run(str(EXAMPLES / name))
    processes.append(proc)
    return proc.wait_url()


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.glob("*.py")))
def test_no_axe_violation_on_any_example(name: str, processes, new_page) -> None:
    url = served(processes, name)
    # The dark theme's colours are checked on the gallery, which shows every widget.
    for scheme in ("light", "dark") if name == "gallery.py" else ("light",):
        for path in ["", *PAGES.get(name, [])]:
            page = new_page(url + path, color_scheme=scheme)
            assert violations(page) == [], f"{name} /{path} ({scheme} theme)"


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_no_axe_violation_in_the_gallerys_opened_states(scheme: str, processes,
                                                        new_page) -> None:
    page = new_page(served(processes, "gallery.py"), color_scheme=scheme)
    page.get_by_text("Expander: click to open").click()
    expect(page.get_by_text("Hidden until opened.")).to_be_visible()
    page.get_by_text("A popover").click()
    expect(page.get_by_text("A small container that floats.")).to_be_visible()
    page.get_by_role("button", name="Toast me").click()
    expect(page.get_by_text("A toast, for you only")).to_be_visible()
    page.get_by_label("select row 1").check()
    page.locator("th[data-sort]").first.click()
    expect(page.locator("th[aria-sort=ascending]")).to_have_count(1)
    page.get_by_role("group", name="Toppings").get_by_text("Olives").click()  # 2 chips on
    page.get_by_label("Order name").fill("Ada")  # a form with a draft
    assert violations(page) == [], "expander, popover, toast, rows, form draft"
    for name in ("Second tab", "Third tab"):
        page.get_by_role("tab", name=name).click()
        assert violations(page) == [], name
    page.get_by_role("button", name="Open a dialog").click()
    expect(page.get_by_role("dialog")).to_be_visible()
    assert violations(page) == [], "the open dialog"


def test_axe_finds_what_it_should(new_page, serve) -> None:
    """The check is live: an unlabelled field fails it."""
    app = stgo.App(title="Bad")
    app.text("fine")
    page = new_page(serve(app).url)
    wait_connected(page)
    page.evaluate("() => document.body.insertAdjacentHTML('beforeend', '<input type=text>')")
    found = " ".join(violations(page))
    assert "label" in found
