"""``stgo run --workers N`` (issue 13): N processes on one port, one shared
store; the supervisor replaces a killed worker, stops them all on SIGTERM, and
its workers do not outlive it; the memory store is refused."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from stgo.server.binding import listen
from stgo.store.redis import RedisStore

from .helpers import ServerProcess, Socket, request, wait_until
from .services import RedisServer
from .test_relay_processes import expect, tab
from .test_store_processes import APP, click

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="reads process states from /proc")


class Supervised:
    """``python -m stgo run stored.py --workers N ...`` and the worker PIDs seen."""

    def __init__(self, *args: str, env: dict[str, str] | None = None, app: str = APP) -> None:
        self.proc = ServerProcess(
            [sys.executable, "-m", "stgo", "run", app, "--port", "0", *args],
            env={"STGO_TEST_SHOW_PID": "1", **(env or {})})
        self.url = self.proc.wait_url()
        self.seen: set[int] = set()

    def served_by(self) -> int:
        """The worker that answers a page load (its PID, shown by the app)."""
        page = request(self.url, "/")
        assert page.status == 200, page.status
        return self._note(page.body)

    def _note(self, text: str) -> int:
        found = re.search(r"served by pid (\d+)", text)
        assert found, text[:300]
        self.seen.add(int(found.group(1)))
        return int(found.group(1))

    def tab_pid(self, sock: Socket) -> int:
        """The worker serving *sock* (the render names it)."""
        return self._note(json.dumps(sock.messages[-1]))

    def workers(self, count: int, tries: int = 300) -> set[int]:
        """Load the page until *count* different workers have answered."""
        answered: set[int] = set()
        for _ in range(tries):
            answered.add(self.served_by())
            if len(answered) == count:
                return answered
        raise AssertionError(f"only {answered} answered in {tries} page loads")


def alive(pid: int) -> bool:
    """Whether *pid* runs (a zombie, dead but not reaped, does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.fixture
def supervise(redis_server: RedisServer) -> Iterator[type[Supervised]]:
    """Start supervisors on the test's Redis; kill them and their workers after."""
    started: list[Supervised] = []

    class OnRedis(Supervised):
        def __init__(self, *args: str, env: dict[str, str] | None = None,
                     app: str = APP) -> None:
            super().__init__("--workers", "2", "--store", redis_server.url, *args, env=env,
                             app=app)
            started.append(self)

    yield OnRedis
    for sup in started:
        for pid in sup.seen:
            if _our_worker(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        sup.proc.kill()


def _our_worker(pid: int) -> bool:
    """Still a running worker of ours (not a process that reused the PID)."""
    with contextlib.suppress(OSError):
        return alive(pid) and b"--worker-fds" in Path(f"/proc/{pid}/cmdline").read_bytes()
    return False


def test_two_workers_serve_one_port_and_count_one_shared_total_exactly(
    supervise: type[Supervised], redis_server: RedisServer
) -> None:
    sup = supervise()
    assert "(2 workers)" in sup.proc.output()
    # Tabs (each a new browser) until each worker serves two of them; which
    # worker accepts a connection is the kernel's pick, so try a bounded number.
    tabs: dict[int, list[tuple[Socket, str]]] = {}
    for _ in range(300):
        _, sock, button = tab(sup.url)
        mine = tabs.setdefault(sup.tab_pid(sock), [])
        if len(mine) < 2:
            mine.append((sock, button))
        else:
            sock.close()
        if len(tabs) == 2 and all(len(t) == 2 for t in tabs.values()):
            break
    assert len(tabs) == 2 and all(len(t) == 2 for t in tabs.values()), tabs.keys()
    everyone = [t for per_worker in tabs.values() for t in per_worker]
    clicks = 15
    errors: list[BaseException] = []

    def run(sock: Socket, button: str) -> None:
        try:
            for n in range(1, clicks + 1):
                assert f"mine: {n}" in json.dumps(click(sock, button))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=t) for t in everyone]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    expected = len(everyone) * clicks
    store = RedisStore(redis_server.url)
    try:
        assert store.get("app", "total") == expected  # no click lost or doubled
    finally:
        store.close()
    for sock, _ in everyone:  # and every tab, on either worker, shows it
        expect(sock, f'\\">{expected}<', timeout=10)
        sock.close()


def test_a_worker_killed_by_pid_is_replaced_and_the_port_keeps_answering(
    supervise: type[Supervised]
) -> None:
    sup = supervise()
    first = sup.workers(2)
    victim, survivor = sorted(first)
    os.kill(victim, signal.SIGKILL)
    wait_until(lambda: not alive(victim), timeout=10)
    answered: list[int] = []

    def replaced() -> bool:
        answered.append(sup.served_by())  # every load answers (200), meanwhile too
        return answered[-1] not in first

    wait_until(replaced, timeout=30)
    assert set(answered) <= {survivor, answered[-1]}
    assert alive(answered[-1]) and alive(survivor)
    wait_until(lambda: f"(pid {victim}) was killed by SIGKILL" in sup.proc.output())
    assert "starting another in" in sup.proc.output()


def test_a_worker_that_dies_again_at_once_is_restarted_later_each_time(
    supervise: type[Supervised]
) -> None:
    sup = supervise()
    victim = min(sup.workers(2))
    for delay in ("0.1", "0.2", "0.4"):
        os.kill(victim, signal.SIGKILL)
        died = wait_until(lambda v=victim: re.search(
            rf"worker (\d) \(pid {v}\) was killed by SIGKILL after [0-9.]+ s; "
            rf"starting another in ([0-9.]+) s", sup.proc.output()), timeout=10)
        assert died.group(2) == delay  # doubled: the last one lived less than 10 s
        slot, since = died.group(1), died.end()
        started = wait_until(lambda s=slot, at=since: re.search(
            rf"worker {s} starting \(pid (\d+)\)", sup.proc.output()[at:]), timeout=10)
        victim = int(started.group(1))
        sup.seen.add(victim)
    wait_until(lambda: f"worker {slot} serving (pid {victim})" in sup.proc.output(), timeout=20)
    assert victim in sup.workers(2)  # and serves


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_or_sigint_stops_every_worker_gracefully_and_exits_0(
    supervise: type[Supervised], signum: int
) -> None:
    sup = supervise()
    pids = sup.workers(2)
    _, sock, _ = tab(sup.url)
    sup.proc.signal(signum)
    assert sock.recv_close(10) == 1001  # the tab is told, and reconnects elsewhere
    assert sup.proc.wait(30) == 0
    assert not any(alive(pid) for pid in pids), sup.proc.output()


def test_a_process_the_app_starts_does_not_keep_the_port_after_a_clean_stop(
    supervise: type[Supervised], tmp_path: Path
) -> None:
    spawned = tmp_path / "spawned.txt"  # each worker's app starts a long-lived child
    sup = supervise(env={"STGO_TEST_SPAWN": str(spawned)})
    helpers: list[int] = []
    try:
        sup.workers(2)
        port = int(urlsplit(sup.url).port or 0)
        sup.proc.signal(signal.SIGTERM)
        assert sup.proc.wait(30) == 0
        helpers = [int(pid) for pid in spawned.read_text(encoding="utf-8").split()]
        assert len(helpers) == 2 and all(alive(pid) for pid in helpers)  # they outlive it
        # Nobody holds the port in LISTEN: a restart can bind it.
        with listen("127.0.0.1", port):
            pass
    finally:
        for pid in helpers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def test_sighup_starts_new_workers_stops_the_old_ones_and_keeps_serving(
    supervise: type[Supervised]
) -> None:
    sup = supervise()
    old = sup.workers(2)
    _, sock, _ = tab(sup.url)  # a tab on an old worker
    sup.proc.signal(signal.SIGHUP)
    # The old workers stop gracefully once the new ones serve: the tab is
    # told (and would reconnect to a new worker).
    assert sock.recv_close(30) == 1001
    # Every page load answers meanwhile (served_by asserts a 200).
    wait_until(lambda: sup.served_by() not in old and not any(alive(p) for p in old),
               timeout=30)
    new = sup.workers(2)
    assert not new & old
    assert sup.proc.proc.poll() is None  # the supervisor lives on
    assert "reloaded: 2 new workers serve; stopping the 2 old ones" in sup.proc.output()
    sup.proc.signal(signal.SIGTERM)
    assert sup.proc.wait(30) == 0
    assert not any(alive(pid) for pid in new)


def test_a_sighup_onto_a_broken_app_file_keeps_the_old_workers_serving_until_it_is_fixed(
    supervise: type[Supervised], tmp_path: Path
) -> None:
    app = tmp_path / "deployed.py"
    good = Path(APP).read_text(encoding="utf-8")
    app.write_text(good, encoding="utf-8")
    sup = supervise(app=str(app))
    old = sup.workers(2)
    app.write_text(good + "\nraise RuntimeError('a broken deploy')\n", encoding="utf-8")
    sup.proc.signal(signal.SIGHUP)
    wait_until(lambda: sup.proc.output().count("a broken deploy") >= 2, timeout=30)
    assert sup.workers(2) == old  # the old ones serve on, every load a 200
    app.write_text(good, encoding="utf-8")  # fixed: the next retry serves
    wait_until(lambda: "reloaded: 2 new workers serve" in sup.proc.output(), timeout=60)
    wait_until(lambda: not any(alive(p) for p in old), timeout=30)
    assert not sup.workers(2) & old
    sup.proc.signal(signal.SIGTERM)
    assert sup.proc.wait(30) == 0


def test_workers_stop_by_themselves_when_the_supervisor_is_killed(
    supervise: type[Supervised]
) -> None:
    sup = supervise()
    pids = sup.workers(2)
    sup.proc.signal(signal.SIGKILL)
    sup.proc.wait(10)
    wait_until(lambda: not any(alive(pid) for pid in pids), timeout=20)
    assert sup.proc.output().count("the supervisor is gone: stopping") == 2


def _cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("STGO_")}
    return subprocess.run([sys.executable, "-m", "stgo", "run", APP, "--port", "0", *args],
                          env={**clean, **env}, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("args,env", [
    (("--workers", "2"), {}),                         # the default store, memory
    (("--workers", "2", "--store", "memory"), {}),
    ((), {"STGO_WORKERS": "2"}),
])
def test_several_workers_on_the_memory_store_are_refused(
    args: tuple[str, ...], env: dict[str, str]
) -> None:
    done = _cli(*args, **env)
    assert done.returncode == 2, done
    # One message (the first worker starts alone), saying what to do.
    assert done.stderr.count("2 workers need a shared store") == 1, done.stderr
    assert "--store redis://" in done.stderr
    assert "serving" not in done.stdout


@pytest.mark.parametrize("args,env,message", [
    (("--workers", "2", "--reload"), {}, "--reload serves one process"),
    (("--workers", "0"), {}, "--workers must be at least 1, got 0"),
    ((), {"STGO_WORKERS": "two"}, "STGO_WORKERS must be a whole number, got 'two'"),
])
def test_bad_worker_settings_are_one_clear_line(
    args: tuple[str, ...], env: dict[str, str], message: str
) -> None:
    done = _cli(*args, **env)
    assert done.returncode == 2 and message in done.stderr, done
    assert "Traceback" not in done.stderr


def test_the_flag_wins_over_stgo_workers() -> None:
    proc = ServerProcess([sys.executable, "-m", "stgo", "run", APP, "--port", "0",
                          "--workers", "1"], env={"STGO_WORKERS": "2", "STGO_STORE": "memory"})
    try:
        proc.wait_url()  # one process, no supervisor: the memory store is fine
        assert "workers" not in proc.output()
    finally:
        proc.signal(signal.SIGTERM)
        assert proc.wait(20) == 0
        proc.kill()
