"""Many widgets added in one callback reach the page in order (static/patch.js
puts a run of appends to one container in with one DOM insertion)."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

import stgo

from .conftest import wait_connected


def many_app() -> stgo.App:
    app = stgo.App(title="Many")
    go = app.button("Go", key="go")

    @app.session_page
    def page(session: stgo.Session) -> None:
        session.container(key="box", border=True)
        chat = session.container(key="chat")
        chat.chat_input(key="say")

    @go.on_click
    def write(session: stgo.Session, event: str, value: Any) -> None:
        start = session.increment("runs", 40) - 40
        box, chat = session.widget("box"), session.widget("chat")
        for i in range(start, start + 40):
            session.text(f"Top {i}", key=f"top{i}")
        for i in range(start, start + 40):
            box.text(f"Box {i}", key=f"box{i}")
        for i in range(start, start + 3):
            chat.text(f"Chat {i}", key=f"chat{i}")  # before the chat input, which stays last

    return app


def texts(page: Any, selector: str) -> list[str]:
    return page.locator(selector).all_inner_texts()


def test_a_callback_s_many_new_widgets_show_in_order_in_their_places(serve, new_page) -> None:
    server = serve(many_app())
    page = new_page(server.url)
    wait_connected(page)
    for run in (1, 2):
        page.evaluate("""() => { window.inserts = [];
          if (window.watching) window.watching.disconnect();
          window.watching = new MutationObserver(rs => rs.forEach(r => r.addedNodes.length &&
            window.inserts.push(r.addedNodes.length)));
          window.watching.observe(document.getElementById("stgo-session"), {childList: true});
        }""")
        page.get_by_role("button", name="Go").click()
        expect(page.get_by_text(f"Box {40 * run - 1}", exact=True)).to_be_visible()
        # The 40 new top-level texts went in at once: one DOM change, not 40.
        assert page.evaluate("() => window.inserts") == [40]
        n = 40 * run
        assert texts(page, "#stgo-session > [data-key^=top]") == [f"Top {i}" for i in range(n)]
        assert texts(page, "[data-key=box] [data-key^=box]") == [f"Box {i}" for i in range(n)]
        chat = page.locator("[data-key=chat] [data-children] > .stgo-w")
        kinds = chat.evaluate_all("els => els.map(e => e.dataset.key)")
        assert kinds == [f"chat{i}" for i in range(0, 40 * (run - 1) + 3)
                         if i % 40 < 3] + ["say"]
    # Each widget's element is unique and took its styles and set-ups (a border box).
    ids = page.locator("#stgo-app .stgo-w[id]").evaluate_all("els => els.map(e => e.id)")
    assert len(ids) == len(set(ids))
