"""The markup behind the accessibility and chat fixes (issue 26), without a
browser: tests/browser/test_accessibility.py, test_keyboard.py and test_chat.py
check the same in Chromium."""

from __future__ import annotations

import stgo


def test_a_chat_input_is_drawn_last_in_its_container_and_names_in_full() -> None:
    app = stgo.App(title="Chat")
    box = app.container(key="room")
    box.chat_input("Say something", key="say")
    box.chat_message("Ann").markdown("hi")
    box.chat_message("assistant").markdown("hello")
    html = box.render(None)
    assert html.index(">Ann<") < html.index(">assistant<") < html.index('placeholder="Say')
    assert [w.kind for w in box.children][0] == "chat_input"  # the model keeps its order
    assert 'class="stgo-avatar" aria-hidden="true">A<' in html


def test_tabs_have_one_tab_stop_and_tables_no_grid_attributes() -> None:
    app = stgo.App(title="T")
    app.tabs(["One", "Two", "Three"])
    frame = app.dataframe({"x": [1, 2]}, selection="multi", key="f")
    chart = app.line_chart({"x": [1, 2], "y": [3, 4]}, x="x", y="y", title="Trend")
    tabs = app.widgets[0].render(None)
    assert tabs.count('tabindex="-1"') == 2 and tabs.count('role="tab"') == 3
    assert "aria-multiselectable" not in frame.render(None)
    assert 'role="figure" aria-label="Trend"' in chart.render(None)
