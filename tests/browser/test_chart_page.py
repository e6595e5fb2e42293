"""How a chart page looks and behaves under stgo's own strict CSP, in Chromium."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import stgo

from .conftest import wait_connected

# Registered before any page script runs (Playwright's init scripts are not
# subject to the page's policy): every refusal the policy makes is kept.
WATCH_CSP = """
document.addEventListener("securitypolicyviolation", function (e) {
  (window.cspRefusals = window.cspRefusals || []).push(
    e.violatedDirective + " " + e.blockedURI + " " + e.sourceFile + ":" + e.lineNumber);
});
"""

BOX = """(selector) => {
  const el = document.querySelector(selector);
  if (!el) return null;
  const b = el.getBoundingClientRect();
  return {x: b.x, y: b.y, w: b.width, h: b.height};
}"""


def overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return (a["x"] < b["x"] + b["w"] and b["x"] < a["x"] + a["w"]
            and a["y"] < b["y"] + b["h"] and b["y"] < a["y"] + a["h"])


def chart_page_app() -> stgo.App:
    app = stgo.App(title="Charts")
    hosts = {f"web{i}": [float(i), float(i + 1), float(i * 2)] for i in range(1, 7)}
    app.line_chart({"t": [0, 1, 2], **hosts}, x="t", title="Load by host, in requests a second",
                   x_label="seconds since the start of the run", key="load")
    app.bar_chart([{"k": "a", "n": 1}, {"k": "b", "n": 2}], x="k", y="n", key="bars")
    app.plotly_chart({"data": [{"type": "pie", "values": [1, 2], "labels": ["a", "b"]}]},
                     key="pie")
    return app


def test_a_chart_page_says_nothing_in_the_console_and_its_mode_bar_is_clear(
    serve: Any, new_page: Any, tmp_path: Path
) -> None:
    server = serve(chart_page_app())
    # Narrow, as in a column: a centred title would run under the mode bar.
    page = new_page(viewport={"width": 560, "height": 800})
    console: list[str] = []
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    page.add_init_script(WATCH_CSP)
    page.goto(server.url)
    wait_connected(page)
    for key in ("load", "bars", "pie"):
        page.wait_for_function(
            f"() => document.querySelector('[data-key={key}] .modebar') !== null")
    plot = "[data-key=load] .stgo-plot"
    page.hover(plot)
    # The mode bar fades in on hover.
    page.wait_for_function(
        "() => getComputedStyle(document.querySelector("
        "'[data-key=load] .modebar-group')).opacity === '1'")
    page.screenshot(path=str(tmp_path / "chart-hover.png"))
    assert page.evaluate("() => window.cspRefusals || []") == []
    assert console == []
    # No grey block: the groups and their buttons have no background and no border.
    looks = page.evaluate("""() => Array.from(document.querySelectorAll(
        '[data-key=load] .modebar-group, [data-key=load] .modebar-btn')).map(el => {
          const s = getComputedStyle(el);
          return [el.className, s.backgroundColor, s.borderTopStyle];
        })""")
    assert looks and all(bg in ("transparent", "rgba(0, 0, 0, 0)") and border == "none"
                         for _, bg, border in looks), looks
    # plotly.js's layout rules apply, from charts.css: the mode bar is laid out
    # at the top right, one row of buttons.
    bar, title = page.evaluate(BOX, "[data-key=load] .modebar"), page.evaluate(
        BOX, "[data-key=load] .gtitle")
    assert bar and title and bar["h"] < 40, (bar, title)
    assert not overlap(bar, title), (bar, title)
    # No button that would send the chart to Plotly's cloud.
    assert page.locator(".modebar-btn[data-title='Share chart...']").count() == 0


def test_a_charts_x_axis_title_and_legend_do_not_overlap(serve: Any, new_page: Any) -> None:
    server = serve(chart_page_app())
    page = new_page(server.url, viewport={"width": 900, "height": 800})
    page.wait_for_function("() => document.querySelector('[data-key=load] .legend') !== null")
    legend = page.evaluate(BOX, "[data-key=load] .legend")
    x_title = page.evaluate(BOX, "[data-key=load] .xtitle")
    plot = page.evaluate(BOX, "[data-key=load] .stgo-plot")
    assert legend and x_title and plot
    assert x_title["w"] > 100 and legend["h"] > 0
    assert not overlap(legend, x_title), (legend, x_title)
    # Both inside the chart's own box, not spilling onto the next widget.
    for box in (legend, x_title):
        assert plot["y"] <= box["y"] and box["y"] + box["h"] <= plot["y"] + plot["h"] + 1
