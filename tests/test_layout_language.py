"""The page shell's options (issue 26): ``App(layout=...)``, ``page.sidebar``,
``@app.on_open`` for ``/``, ``App(language=...)`` (stgo's own words, sent
with the page as data), and ``bind="query"`` drawn in the first HTML."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest

import stgo
from stgo.errors import ConfigurationError
from stgo.server import Server
from stgo.strings import LANGUAGES, strings
from stgo.testing import AppTester

from .helpers import request


def _strings_of(html: str) -> dict[str, str]:
    found = re.search(r'<script type="application/json" id="stgo-strings">(.*?)</script>',
                      html, re.S)
    assert found, "no strings element on the page"
    words: dict[str, str] = json.loads(found.group(1))
    return words


def test_layout_and_language_reach_the_page(serve: Callable[..., Server]) -> None:
    app = stgo.App(title="Wide", layout="wide", language="de")
    app.text("hello")
    body = request(serve(app).url, "/").body
    assert '<html lang="de">' in body
    assert 'data-layout="wide"' in body
    words = _strings_of(body)
    assert words["reconnecting"] == "Verbindung wird wiederhergestellt…"
    assert words == dict(strings("de"))
    # Data only: no inline script for the strict CSP to refuse.
    assert len(re.findall(r"<script(?![^>]*(?:src=|application/json))", body)) == 0


def test_defaults_are_today_s_look_in_english(serve: Callable[..., Server]) -> None:
    app = stgo.App(title="Plain")
    body = request(serve(app).url, "/").body
    assert '<html lang="en">' in body and 'data-layout="centered"' in body
    assert _strings_of(body)["reconnecting"] == "Reconnecting…"
    assert app.layout == "centered" and app.language == "en"


def test_every_language_has_every_string() -> None:
    assert {"en", "de"} <= set(LANGUAGES)
    for language in LANGUAGES:
        assert set(strings(language)) == set(strings("en"))


@pytest.mark.parametrize(("options", "message"), [
    ({"language": "tlh"}, "language must be one of"),
    ({"language": None}, "language must be one of"),
    ({"layout": "full"}, "layout must be 'centered' or 'wide'"),
])
def test_unknown_language_or_layout_is_refused_at_construction(options: dict[str, Any],
                                                                message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        stgo.App(title="Bad", **options)


def test_a_refused_page_speaks_the_app_language(serve: Callable[..., Server]) -> None:
    app = stgo.App(title="Seiten", language="de")
    resp = request(serve(app).url, "/nirgends")
    assert resp.status == 404
    assert "Seite nicht gefunden" in resp.body


def test_a_page_sidebar_shows_only_on_its_page() -> None:
    app = stgo.App(title="Sidebars")
    app.sidebar.text("app side")
    reports = app.page("/reports")
    reports.sidebar.selectbox("Region", ["north", "south"], key="region")
    reports.text("reports main")
    with AppTester(app) as made:
        tab = made.new_session()
        home = app.render_roots(tab.session, "/")
        assert "app side" in home["sidebar"] and "Region" not in home["sidebar"]
        there = app.render_roots(tab.session, "/reports")
        assert "app side" in there["sidebar"] and "Region" in there["sidebar"]
        assert there["sidebar"].index("app side") < there["sidebar"].index("Region")
        assert "Region" not in there["global"] and "reports main" in there["global"]
        # Usable there (its events), not found on another page.
        tab.navigate("/reports")
        tab.set_value("Region", "south")
        assert tab.value("Region") == "south"
        tab.navigate("/")
        with pytest.raises(KeyError):
            tab.find("Region")
        # A widget added later reaches the tabs on that page only.
        other = tab.new_tab()
        tab.navigate("/reports")
        before = len(other.messages)
        reports.sidebar.text("later")
        assert any("later" in json.dumps(m) for m in tab.messages[-2:])
        assert not any("later" in json.dumps(m) for m in other.messages[before:])


def test_a_first_widget_draws_an_empty_page_sidebar_into_the_aside() -> None:
    app = stgo.App(title="Late")
    reports = app.page("/reports")
    with AppTester(app) as made:
        tab = made.new_session()
        tab.navigate("/reports")
        side = reports.sidebar
        before = len(tab.messages)
        side.text("first")
        ops = [op for m in tab.messages[before:] if m["type"] == "patch" for op in m["ops"]]
        assert [(op["op"], op.get("parent")) for op in ops] == [("insert", "sidebar")]
        assert side.id in ops[0]["html"] and "first" in ops[0]["html"]


def test_app_on_open_runs_for_the_home_page_with_the_tab() -> None:
    app = stgo.App(title="Home")
    app.page("/other")
    opened: list[tuple[str, dict[str, str]]] = []

    @app.on_open
    def home(session: stgo.Session, tab: Any) -> None:
        opened.append((tab.path, tab.query))
        session.set("opened", session.get("opened", 0) + 1)

    with AppTester(app) as made:
        tab = made.new_session(query={"q": "1"})
        assert opened == [("/", {"q": "1"})]
        tab.navigate("/other")
        assert len(opened) == 1
        tab.navigate("/")
        assert opened[-1][0] == "/" and tab.session.get("opened") == 2
    with pytest.raises(WidgetError_or_type()):
        app.on_open(lambda: None)  # type: ignore[arg-type]


def WidgetError_or_type() -> type[Exception]:  # noqa: N802 - reads as the exception
    return stgo.errors.WidgetError


def test_bind_query_is_drawn_in_the_first_html(serve: Callable[..., Server]) -> None:
    app = stgo.App(title="Query")
    app.selectbox("Region", ["all", "north", "south"], key="region", bind="query")
    url = serve(app).url
    assert "selected>south<" in request(url, "/?region=south").body
    assert "selected>all<" in request(url, "/?region=atlantis").body


def test_a_failing_callback_is_told_in_the_app_language() -> None:
    app = stgo.App(title="Fehler", language="de")

    def fails(session: stgo.Session, event: str, value: Any) -> None:
        raise RuntimeError("boom")

    app.button("Los", on_click=fails)
    with AppTester(app) as made:
        tab = made.new_session()
        tab.click("Los")
        assert re.fullmatch(r"Etwas ist schiefgegangen \(Fehler [0-9a-f]{6}\)", tab.errors[-1])
