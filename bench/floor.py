"""The floor: plain simple-websocket under Werkzeug's threaded server, no framework.

Run as ``python -m bench.floor [--page-bytes N]``; prints one line with its URL.

- ``GET /`` with an upgrade: a WebSocket that echoes every message; a message
  that starts with ``all:`` is instead sent (without the prefix) to every open
  connection, from the receiving thread: the least a broadcast can cost here;
- ``GET /`` without an upgrade: a fixed HTML body of ``--page-bytes`` bytes
  (the floor for serving a page of that size);
- ``GET /tab``: a minimal page for the browser floor: a button whose click
  sends a message over a WebSocket (echoed, or ``?all`` broadcast), and a
  ``<div class="stgo-w">`` whose text the answer replaces, as stgo's client
  replaces a widget;
- ``GET /health``: ``ok``.

Same transport and server as stgo (one WSGI thread plus simple-websocket's
reader thread per connection), so the difference to stgo is the framework.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import threading
from collections.abc import Iterable
from typing import Any

import simple_websocket
from werkzeug.serving import make_server

TAB = rb"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>floor</title>
<style>.stgo-w { padding: 4px; }</style></head>
<body><div id="stgo-global"><div class="stgo-w" data-key="total"><p>0</p></div></div>
<div id="stgo-session"><div class="stgo-w" data-key="increment"><button>Go</button></div></div>
<script>
(function () {
  var all = location.search.indexOf("all") >= 0, n = 0;
  var ws = new WebSocket(location.href.replace(/^http/, "ws").replace(/\/tab.*$/, "/"));
  window.stgo = { get connected() { return ws.readyState === 1; } };
  ws.onmessage = function (ev) {
    var msg = JSON.parse(ev.data);
    var root = document.getElementById(msg.root);
    var t = document.createElement("template");
    t.innerHTML = msg.html;
    root.firstElementChild.replaceWith(t.content.firstElementChild);
  };
  document.addEventListener("click", function (ev) {
    if (!ev.target.closest("button")) return;
    n += 1;
    var msg = JSON.stringify({ root: all ? "stgo-global" : "stgo-session",
      html: all ? '<div class="stgo-w" data-key="total"><p>' + n + '</p></div>'
                : '<div class="stgo-w" data-key="increment"><button>' + n + '</button></div>' });
    ws.send(all ? "all:" + msg : msg);
  });
})();
</script></body></html>
"""


def build_app(page: bytes) -> Any:
    conns: list[simple_websocket.Server] = []
    lock = threading.Lock()

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ.get("HTTP_UPGRADE", "").lower() != "websocket":
            if environ.get("PATH_INFO") == "/tab":
                start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"),
                                          ("Content-Length", str(len(TAB))),
                                          ("Cache-Control", "no-store")])
                return [TAB]
            if environ.get("PATH_INFO") == "/health":
                start_response("200 OK", [("Content-Type", "text/plain")])
                return [b"ok"]
            start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"),
                                      ("Content-Length", str(len(page))),
                                      ("Cache-Control", "no-store")])
            return [page]
        ws = simple_websocket.Server.accept(environ)
        with lock:
            conns.append(ws)
        try:
            while True:
                msg = ws.receive()
                if isinstance(msg, str) and msg.startswith("all:"):
                    body = msg[4:]
                    with lock:
                        targets = list(conns)
                    for other in targets:
                        with contextlib.suppress(simple_websocket.ConnectionClosed, OSError):
                            other.send(body)
                else:
                    ws.send(msg)
        except simple_websocket.ConnectionClosed:
            pass
        finally:
            with lock:
                conns.remove(ws)
        raise ConnectionError("WebSocket closed")  # no HTTP response after a WebSocket

    return app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="the benchmark floor server")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--page-bytes", type=int, default=20_000)
    args = parser.parse_args(argv)
    page = (b"<!doctype html><title>floor</title>" + b"x" * args.page_bytes)[:args.page_bytes]
    server = make_server("127.0.0.1", args.port, build_app(page), threaded=True)
    print(f"floor serving at http://127.0.0.1:{server.server_port}/", flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
