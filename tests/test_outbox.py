"""The connection outbox: bounded, and merging waiting updates of one widget.

The pure rules are tested on :class:`stgo.transport.outbox.Outbox` alone;
the rest, over real sockets, through a live connection.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator

from stgo import App
from stgo.protocol import RENDER_KEY, OutKey
from stgo.transport.outbox import Outbox

from .helpers import Stalling, StallingInput, applied, wait_until
from .test_slow_clients import SMALL_RCVBUF


def test_a_tight_background_loop_on_one_widget_drops_nobody(serve, client_for) -> None:
    # A push is written at once while the socket takes it; after that it
    # waits in the outbox.  The tab reads nothing until its handler is let
    # go, and both ends' socket buffers are small, so after the first few
    # messages every change waits: 5,000 unbatched changes to one widget,
    # each bigger than both buffers, far past max_queued, must merge while
    # they wait and not get the tab dropped.  The small buffers also bound
    # what the tab reads afterwards, whatever the machine's load (with the
    # kernel's default buffers it was hundreds of messages, and a loaded
    # machine read them slower than the ack's wait).
    # send_timeout: the tab leaves its output unread on purpose for as long
    # as the loop takes, which is not what this test is about.
    app = App(max_queued=50, send_timeout=3600)
    bar = app.progress(0, "x" * 20_000, key="bar")
    sock, seq, release = _held_tab(app, serve, client_for, sockopt=SMALL_RCVBUF)
    (conn,) = app.hub.connections()
    conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    for i in range(5000):
        bar.set_progress(i % 100)
    bar.set_progress(100)
    assert all(c.open for c in app.hub.connections()), "the tab was dropped"
    release.set()
    sock.ack(seq)  # written after everything that waited
    bar_ops = [op for m in sock.messages for op in m.get("ops", []) if op["id"] == bar.id]
    # What the sockets took went out one by one (a few); everything after merged.
    assert len(bar_ops) < 50, "waiting updates of one widget were not merged"
    assert 'value="100"' in bar_ops[-1]["html"]


def _held_tab(app: App, serve, client_for, sockopt=()):
    """A connected tab whose serving thread is busy in a handler until released."""
    hold = app.button("Hold", key="hold")
    entered, release = threading.Event(), threading.Event()

    @hold.on_click
    def block(session, event, value) -> None:
        entered.set()
        release.wait(60)  # the test lets it go; the bound only keeps a failed test from hanging

    sock = client_for(serve(app)).connect(sockopt=sockopt)
    seq = sock.event(hold.id)
    assert entered.wait(5)
    return sock, seq, release


def test_a_multi_widget_message_is_never_overtaken(serve, client_for) -> None:
    # update(a) waits; a patch on a and b follows; a newer update(a) must not
    # replace the first one (it would then land before the patch's older a).
    app = App()
    a = app.text("a0", key="a")
    b = app.text("b0", key="b")
    sock, seq, release = _held_tab(app, serve, client_for)
    a.set_text("a1")
    with app.batch():
        a.set_text("a2")
        b.set_text("b2")
    a.set_text("a3")
    release.set()
    sock.ack(seq)
    shown = [op["html"] for m in sock.messages for op in m.get("ops", []) if op["id"] == a.id]
    assert "a3" in shown[-1]


def test_a_redraw_is_not_overtaken_by_an_older_value(serve, client_for) -> None:
    app = App()
    field = app.text_input("Name", "v0", key="name", shared=True)
    sock, seq, release = _held_tab(app, serve, client_for)
    field.set_value("v1")          # value op waits
    field.set_label("Your name")   # a redraw (carries v1)
    field.set_value("v2")          # must come after the redraw
    release.set()
    sock.ack(seq)
    ops = [op for m in sock.messages for op in m.get("ops", []) if op["id"] == field.id]
    assert (ops[-1]["op"], ops[-1]["value"]) == ("value", "v2")


def test_a_push_reaches_a_tab_while_its_own_handler_runs(serve, client_for) -> None:
    # A push is written by the thread that makes it when the socket takes it,
    # not left for the connection's own thread: a tab busy in a long handler
    # still sees a background thread's changes at once.
    app = App()
    status = app.text("idle", key="status")
    sock, seq, release = _held_tab(app, serve, client_for)
    status.set_text("working")
    msg = sock.recv_until(lambda m: m["type"] == "patch", timeout=5)
    assert "working" in msg["ops"][0]["html"]
    release.set()
    sock.ack(seq)


def _shown(sock, widget) -> list[str]:
    """The texts *widget* was drawn with, as they reached *sock*, and (last)
    the one its tab shows by stgo.js's rule (``tests.helpers.applied``)."""
    arrived = [op["html"] for m in sock.messages for op in m.get("ops", [])
               if op.get("id") == widget.id]
    kept = [item["html"] for item in applied(sock.messages) if item.get("id") == widget.id]
    return [*arrived, kept[-1]]


def test_two_drawings_of_a_shared_widget_that_cross_leave_the_tab_on_the_newer(
    serve, client_for
) -> None:
    # One thread draws "one", and stalls before it sends; meanwhile another
    # sets "two" and sends it.  The older drawing reaches the tab's outbox
    # last, which drops it: it was numbered before the newer one read the
    # widget, and the newer one went out already (issue 22 item 12).
    app = App()
    total = app.add_widget(Stalling("zero", key="total"))
    marker = app.text("", key="marker")
    sock = client_for(serve(app)).connect()
    total.cross("one", "two")  # the older drawing's send is over when it returns
    marker.set_text("after")  # in order after both
    sock.recv_until(lambda m: "after" in str(m), timeout=5)
    *arrived, kept = _shown(sock, total)
    assert arrived == [kept] and "two" in kept  # the older one never reached the tab


def test_a_stale_drawing_in_a_message_of_many_ops_is_skipped_by_the_tab(
    serve, client_for
) -> None:
    # The stale drawing travels with another change in one message, which
    # the outbox cannot drop: it reaches the tab, whose rule (stgo.js, which
    # tests.helpers.applied mirrors) skips the op drawn before the one it has.
    app = App()
    total = app.add_widget(Stalling("zero", key="total"))
    other = app.text("", key="other")
    sock = client_for(serve(app)).connect()

    @contextlib.contextmanager
    def with_other() -> Iterator[None]:
        with app.batch():
            other.set_text("along")
            yield

    total.cross("one", "two", along=with_other)
    sock.recv_until(lambda m: "one" in str(m), timeout=5)
    *arrived, kept = _shown(sock, total)
    assert ["two" in arrived[0], "one" in arrived[1]] == [True, True]  # they crossed
    assert "two" in kept


def test_an_older_whole_redraw_after_a_newer_value_shows_both(serve, client_for) -> None:
    # One thread relabels a shared input and stalls while drawing it whole
    # (with the old value); meanwhile another sets a new value, sent first.
    # The older whole redraw alone has the new label, so it is not dropped
    # (by the outbox nor the tab), and the newer value goes back on after it.
    app = App()
    field = app.add_widget(StallingInput("Name", "v0", key="name"))
    sock = client_for(serve(app)).connect()
    field.relabel_across("New label", "v2")
    sock.recv_until(lambda m: "New label" in str(m), timeout=5)
    shown = [op for op in applied(sock.messages) if op.get("id") == field.id]
    assert [op["op"] for op in shown] == ["value", "update", "value"]
    assert "New label" in shown[1]["html"] and 'value="v0"' in shown[1]["html"]
    assert shown[-1]["value"] == "v2"


def _sent(box: Outbox, text: str, key: OutKey | None = None) -> bool:
    """Offer *text* as Connection.send does; whether it goes to the tab (now,
    or by waiting in *box*)."""
    if box.merge(text, key):
        return False
    assert box.add(text, key)
    return text in box.take()  # read by the tab before the next: none merges


def test_an_op_drawn_before_one_the_tab_has_is_dropped_by_its_outbox() -> None:
    # Numbered ops of one widget out of order, each read by the tab before
    # the next (so none merges with one that waits): what was drawn before
    # an op of the same kind, or a whole update, already sent to this tab
    # never goes out; later and unnumbered ones do.
    box = Outbox(100, 1 << 20)
    assert _sent(box, "update 2", ("update", "w", 1002))
    assert not _sent(box, "update 1", ("update", "w", 1001))
    assert not _sent(box, "value 1", ("value", "w", 1001))  # an update read after it
    assert _sent(box, "value 3", ("value", "w", 1003))
    assert not _sent(box, "value 2", ("value", "w", 1002))
    assert _sent(box, "update 2b", ("update", "w", 1002))  # a value covers no update
    assert _sent(box, "value mine", ("value", "w", 0))  # unnumbered (a session's): in order
    assert _sent(box, "value 1 of another", ("value", "v", 1001))  # per widget


def test_a_waiting_op_is_replaced_by_a_newer_one_of_the_same_op_and_widget() -> None:
    box = Outbox(100, 1 << 20)
    assert box.add("a1", ("update", "a", 0))
    assert box.add("b1", ("update", "b", 0))
    assert box.merge("a22", ("update", "a", 0))  # replaces a1, in its place
    assert box.merge("b0", ("update", "b", 0))
    assert not box.merge("a-value", ("value", "a", 0))  # another op: its own entry
    assert box.bytes == len("a22") + len("b0")
    assert box.take() == ["a22", "b0"]
    assert len(box) == 0 and box.bytes == 0


def test_an_older_drawing_never_replaces_a_newer_waiting_one() -> None:
    box = Outbox(100, 1 << 20)
    assert box.add("two", ("update", "w", 7))
    assert box.merge("one", ("update", "w", 5))  # dropped
    assert box.merge("mine", ("update", "w", 0))  # unnumbered: newer, replaces
    assert box.take() == ["mine"]


def test_a_message_on_many_widgets_is_never_overtaken() -> None:
    # update(a) waits; a patch on a and b follows; a newer update(a) must not
    # replace the first one (it would then land before the patch's older a).
    box = Outbox(100, 1 << 20)
    assert box.add("a1", ("update", "a", 0))
    assert box.add("a2+b2", None)
    assert not box.merge("a3", ("update", "a", 0))
    assert box.add("a3", ("update", "a", 0))
    assert box.take() == ["a1", "a2+b2", "a3"]


def test_a_value_after_a_waiting_redraw_follows_it() -> None:
    box = Outbox(100, 1 << 20)
    assert box.add("value v1", ("value", "f", 0))
    assert box.add("update (v1)", ("update", "f", 0))
    assert not box.merge("value v2", ("value", "f", 0))  # not into the one before the redraw
    assert box.add("value v2", ("value", "f", 0))
    assert box.take() == ["value v1", "update (v1)", "value v2"]


def test_one_full_render_waits_at_most() -> None:
    box = Outbox(100, 1 << 20)
    assert box.add("render 1", RENDER_KEY)
    assert box.render_waiting
    assert box.merge("render 2", RENDER_KEY)  # dropped: the waiting one brings the page
    assert box.add("patch", ("update", "w", 0))
    assert box.merge("render 3", RENDER_KEY)
    assert box.take() == ["render 1", "patch"]
    assert not box.render_waiting


def test_the_bounds_refuse_what_would_pass_them() -> None:
    box = Outbox(3, 10)
    assert box.add("x" * 20, None)  # bigger than the bound, but alone: taken
    assert not box.add("y", None)  # bytes
    box.take()
    assert not box.add("y" * 5, None, in_flight=6)  # what is on its way counts too
    assert box.add("1", None) and box.add("2", None)
    assert box.pressing  # half the message bound: time to make frames
    assert box.add("3", None)
    assert not box.add("4", None)  # messages
    box.add_final("bye")  # the last one before a close passes the bounds
    assert box.take() == ["1", "2", "3", "bye"]


def test_clear_forgets_what_was_drawn_take_does_not() -> None:
    box = Outbox(100, 1 << 20)
    assert _sent(box, "two", ("update", "w", 2))
    assert box.merge("one", ("update", "w", 1))  # older than what was sent: dropped
    box.clear()
    assert not box.merge("one", ("update", "w", 1))


def test_an_older_drawing_does_not_replace_a_newer_one_waiting_in_the_outbox(
    serve, client_for
) -> None:
    # The tab stops reading until the socket is full: what follows waits in
    # the outbox, where a later message on the same widget replaces one that
    # waits (see test_a_tight_background_loop...), unless it was drawn earlier.
    app = App()
    filler = app.text("", key="filler")
    total = app.add_widget(Stalling("zero", key="total"))
    sock = client_for(serve(app)).connect()
    conn = app.hub.connections()[0]
    # Messages leave the outbox while less than 64 KiB is on its way, so at
    # most 64 KiB + one filler is on its way: past that, a filler waits.
    size = 200_000
    for n in range(500):
        filler.set_text(f"{n} " + "x" * size)
        if conn.queued_bytes > size + 65 * 1024:
            break
    assert conn.queued_bytes > size + 65 * 1024, "the socket never filled"
    total.cross("one", "two")
    while not any(op.get("id") == total.id for m in sock.messages for op in m.get("ops", [])):
        sock.recv(5)  # read up to it
    *arrived, kept = _shown(sock, total)
    assert arrived == [kept] and "two" in kept  # the older one was dropped
    wait_until(lambda: conn.queued_bytes == 0)
