"""Test helpers: a browser-like HTTP + WebSocket client over real sockets."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import queue
import re
import signal
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

import websocket  # websocket-client
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.serving import make_server

from stgo.server.handler import RequestHandler
from stgo.widgets.inputs import TextInput
from stgo.widgets.text import Text

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

    from stgo import App

COOKIE = "stgo_session"

#: The app files the tests serve.
APPS = Path(__file__).parent / "apps"


def wait_until(predicate: Callable[[], Any], timeout: float = 5.0, interval: float = 0.01) -> Any:
    """Poll *predicate* until it returns something truthy; fail after *timeout* s."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s: {predicate}")
        time.sleep(interval)


def handler_threads() -> int:
    """How many of werkzeug's request-handler threads are running now."""
    return sum("process_request_thread" in t.name for t in threading.enumerate())


def session_cookie(set_cookies: list[str]) -> tuple[str, str]:
    """The session ID and the whole header of the ``stgo_session`` Set-Cookie."""
    for header in set_cookies:
        m = re.match(rf"{COOKIE}=([^;]*)", header)
        if m:
            return m.group(1), header
    raise AssertionError(f"no {COOKIE} cookie in {set_cookies}")


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: str

    def json(self) -> Any:
        return json.loads(self.body)

    def cookies(self) -> list[str]:
        return self.headers.get_all("Set-Cookie") or []


def request(url: str, path: str = "/", headers: dict[str, str] | None = None,
            method: str = "GET") -> Response:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        base = parts.path.rstrip("/")
        conn.request(method, base + path, headers=headers or {})
        resp = conn.getresponse()
        return Response(resp.status, resp.headers, resp.read().decode("utf-8", "replace"))
    finally:
        conn.close()


@dataclass
class Socket:
    """A WebSocket that keeps every JSON message it receives."""

    ws: websocket.WebSocket
    seq: int = 0
    messages: list[dict[str, Any]] = field(default_factory=list)

    def send_json(self, msg: dict[str, Any]) -> None:
        self.ws.send(json.dumps(msg))

    def event(self, widget: str, event: str = "click", value: Any = None) -> int:
        self.seq += 1
        self.send_json({"v": 1, "type": "event", "widget": widget, "event": event,
                        "value": value, "seq": self.seq})
        return self.seq

    def recv(self, timeout: float = 5.0) -> dict[str, Any]:
        self.ws.settimeout(timeout)
        raw = self.ws.recv()
        msg: dict[str, Any] = json.loads(raw)
        self.messages.append(msg)
        return msg

    def recv_until(self, predicate: Callable[[dict[str, Any]], bool],
                   timeout: float = 5.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no matching message within {timeout} s; got {self.messages}")
            msg = self.recv(left)
            if predicate(msg):
                return msg

    def ack(self, seq: int, timeout: float = 5.0) -> dict[str, Any]:
        """Wait for the message that acknowledges event *seq*."""
        return self.recv_until(lambda m: m.get("ack") == seq, timeout)

    def recv_close(self, timeout: float = 5.0, *, hang_up: bool = True) -> int | None:
        """Read frames until the server's close frame; return its status code.

        Text frames met on the way are kept in :attr:`messages`.  Reads raw
        frames (not ``recv``) so that a close frame is reported even when the
        server has already shut the socket and an answering close would fail.
        Answers the close and (if *hang_up*) shuts the socket down, like a browser.
        ``None`` means the connection ended without a close frame.
        """
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no close frame within {timeout} s; got {self.messages}")
            self.ws.settimeout(left)
            try:
                frame = self.ws.recv_frame()
            except (websocket.WebSocketConnectionClosedException, ConnectionError):
                return None
            if frame.opcode == websocket.ABNF.OPCODE_CLOSE:
                # Answer (and hang up, unless told not to), as a browser does.
                with contextlib.suppress(Exception):
                    self.ws.send_close()
                if hang_up:
                    self.ws.shutdown()
                if len(frame.data) < 2:
                    return None
                code: int = struct.unpack("!H", frame.data[:2])[0]
                return code
            if frame.opcode == websocket.ABNF.OPCODE_TEXT:
                self.messages.append(json.loads(frame.data))

    def wait_eof(self, timeout: float = 5.0) -> bytes:
        """Read the raw TCP stream until the server closes it; return what came.

        Fails if the server keeps the connection open longer than *timeout*.
        """
        sock = self.ws.sock
        assert sock is not None, "socket already shut down"
        sock.settimeout(timeout)
        received = b""
        try:
            while chunk := sock.recv(4096):
                received += chunk
        except ConnectionResetError:
            pass
        except TimeoutError:
            raise AssertionError(f"server kept the socket open for {timeout} s") from None
        finally:
            self.ws.shutdown()
        return received

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.ws.close()


def applied(messages: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """The renders and ops a tab applies of *messages*, in order, by stgo.js's
    rule for draw generations: an op numbered (``g``) below the last render's
    number, or below a whole redraw (``update``) already applied to its
    widget, is dropped; so is a part (``value``, ``figure``) numbered below
    the last part applied, which is applied again after an older update.
    (Containers' children are not followed here.)"""
    floor: int = 0
    drawn: dict[str, int] = {}
    parts: dict[str, dict[str, Any]] = {}
    for msg in messages:
        if msg.get("type") == "render":
            floor, drawn, parts = msg.get("g", 0), {}, {}
            yield msg
        for op in msg.get("ops", ()) if msg.get("type") == "patch" else ():
            draw = op.get("g")
            if draw is None:
                yield op
                continue
            if draw < floor or draw < drawn.get(op["id"], 0):
                continue
            if op["op"] == "update":
                drawn[op["id"]] = draw
                yield op
                newer = parts.get(op["id"])
                if newer is not None and newer["g"] > draw:
                    yield newer
                continue
            if op["id"] in parts and draw < parts[op["id"]]["g"]:
                continue
            parts[op["id"]] = op
            yield op


class _StallsOnce:
    """Mixed in before a widget class: its next drawing, once asked for with
    ``_stall = True``, stops after reading the widget until ``_go_on`` is set."""

    _stall = False

    def _stall_events(self) -> None:
        self._stalled = threading.Event()
        self._go_on = threading.Event()

    def render_body(self, state: Any) -> str:
        body: str = super().render_body(state)  # type: ignore[misc]
        if self._stall:
            self._stall = False
            self._stalled.set()
            self._go_on.wait(10)
        return body


class Stalling(_StallsOnce, Text):
    """A text whose next drawing stops once it has read its text, until let
    go: a slow custom widget, whose two drawings can cross on their way out."""

    def __init__(self, text: str = "", *, key: str | None = None) -> None:
        super().__init__(text, key=key)
        self._stall_events()

    def cross(self, older: str, newer: str, *,
              along: Callable[[], Any] | None = None) -> None:
        """Set *older* from a thread that stalls while drawing it, then
        *newer* from here: the drawing of *older* is sent last.

        :param along: makes a change in the same batch as *older* (an
            ``app.batch()`` around both), so that the stale drawing travels
            in a message of two ops, which an outbox cannot drop as a whole:
            the tab itself must skip the stale op.
        """
        self._stall = True

        def draw_older() -> None:
            if along is None:
                self.set_text(older)
                return
            with along():
                self.set_text(older)

        thread = threading.Thread(target=draw_older)
        thread.start()
        assert self._stalled.wait(5)
        self.set_text(newer)
        self._go_on.set()
        thread.join(5)
        assert not thread.is_alive()



class StallingInput(_StallsOnce, TextInput):
    """A shared text input whose next drawing stops once it has read itself,
    until let go (see :class:`Stalling`)."""

    def __init__(self, label: str, value: str, *, key: str) -> None:
        super().__init__(label, value, key=key, shared=True)
        self._stall_events()

    def relabel_across(self, label: str, value: str) -> None:
        """Set *label* from a thread that stalls while redrawing the input
        whole (with its old value), then *value* from here: the newer value
        goes out first, the older whole redraw (which alone has the label) last."""
        self._stall = True
        thread = threading.Thread(target=self.set_label, args=(label,))
        thread.start()
        assert self._stalled.wait(5)
        self.set_value(value)
        self._go_on.set()
        thread.join(5)
        assert not thread.is_alive()


def ws_status(base_url: str, query: str = "", *, origin: str | None = None,
              cookie: str | None = None, headers: list[str] | None = None) -> int:
    """Try a WebSocket upgrade to ``/ws?{query}``; return the HTTP status (101 if it worked)."""
    parts = urlsplit(base_url)
    url = f"ws://{parts.netloc}{parts.path.rstrip('/')}/ws" + (f"?{query}" if query else "")
    try:
        ws = websocket.create_connection(
            url, timeout=10, origin=origin or f"{parts.scheme}://{parts.netloc}",
            cookie=cookie, header=headers or [],
        )
    except websocket.WebSocketBadStatusException as exc:
        return int(exc.status_code)
    ws.close()
    return 101


class Client:
    """One browser: a cookie jar, page loads and WebSockets (tabs)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.session_id: str | None = None
        self.sockets: list[Socket] = []

    @property
    def origin(self) -> str:
        parts = urlsplit(self.base_url)
        return f"{parts.scheme}://{parts.netloc}"

    def get(self, path: str = "/") -> Response:
        headers = {}
        if self.session_id:
            headers["Cookie"] = f"{COOKIE}={self.session_id}"
        resp = request(self.base_url, path, headers)
        for cookie in resp.cookies():
            m = re.match(rf"{COOKIE}=([^;]*)", cookie)
            if m:
                self.session_id = m.group(1)
        return resp

    def connect(self, *, session: str | None = None, origin: str | None = None,
                cookie: str | None = None, wait_render: bool = True,
                sockopt: tuple[tuple[int, int, int], ...] = ()) -> Socket:
        if self.session_id is None and session is None:
            self.get("/")
        # The socket belongs to the cookie's session: no ID in the URL.
        sid = session if session is not None else self.session_id
        parts = urlsplit(self.base_url)
        url = f"ws://{parts.netloc}{parts.path.rstrip('/')}/ws"
        jar = cookie if cookie is not None else f"{COOKIE}={sid}"
        ws = websocket.create_connection(
            url, timeout=10, origin=origin or self.origin, cookie=jar,
            enable_multithread=True, sockopt=sockopt,
        )
        sock = Socket(ws)
        self.sockets.append(sock)
        if wait_render:
            sock.recv_until(lambda m: m["type"] == "render")
        return sock

    def close(self) -> None:
        for sock in self.sockets:
            sock.close()


class ServerProcess:
    """A server in a child process whose output is collected line by line.

    :param argv: the command (``sys.executable`` is not added).
    :param url_pattern: a regex whose group 1 is the URL; searched in stdout
        and stderr lines (gunicorn logs to stderr).
    :param group: run it in a process group of its own, killed whole (a
        ``--reload`` server serves from a child process).
    """

    def __init__(self, argv: list[str], *, env: dict[str, str] | None = None,
                 cwd: str | None = None,
                 url_pattern: str = r"(http://[0-9.]+:[0-9]+/)", group: bool = False) -> None:
        full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.group = group
        self.proc = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=full_env, cwd=cwd,
            text=True, encoding="utf-8", errors="replace", start_new_session=group,
        )
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self._lines: queue.Queue[str] = queue.Queue()
        self._pattern = re.compile(url_pattern)
        self._readers = [
            threading.Thread(target=self._read, args=(self.proc.stdout, self.stdout),
                             name="test-proc-out", daemon=True),
            threading.Thread(target=self._read, args=(self.proc.stderr, self.stderr),
                             name="test-proc-err", daemon=True),
        ]
        for reader in self._readers:
            reader.start()
        self.url = ""

    def _read(self, stream: Any, sink: list[str]) -> None:
        for line in stream:
            sink.append(line)
            self._lines.put(line)

    def wait_url(self, timeout: float = 15.0) -> str:
        """Wait for the line that names the URL; fail (with the output) if none comes."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or (self.proc.poll() is not None and self._lines.empty()):
                raise AssertionError(f"no URL line from {self.proc.args}:\n{self.output()}")
            try:
                line = self._lines.get(timeout=min(left, 0.2))
            except queue.Empty:
                continue
            m = self._pattern.search(line)
            if m:
                self.url = m.group(1).rstrip("/") + "/"
                return self.url

    def signal(self, signum: int) -> None:
        self.proc.send_signal(signum)

    def wait(self, timeout: float = 10.0) -> int:
        """Wait for the process to exit; return its status.  Output is complete after."""
        code = self.proc.wait(timeout)
        for reader in self._readers:
            reader.join(5)
        return code

    def output(self) -> str:
        return "".join(self.stdout) + "".join(self.stderr)

    def kill(self) -> None:
        """End the process if it still runs (teardown)."""
        if self.group:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        elif self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.wait(10)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


@contextlib.contextmanager
def serve_mounted(app: App, prefix: str, other: WSGIApplication) -> Iterator[str]:
    """Serve *app* at *prefix* (``"/sub"``) of a WSGI stack that sends every
    other path to *other* (Werkzeug's dispatcher and threaded server, stgo's
    request handler); yields the stack's root URL."""
    stack = DispatcherMiddleware(other, {prefix: app})
    server = make_server("127.0.0.1", 0, stack, threaded=True, request_handler=RequestHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                              name="test-mounted")
    app.start()
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        app.stop()
        server.shutdown()
        server.server_close()
        thread.join(5)


def gunicorn_embedded(processes: list[ServerProcess], threads: int) -> ServerProcess:
    """tests/apps/embedded.py under gunicorn, serving: one gthread worker of
    *threads* threads on a free port, added to *processes* (the fixture)."""
    proc = ServerProcess(
        [sys.executable, "-m", "gunicorn", "-k", "gthread", "-w", "1", "--threads", str(threads),
         "-b", "127.0.0.1:0", "--graceful-timeout", "5", "--chdir", str(APPS), "embedded:app"],
        url_pattern=r"Listening at: (http://[0-9.]+:[0-9]+)",
    )
    processes.append(proc)
    proc.wait_url()
    return proc


def stgo_run(app_file: str, *args: str, env: dict[str, str] | None = None) -> ServerProcess:
    """Start ``python -m stgo run APP_FILE --port 0 ARGS`` (call :meth:`ServerProcess.wait_url`)."""
    return ServerProcess([sys.executable, "-m", "stgo", "run", app_file, "--port", "0", *args],
                         env=env, group="--reload" in args)


def wait_answering(url: str, timeout: float = 15.0) -> None:
    """Wait until *url* answers HTTP at all (``--reload`` prints its URL line
    just before it binds the port)."""

    def answers() -> bool:
        try:
            request(url, "/health")
        except (OSError, http.client.HTTPException):
            return False
        return True

    wait_until(answers, timeout=timeout, interval=0.05)


def signin_source(edit: str, tail: str = "") -> str:
    """tests/apps/signin.py as edited for ``--reload`` tests: ``EDIT = "<edit>"``
    (which its page shows), and *tail* added (``"def oops(:\\n"`` breaks it)."""
    return (APPS / "signin.py").read_text().replace('EDIT = "first"', f'EDIT = "{edit}"') + tail


def rewrite(path: Path, text: str) -> None:
    """Replace the file at *path* in one step: a reloader must never load half of it."""
    draft = path.with_suffix(".draft")
    draft.write_text(text)
    os.replace(draft, path)


#: A fixed epoch for fake clocks (2023-11-14).
T0 = 1_700_000_000.0


class FakeClock:
    """Epoch seconds that move only when a test says so."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        self.now += seconds
        return self.now


def run_in_thread(fn: Callable[[], Any], timeout: float = 5.0) -> Any:
    """Run *fn* on another thread; fail (instead of hanging) if it does not finish."""
    result: list[Any] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            result.append(fn())
        except BaseException as exc:  # handed back to the test
            errors.append(exc)

    thread = threading.Thread(target=target, name="test-runner", daemon=True)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), "deadlock: the call did not return"
    if errors:
        raise errors[0]
    return result[0]


class Visitor:
    """A browser without script: follows nothing by itself, keeps the app's cookie."""

    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/")
        self.cookie: str | None = None

    def go(self, url: str, *, method: str = "GET", form: dict[str, str] | None = None,
           headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
        """One request; the app's Set-Cookie is kept."""
        parts = urlsplit(url if "://" in url else self.base + url)
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=15)
        sent = dict(headers or {})
        mine = parts.netloc == urlsplit(self.base).netloc
        if mine and self.cookie:
            sent["Cookie"] = f"{COOKIE}={self.cookie}"
        body = None
        if form is not None:
            body = urlencode(form)
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            conn.request(method, parts.path + (f"?{parts.query}" if parts.query else ""),
                         body=body, headers=sent)
            resp = conn.getresponse()
            text = resp.read().decode("utf-8", "replace")
            if mine:
                for header in resp.headers.get_all("Set-Cookie") or []:
                    m = re.match(rf"{COOKIE}=([^;]*)", header)
                    if m:
                        self.cookie = m.group(1)
            return resp.status, {k.lower(): v for k, v in resp.headers.items()}, text
        finally:
            conn.close()

    def start_sign_in(self, next_path: str = "/") -> str:
        """``auth/login``: the provider's authorization URL it sends us to."""
        status, headers, body = self.go(f"/auth/login?next={next_path}")
        assert status == 302, body
        return headers["location"]

    def consent(self, authorize: str, sub: str = "alice", *, deny: bool = False) -> str:
        """The provider's form, as a person fills it: the app's callback URL."""
        status, headers, body = self.go(authorize, method="POST",
                                        form={"action": "deny"} if deny else {"sub": sub})
        assert status in (302, 303), body
        return headers["location"]


def texts_in(msg: dict[str, Any], widget_id: str) -> list[str]:
    """The HTML of every update of *widget_id* in the message *msg*."""
    if msg.get("type") != "patch":
        return []
    return [o["html"] for o in msg["ops"] if o.get("op") == "update" and o.get("id") == widget_id]


def shows(widget_id: str, text: str) -> Callable[[dict[str, Any]], bool]:
    """A test of a message: it updates *widget_id* to HTML holding *text*."""
    return lambda m: any(text in html for html in texts_in(m, widget_id))

