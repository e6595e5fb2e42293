"""Tasks (``session.run_task``): off the event queue, live, cancelled, failing, bounded;
and per-session resources (``session.resource``)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import pytest

import stgo
from stgo import App
from stgo.core.tasks import TaskPool
from stgo.server import Server

from .helpers import Client, Socket, shows, texts_in, wait_until

Serve = Callable[[App], Server]
MakeClient = Callable[[Server], Client]


class Jobs(App):
    """A session page with a task's output, and buttons that start tasks or answer at once."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(title="Jobs", **kwargs)
        self.tasks: list[stgo.Task] = []
        self.release = threading.Event()  # lets the long task end
        self.pace = threading.Event()  # never set: the tasks' own pacing
        self.ended: list[str] = []
        self.session_page(self.page)
        self.on_session_end(self.end_hook)

    def page(self, session: stgo.Session) -> None:
        session.text("idle", key="out")
        session.text("pings 0", key="pings")
        session.button("Long", key="long", on_click=self.start_long)
        session.button("Ping", key="ping", on_click=self.ping)
        session.button("A", key="a", on_click=lambda s, e, v: self.start_counting(s, "A"))
        session.button("B", key="b", on_click=lambda s, e, v: self.start_counting(s, "B"))
        session.button("Boom", key="boom", on_click=self.start_boom)

    def start_long(self, session: stgo.Session, event: str, value: Any) -> None:
        self.tasks.append(session.run_task(self.long, "long job", key="long"))

    def long(self, task: stgo.Task, label: str) -> str:
        out = task.session.widget("out")  # type: ignore[attr-defined]
        out.set_text(f"{label} running")
        self.release.wait(10)  # the task's work: seconds, off the event queue
        out.set_text(f"{label} finished")
        return "result"

    def ping(self, session: stgo.Session, event: str, value: Any) -> None:
        n = session.increment("pings")
        session.widget("pings").set_text(f"pings {n}")

    def start_counting(self, session: stgo.Session, tag: str) -> None:
        self.tasks.append(session.run_task(self.count, tag, key="job"))

    def count(self, task: stgo.Task, tag: str) -> None:
        # Never checks task.cancelled: its next change after a cancel raises Cancelled.
        out = task.session.widget("out")  # type: ignore[attr-defined]
        for i in range(100_000):
            out.set_text(f"{tag} {i}")
            self.pace.wait(0.005)

    def start_boom(self, session: stgo.Session, event: str, value: Any) -> None:
        self.tasks.append(session.run_task(self.boom))

    def boom(self, task: stgo.Task) -> None:
        raise ValueError("boom in the task")

    def end_hook(self, session: stgo.Session, reason: str) -> None:
        self.ended.append(f"end hook, tasks cancelled: {all(t.cancelled for t in self.tasks)}")


def widget_id(app: Jobs, sock_client: Client, key: str) -> str:
    session = app.sessions.get(sock_client.session_id or "")
    assert session is not None
    return session.widget(key).id


def test_a_task_leaves_the_session_s_other_events_going(serve: Serve,
                                                         client_for: MakeClient) -> None:
    app = Jobs()
    server = serve(app)
    client = client_for(server)
    sock = client.connect()
    out, pings = widget_id(app, client, "out"), widget_id(app, client, "pings")
    sock.ack(sock.event(widget_id(app, client, "long")))  # the click's answer comes at once
    sock.recv_until(shows(out, "long job running"))  # pushed live, from the task
    task = app.tasks[0]
    for n in (1, 2, 3):  # while the task works, the same session's button answers
        answer = sock.ack(sock.event(widget_id(app, client, "ping")))
        assert any(f"pings {n}" in html for html in texts_in(answer, pings))
        assert not task.done
    assert [t.key for t in app.sessions.get(client.session_id or "").tasks()] == ["long"]
    app.release.set()
    sock.recv_until(shows(out, "long job finished"))
    assert task.wait(5) and task.result == "result" and task.error is None
    assert not task.cancelled
    wait_until(lambda: app.sessions.get(client.session_id or "").tasks() == [])


def test_a_task_with_the_same_key_cancels_the_first(serve: Serve,
                                                    client_for: MakeClient) -> None:
    app = Jobs()
    server = serve(app)
    client = client_for(server)
    sock: Socket = client.connect()
    out = widget_id(app, client, "out")
    sock.ack(sock.event(widget_id(app, client, "a")))
    sock.recv_until(shows(out, "A 3"))
    first = app.tasks[0]
    sock.ack(sock.event(widget_id(app, client, "b")))
    second = app.tasks[1]
    assert first.cancelled and not second.cancelled
    assert first.wait(5) and first.error is None  # stopped by Cancelled, not a failure
    start = len(sock.messages)
    sock.recv_until(shows(out, "B 20"))
    seen = [html for m in sock.messages for html in texts_in(m, out)]
    first_b = next(i for i, html in enumerate(seen) if "B " in html)
    assert not [html for html in seen[first_b:] if "A " in html]
    assert any("B " in html for m in sock.messages[start:] for html in texts_in(m, out))
    second.cancel()
    assert second.wait(5)


def test_a_task_that_raises_is_shown_as_a_callback_error(
        serve: Serve, client_for: MakeClient, caplog: pytest.LogCaptureFixture) -> None:
    app = Jobs()
    server = serve(app)
    client = client_for(server)
    sock = client.connect()
    with caplog.at_level(logging.ERROR, logger="stgo"):
        sock.ack(sock.event(widget_id(app, client, "boom")))
        error = sock.recv_until(lambda m: m["type"] == "error")
    task = app.tasks[0]
    assert task.wait(5) and isinstance(task.error, ValueError)
    error_id = app.failures.record("task Jobs.boom", ValueError())  # the same failure: same id
    assert error["message"] == f"Something went wrong (error {error_id})"
    assert "boom in the task" not in error["message"]
    assert any("task Jobs.boom raised ValueError" in r.getMessage() for r in caplog.records)
    # The session goes on.
    answer = sock.ack(sock.event(widget_id(app, client, "ping")))
    assert any("pings 1" in html for html in texts_in(answer, widget_id(app, client, "pings")))


def test_tasks_are_cancelled_before_the_end_hooks(make_app: Callable[..., App]) -> None:
    app = make_app()
    seen: list[Any] = []
    started, gate = threading.Event(), threading.Event()
    app.on_session_end(lambda s, reason: seen.append([t.cancelled for t in s.tasks()]))
    session = app.sessions.create()

    def work(task: stgo.Task) -> None:
        started.set()
        gate.wait(5)  # busy: still running when the session ends

    task = session.run_task(work)
    assert started.wait(5)
    app.sessions.delete(session.id, "logout")
    assert seen == [[True]]  # still running, and already asked to stop
    gate.set()
    assert task.wait(5) and task.cancelled and task.error is None


def test_per_session_limit_and_bad_input(make_app: Callable[..., App]) -> None:
    app = make_app()
    app.task_runner.per_session = 2
    session = app.sessions.create()
    gate = threading.Event()
    first = session.run_task(lambda task: gate.wait(5))
    session.run_task(lambda task: gate.wait(5), key="k")
    with pytest.raises(stgo.CapacityError, match="already runs 2 tasks"):
        session.run_task(lambda task: None)
    replaced = session.run_task(lambda task: gate.wait(5), key="k")  # replaces one: allowed
    with pytest.raises(stgo.WidgetError, match="must be a function taking"):
        session.run_task("not callable")  # type: ignore[arg-type]
    with pytest.raises(stgo.WidgetError, match=r"taking \(task, arg1\)"):
        session.run_task(lambda: None, "one argument too many")

    async def coroutine(task: stgo.Task) -> None:
        pass

    with pytest.raises(stgo.WidgetError, match="not coroutines"):
        session.run_task(coroutine)
    gate.set()
    assert first.wait(5) and replaced.wait(5)


def test_a_full_pool_queues_and_says_so(caplog: pytest.LogCaptureFixture,
                                        make_app: Callable[..., App]) -> None:
    app = make_app(task_threads=1)
    session = app.sessions.create()
    gate = threading.Event()
    with caplog.at_level(logging.WARNING, logger="stgo"):
        busy = session.run_task(lambda task: gate.wait(5))
        waiting = session.run_task(lambda task: "ran")
        assert waiting.queued and not waiting.done
    assert any("all 1 task threads are busy" in r.getMessage() for r in caplog.records)
    assert app.metrics.get("stgo_tasks_queued_total") == 1
    gate.set()
    assert busy.wait(5) and waiting.wait(5) and waiting.result == "ran"


def test_a_task_cancelled_while_queued_never_runs(make_app: Callable[..., App]) -> None:
    app = make_app(task_threads=1)
    session = app.sessions.create()
    gate = threading.Event()
    ran: list[str] = []
    busy = session.run_task(lambda task: gate.wait(5))
    waiting = session.run_task(lambda task: ran.append("ran"))
    waiting.cancel()
    gate.set()
    assert busy.wait(5) and waiting.wait(5)
    assert ran == [] and waiting.cancelled


def test_the_task_pool_is_bounded() -> None:
    pool = TaskPool(2, idle=0.05)
    gate = threading.Event()
    started: list[int] = []
    for i in range(5):
        pool.submit(lambda i=i: (started.append(i), gate.wait(5)))
    wait_until(lambda: len(started) == 2)
    assert len(pool) == 2
    gate.set()
    wait_until(lambda: len(started) == 5)
    wait_until(lambda: len(pool) == 0)


def test_a_resource_is_made_once_and_released_once_after_the_end_hooks(
        make_app: Callable[..., App], caplog: pytest.LogCaptureFixture) -> None:
    app = make_app()
    events: list[str] = []
    made: list[object] = []

    def connect() -> object:
        made.append(object())
        return made[-1]

    def close(db: object) -> None:
        events.append("released")
        raise OSError("close failed")

    app.on_session_end(lambda s, reason: events.append(
        "end hook sees it" if s.resource(connect, on_release=close) is made[0] else "new"))
    session = app.sessions.create()
    results: list[object] = []
    threads = [threading.Thread(target=lambda: results.append(
        session.resource(connect, on_release=close))) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(made) == 1 and all(r is made[0] for r in results)
    other = app.sessions.create()
    assert other.resource(connect, on_release=close) is not made[0]  # one per session
    with caplog.at_level(logging.ERROR, logger="stgo"):
        app.sessions.delete(session.id, "logout")
    assert events == ["end hook sees it", "released"]
    assert any("close failed" in (r.exc_text or "") or "close" in r.getMessage()
               for r in caplog.records)
    app.sessions.delete(session.id, "logout")  # ended once: released once
    assert events.count("released") == 1
    with pytest.raises(stgo.WidgetError, match="has ended"):
        session.resource(connect)


def test_a_task_with_the_redis_store_writes_through_it(redis_server: Any,
                                                       make_app: Callable[..., App]) -> None:
    """A task runs in this process; its state writes go to the store as a
    background thread's do (another process reads them)."""
    app = make_app(store=redis_server.url)
    app.start()
    session = app.sessions.create()
    gate = threading.Event()

    def count(task: stgo.Task, n: int) -> int:
        for i in range(n):
            session.set("progress", i + 1)
        gate.wait(5)
        return n

    task = session.run_task(count, 3, key="count")
    other = make_app(store=redis_server.url)  # as another process would
    other.start()
    wait_until(lambda: (other.sessions.get(session.id) or {}).get("progress") == 3)
    gate.set()
    assert task.wait(5) and task.result == 3
    app.sessions.delete(session.id, "logout")
    assert task.cancelled


def test_a_task_that_never_checks_cancelled_stops_at_its_next_change(
        make_app: Callable[..., App]) -> None:
    app = make_app()
    out = app.text("0", key="out")
    session = app.sessions.create()
    steps: list[int] = []
    pace = threading.Event()

    def forever(task: stgo.Task) -> None:
        for i in range(1_000_000):  # never looks at task.cancelled
            steps.append(i)
            out.set_text(str(i))
            pace.wait(0.005)

    task = session.run_task(forever)
    wait_until(lambda: len(steps) > 3)
    task.cancel()
    assert task.wait(5) and task.error is None and task.result is None
    assert out.text == str(steps[-1])  # its last change was made, then refused (not pushed)
    assert len(steps) < 1_000_000
