"""The cost of being signed in: a page load and an event round trip of a
signed-in session against an anonymous one, on the same server, in turns.

One App with sign-in (``ProxyAuth`` behind ``trust_proxy``, so no provider
is timed: what is measured is what a sign-in adds to every request, not the
sign-in itself) served by stgo's own server in this process.  Two browsers:
one anonymous, one signed in as ``alice``.  Each page load reads the session,
its user and ``user_state``, renders the sign-in buttons per session;
``/reports`` is behind ``access=stgo.signed_in`` for the signed-in one.
Each event runs a handler that reads ``session.user`` and sets a text.

Run ``python -m bench.auth [N] [--json]`` (N page loads and N events each).
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import re
import statistics
import time
from typing import Any

import websocket  # websocket-client

import stgo
from stgo.server import Server

COOKIE = "stgo_session"


def make_app() -> stgo.App:
    app = stgo.App(title="auth bench", event_rate=None, new_session_rate=None,
                   auth=stgo.ProxyAuth(), trust_proxy=True)
    app.login_button("Sign in")
    app.logout_button("Sign out")
    go = app.button("Go", key="go")
    app.page("/reports", access=stgo.signed_in).text("reports")

    @app.session_page
    def draw(session: stgo.Session) -> None:
        user = session.user
        session.text(f"hello {user.id if user else 'nobody'}", key="hi")
        if user is not None:
            session.text(f"theme {session.user_state.get('theme', 'light')}", key="theme")
        session.text("0", key="count")

    @go.on_click
    def clicked(session: stgo.Session, event: str, value: Any) -> None:
        user = session.user
        session.widget("count").set_text(f"{user.id if user else '-'} {time.time()}")

    return app


class Browser:
    def __init__(self, port: int, user: str | None) -> None:
        self.port, self.user, self.cookie = port, user, ""

    def load(self, path: str = "/") -> float:
        headers = {"X-Forwarded-User": self.user} if self.user else {}
        if self.cookie:
            headers["Cookie"] = f"{COOKIE}={self.cookie}"
        began = time.perf_counter()
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        conn.request("GET", path, headers=headers)
        resp = conn.getresponse()
        body = resp.read()
        took = time.perf_counter() - began
        conn.close()
        for header in resp.headers.get_all("Set-Cookie") or []:
            m = re.match(rf"{COOKIE}=([^;]*)", header)
            if m:
                self.cookie = m.group(1)
        assert resp.status == 200, (resp.status, body[:200])
        return took

    def socket(self) -> tuple[Any, str]:
        ws = websocket.create_connection(f"ws://127.0.0.1:{self.port}/ws", timeout=10,
                                         origin=f"http://127.0.0.1:{self.port}",
                                         cookie=f"{COOKIE}={self.cookie}")
        while True:
            msg = json.loads(ws.recv())
            if msg["type"] == "render":
                found = re.search(r'id="(w[0-9a-f]+)"[^>]*data-key="go"',
                                  "".join(msg["roots"].values()))
                assert found is not None
                return ws, found.group(1)


def click(ws: Any, widget: str, seq: int) -> float:
    began = time.perf_counter()
    ws.send(json.dumps({"v": 1, "type": "event", "widget": widget, "event": "click",
                        "value": None, "seq": seq}))
    while json.loads(ws.recv()).get("ack") != seq:
        pass
    return time.perf_counter() - began


def measure(n: int = 500) -> dict[str, dict[str, float]]:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no access log per request
    app = make_app()
    server = Server(app, "127.0.0.1", 0)
    server.start()
    try:
        anon, alice = Browser(server.port, None), Browser(server.port, "alice")
        anon.load()
        alice.load()
        times: dict[str, list[float]] = {k: [] for k in (
            "page anonymous", "page signed in", "protected page signed in",
            "event anonymous", "event signed in")}
        sockets = {name: b.socket() for name, b in (("anonymous", anon), ("signed in", alice))}
        for i in range(n + 50):  # the first 50: warm-up
            pair = [("anonymous", anon), ("signed in", alice)]
            if i % 2:
                pair.reverse()  # in turns: the machine's load falls on both alike
            for name, browser in pair:
                page = browser.load("/")
                ws, widget = sockets[name]
                event = click(ws, widget, i + 1)
                if i >= 50:
                    times[f"page {name}"].append(page)
                    times[f"event {name}"].append(event)
            reports = alice.load("/reports")
            if i >= 50:
                times["protected page signed in"].append(reports)
        for ws, _ in sockets.values():
            ws.close()
    finally:
        server.stop()
    return {k: {"median_ms": statistics.median(v) * 1000,
                "p99_ms": sorted(v)[int(len(v) * 0.99) - 1] * 1000} for k, v in times.items()}


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.auth")
    parser.add_argument("n", nargs="?", type=int, default=500)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = measure(args.n)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{'':28} {'median ms':>10} {'p99 ms':>10}")
    for name, row in result.items():
        print(f"{name:28} {row['median_ms']:10.3f} {row['p99_ms']:10.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
