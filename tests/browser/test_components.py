"""A third-party component installed with pip works in Chromium (issue 26)."""

from __future__ import annotations

import importlib
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import stgo

from ..test_components import install_rating
from .conftest import session_of, wait_connected
from .test_chart_page import WATCH_CSP


@pytest.fixture(scope="module")
def rating_module(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """stgo_rating, installed from its folder by pip into a folder of its own."""
    target = tmp_path_factory.mktemp("site")
    install_rating(target)
    assert (target / "stgo_rating" / "rating.js").is_file()  # shipped as package data
    sys.path.insert(0, str(target))
    try:
        module = importlib.import_module("stgo_rating")
        assert Path(module.__file__).parent == target / "stgo_rating"
        yield module
    finally:
        sys.path.remove(str(target))
        sys.modules.pop("stgo_rating", None)


def test_the_rating_component_installed_with_pip_works_in_chromium(
    serve: Any, new_page: Any, rating_module: Any
) -> None:
    app = stgo.App(title="Rate")
    rating = app.add_widget(rating_module.Rating("How was it?", key="stars", stars=5))
    got: list[int] = []
    rated = threading.Event()

    @rating.on_change
    def on_rate(session: stgo.Session, event: str, value: int) -> None:
        got.append(value)
        rated.set()

    server = serve(app)
    page = new_page()
    console: list[str] = []
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    page.add_init_script(WATCH_CSP)
    page.goto(server.url)
    wait_connected(page)
    group = page.get_by_role("radiogroup", name="How was it?")
    group.get_by_role("radio", name="4 stars").click()
    assert rated.wait(10) and got == [4]
    session = session_of(app, page)
    assert session.get("stars") == 4
    # Redrawn with the new value: four lit stars, the fourth checked; the
    # component's stylesheet (served from its package) applies.
    page.wait_for_function(
        "() => document.querySelectorAll('[data-key=stars] .stgo-rating-lit').length === 4")
    assert page.get_by_role("radio", name="4 stars").get_attribute("aria-checked") == "true"
    lit = page.eval_on_selector("[data-key=stars] .stgo-rating-lit",
                                "el => getComputedStyle(el).color")
    assert lit == "rgb(232, 164, 0)"
    # The keyboard: arrows move and pick.
    page.get_by_role("radio", name="4 stars").focus()
    page.keyboard.press("ArrowLeft")
    page.wait_for_function("() => document.querySelectorAll("
                           "'[data-key=stars] .stgo-rating-lit').length === 3")
    assert session.get("stars") == 3
    # A bad value, whatever the client sends, is refused with a clear error.
    page.evaluate("(id) => window.stgo.send(id, 'change', 9)", rating.id)
    page.wait_for_function("() => document.body.textContent.includes('from 0 to 5 stars')")
    assert session.get("stars") == 3
    assert page.evaluate("() => window.cspRefusals || []") == []
    assert [c for c in console if "from 0 to 5" not in c] == []
