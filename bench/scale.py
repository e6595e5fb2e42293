"""Many processes on one Redis (issue 13), each number beside a baseline of the same run.

Every server is a real ``python -m stgo run bench/apps/scale.py --store
redis://...`` process, on a redis-server this module starts on a free port
(no persistence) and stops by PID afterwards:

- **fan-out**: one shared change to N tabs spread over two processes, against
  N tabs on one process, until the last tab has it;
- **relayed**: a private change made on process A, until the session's other
  tab shows it when that tab is on B (a pub/sub notice, then a redraw from the
  state) against on A; and the event round trip of a tab on B against on A;
- **throughput**: private events per second from many sessions on one
  process and on two (the Redis store both times; the memory store on one
  process as a reference), with the CPU each party used: a cheap load
  generator (pre-built frames, one thread, a window of events in flight per
  socket, acks counted in the raw bytes) whose own CPU is measured too;
- **failover**: nginx in front of two processes; ``kill -9`` (by PID) of the
  one serving a tab, until the tab has reconnected through nginx to the other
  with its session and a click is acknowledged with the right count.

Run ``python -m bench.scale [--quick] [--json]``; :func:`measure` for the
runner (``python -m bench --only scale``), :func:`table_rows` for its table.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import random
import re
import select
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

import psutil

from .load import _raise_nofile, _widget_id, summary
from .proc import APPS, Server, free_port, new_session, run_server, stop
from .wsclient import HandshakeError, WSClient, text_frame

__all__ = ["measure", "table_rows", "main"]

APP = str(APPS / "scale.py")
#: ``fail_timeout`` of the failover benchmark's nginx (docs/deployment.md has
#: 10 s): how long a killed process is left alone.  It does not enter the
#: failover time (the refused connect moves on at once); a short one lets the
#: restarted process take tabs again before the next round.
FAIL_TIMEOUT = 1


def _settings(quick: bool) -> dict[str, Any]:
    if quick:
        return {"tabs": 1000, "fan_rounds": 10, "relay_rounds": 150, "sessions": 64,
                "window": 4, "tp_seconds": 2.0, "failovers": 2}
    return {"tabs": 1000, "fan_rounds": 40, "relay_rounds": 500, "sessions": 64,
            "window": 4, "tp_seconds": 10.0, "failovers": 4}


# -- processes -------------------------------------------------------------------------


@dataclass
class Redis:
    """A redis-server of our own: its URL and process."""

    url: str
    proc: subprocess.Popen[bytes]


@contextmanager
def redis_server() -> Iterator[Redis]:
    """``redis-server`` on a free port of 127.0.0.1, no persistence; stopped by PID after."""
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="stgo-bench-redis-")
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", workdir],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not _redis_answers(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.02)
        yield Redis(f"redis://127.0.0.1:{port}/0", proc)
    finally:
        stop(proc)
        shutil.rmtree(workdir, ignore_errors=True)


def _redis_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def stgo(store: str, port: int = 0) -> AbstractContextManager[Server]:
    """``python -m stgo run bench/apps/scale.py --store STORE`` (warnings only in its log)."""
    return run_server([sys.executable, "-m", "stgo", "run", APP, "--port", str(port),
                       "--log-level", "WARNING", "--store", store])


NGINX_CONF = """worker_processes 1;
error_log {dir}/error.log warn;
pid {dir}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    map $http_upgrade $connection_upgrade {{ default upgrade; "" close; }}
    upstream stgo {{
{servers}    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://stgo;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header Host $http_host;
            proxy_connect_timeout 2s;
            proxy_next_upstream error timeout http_503;
            proxy_read_timeout 300s;
            proxy_buffering off;
        }}
    }}
}}
"""


@contextmanager
def nginx(upstreams: list[int]) -> Iterator[int]:
    """nginx on a free port, round robin over *upstreams* (docs/deployment.md's
    configuration, ``fail_timeout`` :data:`FAIL_TIMEOUT`); yields its port;
    stopped by PID after."""
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="stgo-bench-nginx-")
    servers = "".join(f"        server 127.0.0.1:{p} max_fails=1 fail_timeout={FAIL_TIMEOUT}s;\n"
                      for p in upstreams)
    conf = os.path.join(workdir, "nginx.conf")
    with open(conf, "w", encoding="utf-8") as f:
        f.write(NGINX_CONF.format(dir=workdir, servers=servers, port=port))
    proc = subprocess.Popen([binary, "-p", workdir, "-c", conf, "-e", f"{workdir}/error.log",
                             "-g", "daemon off;"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    with open(f"{workdir}/error.log", encoding="utf-8") as f:
                        raise RuntimeError(f"nginx did not start: {f.read()}") from None
                time.sleep(0.02)
        yield port
    finally:
        stop(proc)
        shutil.rmtree(workdir, ignore_errors=True)


# -- tabs ------------------------------------------------------------------------------


class Tabs:
    """Sessions made on one process and tabs opened on any process."""

    def __init__(self) -> None:
        self._http: dict[str, http.client.HTTPConnection] = {}

    def session(self, server: Server) -> str:
        """A new session (``GET /`` without a cookie) on *server*: its cookie."""
        conn = self._http.get(server.url)
        if conn is None:
            conn = self._http[server.url] = http.client.HTTPConnection(server.host, server.port,
                                                                        timeout=30)
        return new_session(conn)[1]

    @staticmethod
    def open(server: Server, cookie: str) -> tuple[WSClient, dict[str, Any]]:
        """A tab of the cookie's session on *server*: the client and its render."""
        return _open(server.host, server.port, cookie)

    def close(self) -> None:
        for conn in self._http.values():
            conn.close()


def _open(host: str, port: int, cookie: str) -> tuple[WSClient, dict[str, Any]]:
    client = WSClient(host, port, "/ws", cookie=cookie, origin=f"http://{host}:{port}")
    render = json.loads(client.recv())
    if render.get("type") != "render":
        raise RuntimeError(f"expected a render, got {render}")
    return client, render


def _click(widget: str, seq: int) -> bytes:
    return text_frame(f'{{"v":1,"type":"event","widget":"{widget}","event":"click",'
                      f'"value":true,"seq":{seq}}}')


def _total(value: int) -> bytes:
    """What a message showing the shared total *value* holds."""
    return b'metric-value\\">%d<' % value


def _mine(value: int) -> bytes:
    """What a message showing a session's own count *value* holds."""
    return b"mine: %d<" % value


class _Readers:
    """Many tabs read by one thread, as cheaply as Python allows: one epoll,
    blocking sockets (no ``poll()`` before each ``recv``: epoll said so), and
    the bytes searched raw (server frames are not masked), not parsed."""

    def __init__(self, clients: list[WSClient]) -> None:
        self._socks = [c.sock for c in clients]
        self._index = {s.fileno(): i for i, s in enumerate(self._socks)}
        self._epoll = select.epoll()
        for sock in self._socks:
            sock.setblocking(True)
            self._epoll.register(sock.fileno(), select.EPOLLIN)

    def arrivals(self, want: bytes, deadline: float) -> list[float]:
        """Read until every tab has been sent *want*; when each had it."""
        socks, index = self._socks, self._index
        at = [0.0] * len(socks)
        seen = [b""] * len(socks)
        left = len(socks)
        while left:
            events = self._epoll.poll(max(0.0, deadline - time.perf_counter()))
            if not events:
                raise RuntimeError(f"{left} of {len(socks)} tabs never got {want!r}")
            for fd, _ in events:
                i = index[fd]
                data = socks[i].recv(262144)
                if not data:
                    raise RuntimeError("a server closed a tab")
                if not at[i]:
                    seen[i] += data
                    if want in seen[i]:
                        at[i] = time.perf_counter()
                        left -= 1
        return at

    def close(self) -> None:
        self._epoll.close()


# -- 1. fan-out ------------------------------------------------------------------------


class _Cluster:
    """Processes on one key prefix (so one relay channel), *n* sessions with
    a tab each, spread over the processes in equal runs, and one more tab on
    the first process that clicks Increment."""

    def __init__(self, servers: list[Server], n: int, tabs: Tabs) -> None:
        self.clicker, render = tabs.open(servers[0], tabs.session(servers[0]))
        self.button = _widget_id(render, "increment")
        self.total = 0
        per = -(-n // len(servers))
        self.clients = [tabs.open(servers[i // per], tabs.session(servers[0]))[0]
                        for i in range(n)]
        self.readers = _Readers(self.clients)

    def change(self) -> tuple[list[float], float]:
        """One shared change: when each tab had it (seconds after the click),
        and the reading thread's CPU meanwhile (seconds)."""
        self.total += 1
        cpu = time.thread_time()
        t0 = time.perf_counter()
        self.clicker.send_frame(_click(self.button, self.total))
        at = self.readers.arrivals(_total(self.total), t0 + 60)
        used = time.thread_time() - cpu
        self.clicker.recv()  # its own ack
        return [t - t0 for t in at], used

    def close(self) -> None:
        self.readers.close()
        for c in [self.clicker, *self.clients]:
            c.close()


def fanout(redis: Redis, n: int, rounds: int) -> dict[str, Any]:
    """A shared change (a click on Increment) timed until the last of *n*
    tabs has the new total (``all``), and the last of each half (``first``,
    ``second``): *n* tabs on one process (``one``) against *n* tabs on two
    processes, half each (``two``); the two set-ups run side by side (key
    prefixes of their own), their rounds taken in turns, *rounds* each after
    3 untimed.  ``client_cpu``: the reading thread's CPU per change (one
    thread reads every tab)."""
    _raise_nofile(4 * n + 1000)
    out: dict[str, Any] = {"tabs": n, "rounds": rounds}
    half = n // 2
    tabs = Tabs()
    with ExitStack() as stack:
        stack.callback(tabs.close)
        clusters: dict[str, _Cluster] = {}
        for name, procs in (("one", 1), ("two", 2)):
            store = f"{redis.url}?prefix={name}:"
            servers = [stack.enter_context(stgo(store)) for _ in range(procs)]
            clusters[name] = _Cluster(servers, n, tabs)
            stack.callback(clusters[name].close)
        got: dict[str, dict[str, list[float]]] = {
            name: {k: [] for k in ("all", "first", "second", "client_cpu")} for name in clusters}
        for r in range(3 + rounds):
            for name, cluster in clusters.items():
                at, used = cluster.change()
                if r < 3:
                    continue  # a warm-up
                for part, times in (("all", at), ("first", at[:half]), ("second", at[half:])):
                    got[name][part].append(max(times) * 1000.0)
                got[name]["client_cpu"].append(used * 1000.0)
                time.sleep(0.02)
    for name, kinds in got.items():
        out[name] = {k: summary(v) for k, v in kinds.items()}
    return out


# -- 2. relayed against local ----------------------------------------------------------


def relayed(redis: Redis, rounds: int) -> dict[str, Any]:
    """A private change (Count mine only) clicked in one tab, timed until the
    session's other tab shows it; interleaved, round by round:

    - ``local``: both tabs on A;
    - ``relayed``: the clicking tab on A, the other on B (and back: ``back``,
      the click on B, the other tab on A).

    Also each click's acknowledgement: ``ack_a`` (local, a tab on A) and
    ``ack_b`` (the tab on B of a session made on A).
    """
    tabs = Tabs()
    times: dict[str, list[float]] = {k: [] for k in ("local", "relayed", "back", "ack_a",
                                                     "ack_b")}
    with stgo(redis.url) as a, stgo(redis.url) as b:
        local_cookie, spread_cookie = tabs.session(a), tabs.session(a)
        l1, r = tabs.open(a, local_cookie)
        l2, _ = tabs.open(a, local_cookie)
        s1, _ = tabs.open(a, spread_cookie)
        s2, r_b = tabs.open(b, spread_cookie)
        button_a, button_b = _widget_id(r, "mine_only"), _widget_id(r_b, "mine_only")
        counts = {"local": 0, "spread": 0}
        sel = selectors.DefaultSelector()
        for c in (l1, l2, s1, s2):
            sel.register(c.sock, selectors.EVENT_READ, c)
        seq = 0

        def once(clicker: WSClient, button: str, other: WSClient, which: str,
                 shown: str, acked: str | None) -> None:
            nonlocal seq
            seq += 1
            counts[which] += 1
            want = _mine(counts[which])
            t0 = time.perf_counter()
            clicker.send_frame(_click(button, seq))
            t_ack = t_other = 0.0
            deadline = t0 + 30
            while not (t_ack and t_other):
                events = sel.select(max(0.0, deadline - time.perf_counter()))
                if not events:
                    raise RuntimeError(f"{which}: no ack or no change in the other tab")
                for key, _ in events:
                    c = key.data
                    data = c.sock.recv(262144)
                    if not data:
                        raise RuntimeError("a server closed a tab")
                    for m in c.feed(data):
                        now = time.perf_counter()
                        if c is clicker and b'"ack":%d}' % seq in m:
                            if b'"type":"error"' in m:
                                raise RuntimeError(f"event failed: {m[:300]!r}")
                            t_ack = now
                        elif c is other and want in m:
                            t_other = now
            times[shown].append((t_other - t0) * 1000.0)
            if acked:
                times[acked].append((t_ack - t0) * 1000.0)

        try:
            for i in range(rounds + 20):
                if i == 20:  # the first 20 are a warm-up
                    for v in times.values():
                        v.clear()
                once(l1, button_a, l2, "local", "local", "ack_a")
                once(s1, button_a, s2, "spread", "relayed", None)
                once(s2, button_b, s1, "spread", "back", "ack_b")
        finally:
            sel.close()
            for c in (l1, l2, s1, s2):
                c.close()
            tabs.close()
    return {"rounds": rounds, **{f"{k}_ms": summary(v) for k, v in times.items()}}


# -- 3. events per second --------------------------------------------------------------


class _CPU:
    """CPU seconds used so far by this thread, some processes, and the whole machine."""

    def __init__(self, procs: dict[str, list[int]]) -> None:
        self._procs = {name: [psutil.Process(p) for p in pids] for name, pids in procs.items()}

    def sample(self) -> dict[str, float]:
        out = {"client": time.thread_time(), "wall": time.perf_counter()}
        for name, procs in self._procs.items():
            out[name] = sum(sum(p.cpu_times()[:2]) for p in procs)
        t = psutil.cpu_times()
        out["machine"] = t.user + t.nice + t.system + t.irq + t.softirq
        out["steal"] = t.steal  # wanted, but the hypervisor ran another VM
        return out


ACK = b'"ack":'
ERROR = b'"type":"error"'


class _Load:
    """Tabs that keep a window of private events in flight each, driven by
    one thread: pre-built frames (one ``sendall`` for the events an incoming
    chunk acknowledged), one selector, acks counted in the raw bytes (no frame
    parsing: the app sends no pings within a run, see bench/apps/scale.py)."""

    def __init__(self, clients: list[WSClient], frames: list[bytes], window: int,
                 cpu: _CPU) -> None:
        self.window, self.cpu = window, cpu
        self._batches = [[frame * k for k in range(window + 1)] for frame in frames]
        self._socks = [c.sock for c in clients]
        self.acks = 0
        self.seconds = 0.0
        self.used: dict[str, float] = {}
        for sock in self._socks:
            sock.setblocking(True)  # no poll() before each recv: the selector said so

    def run(self, warm: float, seconds: float) -> None:
        """Fill every window, count the acks of *seconds* after *warm*, then
        stop sending and wait for the events still in flight (uncounted)."""
        sel = selectors.DefaultSelector()
        socks, batches, window = self._socks, self._batches, self.window
        tails = [b""] * len(socks)
        for i, sock in enumerate(socks):
            sel.register(sock, selectors.EVENT_READ, i)
        acks = 0
        counted = -1
        before: dict[str, float] = {}
        start = time.perf_counter()
        t1, end = start + warm, start + warm + seconds
        for i, sock in enumerate(socks):
            sock.sendall(batches[i][window])
        sending = True
        left = len(socks) * window
        while left:
            now = time.perf_counter()
            if counted < 0 and now >= t1:
                before, counted = self.cpu.sample(), acks
            elif sending and now >= end:
                after, sending = self.cpu.sample(), False
                self.acks += acks - counted
                self.seconds += after["wall"] - before["wall"]
                for k in before:
                    self.used[k] = self.used.get(k, 0.0) + after[k] - before[k]
            events = sel.select(max(0.0, end - now) if sending else 30.0)
            if not events and not sending:
                raise RuntimeError(f"{left} events never acknowledged")
            for key, _ in events:
                i = key.data
                data = socks[i].recv(65536)
                if not data:
                    raise RuntimeError("a server closed a connection")
                seen = tails[i] + data
                k = seen.count(ACK)
                tails[i] = data[-5:]
                if k:
                    if ERROR in seen:
                        raise RuntimeError(f"event failed: {data[:300]!r}")
                    acks += k
                    if sending:
                        socks[i].sendall(batches[i][k])  # never more than the window came back
                    else:
                        left -= k
        sel.close()

    def result(self) -> dict[str, Any]:
        """Events per second over every counted stretch, and the cores each party used."""
        wall = self.seconds
        cores = {k: v / wall for k, v in self.used.items() if k != "wall"}
        cores["others"] = cores["machine"] - sum(v for k, v in cores.items()
                                                 if k not in ("machine", "steal"))
        out: dict[str, Any] = {"events_per_s": self.acks / wall, "seconds": wall,
                               "cores": cores}
        out["server_cpu_ms_per_event"] = 1000.0 * self.used["servers"] / self.acks
        return out


def throughput(redis: Redis, sessions: int, window: int, seconds: float,
               slice_s: float = 0.5) -> dict[str, Any]:
    """*sessions* tabs clicking Count mine only (a private change, drawn from
    state) with *window* events in flight each, on four set-ups running side
    by side: one process with the memory store (``memory``), one with the
    Redis store (``one``), two with half the sessions each (``two``), and one
    loaded beside an idle one whose CPU is what hearing the other's notices
    costs (``heard``); each Redis set-up under its own key prefix, so its own
    relay channel.  Only one set-up is loaded at a time, in turns of
    *slice_s* seconds until each had *seconds*: the other agents' load on the
    machine falls on all of them alike."""
    out: dict[str, Any] = {"sessions": sessions, "window": window, "seconds": seconds,
                           "slice_s": slice_s}
    setups = (("memory", "memory", 1, 1), ("one", redis.url + "?prefix=one:", 1, 1),
              ("two", redis.url + "?prefix=two:", 2, 2),
              ("heard", redis.url + "?prefix=heard:", 2, 1))
    with ExitStack() as stack:
        tabs = Tabs()
        stack.callback(tabs.close)
        loads: dict[str, _Load] = {}
        for name, store, procs, loaded in setups:
            servers = [stack.enter_context(stgo(store)) for _ in range(procs)]
            clients, frames = [], []
            for i in range(sessions):
                server = servers[i % loaded]
                client, render = tabs.open(server, tabs.session(server))
                stack.callback(client.close)
                clients.append(client)
                frames.append(_click(_widget_id(render, "mine_only"), 1))
            parties = {"servers": [s.proc.pid for s in servers[:loaded]]}
            if loaded < procs:
                parties["listener"] = [s.proc.pid for s in servers[loaded:]]
            if store != "memory":
                parties["redis"] = [redis.proc.pid]
            loads[name] = _Load(clients, frames, window, _CPU(parties))
        for load in loads.values():
            load.run(0.5, 0.5)  # warm-up (its numbers are dropped below)
            load.acks, load.seconds, load.used = 0, 0.0, {}
        turns = max(1, round(seconds / slice_s))
        for _ in range(turns):
            for load in loads.values():
                load.run(0.1, slice_s)
        for name, load in loads.items():
            out[name] = load.result()
    out["ratio"] = out["two"]["events_per_s"] / out["one"]["events_per_s"]
    heard = loads["heard"]
    out["hearing_cpu_ms_per_event"] = 1000.0 * heard.used["listener"] / heard.acks
    return out


# -- 4. failover -----------------------------------------------------------------------


_PID = re.compile(r"served by pid (\d+)")


def _serving(render: dict[str, Any]) -> int:
    found = _PID.search(render["roots"]["global"])
    if not found:
        raise RuntimeError("the page names no process")
    return int(found.group(1))


def _ack(client: WSClient, seq: int) -> bytes:
    while True:
        m = client.recv()
        if b'"ack":%d}' % seq in m:
            if b'"type":"error"' in m:
                raise RuntimeError(f"event failed: {m[:300]!r}")
            return m


#: stgo.js's reconnect schedule: the n-th failure in a row waits
#: ``min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** (n - 1))``, times 0.8-1.2.
BACKOFF_FIRST, BACKOFF_MAX = 0.25, 5.0


def _reconnect(port: int, cookie: str, like_browser: bool) -> tuple[WSClient, dict[str, Any]]:
    """A tab of the cookie's session through nginx on *port*, retrying until
    a process takes it: at once (every 5 ms), or *like_browser* (stgo.js's
    backoff, first wait included); the client and its render."""
    failures = 0
    deadline = time.perf_counter() + 30
    while True:
        if like_browser:
            wait = min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** failures)
            time.sleep(wait * random.uniform(0.8, 1.2))
        try:
            return _open("127.0.0.1", port, cookie)
        except (OSError, HandshakeError, ConnectionError):
            failures += 1
            if time.perf_counter() > deadline:
                raise RuntimeError("no process took the tab within 30 s") from None
            if not like_browser:
                time.sleep(0.005)


def _clicks(client: WSClient, button: str, first: int, last: int) -> None:
    """Click Count mine only from *first* to *last* (its count); each acked with its count."""
    for n in range(first, last + 1):
        client.send_frame(_click(button, n))
        if _mine(n) not in _ack(client, n):
            raise RuntimeError(f"click {n} not counted right")


def _kill_and_resume(front: int, cookie: str, clicks: int, like_browser: bool,
                     times: dict[str, list[float]]) -> int:
    """One round: a tab through nginx clicks *clicks* times, the process
    serving it is killed (by PID), the tab reconnects (:func:`_reconnect`)
    and clicks once more.  Appends the times since the kill to *times*;
    returns the killed PID."""
    client, render = _open("127.0.0.1", front, cookie)
    victim = _serving(render)
    _clicks(client, _widget_id(render, "mine_only"), 1, clicks)
    t0 = time.perf_counter()
    os.kill(victim, signal.SIGKILL)
    client.sock.settimeout(10)
    with contextlib.suppress(OSError):
        while client.sock.recv(65536):  # until nginx drops the tab's connection
            pass
    times["closed"].append((time.perf_counter() - t0) * 1000.0)
    client.close()
    again, render = _reconnect(front, cookie, like_browser)
    times["render"].append((time.perf_counter() - t0) * 1000.0)
    if _serving(render) == victim:
        raise RuntimeError("the killed process drew the page")
    if _mine(clicks) not in render["roots"]["session"].encode():
        raise RuntimeError("the tab came back without its acknowledged clicks")
    _clicks(again, _widget_id(render, "mine_only"), clicks + 1, clicks + 1)
    times["acked"].append((time.perf_counter() - t0) * 1000.0)
    again.close()
    return victim


# In the page, before the kill: when the page shows another process's render
# with the session's count, click Count mine only; note both moments (epoch ms).
_WATCH_FAILOVER = """
([victim, clicks]) => {
  window.__failover = null;
  let live = 0;
  const mo = new MutationObserver(() => {
    const text = document.body.innerText;
    const pid = (text.match(/served by pid (\\d+)/) || [])[1];
    if (!live && pid && pid !== String(victim) && text.includes(`mine: ${clicks}`)) {
      live = performance.timeOrigin + performance.now();
      document.querySelector('[data-key="mine_only"] button').click();
    } else if (live && text.includes(`mine: ${clicks + 1}`)) {
      mo.disconnect();
      window.__failover = [live, performance.timeOrigin + performance.now()];
    }
  });
  mo.observe(document.body, {childList: true, subtree: true, characterData: true});
}
"""


def _chromium(stack: ExitStack) -> Any:
    """Headless Chromium (Debian's, driven by Playwright) closed with *stack*, or ``None``."""
    from .browser import FLAGS, chromium_path

    path = chromium_path()
    if path is None:
        return None
    from playwright.sync_api import sync_playwright

    pw = stack.enter_context(sync_playwright())
    browser = pw.chromium.launch(executable_path=path, args=FLAGS)
    stack.callback(browser.close)
    return browser


def _chromium_round(browser: Any, url: str, clicks: int,
                    times: dict[str, list[float]]) -> int:
    """A new browser context's tab at *url* (nginx) clicks *clicks* times,
    the process serving it is killed; the page reconnects by itself (stgo.js)
    and clicks once more.  Appends the times since the kill (``render``: the
    other process's render with the count, ``acked``: the next click shown);
    returns the killed PID."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(url)
        # Functions, not expressions: the page's CSP forbids evaluating strings.
        page.wait_for_function("() => window.stgo && window.stgo.connected", timeout=15_000)
        for n in range(1, clicks + 1):
            page.click('[data-key="mine_only"] button')
            page.wait_for_function("n => document.body.innerText.includes(`mine: ${n}`)",
                                   arg=n, timeout=15_000)
        found = _PID.search(page.inner_text("body"))
        if not found:
            raise RuntimeError("the page names no process")
        victim = int(found.group(1))
        page.evaluate(_WATCH_FAILOVER, [victim, clicks])
        t0 = time.time()
        os.kill(victim, signal.SIGKILL)
        page.wait_for_function("() => window.__failover !== null", timeout=30_000)
        live, acked = page.evaluate("window.__failover")
        times["render"].append(live - t0 * 1000.0)
        times["acked"].append(acked - t0 * 1000.0)
        return victim
    finally:
        context.close()


#: How a failover round's tab reconnects: at once (the server side alone), on
#: stgo.js's schedule from Python, or in Chromium (stgo.js itself).
MODES = ("now", "stgo.js", "chromium")


def failover(redis: Redis, rounds: int, clicks: int = 3) -> dict[str, Any]:
    """nginx in front of two processes; *rounds* rounds per mode (:data:`MODES`):
    a new session's tab through nginx, the process serving it killed and the
    tab resumed (:func:`_kill_and_resume`, :func:`_chromium_round`), timed
    from the kill: ``closed`` (the tab sees its connection drop), ``render``
    (reconnected through nginx: the other process's render with the
    session's count), ``acked`` (the next click acknowledged with the right
    count).  The killed process is restarted on its port between rounds.
    Without Chromium its mode is left out (``chromium`` says why)."""
    out: dict[str, Any] = {"rounds": rounds, "fail_timeout_s": FAIL_TIMEOUT, "clicks": clicks}
    times: dict[str, dict[str, list[float]]] = {
        mode: {"closed": [], "render": [], "acked": []} for mode in MODES}
    ports = [free_port(), free_port()]
    with ExitStack() as stack:
        servers = {port: stack.enter_context(stgo(redis.url, port)) for port in ports}
        front = stack.enter_context(nginx(ports))
        tabs = Tabs()
        stack.callback(tabs.close)
        proxy = Server(f"http://127.0.0.1:{front}/", servers[ports[0]].proc)
        browser = _chromium(stack)
        killed_at = 0.0
        for mode in [m for _ in range(rounds) for m in MODES if browser or m != "chromium"]:
            # Both processes up and back in nginx's rotation before the kill.
            time.sleep(max(0.0, killed_at + FAIL_TIMEOUT + 0.2 - time.monotonic()))
            if mode == "chromium":
                victim = _chromium_round(browser, proxy.url, clicks, times[mode])
            else:
                victim = _kill_and_resume(front, tabs.session(proxy), clicks,
                                          mode == "stgo.js", times[mode])
            killed_at = time.monotonic()
            port = next(p for p, s in servers.items() if s.proc.pid == victim)
            servers[port].proc.wait(10)
            servers[port] = stack.enter_context(stgo(redis.url, port))
    for mode, kinds in times.items():
        out[mode] = {f"{k}_ms": summary(v) for k, v in kinds.items() if v}
    if browser is None:
        out["chromium"] = {"skipped": "no Chromium at /usr/bin/chromium"}
    return out


# -- all of it -------------------------------------------------------------------------


def measure(quick: bool = False, log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Run the four measurements (fewer samples with *quick*); raw results by name."""
    cfg = _settings(quick)
    out: dict[str, Any] = {"load_average": os.getloadavg()}
    steps: list[tuple[str, Callable[[Redis], dict[str, Any]]]] = [
        ("fanout", lambda r: fanout(r, cfg["tabs"], cfg["fan_rounds"])),
        ("relayed", lambda r: relayed(r, cfg["relay_rounds"])),
        ("throughput", lambda r: throughput(r, cfg["sessions"], cfg["window"],
                                            cfg["tp_seconds"])),
        ("failover", lambda r: failover(r, cfg["failovers"])),
    ]
    for name, step in steps:
        t = time.monotonic()
        with redis_server() as redis:  # a fresh Redis for each: no leftovers
            out[name] = step(redis)
        if log:
            log(f"bench: scale {name} done in {time.monotonic() - t:.1f} s")
    out["load_average_after"] = os.getloadavg()
    return out


TableRow = tuple[str, float | None, float | None, str, float | None, bool]


def table_rows(r: dict[str, Any]) -> list[TableRow]:
    """Rows for bench.runner's table: (metric, value, baseline, unit, target,
    higher is better); the baseline is the same measurement on one process
    (or on one tab's own process) in the same run."""
    rows: list[TableRow] = []
    for name, make in (("fanout", _fanout_rows), ("relayed", _relayed_rows),
                       ("throughput", _throughput_rows), ("failover", _failover_rows)):
        if r.get(name):
            rows += make(r[name])
    return rows


def _fanout_rows(f: dict[str, Any]) -> list[TableRow]:
    one, two, n = f["one"], f["two"], f["tabs"]
    rows: list[TableRow] = [
        (f"shared change -> all {n:,} tabs on 2 processes {p} (vs 1)",
         two["all"][p], one["all"][p], "ms", None, False) for p in ("p50", "p95")]
    rows.append((f"  2 processes: the last of the {n - n // 2} tabs on B p50 (vs the {n // 2} "
                 "on A)", two["second"]["p50"], two["first"]["p50"], "ms", None, False))
    rows.append(("  the reading client's CPU per change p50 (2 vs 1 processes)",
                 two["client_cpu"]["p50"], one["client_cpu"]["p50"], "ms", None, False))
    return rows


def _relayed_rows(e: dict[str, Any]) -> list[TableRow]:
    rows: list[TableRow] = [
        (f"private change -> the session's tab on B {p} (vs on A)",
         e["relayed_ms"][p], e["local_ms"][p], "ms", None, False) for p in ("p50", "p95")]
    rows.append(("private change on B -> the session's tab on A p50 (vs on A)",
                 e["back_ms"]["p50"], e["local_ms"]["p50"], "ms", None, False))
    rows.append(("event round trip, a tab on B of a session made on A p50 (vs on A)",
                 e["ack_b_ms"]["p50"], e["ack_a_ms"]["p50"], "ms", None, False))
    return rows


def _throughput_rows(t: dict[str, Any]) -> list[TableRow]:
    n, one, two, memory = t["sessions"], t["one"], t["two"], t["memory"]
    rows: list[TableRow] = [
        (f"private events, {n} sessions, Redis, 2 processes (vs 1)",
         two["events_per_s"], one["events_per_s"], "/s", None, True),
        ("  speed-up 2 processes / 1 (goal >= 1.6)", round(t["ratio"], 2), None, "", 1.6, True),
        (f"private events, {n} sessions, Redis, 1 process (vs memory store)",
         one["events_per_s"], memory["events_per_s"], "/s", None, True),
        ("  server CPU per event, Redis, 2 processes (vs 1)",
         two["server_cpu_ms_per_event"], one["server_cpu_ms_per_event"], "ms", None, False),
        ("  server CPU per event, Redis, 1 process (vs memory store)",
         one["server_cpu_ms_per_event"], memory["server_cpu_ms_per_event"], "ms", None, False),
        ("  CPU per event of an idle process hearing the notices (vs the event's own)",
         t["hearing_cpu_ms_per_event"], t["heard"]["server_cpu_ms_per_event"], "ms", None,
         False),
    ]
    for name, label in (("one", "1 process"), ("two", "2 processes")):
        used = ", ".join(f"{k} {t[name]['cores'].get(k, 0.0):.2f}"
                         for k in ("servers", "redis", "client", "others", "steal"))
        rows.append((f"  cores used, {label}: {used}", None, None, "", None, False))
    return rows


def _failover_rows(o: dict[str, Any]) -> list[TableRow]:
    rows: list[TableRow] = []
    labels = {"closed": "the tab sees its connection drop",
              "render": "reconnected through nginx, session drawn",
              "acked": "next click acknowledged, count right"}
    shown = {"now": ("", ("closed", "render", "acked")),
             "stgo.js": (", stgo.js's backoff", ("acked",)),
             "chromium": (", in Chromium", ("render", "acked"))}
    for mode, (how, kinds) in shown.items():
        for k in kinds:
            v = o.get(mode, {}).get(f"{k}_ms")
            for p in ("p50", "max") if v else ():
                rows.append((f"kill -9 -> {labels[k]}{how} {p} ({v['n']} kills)",
                             v[p], None, "ms", None, False))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scale",
                                     description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="fewer samples")
    parser.add_argument("--json", action="store_true", help="print the raw results as JSON")
    args = parser.parse_args(argv)
    out = measure(args.quick, lambda m: print(m, file=sys.stderr, flush=True))
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    from .runner import format_table, rows

    print(f"load average {out['load_average'][0]:.2f} before, "
          f"{out['load_average_after'][0]:.2f} after")
    print(format_table(rows({"scale": out})))
    return 0


if __name__ == "__main__":
    sys.exit(main())
