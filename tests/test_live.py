"""Live changes: a callback's changes reach the tabs while it runs (coalesced), not at its end."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import stgo
from stgo import App
from stgo.core.batch import Batch, Batches, merge
from stgo.server import Server
from stgo.widgets.text import Text

from .helpers import Client, FakeClock, Socket, shows, texts_in, wait_until

Serve = Callable[[App], Server]
MakeClient = Callable[[Server], Client]


class Stepper(App):
    """A callback that shows a step, then waits for the test to let it go on."""

    def __init__(self) -> None:
        super().__init__(title="Live")
        self.status = self.text("idle", key="status")
        self.go = self.button("Go", key="go")
        self.quick = self.button("Quick", key="quick")
        self.gates = [threading.Event() for _ in range(3)]
        self.go.on_click(self.steps)
        self.quick.on_click(self.ten_changes)

    def steps(self, session: stgo.Session, event: str, value: Any) -> None:
        for i, gate in enumerate(self.gates):
            self.status.set_text(f"step {i}")
            gate.wait(10)  # the callback's own work (the test holds it)
        self.status.set_text("finished")

    def ten_changes(self, session: stgo.Session, event: str, value: Any) -> None:
        for i in range(10):
            self.status.set_text(f"quick {i}")


def test_a_callback_s_changes_arrive_while_it_runs(serve: Serve,
                                                    client_for: MakeClient) -> None:
    app = Stepper()
    server = serve(app)
    sock = client_for(server).connect()
    seq = sock.event(app.go.id)
    for i in range(3):
        # The callback waits on its gate: only a flush while it runs can show this.
        msg = sock.recv_until(shows(app.status.id, f"step {i}"))
        assert "ack" not in msg
        app.gates[i].set()
    done = sock.ack(seq)
    assert any("finished" in html for html in texts_in(done, app.status.id))


def test_nothing_of_an_event_arrives_after_its_ack(serve: Serve, client_for: MakeClient) -> None:
    app = Stepper()
    server = serve(app)
    sock = client_for(server).connect()
    seq = sock.event(app.go.id)
    sock.recv_until(shows(app.status.id, "step 0"))
    for gate in app.gates:
        gate.set()
    sock.ack(seq)
    after = len(sock.messages)
    # A round trip: whatever the server queued for this tab before it is read by now.
    sock.ack(sock.event(app.quick.id))
    late = [m for m in sock.messages[after:]
            if any("step" in html or "finished" in html for html in texts_in(m, app.status.id))]
    assert late == []


def test_a_short_callback_sends_one_message(serve: Serve, client_for: MakeClient) -> None:
    app = Stepper()
    server = serve(app)
    sock = client_for(server).connect()
    start = len(sock.messages)
    seq = sock.event(app.quick.id)
    sock.ack(seq)
    got = [m for m in sock.messages[start:] if m["type"] == "patch"]
    assert len(got) == 1 and got[0]["ack"] == seq
    assert texts_in(got[0], app.status.id) == [app.status.render(None)]
    assert "quick 9" in got[0]["ops"][0]["html"]


def _noting(batches: Batches, widget: Text, n: int) -> None:
    for _ in range(n):
        batches.note(lambda b: merge(b.global_changes, widget, "update"))


def test_live_flushes_are_coalesced_by_the_clock() -> None:
    """However many changes, one early flush per interval (injected clock)."""
    clock = FakeClock(100.0)
    flushed: list[Batch] = []
    batches = Batches(flushed.append, interval=1.0, first=1.0, clock=clock)
    widget = Text("x")
    with batches.batch(live=True):
        _noting(batches, widget, 1000)
        assert flushed == []  # within the first interval: nothing yet
        clock.advance(1.0)
        _noting(batches, widget, 1000)
        assert len(flushed) == 1  # the change that found the interval up flushed, once
        assert flushed[0].ack is None and flushed[0].global_changes == {widget: "update"}
        _noting(batches, widget, 1000)
        assert len(flushed) == 1
    assert len(flushed) == 2 and flushed[1].global_changes == {widget: "update"}


def test_a_plain_batch_is_one_flush_however_long() -> None:
    clock = FakeClock(100.0)
    flushed: list[Batch] = []
    batches = Batches(flushed.append, interval=1.0, first=1.0, clock=clock)
    widget = Text("x")
    with batches.batch():  # app.batch(): one message, as before
        _noting(batches, widget, 10)
        clock.advance(10.0)
        _noting(batches, widget, 10)
        assert flushed == []
    assert len(flushed) == 1


def test_the_flusher_thread_pushes_a_change_followed_by_silence() -> None:
    """A change, then a long wait in the callback: it goes out on the timer."""
    flushed: list[Batch] = []
    batches = Batches(flushed.append, interval=0.01, first=0.01)
    widget = Text("x")
    with batches.batch(live=True):
        _noting(batches, widget, 3)
        wait_until(lambda: flushed)  # the callback does nothing more meanwhile
        assert flushed[0].global_changes == {widget: "update"}
    # The end flushes as always (it carries an event's ack), with nothing left in it.
    assert len(flushed) == 2 and not flushed[1].global_changes


def test_a_socket_reader_sees_no_extra_message(serve: Serve, client_for: MakeClient) -> None:
    """Events of other sessions are not affected by a live batch."""
    app = Stepper()
    server = serve(app)
    first: Socket = client_for(server).connect()
    other: Socket = client_for(server).connect()
    seq = first.event(app.go.id)
    other.recv_until(shows(app.status.id, "step 0"))  # a shared widget: everybody sees it
    for gate in app.gates:
        gate.set()
    first.ack(seq)
    other.recv_until(shows(app.status.id, "finished"))


def test_an_app_batch_block_inside_a_live_batch_is_one_message() -> None:
    clock = FakeClock(100.0)
    flushed: list[Batch] = []
    batches = Batches(flushed.append, interval=1.0, first=1.0, clock=clock)
    a, b = Text("a"), Text("b")
    with batches.batch(live=True):
        clock.advance(5.0)
        with batches.batch():  # app.batch() in a callback: not split by a live flush
            _noting(batches, a, 1)
            clock.advance(5.0)
            _noting(batches, b, 1)
            assert flushed == []
        _noting(batches, a, 1)  # live again: due, flushed at once, both together
        assert len(flushed) == 1 and set(flushed[0].global_changes) == {a, b}


def test_an_ack_still_waits_for_the_save_of_changes_pushed_early(
        make_app: Callable[..., App]) -> None:
    """With a persistent store an acked shared change is saved first (Hub.before_ack),
    also when it went out in a live flush before the ack."""
    app = make_app()
    text = app.text("before", key="shared")
    saves: list[str] = []
    app.hub.before_ack = lambda: saves.append("saved")
    session = app.sessions.create()
    with app.hub.batch(origin=session, ack=1, live=True):
        text.set_text("after")
        app.hub.flush_pending()  # pushed early, as a long callback's are
        assert saves == []
    assert saves == ["saved"]
