"""Protocol-level benchmarks: real WebSocket clients against real server processes.

Every stgo number comes with the same measurement against the floor
(:mod:`bench.floor`, plain simple-websocket under Werkzeug) taken in the same
run, so that a noisy, shared machine still gives a meaningful ratio.
"""

from __future__ import annotations

import http.client
import json
import re
import selectors
import statistics
import time
from typing import Any

from .proc import Server, floor_server, new_session, settled_rss, stgo_server
from .wsclient import WSClient, text_frame

__all__ = ["round_trip", "throughput", "fanout", "memory", "many_sockets", "page", "summary"]

WARMUP = 200


def summary(samples: list[float]) -> dict[str, float]:
    """p50 / p99 / mean / max of *samples* (same unit)."""
    ordered = sorted(samples)
    n = len(ordered)
    return {
        "n": n,
        "p50": statistics.median(ordered),
        "p95": ordered[min(n - 1, int(n * 0.95))],
        "p99": ordered[min(n - 1, int(n * 0.99))],
        "mean": statistics.fmean(ordered),
        "max": ordered[-1],
    }


def _event(widget: str, seq: int) -> bytes:
    return text_frame(
        f'{{"v":1,"type":"event","widget":"{widget}","event":"click","value":true,'
        f'"seq":{seq}}}'
    )


def _widget_id(render: dict[str, Any], key: str) -> str:
    for html in render["roots"].values():
        m = re.search(rf'id="([^"]+)" data-key="{re.escape(key)}"', html)
        if m:
            return m.group(1)
    raise RuntimeError(f"no widget {key!r} in the render")


def _http(server: Server) -> http.client.HTTPConnection:
    return http.client.HTTPConnection(server.host, server.port, timeout=30)


class _Stgo:
    """Sessions and connections on one stgo server."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.http = _http(server)
        self.widgets: dict[str, str] = {}

    def session(self) -> tuple[str, str]:
        sid, cookie, _ = new_session(self.http)
        return sid, cookie

    def connect(self, sid: str, cookie: str) -> WSClient:
        s = self.server
        client = WSClient(s.host, s.port, WSClient.session_path(sid), cookie=cookie,
                          origin=s.origin)
        render = json.loads(client.recv())
        if render.get("type") != "render":
            raise RuntimeError(f"expected a render, got {render}")
        if not self.widgets:
            for key in ("increment", "mine_only", "total"):
                self.widgets[key] = _widget_id(render, key)
        return client

    def client(self) -> WSClient:
        return self.connect(*self.session())

    def close(self) -> None:
        self.http.close()


# -- event round trip -------------------------------------------------------------


def _timed(n: int, once: Any) -> list[float]:
    for i in range(WARMUP):
        once(i)
    clock = time.perf_counter
    out = []
    for i in range(WARMUP, WARMUP + n):
        t = clock()
        once(i)
        out.append((clock() - t) * 1000.0)
    return out


def round_trip(n: int = 2000) -> dict[str, Any]:
    """One session, *n* sequential clicks on the counter's Increment button
    (after a warm-up); each timed from send to its acknowledging patch.

    :returns: ``stgo`` and ``floor`` summaries in milliseconds, and ratios.
    """
    with floor_server() as floor:
        client = WSClient(floor.host, floor.port, "/")
        payload = _event("w0123456789ab", 1)

        def echo(i: int) -> None:
            client.send_frame(payload)
            client.recv()

        floor_ms = _timed(n, echo)
        client.close()
    with stgo_server() as server:
        st = _Stgo(server)
        client = st.client()
        widget = st.widgets["increment"]

        def click(i: int) -> None:
            seq = i + 1
            client.send_frame(_event(widget, seq))
            while True:
                reply = json.loads(client.recv())
                if reply.get("ack") == seq:
                    if reply["type"] != "patch":
                        raise RuntimeError(f"event failed: {reply}")
                    return

        stgo_ms = _timed(n, click)
        client.close()
        st.close()
    s, f = summary(stgo_ms), summary(floor_ms)
    return {"n": n, "stgo_ms": s, "floor_ms": f, "ratio_p50": s["p50"] / f["p50"],
            "ratio_p99": s["p99"] / f["p99"]}


# -- throughput ---------------------------------------------------------------------


def _closed_loop(clients: list[WSClient], frame_for: Any, is_ack: Any,
                 duration: float) -> tuple[int, int, float]:
    """Each client sends one event, then the next as soon as its ack returns.

    :returns: (acknowledged events, messages received, seconds).
    """
    sel = selectors.DefaultSelector()
    seqs = [0] * len(clients)
    for i, c in enumerate(clients):
        c.tag = i
        sel.register(c.sock, selectors.EVENT_READ, c)
    acks = msgs = 0
    start = time.perf_counter()
    end = start + duration
    for i, c in enumerate(clients):
        seqs[i] = 1
        c.send_frame(frame_for(1))
    while True:
        now = time.perf_counter()
        if now >= end:
            break
        for key, _ in sel.select(end - now):
            c = key.data
            data = c.sock.recv(262144)
            if not data:
                raise RuntimeError("server closed a connection")
            for m in c.feed(data):
                msgs += 1
                if is_ack(m):
                    acks += 1
                    i = c.tag
                    seqs[i] += 1
                    c.send_frame(frame_for(seqs[i]))
    elapsed = time.perf_counter() - start
    sel.close()
    return acks, msgs, elapsed


def _stgo_ack(m: bytes) -> bool:
    if b'"ack":' not in m:
        return False
    if m.startswith(b'{"v":1,"type":"error"'):
        raise RuntimeError(f"event failed: {m[:300]!r}")
    return True


def throughput(sessions: int = 50, duration: float = 5.0) -> dict[str, Any]:
    """*sessions* clients in closed loops for *duration* seconds.

    ``private``: the button that redraws only the clicker's count (no fan-out);
    ``shared``: the counter's Increment, whose total goes to every session
    (one event, *sessions* messages); ``floor``: echo.
    """
    with floor_server() as floor:
        clients = [WSClient(floor.host, floor.port, "/") for _ in range(sessions)]
        payload = _event("w0123456789ab", 1)
        _closed_loop(clients, lambda seq: payload, lambda m: True, 0.5)  # warm-up
        f_acks, _, f_s = _closed_loop(clients, lambda seq: payload, lambda m: True, duration)
        for c in clients:
            c.close()
    with stgo_server() as server:
        st = _Stgo(server)
        clients = [st.client() for _ in range(sessions)]
        result: dict[str, Any] = {}
        for name in ("mine_only", "increment"):
            widget = st.widgets[name]
            def frame_for(seq: int, widget: str = widget) -> bytes:
                return _event(widget, seq)

            # Sequence numbers restart per phase: the server does not require them to grow.
            _closed_loop(clients, frame_for, _stgo_ack, 0.5)
            acks, msgs, secs = _closed_loop(clients, frame_for, _stgo_ack, duration)
            result[name] = {"events_per_s": acks / secs, "messages_per_s": msgs / secs}
        for c in clients:
            c.close()
        st.close()
    floor_rate = f_acks / f_s
    return {
        "sessions": sessions, "duration_s": duration,
        "floor_events_per_s": floor_rate,
        "private": result["mine_only"], "shared": result["increment"],
        "ratio_private": result["mine_only"]["events_per_s"] / floor_rate,
    }


# -- fan-out ---------------------------------------------------------------------------------


def _fan_rounds(clients: list[WSClient], trigger: Any, rounds: int,
                timeout: float = 30.0) -> list[float]:
    """Per round: send one change, time until every client has one message (ms)."""
    sel = selectors.DefaultSelector()
    for i, c in enumerate(clients):
        c.tag = i
        sel.register(c.sock, selectors.EVENT_READ, c)
    n = len(clients)
    out = []
    try:
        for r in range(rounds):
            got = bytearray(n)
            left = n
            clock = time.perf_counter
            t0 = clock()
            trigger(r)
            last = t0
            deadline = t0 + timeout
            while left:
                events = sel.select(max(0.0, deadline - clock()))
                if not events:
                    raise RuntimeError(f"fan-out round timed out with {left} of {n} waiting")
                for key, _ in events:
                    c = key.data
                    data = c.sock.recv(262144)
                    if not data:
                        raise RuntimeError("server closed a connection")
                    if c.feed(data) and not got[c.tag]:
                        got[c.tag] = 1
                        left -= 1
                        last = clock()
            out.append((last - t0) * 1000.0)
            time.sleep(0.02)
    finally:
        sel.close()
    return out


def fanout(counts: tuple[int, ...] = (100, 500, 1000), rounds: int = 20) -> dict[str, Any]:
    """For each count of connected sessions, *rounds* global changes (one
    session clicks Increment; the total goes to all), each timed until the last
    session has its message.  The floor broadcasts a message of the same size
    from the receiving thread to every connection."""
    result: dict[str, Any] = {"rounds": rounds, "stgo_ms": {}, "floor_ms": {}}
    patch_bytes = 300
    with stgo_server() as server:
        st = _Stgo(server)
        clients: list[WSClient] = []
        for count in counts:
            while len(clients) < count:
                clients.append(st.client())
            widget = st.widgets["increment"]
            clicker = clients[0]
            base = 10_000 * count

            def trigger(r: int, clicker: WSClient = clicker, base: int = base,
                        widget: str = widget) -> None:
                clicker.send_frame(_event(widget, base + r))

            _fan_rounds(clients, trigger, 3)  # warm-up
            samples = _fan_rounds(clients, trigger, rounds)
            result["stgo_ms"][str(count)] = summary(samples)
            result.setdefault("threads", {})[str(count)] = server.threads()
        for c in clients:
            c.close()
        st.close()
    with floor_server() as floor:
        clients = []
        frame = text_frame("all:" + "x" * patch_bytes)
        for count in counts:
            while len(clients) < count:
                clients.append(WSClient(floor.host, floor.port, "/"))
            # The 101 goes out before the floor lists the connection: let it catch up.
            time.sleep(0.5)
            clicker = clients[0]

            def trigger_floor(r: int, clicker: WSClient = clicker) -> None:
                clicker.send_frame(frame)

            _fan_rounds(clients, trigger_floor, 3)
            result["floor_ms"][str(count)] = summary(_fan_rounds(clients, trigger_floor, rounds))
        for c in clients:
            c.close()
    return result


# -- memory ------------------------------------------------------------------------------------


def memory(sessions: int = 1000, connections: int = 500, warm: int = 20) -> dict[str, Any]:
    """Server RSS per session created over HTTP only, and per connection
    (tab) opened on those sessions; the floor's RSS per connection.

    Each server first gets *warm* sessions and connections (imports, first
    allocations); the deltas are measured after that.
    """
    out: dict[str, Any] = {"sessions": sessions, "connections": connections}
    with stgo_server() as server:
        st = _Stgo(server)
        keep = [st.client() for _ in range(warm)]
        r0 = settled_rss(server)
        ids = [st.session() for _ in range(sessions)]
        r1 = settled_rss(server)
        t1 = server.threads()
        clients = [st.connect(sid, cookie) for sid, cookie in ids[:connections]]
        r2 = settled_rss(server)
        t2 = server.threads()
        out["stgo_session_bytes"] = (r1 - r0) / sessions
        out["stgo_connection_bytes"] = (r2 - r1) / connections
        out["stgo_threads_per_connection"] = (t2 - t1) / connections
        for c in clients + keep:
            c.close()
        st.close()
    with floor_server() as floor:
        keep = [WSClient(floor.host, floor.port, "/") for _ in range(warm)]
        r0 = settled_rss(floor)
        t0 = floor.threads()
        clients = [WSClient(floor.host, floor.port, "/") for _ in range(connections)]
        r1 = settled_rss(floor)
        out["floor_connection_bytes"] = (r1 - r0) / connections
        out["floor_threads_per_connection"] = (floor.threads() - t0) / connections
        for c in clients + keep:
            c.close()
    out["ratio_connection"] = out["stgo_connection_bytes"] / out["floor_connection_bytes"]
    return out


# -- many sockets -------------------------------------------------------------------------


def _raise_nofile(wanted: int) -> int:
    """Raise this process's open-file limit (inherited by the server) toward *wanted*."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def many_sockets(n: int = 10_000, tabs_per_session: int = 10,
                 rounds: int = 10) -> dict[str, Any]:
    """*n* open WebSockets on one server process (``bench/apps/many.py``):
    its threads and RSS per socket, then *rounds* shared changes, each timed
    until the last of the *n* has it (p50/p95)."""
    limit = _raise_nofile(2 * n + 1000)
    if limit < n + 200:
        raise RuntimeError(f"RLIMIT_NOFILE is {limit}: cannot open {n} sockets")
    out: dict[str, Any] = {"sockets": n, "nofile": limit}
    with stgo_server("many.py") as server:
        conn = _http(server)
        clients: list[WSClient] = []
        widget = ""
        try:
            warm_sid, warm_cookie, _ = new_session(conn)
            keep = WSClient(server.host, server.port, WSClient.session_path(warm_sid),
                            cookie=warm_cookie, origin=server.origin)
            keep.recv()
            r0, t0 = settled_rss(server), server.threads()
            began = time.perf_counter()
            while len(clients) < n:
                sid, cookie, _ = new_session(conn)
                for _ in range(min(tabs_per_session, n - len(clients))):
                    client = WSClient(server.host, server.port, WSClient.session_path(sid),
                                      cookie=cookie, origin=server.origin)
                    render = json.loads(client.recv())
                    if not widget:
                        widget = _widget_id(render, "increment")
                    clients.append(client)
            out["connect_s"] = time.perf_counter() - began
            r1 = settled_rss(server)
            out["threads_idle"], out["threads_open"] = t0, server.threads()
            out["rss_bytes_per_socket"] = (r1 - r0) / n
            clicker = clients[0]

            def trigger(r: int) -> None:
                clicker.send_frame(_event(widget, 1_000_000 + r))

            _fan_rounds(clients, trigger, 2, timeout=120)  # warm-up
            out["fanout_ms"] = summary(_fan_rounds(clients, trigger, rounds, timeout=120))
        finally:
            for c in clients:
                c.close()
            conn.close()
    return out


# -- page ---------------------------------------------------------------------------------


def _get_times(server: Server, n: int, cookie: str | None) -> tuple[list[float], int]:
    conn = _http(server)
    headers = {"Cookie": cookie} if cookie else {}
    size = 0

    def once() -> None:
        nonlocal size
        conn.request("GET", "/", headers=headers)
        resp = conn.getresponse()
        size = len(resp.read())
        if resp.status != 200:
            raise RuntimeError(f"GET / answered {resp.status}")

    for _ in range(50):
        once()
    clock = time.perf_counter
    out = []
    for _ in range(n):
        t = clock()
        once()
        out.append((clock() - t) * 1000.0)
    conn.close()
    return out, size


def page(n: int = 500) -> dict[str, Any]:
    """``GET /`` of a 50-widget page (an existing session: the cookie is sent),
    against the floor serving a fixed body of the same size."""
    with stgo_server("page.py") as server:
        conn = _http(server)
        _, cookie, _ = new_session(conn)
        conn.close()
        stgo_ms, size = _get_times(server, n, cookie)
    with floor_server(page_bytes=size) as floor:
        floor_ms, _ = _get_times(floor, n, None)
    s, f = summary(stgo_ms), summary(floor_ms)
    return {"n": n, "page_bytes": size, "stgo_ms": s, "floor_ms": f,
            "ratio_p50": s["p50"] / f["p50"]}
