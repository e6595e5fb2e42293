"""stgo_rating's own tests: run them with the package installed next to stgo."""

from __future__ import annotations

import pytest
from stgo_rating import Rating

import stgo
from stgo.testing import AppTester


def make_app() -> stgo.App:
    app = stgo.App(title="Rate")
    rating = app.add_widget(Rating("How was it?", key="stars", stars=5))

    @rating.on_change
    def rated(session: stgo.Session, event: str, value: int) -> None:
        session.set("thanks", f"{value} stars")

    return app


def test_a_rating_from_the_browser_is_the_value() -> None:
    with AppTester(make_app()) as tester:
        viewer = tester.new_session()
        viewer.send("stars", "change", 4)
        assert viewer.state["stars"] == 4 and viewer.state["thanks"] == "4 stars"


@pytest.mark.parametrize("bad", [6, -1, "5", 2.5, True, None, [1]])
def test_bad_ratings_are_refused_and_never_stored(bad: object) -> None:
    with AppTester(make_app()) as tester:
        viewer = tester.new_session()
        viewer.send("stars", "change", 3)
        viewer.send("stars", "change", bad)
        assert viewer.errors and "stars" in viewer.errors[-1]
        assert viewer.state["stars"] == 3


def test_the_page_names_only_the_components_own_files() -> None:
    with AppTester(make_app()) as tester:
        html = tester.new_session().html()
    version = Rating.asset_version
    assert f'data-module="static/components/stgo-rating/{version}/rating.js"' in html
    assert f"static/components/stgo-rating/{version}/rating.css" in html
    assert Rating.declared_files() == ["rating.js", "rating.css"]


def test_bad_options_are_refused_when_built() -> None:
    with pytest.raises(stgo.WidgetError, match="stars must"):
        Rating("Rate", stars=0)
    with pytest.raises(stgo.WidgetError, match="0 to 5"):
        Rating("Rate", 9)
