"""Altair / Vega-Lite charts, media players and the camera in Chromium, under
stgo's own strict policy (no 'unsafe-eval', no inline styles)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

import stgo

from .conftest import FLAGS, _chromium, wait_connected
from .test_chart_page import WATCH_CSP

alt = pytest.importorskip("altair")


def test_an_altair_chart_draws_without_policy_complaints_and_sends_selections(
    serve: Any, new_page: Any
) -> None:
    app = stgo.App(title="Altair")
    rows = [{"k": k, "n": n} for k, n in zip("abc", (3, 5, 2), strict=True)]
    pick = alt.selection_point(name="pick", fields=["k"])
    chart = alt.Chart(alt.Data(values=rows)).mark_bar().encode(
        x="k:N", y="n:Q",
        opacity=alt.condition(pick, alt.value(1.0), alt.value(0.4)),
        tooltip=["k:N", "n:Q"],
    ).add_params(pick).properties(title="Counts by kind", width=300)
    widget = app.altair_chart(chart, key="counts")
    app.altair_chart(alt.Chart(alt.Data(values=rows)).mark_bar().encode(x="k:N", y="n:Q"),
                     use_container_width=True, key="wide")
    picked: list[Any] = []
    got = threading.Event()

    @widget.on_select
    def on_pick(session: stgo.Session, event: str, selection: Any) -> None:
        picked.append(selection)
        got.set()

    server = serve(app)
    page = new_page()
    console: list[str] = []
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    page.add_init_script(WATCH_CSP)
    page.goto(server.url)
    wait_connected(page)
    bars = "[data-key=counts] .mark-rect path"
    page.wait_for_function(f"() => document.querySelectorAll('{bars}').length === 3")
    # Its accessible name is the chart's title.
    assert page.get_attribute("[data-key=counts] .stgo-vega", "aria-label") == "Counts by kind"
    # The export menu's icon button has a name; the editor links are left out.
    page.wait_for_function("() => (document.querySelector('[data-key=counts] summary')"
                           " || {}).ariaLabel === 'Chart actions: export as SVG or PNG'")
    assert page.locator("[data-key=counts] .vega-actions a").all_text_contents() == [
        "Save as SVG", "Save as PNG"]
    # A hover shows vega-tooltip's tooltip, styled by vega.css (no inline <style>).
    page.hover(f"{bars} >> nth=1")
    page.wait_for_function(
        "() => { const t = document.getElementById('vg-tooltip-element');"
        " return t && t.classList.contains('visible') && t.textContent.includes('5'); }")
    # use_container_width: as wide as the column (the centred one is ~640 px).
    page.wait_for_function("() => document.querySelector('[data-key=wide] .mark-rect')")
    wide = page.eval_on_selector("[data-key=wide] svg", "el => el.getBoundingClientRect().width")
    column = page.eval_on_selector("[data-key=wide]", "el => el.getBoundingClientRect().width")
    assert column - 60 <= wide <= column + 1, (wide, column)
    page.click(f"{bars} >> nth=1")
    assert got.wait(10)
    assert picked[-1] == {"pick": {"k": ["b"]}}
    # New data redraws the chart.
    widget.set_data([{"k": k, "n": 1} for k in "abcd"])
    page.wait_for_function(f"() => document.querySelectorAll('{bars}').length === 4")
    assert page.evaluate("() => window.cspRefusals || []") == []
    assert console == []


@pytest.fixture(scope="module")
def camera_browser(browser: Any) -> Iterator[Any]:
    """A Chromium whose camera is the fake one (a test pattern), allowed without asking."""
    instance = browser.browser_type.launch(
        executable_path=_chromium(),
        args=[*FLAGS, "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"])
    yield instance
    instance.close()


def test_the_fake_camera_delivers_a_photo_to_the_handler(
    serve: Any, camera_browser: Any
) -> None:
    app = stgo.App(title="Camera")
    photos: list[tuple[str, int, bytes]] = []
    got = threading.Event()
    camera = app.camera_input("Take a photo", key="shot")

    @camera.on_change
    def took(session: stgo.Session, event: str, photo: Any) -> None:
        photos.append((photo.type, photo.size, photo.getvalue()[:8]))
        assert session.get("shot") is photo
        got.set()

    server = serve(app)
    context = camera_browser.new_context()
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.add_init_script(WATCH_CSP)
        page.goto(server.url)
        wait_connected(page)
        page.get_by_role("button", name="Start camera").click()
        page.wait_for_function(
            "() => document.querySelector('[data-key=shot] video').videoWidth > 0")
        page.get_by_role("button", name="Take photo").click()
        assert got.wait(15)
        kind, size, head = photos[0]
        assert kind == "image/png" and size > 100 and head == b"\x89PNG\r\n\x1a\n"
        # The page says it has a photo, and the camera is off again.
        page.wait_for_function(
            "() => document.querySelector('[data-key=shot] .stgo-camera-taken') !== null")
        assert page.evaluate("() => window.cspRefusals || []") == []
        assert not errors
    finally:
        context.close()


def test_audio_and_video_play_from_the_app_under_the_policy(
    serve: Any, new_page: Any, tmp_path: Any
) -> None:
    np = pytest.importorskip("numpy")
    app = stgo.App(title="Media")
    tone = np.sin(np.linspace(0, 440 * 2 * np.pi, 8000))
    app.audio(tone, sample_rate=8000, key="tone", label="A tone")
    server = serve(app)
    page = new_page()
    page.add_init_script(WATCH_CSP)
    page.goto(server.url)
    wait_connected(page)
    # The player read the WAV's header from the app: one second of sound.
    page.wait_for_function(
        "() => { const a = document.querySelector('[data-key=tone] audio');"
        " return a.readyState >= 1 && Math.abs(a.duration - 1) < 0.01; }")
    assert page.evaluate("() => window.cspRefusals || []") == []
