"""``stgo run --reload`` with a tab open, as a developer at work meets it: an
edit redraws the tab with the new code and the old values; a broken edit
shows its error in the tab, and the fix brings the app back by itself."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from ..helpers import ServerProcess, rewrite, signin_source, stgo_run, wait_answering
from .conftest import wait_connected


def _serve(tmp_path: Path, processes: list[ServerProcess]) -> tuple[Path, str]:
    """tests/apps/signin.py copied to *tmp_path*, served with ``--reload``."""
    app_file = tmp_path / "signin.py"
    app_file.write_text(signin_source("first"))
    proc = stgo_run(str(app_file), "--reload")
    processes.append(proc)
    url = proc.wait_url()
    wait_answering(url)
    return app_file, url


def _signed_in(new_page: Any, url: str) -> Any:
    """A tab of the app whose session clicked "Sign in" (x=42)."""
    page = new_page(url)
    shown = page.locator("[data-key=shown]")
    expect(shown).to_have_text("first: x=None, sign-ins 0")
    page.get_by_role("button", name="Sign in").click()
    expect(shown).to_have_text("first: x=42, sign-ins 1")
    return page


def test_an_edit_redraws_the_open_tab_with_the_new_code_and_the_old_values(
    new_page: Any, processes: list[ServerProcess], tmp_path: Path
) -> None:
    app_file, url = _serve(tmp_path, processes)
    page = _signed_in(new_page, url)
    page.evaluate("() => { window.__sameDocument = true; }")

    rewrite(app_file, signin_source("second"))
    # The tab reconnects by itself (no reload) to the new code's page, drawn
    # from the session's state, with the kept shared values.
    expect(page.locator("[data-key=shown]")).to_have_text("second: x=42, sign-ins 1",
                                                          timeout=30_000)
    expect(page.locator("[data-key=total]")).to_contain_text("1")
    assert page.evaluate("() => window.__sameDocument === true")
    # A fresh load with the same cookie: the same session.
    fresh = new_page(url, context=page.context)
    expect(fresh.locator("[data-key=shown]")).to_have_text("second: x=42, sign-ins 1")


def test_a_broken_edit_shows_its_error_in_the_open_tab_until_fixed(
    new_page: Any, processes: list[ServerProcess], tmp_path: Path
) -> None:
    app_file, url = _serve(tmp_path, processes)
    page = _signed_in(new_page, url)

    rewrite(app_file, signin_source("broken", tail="def oops(:\n"))
    # What a fresh load shows, not "Reconnecting…" over the stale page (a
    # bound: the tab used to retry for ever).
    expect(page.locator("h1")).to_have_text("The app failed to load", timeout=10_000)
    expect(page.locator("pre")).to_contain_text("syntax error")

    rewrite(app_file, signin_source("fixed"))
    # The error page reloads itself: the app is back, the session with it.
    expect(page.locator("[data-key=shown]")).to_have_text("fixed: x=42, sign-ins 1",
                                                          timeout=30_000)
    wait_connected(page)
