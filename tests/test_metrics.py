"""``GET /metrics``: opt-in Prometheus text with what an operator watches."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import stgo
from stgo import App
from stgo.ids import new_session_id
from stgo.server import Server

from .helpers import COOKIE, Client, request, wait_until, ws_status
from .hostile import Listener, raw_upgrade, read_to_eof, ws_from

Serve = Callable[..., Server]
MakeClient = Callable[[Server], Client]

# One sample line of the text format: name, optional {label="value"}, number.
_SAMPLE = re.compile(r'([a-z_]+)(?:\{([a-z_]+)="([^"\\]*)"\})? (-?[0-9.e+]+)')


def scrape(server: Server) -> dict[str, float]:
    """Fetch /metrics; return ``{'name' or 'name{label=value}': value}``.

    Fails unless every line is a HELP, a TYPE or a well-formed sample, and
    every sample's metric was declared by a TYPE line first.
    """
    resp = request(server.url, "/metrics")
    assert resp.status == 200, resp.status
    assert resp.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    assert resp.headers["Cache-Control"] == "no-store"
    typed: dict[str, str] = {}
    samples: dict[str, float] = {}
    for line in resp.body.splitlines():
        if line.startswith("# HELP "):
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert kind in ("counter", "gauge"), line
            typed[name] = kind
            continue
        m = _SAMPLE.fullmatch(line)
        assert m, f"not a sample line: {line!r}"
        name, label, value, number = m.groups()
        assert name in typed, f"{name} has no TYPE line"
        assert name.endswith("_total") == (typed[name] == "counter"), line
        samples[f"{name}{{{label}={value}}}" if label else name] = float(number)
    return samples


def test_metrics_are_off_by_default(serve: Serve) -> None:
    app = App(title="Quiet")
    server = serve(app)
    assert request(server.url, "/metrics").status == 404
    assert len(app.sessions) == 0  # no session made


def test_metrics_count_sessions_connections_events_errors_refusals_and_drops(
    serve: Serve, client_for: MakeClient
) -> None:
    app = App(title="Watched", metrics=True, ping_interval=0.2)
    go = app.button("Go", key="go")
    boom = app.button("Boom", key="boom")

    @boom.on_click
    def explode(session: stgo.Session, event: str, value: Any) -> None:
        raise RuntimeError("bug in a callback")

    server = serve(app)
    empty = scrape(server)
    assert empty["stgo_sessions_active"] == 0 and empty["stgo_events_total"] == 0
    assert empty["stgo_dropped_clients_total"] == 0

    alice, bob, carol, dave = (client_for(server) for _ in range(4))
    for client in (alice, bob, carol):
        client.get("/")
    # Tabs that read all the time, and so answer the server's (frequent) pings.
    a = Listener(ws_from(server.url, alice.session_id or ""))
    b = Listener(ws_from(server.url, bob.session_id or ""))
    try:
        for seq in (1, 2, 3):
            a.send_event(go.id, seq)
            a.wait_for(lambda m, seq=seq: m.get("ack") == seq)
        a.send_event(boom.id, 4)      # counted as an event, and as a callback error
        a.wait_for(lambda m: m.get("ack") == 4)
        a.send_event("w-nope", 5)     # an unknown widget: an error, not an event
        a.wait_for(lambda m: m.get("ack") == 5)
        a.ws.send("{broken")          # not JSON: an error
        a.wait_for(lambda m: m["type"] == "error" and "JSON" in m["message"])
        request(server.url, "/", {"Cookie": f"{COOKIE}=session_0_forged"})  # refused; a new one
        assert ws_status(server.url, origin="http://evil.example",
                         cookie=f"{COOKIE}={alice.session_id}") == 403
        forged = new_session_id()
        assert ws_status(server.url, cookie=f"{COOKIE}={forged}") == 403

        assert app.sessions.cleanup_expired(now=time.time() + 10_000) == 2  # carol, the new one
        app.sessions.delete(bob.session_id or "")
        assert b.closed.wait(5)
        dave.get("/")
        status, ignorer, _ = raw_upgrade(server.url, dave.session_id or "")  # never answers pings
        assert status == 101
        read_to_eof(ignorer, 5)
        ignorer.close()
        wait_until(lambda: len(app.hub) == 1)
        got = scrape(server)
        assert got["stgo_sessions_active"] == 2                      # alice, dave
        assert got["stgo_connections_open"] == 1                     # alice's tab
        assert got["stgo_sessions_created_total"] == 5
        assert got["stgo_sessions_ended_total{reason=timeout}"] == 2
        assert got["stgo_sessions_ended_total{reason=deleted}"] == 1
        assert got["stgo_connections_opened_total"] == 3             # alice, bob, dave
        assert got["stgo_events_total"] == 4
        assert got["stgo_errors_total{kind=callback}"] == 1
        assert got["stgo_errors_total{kind=bad_message}"] == 2
        assert got["stgo_refused_total{reason=forged_cookie}"] == 1
        assert got["stgo_refused_total{reason=origin}"] == 1
        assert got["stgo_refused_total{reason=unknown_cookie}"] == 1
        assert got["stgo_dropped_clients_total"] == 1
        # Scraping makes no session and is not an event.
        assert scrape(server)["stgo_sessions_created_total"] == 5
    finally:
        a.close()
        b.close()
