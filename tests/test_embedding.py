"""The App inside other WSGI stacks: a real gunicorn process, and a prefix mount."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.test import Client as WerkzeugClient
from werkzeug.wrappers import Request, Response

import stgo
from stgo import App
from stgo.web.client import VERSION as CLIENT_VERSION

from .helpers import (
    COOKIE,
    Client,
    ServerProcess,
    Socket,
    gunicorn_embedded,
    request,
    serve_mounted,
    wait_until,
)


def widget_id(html: str, key: str) -> str:
    """The DOM id of the widget with *key* in rendered *html*."""
    m = re.search(rf'id="([^"]+)" data-key="{re.escape(key)}"', html)
    assert m, html
    return m.group(1)


def round_trip(client: Client, title: str) -> Socket:
    """Load the page, open a WebSocket, click the global button, see the update."""
    resp = client.get("/")
    assert resp.status == 200
    assert f"<title>{title}</title>" in resp.body
    sock = client.connect()
    render = sock.messages[0]
    assert render["type"] == "render"
    assert "private text" in render["roots"]["session"]
    seq = sock.event(widget_id(render["roots"]["global"], "click"))
    reply = sock.ack(seq)
    assert reply["type"] == "patch"
    assert any("Clicks: " in op.get("html", "") for op in reply["ops"])
    return sock


# -- gunicorn ---------------------------------------------------------------------------------


@pytest.fixture
def gunicorn(processes: list[ServerProcess]) -> ServerProcess:
    return gunicorn_embedded(processes, threads=8)


def test_under_gunicorn_gthread(gunicorn: ServerProcess) -> None:
    alice, bob = Client(gunicorn.url), Client(gunicorn.url)
    try:
        sock = round_trip(alice, "Embedded")
        cookie = next(c for c in request(gunicorn.url, "/").cookies() if c.startswith(COOKIE))
        assert "HttpOnly" in cookie and "Path=/;" in cookie + ";"
        # A second browser sees the first one's click pushed to it.
        other = bob.connect()
        seq = sock.event(widget_id(sock.messages[0]["roots"]["global"], "click"))
        sock.ack(seq)
        other.recv_until(lambda m: m["type"] == "patch" and "Clicks: 2" in repr(m))
        assert request(gunicorn.url, "/health").json() == {"status": "ok"}
        assert request(gunicorn.url, "/ws").status == 426
    finally:
        alice.close()
        bob.close()
    assert "Traceback" not in gunicorn.output()


# -- a prefix mount ----------------------------------------------------------------------------


def other_app(environ: Any, start_response: Any) -> Any:
    request = Request(environ)
    return Response(f"other app at {request.path}")(environ, start_response)


@pytest.fixture
def mounted() -> Iterator[tuple[App, str]]:
    app = App(title="Mounted")
    count = app.text("Clicks: 0", key="count")
    button = app.button("Click", key="click")
    clicks = [0]

    @app.on_session_start
    def setup(session: stgo.Session) -> None:
        session.text("private text", key="private")

    @button.on_click
    def clicked(session: stgo.Session, event: str, value: Any) -> None:
        clicks[0] += 1
        count.set_text(f"Clicks: {clicks[0]}")

    with serve_mounted(app, "/sub", other_app) as root:
        yield app, root


def test_mounted_under_a_prefix(mounted: tuple[App, str]) -> None:
    app, root = mounted
    client = Client(root + "sub/")
    round_trip(client, "Mounted")
    first = client.get("/")
    assert first.cookies() == []  # the cookie came back: it matched /sub/
    fresh = request(root, "/sub/")
    cookie = next(c for c in fresh.cookies() if c.startswith(COOKIE))
    assert "Path=/sub/" in cookie
    # Relative asset URLs resolve under the prefix.
    assert f'href="static/v/{CLIENT_VERSION}/stgo.css"' in fresh.body
    assert f'src="static/v/{CLIENT_VERSION}/client.js"' in fresh.body
    assert request(root, f"/sub/static/v/{CLIENT_VERSION}/stgo.css").status == 200
    assert request(root, f"/sub/static/v/{CLIENT_VERSION}/client.js").status == 200
    assert request(root, "/sub/health").json()["status"] == "ok"
    # Without the slash: a redirect to it (relative URLs would break otherwise).
    bare = request(root, "/sub")
    assert bare.status in (301, 302, 307, 308)
    assert bare.headers["Location"].endswith("/sub/")
    assert bare.cookies() == []
    # The other app still answers beside it.
    assert request(root, "/").body == "other app at /"
    assert request(root, "/elsewhere").body == "other app at /elsewhere"
    assert request(root, "/ws").body == "other app at /ws"
    client.close()
    wait_until(lambda: len(app.hub) == 0)


# -- started by its first request, stopped at the process's exit ----------------------------


def _cleanup_threads() -> int:
    return sum(t.name == "stgo-cleanup" for t in threading.enumerate())


def test_the_first_request_under_any_wsgi_server_starts_the_app_once() -> None:
    app = App(title="Self-starting")
    client = WerkzeugClient(app)  # a WSGI caller that never calls start()
    before = _cleanup_threads()
    try:
        assert client.get("/health").status_code == 200
        assert not app.sessions.running  # a probe starts nothing
        # Eight first requests at once: one start.
        together = threading.Barrier(8)
        answers: list[int] = []

        def first_request() -> None:
            together.wait(10)
            answers.append(WerkzeugClient(app).get("/").status_code)

        threads = [threading.Thread(target=first_request) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert answers == [200] * 8
        assert app.sessions.running  # the cleanup thread: idle sessions end
        assert _cleanup_threads() == before + 1
        app.start()  # a server hook as well: no second start
        assert client.get("/").status_code == 200
        assert _cleanup_threads() == before + 1
    finally:
        app.stop()
    assert client.get("/").status_code == 200
    assert not app.sessions.running  # stopped means stopped: no request restarts it


EXITING_APP = """
import stgo
from werkzeug.test import Client

app = stgo.App(title="Exiting")


@app.on_session_end
def ended(session, reason):
    print("ended", reason, flush=True)


assert Client(app).get("/").status_code == 200
print("served", app.sessions.running, flush=True)
# No stop(): the process exits, as a WSGI server's worker does.
"""


def test_an_app_started_by_a_request_stops_at_the_process_exit(tmp_path: Path) -> None:
    script = tmp_path / "exiting.py"
    script.write_text(EXITING_APP, encoding="utf-8")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["served", "True", "ended", "shutdown"]
