"""``stgo run FILE --workers N``: N processes serve one app on one port.

The parent, the *supervisor*, binds the listening socket once and starts N
workers. Each worker is a fresh ``python -m stgo`` with the same arguments
and the socket inherited: it loads the app file itself and serves it exactly
as a lone ``stgo run`` does, with the shared (Redis) store; the kernel hands
each new connection to whichever worker accepts it first.

Fresh interpreters rather than ``fork``: the supervisor never runs the app's
code (an app that loads a model or opens connections at import would hold
them once more, and a fork after threads have started is unsafe), a worker is
the very process a lone ``stgo run`` is, and a restarted worker loads the file
the same way the first one did.

Each worker shares a socket pair with the supervisor, its *control* socket.
The worker writes one line on it once it serves, and watches it for EOF:
when the supervisor dies, however it dies (``kill -9`` included), the kernel
closes the supervisor's end and the worker stops as on SIGTERM. The
supervisor sees a worker die on the same socket (and on ``SIGCHLD``), starts
another after a backoff, and turns SIGTERM or SIGINT into a graceful stop of
every worker. SIGHUP reloads, as gunicorn's does: a new generation of workers
starts (loading the app file afresh), and the old one stops gracefully once
every new worker serves; the port answers throughout.

A worker makes the two descriptors it inherits non-inheritable before it
loads the app file (:func:`keep_worker_fds`): a process the app starts
must not keep the port listening after every worker has stopped.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from types import FrameType
from typing import TYPE_CHECKING, Any

from .server import serve

if TYPE_CHECKING:
    from .app import App
    from .server import Server

__all__ = ["Supervisor", "serve_worker", "keep_worker_fds", "WORKER_FDS_OPTION"]

log = logging.getLogger("stgo")

#: The hidden command-line option that makes ``stgo run`` a worker:
#: ``--worker-fds LISTEN,CONTROL`` (two inherited file descriptors).
WORKER_FDS_OPTION = "--worker-fds"

#: Seconds before a dead worker's first replacement starts; each further
#: death of a worker that lived less than :data:`STABLE_AFTER` doubles it, up
#: to :data:`MAX_RESTART_DELAY`, so a worker that dies at once does not spin.
RESTART_DELAY = 0.1
MAX_RESTART_DELAY = 10.0
STABLE_AFTER = 10.0

#: Seconds the workers get to stop gracefully before they are killed.
STOP_TIMEOUT = 20.0

# The supervisor's longest sleep: a check of every worker, should a death's
# EOF and SIGCHLD both be missed.
_POLL = 1.0


@dataclass
class _Worker:
    slot: int
    proc: subprocess.Popen[bytes]
    control: socket.socket
    started: float
    ready: bool = False
    received: bytes = b""
    told_to_stop: float = 0.0  # when a reload sent it SIGTERM (monotonic)


class Supervisor:
    """Starts *count* workers of ``stgo <argv>`` on *listener*, keeps them
    running, and stops them all on SIGTERM or SIGINT (:meth:`run`).

    :param argv: the command line the supervisor was given (``run FILE ...``);
        each worker runs it again with :data:`WORKER_FDS_OPTION` added.
    """

    def __init__(self, argv: Sequence[str], listener: socket.socket, count: int) -> None:
        self._argv = list(argv)
        self._listener = listener
        self._count = count
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._workers: dict[int, _Worker] = {}
        self._restarts: dict[int, float] = {}  # slot -> when its next worker starts
        self._delays: dict[int, float] = {}  # slot -> its last restart delay
        self._stop_signal: int | None = None
        self._reload_asked = False  # SIGHUP came: start new workers, then stop these
        # The generation a reload replaces, serving until every new worker
        # serves; and workers sent SIGTERM that are not gone yet.
        self._retiring: list[_Worker] = []
        self._leaving: list[_Worker] = []
        self._first_failure: int | None = None
        self._started = False  # a worker has served: the app and its store are fine
        self._announced = False
        self._serving = {"title": "", "url": ""}  # as a worker says once it serves

    def run(self) -> int:
        """Serve until SIGTERM or SIGINT; return the exit status.

        The first worker starts alone: an app file that does not load, a store
        that is not shared or not reachable, then fail once, with one message
        (the worker's), and the supervisor exits with the worker's status.
        """
        previous = self._install_signals()
        try:
            self._spawn(0)
            while self._running() and not self._started:
                self._step()
            if self._first_failure is not None:
                return self._failed_to_start(self._first_failure)
            if self._stop_signal is None:
                for slot in range(1, self._count):
                    self._spawn(slot)
            while self._running():
                if self._reload_asked:
                    self._reload()
                self._step()
            log.info("stopping %d workers", len(self._workers) + len(self._retiring))
            return 0
        finally:
            self._stop_all()
            self._restore_signals(previous)
            self._selector.close()
            self._wake_r.close()
            self._wake_w.close()

    def _running(self) -> bool:
        return self._stop_signal is None and self._first_failure is None

    # -- signals --------------------------------------------------------------------------

    def _install_signals(self) -> tuple[int, dict[signal.Signals, Any]]:
        """Handlers that wake the loop (through the wakeup fd); the previous ones."""
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._selector.register(self._wake_r, selectors.EVENT_READ)
        handlers = {signal.SIGINT: self._on_stop_signal, signal.SIGTERM: self._on_stop_signal,
                    signal.SIGHUP: self._on_reload_signal, signal.SIGCHLD: _on_child_exit}
        previous = {signum: signal.signal(signum, handler) for signum, handler in handlers.items()}
        return signal.set_wakeup_fd(self._wake_w.fileno()), previous

    def _on_stop_signal(self, signum: int, frame: FrameType | None) -> None:
        self._stop_signal = signum

    def _on_reload_signal(self, signum: int, frame: FrameType | None) -> None:
        self._reload_asked = True  # a flag only: the loop reloads

    def _restore_signals(self, previous: tuple[int, dict[signal.Signals, Any]]) -> None:
        wakeup_fd, handlers = previous
        signal.set_wakeup_fd(wakeup_fd)
        for signum, handler in handlers.items():
            signal.signal(signum, handler)

    # -- workers --------------------------------------------------------------------------

    def _spawn(self, slot: int) -> None:
        ours, theirs = socket.socketpair()
        fds = f"{self._listener.fileno()},{theirs.fileno()}"
        # The option right after the command ("run"/"hello"): before any "--".
        argv = [*self._argv[:1], WORKER_FDS_OPTION, fds, *self._argv[1:]]
        try:
            proc = subprocess.Popen(
                [sys.executable, "-m", "stgo", *argv],
                pass_fds=(self._listener.fileno(), theirs.fileno()),
                # A terminal's Ctrl-C reaches the supervisor only, which
                # stops the workers once, in order.
                start_new_session=True,
            )
        except OSError:
            ours.close()
            raise
        finally:
            theirs.close()
        worker = _Worker(slot, proc, ours, time.monotonic())
        self._workers[slot] = worker
        ours.setblocking(False)
        self._selector.register(ours, selectors.EVENT_READ, worker)
        log.info("worker %d starting (pid %d)", slot, proc.pid)

    def _reload(self) -> None:
        """SIGHUP: start a new generation of workers (which load the app file
        afresh); the serving ones stop once every new one serves (see
        :meth:`_retire`).  A new worker that fails is restarted with the
        usual backoff while the old ones go on serving."""
        self._reload_asked = False
        for worker in self._workers.values():
            if worker.ready:
                self._retiring.append(worker)
            else:  # of an earlier reload, and not serving yet: not worth waiting for
                self._terminate(worker)
        self._workers.clear()
        self._restarts.clear()
        self._delays.clear()
        log.info("SIGHUP: starting %d new workers; the %d serving stop once they serve",
                 self._count, len(self._retiring))
        for slot in range(self._count):
            self._spawn(slot)

    def _retire(self) -> None:
        """Stop the generation a reload replaces once every new worker serves."""
        if not self._retiring or sum(1 for w in self._workers.values() if w.ready) < self._count:
            return
        log.info("reloaded: %d new workers serve; stopping the %d old ones",
                 self._count, len(self._retiring))
        for worker in self._retiring:
            self._terminate(worker)
        self._retiring = []

    def _terminate(self, worker: _Worker) -> None:
        """SIGTERM to *worker*, which is then reaped without a replacement."""
        with contextlib.suppress(ProcessLookupError):
            worker.proc.send_signal(signal.SIGTERM)
        worker.told_to_stop = time.monotonic()
        self._leaving.append(worker)

    def _step(self) -> None:
        """Wait for something to happen (at most until the next restart is due),
        and deal with it."""
        now = time.monotonic()
        due = min(self._restarts.values(), default=now + _POLL)
        for key, _ in self._selector.select(max(0.0, min(due - now, _POLL))):
            if key.fileobj is self._wake_r:
                with contextlib.suppress(OSError):
                    while self._wake_r.recv(4096):
                        pass
            else:
                self._read(key.data)
        for worker in list(self._workers.values()):
            if worker.proc.poll() is not None:
                self._reap(worker)
        for group in (self._retiring, self._leaving):
            for worker in [w for w in group if w.proc.poll() is not None]:
                group.remove(worker)  # an old worker gone: no replacement
                self._close(worker)
        for worker in self._leaving:
            if time.monotonic() - worker.told_to_stop > STOP_TIMEOUT:
                log.warning("worker (pid %d) did not stop in %.0f s: killed",
                            worker.proc.pid, STOP_TIMEOUT)
                worker.proc.kill()  # reaped on the next step
                worker.told_to_stop = float("inf")
        self._retire()
        now = time.monotonic()
        for slot, when in list(self._restarts.items()):
            if when <= now and self._running():
                del self._restarts[slot]
                self._spawn(slot)

    def _read(self, worker: _Worker) -> None:
        try:
            data = worker.control.recv(4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:  # it is exiting: poll() reaps it
            self._selector.unregister(worker.control)
            return
        worker.received += data
        if b"\n" in worker.received and not worker.ready:
            worker.ready = self._started = True
            with contextlib.suppress(ValueError, TypeError, KeyError):
                said = json.loads(worker.received.split(b"\n")[0])
                self._serving = {"title": str(said["title"]), "url": str(said["url"])}
            log.info("worker %d serving (pid %d)", worker.slot, worker.proc.pid)
            self._announce()

    def _announce(self) -> None:
        """The URL line, once: when every worker serves for the first time."""
        ready = sum(1 for w in self._workers.values() if w.ready)
        if self._announced or ready < self._count:
            return
        self._announced = True
        print(f"stgo: serving {self._serving['title']!r} at {self._serving['url']} "
              f"({self._count} workers)", flush=True)

    def _close(self, worker: _Worker) -> None:
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(worker.control)
        worker.control.close()

    def _reap(self, worker: _Worker) -> None:
        del self._workers[worker.slot]
        self._close(worker)
        code = worker.proc.returncode
        if not self._running():
            return
        if not self._started:
            self._first_failure = code
            return
        lived = time.monotonic() - worker.started
        last = self._delays.get(worker.slot)
        delay = (RESTART_DELAY if last is None or lived >= STABLE_AFTER
                 else min(last * 2, MAX_RESTART_DELAY))
        self._delays[worker.slot] = delay
        self._restarts[worker.slot] = time.monotonic() + delay
        log.warning("worker %d (pid %d) %s after %.1f s; starting another in %.1f s",
                    worker.slot, worker.proc.pid, _describe(code), lived, delay)

    def _failed_to_start(self, code: int) -> int:
        if code == 2:  # a usage or configuration error: the worker said what
            return 2
        print(f"stgo: error: the first worker {_describe(code)} before serving",
              file=sys.stderr)
        return 1

    def _stop_all(self) -> None:
        """SIGTERM to every worker; whoever is not gone after :data:`STOP_TIMEOUT`
        is killed."""
        self._restarts.clear()
        workers = [*self._workers.values(), *self._retiring, *self._leaving]
        self._retiring, self._leaving = [], []
        for worker in workers:
            with contextlib.suppress(ProcessLookupError):
                worker.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        for worker in workers:
            try:
                worker.proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("worker %d (pid %d) did not stop in %.0f s: killed",
                            worker.slot, worker.proc.pid, STOP_TIMEOUT)
                worker.proc.kill()
                worker.proc.wait()
            worker.control.close()
        self._workers.clear()


def _on_child_exit(signum: int, frame: FrameType | None) -> None:
    """Nothing: that the signal came wakes the supervisor's loop."""


def _describe(code: int) -> str:
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"was killed by {signal.Signals(-code).name}"
    return f"exited with status {code}"


# -- the worker's side ----------------------------------------------------------------------


def keep_worker_fds(fds: str) -> tuple[int, int]:
    """The listening and control descriptors named by *fds* (the value of
    :data:`WORKER_FDS_OPTION`), made non-inheritable.

    Call it before the app file runs: a process the app starts (at import,
    say) would otherwise inherit the listening socket and keep the port in
    LISTEN after every worker has stopped, and hold the control socket open
    (the supervisor would miss a worker's death on it).

    :raises ValueError: *fds* is not two numbers.
    :raises OSError: this process has no such descriptor.
    """
    listen_fd, control_fd = (int(fd) for fd in fds.split(","))
    for fd in (listen_fd, control_fd):
        os.set_inheritable(fd, False)
    return listen_fd, control_fd


def serve_worker(app: App, host: str, fds: str) -> None:
    """Serve *app* on the supervisor's socket until SIGTERM, SIGINT or the
    supervisor's death. *fds* is the value of :data:`WORKER_FDS_OPTION`."""
    listen_fd, control_fd = keep_worker_fds(fds)
    listener = socket.socket(fileno=listen_fd)
    control = socket.socket(fileno=control_fd)
    stopping = threading.Event()
    threading.Thread(target=_watch_supervisor, args=(control, stopping),
                     name="stgo-worker-lifeline", daemon=True).start()

    def ready(server: Server) -> None:
        said = {"title": app.page_title, "url": server.url}
        control.sendall(json.dumps(said).encode("utf-8") + b"\n")

    try:
        serve(app, host, 0, fd=listener.fileno(), on_ready=ready)
    finally:
        stopping.set()
        listener.close()
        control.close()


def _watch_supervisor(control: socket.socket, stopping: threading.Event) -> None:
    """Stop this worker, as SIGTERM does, once the supervisor's end closes."""
    with contextlib.suppress(OSError):
        while control.recv(4096):
            pass
    if not stopping.is_set():
        log.warning("the supervisor is gone: stopping")
        os.kill(os.getpid(), signal.SIGTERM)
