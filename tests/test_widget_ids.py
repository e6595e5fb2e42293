"""Widget IDs that every process gives alike (stgo.widgets.naming): a page
drawn by one process can be clicked through a socket another serves, before
that socket's first render (``--workers``, gunicorn, a restart)."""

from __future__ import annotations

import re
from pathlib import Path

import stgo
from stgo.testing import AppTester
from stgo.widgets.naming import stable_id

from .helpers import Client
from .services import RedisServer
from .test_relay_processes import expect
from .test_store_processes import Start, start

__all__ = ["start"]  # the fixture, imported for this module's tests

ALIKE = str(Path(__file__).parent / "apps" / "alike.py")


def _ids(html: str, *labels: str) -> dict[str, str]:
    """The element ID of each button labelled *label* in a page's HTML."""
    out = {}
    for label in labels:
        found = re.search(rf'id="(w[0-9a-f]{{12}})"(?:(?!id="w).)*?>{label}<', html, re.S)
        assert found, (label, html[:2000])
        out[label] = found.group(1)
    return out


def test_a_click_sent_before_the_first_render_reaches_its_widget_on_another_process(
    redis_server: RedisServer, start: Start
) -> None:
    a = start("--store", redis_server.url, app=ALIKE)
    b = start("--store", redis_server.url, app=ALIKE)
    browser = Client(a.url)
    page = browser.get("/")
    assert page.status == 200
    ids = _ids(page.body, "Keyed", "Unkeyed", "Inner", "Private")
    assert len(set(ids.values())) == 4

    # The page came from A; its socket goes to B, and clicks at once (as a
    # user does, or a tab reconnecting to another process with clicks queued).
    on_b = Client(b.url)
    on_b.session_id = browser.session_id
    sock = on_b.connect(wait_render=False)
    try:
        seqs = [sock.event(ids[label]) for label in ("Keyed", "Unkeyed", "Inner", "Private")]
        answers = [sock.ack(seq) for seq in seqs]
        assert [m for m in answers if m["type"] == "error"] == []
        expect(sock, "clicks: 4")
        render = next(m for m in sock.messages if m["type"] == "render")
        assert _ids(render["roots"]["global"], "Keyed", "Unkeyed", "Inner") == {
            k: ids[k] for k in ("Keyed", "Unkeyed", "Inner")}
    finally:
        on_b.close()


def _app(order: tuple[str, ...]) -> stgo.App:
    app = stgo.App(title="IDs")
    for label in order:
        app.button(label)
    app.button("Keyed", key="k")
    return app


def test_ids_come_from_key_or_kind_label_and_count_and_not_from_the_order_built() -> None:
    one, two = _app(("Yes", "No", "Yes")), _app(("No", "Yes", "Yes"))
    by_label = [{(w.label, w.id) for w in app.widgets} for app in (one, two)]
    assert by_label[0] == by_label[1]  # same labels, same IDs, whatever the order
    assert one.widget("k").id == stable_id("shared", "/", "k")
    yes = [w.id for w in one.widgets if w.label == "Yes"]
    assert len(set(yes)) == 2  # two alike: told apart by their count


def test_unkeyed_widgets_added_at_run_time_and_unkeyed_private_ones_stay_random() -> None:
    one, two = _app(()), _app(())
    for app in (one, two):
        app.start()
    try:
        late = [app.button("Late") for app in (one, two)]
        assert late[0].id != late[1].id and late[0].key == late[0].id
        with AppTester(one) as tester:
            session = tester.session().session
            mine = [session.text("hi"), session.text("hi", key="hi")]
    finally:
        for app in (one, two):
            app.stop()
    assert mine[0].key == mine[0].id and re.fullmatch(r"w[0-9a-f]{12}", mine[0].id)
    assert mine[1].id == stable_id("private", session.id, "hi") != stable_id("shared", "/", "hi")
