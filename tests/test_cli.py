"""``python -m stgo run`` as a real child process: URL line, settings, signals, errors, logs."""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from .helpers import (
    APPS,
    COOKIE,
    Client,
    Response,
    ServerProcess,
    request,
    rewrite,
    signin_source,
    stgo_run,
    wait_until,
    ws_status,
)

RECORDER = str(APPS / "recorder.py")

Start = Callable[..., ServerProcess]


@pytest.fixture
def start(processes: list[ServerProcess]) -> Start:
    """Start ``python -m stgo run`` processes; every one is killed after the test."""

    def run(app_file: str, *args: str, env: dict[str, str] | None = None) -> ServerProcess:
        proc = stgo_run(app_file, *args, env=env)
        processes.append(proc)
        proc.wait_url()
        return proc

    return run


def records(path: Path) -> list[tuple[str, str]]:
    """The ``(session id, reason)`` lines the recorder app wrote."""
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [(sid, reason) for sid, reason in (line.split() for line in lines)]


def test_allowed_hosts_from_the_flag_or_the_environment(start: Start) -> None:
    by_flag = start(RECORDER, "--allowed-hosts", "app.example, .corp.example")
    by_env = start(RECORDER, env={"STGO_ALLOWED_HOSTS": "app.example,.corp.example"})
    for proc in (by_flag, by_env):
        assert request(proc.url, "/", {"Host": "app.example"}).status == 200
        assert request(proc.url, "/", {"Host": "x.corp.example"}).status == 200
        # Named hosts replace the loopback default.
        assert request(proc.url, "/", {"Host": "localhost"}).status == 400
    default = start(RECORDER)
    assert request(default.url, "/", {"Host": "app.example"}).status == 400
    assert request(default.url, "/", {"Host": "localhost"}).status == 200


def test_prints_the_url_line_and_serves(start: Start) -> None:
    proc = start(RECORDER)
    assert re.fullmatch(r"http://127\.0\.0\.1:[1-9][0-9]*/", proc.url)
    url_lines = [line for line in proc.stdout if proc.url in line]
    assert len(url_lines) == 1
    assert request(proc.url, "/").status == 200
    assert request(proc.url, "/health").json() == {"status": "ok"}


@pytest.mark.parametrize(
    ("flags", "env", "expected"),
    [
        pytest.param(
            ["--session-timeout", "7"],
            {"STGO_SESSION_TIMEOUT": "8", "STGO_TEST_APP_TIMEOUT": "9",
             "STGO_CLEANUP_INTERVAL": "0.8", "STGO_TEST_APP_INTERVAL": "0.9",
             "STGO_PORT": "not-a-port"},  # --port 0 wins over it
            (7.0, 0.8), id="flag>env>app",
        ),
        pytest.param(
            ["--cleanup-interval", "0.7"],
            {"STGO_SESSION_TIMEOUT": "8", "STGO_TEST_APP_TIMEOUT": "9",
             "STGO_CLEANUP_INTERVAL": "0.8", "STGO_TEST_APP_INTERVAL": "0.9"},
            (8.0, 0.7), id="env>app",
        ),
        pytest.param(
            [], {"STGO_TEST_APP_TIMEOUT": "9", "STGO_TEST_APP_INTERVAL": "0.9"},
            (9.0, 0.9), id="app>default",
        ),
        pytest.param([], {}, (300.0, 60.0), id="default"),
    ],
)
def test_settings_precedence(
    start: Start, flags: list[str], env: dict[str, str], expected: tuple[float, float]
) -> None:
    clean = {k: "" for k in ("STGO_SESSION_TIMEOUT", "STGO_CLEANUP_INTERVAL", "STGO_PORT",
                             "STGO_HOST", "STGO_TEST_APP_TIMEOUT", "STGO_TEST_APP_INTERVAL")}
    proc = start(RECORDER, *flags, env={**clean, **env})
    page = request(proc.url, "/").body
    timeout, interval = expected
    assert f"session_timeout={timeout!r} cleanup_interval={interval!r}" in page


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_stops_gracefully(start: Start, tmp_path: Path, signum: int) -> None:
    record = tmp_path / "ended.txt"
    proc = start(RECORDER, env={"STGO_TEST_RECORD": str(record),
                                "STGO_TEST_APP_INTERVAL": "3600"})
    browser = Client(proc.url)
    tabs = [browser.connect(), browser.connect()]
    other = Client(proc.url)
    tabs.append(other.connect())
    page_only = Client(proc.url)
    page_only.get("/")
    try:
        proc.signal(signum)
        # Every open tab is told (1001), and the process ends by itself:
        # neither its tabs nor the cleanup thread's hour-long wait hold it.
        for tab in tabs:
            assert tab.recv_close(5) == 1001
        assert proc.wait(10) == 0
    finally:
        browser.close()
        other.close()
    ended = records(record)
    expected = {browser.session_id, other.session_id, page_only.session_id}
    assert sorted(sid for sid, _ in ended) == sorted(expected)  # each exactly once
    assert {reason for _, reason in ended} == {"shutdown"}
    assert "Traceback" not in proc.output()


STOP_HANDLER_PROBE = """
import signal
import sys

import stgo
from stgo.server import serve

taken = []


def probe(frame, event, arg):
    # A lock's acquire (or ``with lock``) is a call of a C method of the lock.
    owner = getattr(arg, "__self__", None)
    if event == "c_call" and arg.__name__ in ("acquire", "__enter__") and (
            type(owner).__name__ in ("lock", "RLock")):
        taken.append(arg)


def ready(server):
    handler = signal.getsignal(signal.SIGTERM)
    sys.setprofile(probe)
    try:
        handler(signal.SIGTERM, None)  # as the interpreter runs it, on this thread
    finally:
        sys.setprofile(None)
    print("locks taken:", len(taken), flush=True)


serve(stgo.App(title="Probe"), port=0, on_ready=ready)
print("stopped", flush=True)
"""


def test_the_stop_signal_handler_takes_no_lock(tmp_path: Path) -> None:
    """A signal handler runs on the main thread between two bytecodes of
    whatever it interrupted: one that takes a lock (``Event.set`` does) waits
    for ever if the interrupted code holds it, which is how a stop once hung
    in three nested handlers.  serve()'s handler only notes the signal."""
    script = tmp_path / "probe.py"
    script.write_text(STOP_HANDLER_PROBE, encoding="utf-8")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == ["locks taken: 0", "stopped"], done.stdout


def test_idle_session_expires_but_an_open_tab_keeps_its_own(
    start: Start, tmp_path: Path
) -> None:
    record = tmp_path / "ended.txt"
    proc = start(RECORDER, "--session-timeout", "1", "--cleanup-interval", "0.2",
                 env={"STGO_TEST_RECORD": str(record)})
    keeper = Client(proc.url)
    kept = keeper.connect()
    # The leaver is active *after* the keeper: if an open tab did not count
    # as activity, the keeper would expire no later than the leaver.
    leaver = Client(proc.url)
    leaver.connect().close()
    try:
        wait_until(lambda: records(record), timeout=10)
        assert records(record) == [(leaver.session_id, "timeout")]
        assert request(proc.url, "/health").json() == {"status": "ok"}
        seq = kept.event("w-does-not-exist")
        assert kept.ack(seq)["type"] == "error"  # still served, same session
        # The leaver's cookie is not adopted again.
        old = leaver.session_id
        leaver.get("/")
        assert leaver.session_id != old
    finally:
        keeper.close()


def _run_cli(*args: str, cwd: Path | None = None,
             port: int = 0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "stgo", "run", *args, "--port", str(port)],
        capture_output=True, text=True, timeout=30, cwd=cwd,
    )


def _one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("stgo: error: ")
    assert result.stdout == ""
    return lines[0]


def test_missing_file_exits_2(tmp_path: Path) -> None:
    line = _one_error_line(_run_cli(str(tmp_path / "nope.py")))
    assert "no such file" in line and "nope.py" in line


def test_syntax_error_exits_2_with_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "broken.py"
    bad.write_text('import stgo\n\napp = stgo.App(title="x"\nx = 1\n', encoding="utf-8")
    line = _one_error_line(_run_cli(str(bad)))
    assert "syntax error" in line
    assert "broken.py" in line
    assert re.search(r"line [34]\b", line), line


def test_file_without_an_app_exits_2() -> None:
    line = _one_error_line(_run_cli(str(APPS / "no_app.py")))
    assert "no_app.py" in line and "App" in line


def test_bad_setting_exits_2() -> None:
    line = _one_error_line(_run_cli(RECORDER, "--session-timeout", "0"))
    assert "session_timeout" in line


def test_unknown_log_level_exits_2() -> None:
    line = _one_error_line(_run_cli(RECORDER, "--log-level", "LOUD"))
    assert "LOUD" in line


@pytest.mark.parametrize("mode", [[], ["--workers", "2"], ["--reload"]],
                         ids=["one-process", "workers", "reload"])
def test_a_port_in_use_exits_2_with_one_line(mode: list[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = _one_error_line(_run_cli(RECORDER, *mode, port=port))
    assert line.startswith(f"stgo: error: cannot listen on 127.0.0.1:{port}: "), line
    assert "in use" in line


def test_the_log_level_quiets_the_access_log_too(start: Start) -> None:
    """``--log-level WARNING`` leaves out Werkzeug's line per request, as
    it leaves out stgo's INFO lines (under load, writing it held each request)."""
    quiet = start(RECORDER, "--log-level", "WARNING")
    loud = start(RECORDER, "--log-level", "INFO")
    for proc in (quiet, loud):
        assert request(proc.url, "/health").status == 200
    wait_until(lambda: "GET /health" in loud.output())
    request(quiet.url, "/health")  # one more, after the loud one's line is out
    quiet.signal(signal.SIGTERM)
    assert quiet.wait(10) == 0
    assert "GET /health" not in quiet.output()


def test_no_raw_session_id_in_the_logs_at_debug(start: Start, tmp_path: Path) -> None:
    proc = start(RECORDER, "--log-level", "DEBUG", env={"STGO_TEST_RECORD": str(tmp_path / "e")})
    alice, bob = Client(proc.url), Client(proc.url)
    a = alice.connect()
    bob.get("/")
    bob.get("/")
    seq = a.event("w-unknown")
    a.ack(seq)
    a.close()
    sid_a, sid_b = alice.session_id or "", bob.session_id or ""
    # Refused upgrades put a real ID in a logged request line.
    assert ws_status(proc.url, f"session={quote(sid_a)}", cookie=f"{COOKIE}=session_1_x") == 403
    assert ws_status(proc.url, f"session={quote(sid_a)}&x=1",
                     origin="http://evil.example", cookie=f"{COOKIE}={sid_a}") == 403
    request(proc.url, "/", {"Cookie": f"{COOKIE}={sid_a}"})
    proc.signal(signal.SIGTERM)
    assert proc.wait(10) == 0
    logs = proc.output()
    assert " DEBUG " in logs and "session=sid:" in logs  # we did log at DEBUG, scrubbed
    for sid in (sid_a, sid_b):
        assert sid not in logs
        # Not even the random part (which may itself contain "_": split after
        # the timestamp, not at the last underscore).
        assert sid[len("session_"):].split("_", 1)[1] not in logs


@contextlib.contextmanager
def _reloading(app_file: Path, stdout: Any = subprocess.PIPE,
               env: dict[str, str] | None = None) -> Iterator[subprocess.Popen[str]]:
    """``python -m stgo run APP_FILE --port 0 --reload``, its output to
    *stdout*. The reloader runs the server in a child process: its own
    process group, so that the end of the test ends both."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "stgo", "run", str(app_file), "--port", "0", "--reload"],
        stdout=stdout, stderr=subprocess.STDOUT, text=True, start_new_session=True,
        env=None if env is None else {**os.environ, **env},
    )
    try:
        yield proc
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()


def _fetch(url: str) -> Response | None:
    """The page at *url*, or ``None`` mid-restart (refused or cut short)."""
    try:
        return request(url, "/")
    except (OSError, http.client.HTTPException):
        return None


def test_reload_serves_the_edited_app_file(tmp_path: Path) -> None:
    app_file = tmp_path / "reloading.py"
    app_file.write_text('import stgo\napp = stgo.App(title="First")\napp.text("one")\n')
    with _reloading(app_file) as proc:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:([1-9][0-9]*)/", line)
        assert url, line
        wait_until(lambda: _title(url.group(0)) == "First", timeout=15, interval=0.1)
        rewrite(app_file, 'import stgo\napp = stgo.App(title="Second")\napp.text("two")\n')
        wait_until(lambda: _title(url.group(0)) == "Second", timeout=20, interval=0.1)


def _title(url: str) -> str | None:
    page = _fetch(url)
    m = re.search(r"<title>([^<]*)</title>", page.body) if page is not None else None
    return m.group(1) if m else None


def test_reload_survives_a_syntax_error_and_recovers_when_fixed(tmp_path: Path) -> None:
    import threading

    app_file = tmp_path / "broken.py"
    app_file.write_text('import stgo\napp = stgo.App(title="Broken"\n')  # no ")"
    lines: list[str] = []
    with _reloading(app_file) as proc:
        assert proc.stdout is not None
        url = None
        while url is None and len(lines) < 20:
            lines.append(proc.stdout.readline())
            url = re.search(r"http://127\.0\.0\.1:([1-9][0-9]*)/", lines[-1])
        assert url, lines
        base = url.group(0)
        reader = threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")),
                                  daemon=True)
        reader.start()
        # Started broken: the terminal and the page say why, and it keeps watching.
        wait_until(lambda: _status(base) == 500, timeout=15, interval=0.1)
        body = getattr(_fetch(base), "body", "")
        assert "failed to load" in body and "syntax error in" in body and "broken.py" in body
        wait_until(lambda: any("syntax error in" in x for x in lines), timeout=5)
        assert proc.poll() is None
        # Fixed: the app is served.
        rewrite(app_file, 'import stgo\napp = stgo.App(title="Fixed")\napp.text("ok")\n')
        wait_until(lambda: _title(base) == "Fixed", timeout=20, interval=0.1)
        # Broken again while running: the error page, not an exit ...
        rewrite(app_file, 'import stgo\napp = stgo.App(title="Again"\n')
        wait_until(lambda: _status(base) == 500, timeout=20, interval=0.1)
        assert proc.poll() is None
        # ... and fixed again.
        rewrite(app_file, 'import stgo\napp = stgo.App(title="Fixed again")\n')
        wait_until(lambda: _title(base) == "Fixed again", timeout=20, interval=0.1)


def test_the_stgo_console_command_serves_the_tour() -> None:
    # The console script pip made beside this interpreter (setup.cfg
    # console_scripts), run as a user would; the tour ships in the package.
    script = Path(sys.executable).with_name("stgo")
    assert script.exists(), f"no console script at {script}: reinstall stgo (pip install -e .)"
    proc = ServerProcess([str(script), "hello", "--port", "0"])
    try:
        url = proc.wait_url()
        page = request(url, "/")
        assert page.status == 200
        assert "Hello, stgo" in page.body and "Clicks by everyone" in page.body
        assert "usage: stgo" in subprocess.run([str(script), "--help"], capture_output=True,
                                               text=True, timeout=30).stdout
    finally:
        proc.kill()


def test_reload_keeps_sessions_and_their_state_across_an_edit(tmp_path: Path) -> None:
    app_file = tmp_path / "keeping.py"
    ends = tmp_path / "ends.txt"  # a session handed over to the next child does not end
    source = ('import stgo\napp = stgo.App(title="{title}")\n'
              'name = app.text_input("Name", key="name")\n'
              '@app.on_session_start\ndef start(session):\n    session.set("visits", 0)\n'
              '@app.on_session_end\ndef end(session, reason):\n'
              f'    open({str(ends)!r}, "a").write(reason + "\\n")\n')
    app_file.write_text(source.format(title="Before"))
    log = tmp_path / "terminal.txt"
    with (log.open("w") as out,
          _reloading(app_file, out, env={"STGO_DEV_STORE": str(tmp_path / "sessions.pickle")})):
        url = wait_until(lambda: _url_in(log.read_text()), timeout=15, interval=0.1)
        wait_until(lambda: _title(url) == "Before", timeout=15, interval=0.1)
        client = Client(url)
        first = client.get("/")
        sid = client.session_id
        assert sid and first.status == 200
        sock = client.connect()
        render = sock.messages[-1]
        input_id = re.search(r'id="(w[0-9a-f]+)" data-key="name"', render["roots"]["global"])
        assert input_id, render
        sock.ack(sock.event(input_id.group(1), "change", "Ada"))
        sock.close()

        rewrite(app_file, source.format(title="After"))
        wait_until(lambda: _title(url) == "After", timeout=30, interval=0.1)
        # The same cookie still names a live session, with what was typed.
        again = client.get("/")
        assert again.status == 200 and again.cookies() == [], "a fresh session was issued"
        assert client.session_id == sid
        assert 'value="Ada"' in again.body
        sock = client.connect()
        assert 'value="Ada"' in sock.messages[-1]["roots"]["global"]
        sock.close()
        terminal = log.read_text()
        assert "--reload: kept" in terminal and "--reload: brought back" in terminal
        assert not ends.exists(), ends.read_text()

        # A broken edit: the error on the page and in the terminal; fixed, the
        # same session is back with its state.
        rewrite(app_file, source.format(title="Broken") + "def oops(:\n")
        wait_until(lambda: _status(url) == 500, timeout=30, interval=0.1)
        assert "syntax error" in request(url, "/").body
        assert "syntax error" in log.read_text()
        rewrite(app_file, source.format(title="Fixed"))
        wait_until(lambda: _title(url) == "Fixed", timeout=30, interval=0.1)
        fixed = client.get("/")
        assert fixed.cookies() == [] and client.session_id == sid
        assert 'value="Ada"' in fixed.body


def _status(url: str) -> int | None:
    page = _fetch(url)
    return page.status if page is not None else None


def _url_in(text: str) -> str | None:
    m = re.search(r"(http://127\.0\.0\.1:[1-9][0-9]*/)", text)
    return m.group(1) if m else None


def _click(sock: Any, key: str) -> None:
    """Click the widget with *key* in *sock*'s latest render and wait for the ack."""
    render = [m for m in sock.messages if m["type"] == "render"][-1]
    found = re.search(rf'id="(w[0-9a-f]+)" data-key="{key}"', str(render["roots"]))
    assert found, render
    sock.ack(sock.event(found.group(1)))


def test_reload_draws_the_new_session_page_from_the_old_state(start: Start, tmp_path: Path) -> None:
    app_file = tmp_path / "signin.py"
    app_file.write_text(signin_source("first"))
    proc = start(str(app_file), "--reload")
    url = proc.url
    wait_until(lambda: _title(url) == "Signin first", timeout=15, interval=0.1)
    client = Client(url)
    sock = client.connect()
    assert "first: x=None, sign-ins 0" in str(sock.messages[-1]["roots"])
    _click(sock, "sign_in")
    sid = client.session_id
    assert "first: x=42, sign-ins 1" in client.get("/").body

    rewrite(app_file, signin_source("second"))
    assert sock.recv_close(30) == 1012  # restarting: the tab reconnects
    wait_until(lambda: _title(url) == "Signin second", timeout=30, interval=0.1)
    # The open tab reconnects with its cookie: the new code's page, the old
    # values (the session's, app.state's and the keyed global metric's).
    again = client.connect()
    roots = str(again.messages[-1]["roots"])
    assert "second: x=42, sign-ins 1" in roots, roots
    assert re.search(r'data-key="total".*?stgo-metric-value">1<', roots), roots
    # A fresh load with the same cookie: the same session, not a new one.
    page = client.get("/")
    assert page.status == 200 and page.cookies() == [] and client.session_id == sid
    assert "second: x=42, sign-ins 1" in page.body
    # And again after a second edit: kept values are kept once more.
    again.close()
    rewrite(app_file, signin_source("third"))
    wait_until(lambda: _title(url) == "Signin third", timeout=30, interval=0.1)
    assert "third: x=42, sign-ins 1" in client.get("/").body


def test_reload_marks_the_load_error_page_for_the_open_tabs(start: Start, tmp_path: Path) -> None:
    # An open tab that loses its socket asks `health`; the mark tells it to
    # reload into the error page (stgo.js) instead of retrying for ever.
    app_file = tmp_path / "signin.py"
    app_file.write_text(signin_source("first"))
    proc = start(str(app_file), "--reload")
    url = proc.url
    wait_until(lambda: _title(url) == "Signin first", timeout=15, interval=0.1)
    assert request(url, "/health").headers.get("X-Stgo-Load-Error") is None
    rewrite(app_file, signin_source("broken", tail="def oops(:\n"))
    wait_until(lambda: _status(url) == 500, timeout=30, interval=0.1)
    health = request(url, "/health")
    assert health.status == 500 and health.headers.get("X-Stgo-Load-Error") == "1"
    assert "syntax error" in health.body
