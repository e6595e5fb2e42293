"""The floor of the ``simple`` scenario: the same page (title, button, the user's
counter) on plain Werkzeug + simple-websocket, no framework (like :mod:`bench.floor`).

Run as ``python -m bench.users.floor_simple [--port N]``; prints one line with its URL.
The count lives in the connection's thread; the page replaces its text with the answer.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from typing import Any

import simple_websocket
from werkzeug.serving import make_server

PAGE = rb"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Simple</title></head>
<body><h1>Simple</h1><button type="button" id="inc">Increment</button><p id="count">Count: 0</p>
<script>
(function () {
  var ws = new WebSocket(location.href.replace(/^http/, "ws"));
  window.floor = { get connected() { return ws.readyState === 1; } };
  ws.onmessage = function (ev) { document.getElementById("count").textContent = ev.data; };
  document.getElementById("inc").addEventListener("click", function () { ws.send("inc"); });
})();
</script></body></html>
"""


def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    """The page, or its WebSocket: each ``inc`` answered with the new ``Count: N``."""
    if environ.get("HTTP_UPGRADE", "").lower() != "websocket":
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"),
                                  ("Content-Length", str(len(PAGE))),
                                  ("Cache-Control", "no-store")])
        return [PAGE]
    ws = simple_websocket.Server.accept(environ)
    count = 0
    try:
        while True:
            if ws.receive() == "inc":
                count += 1
                ws.send(f"Count: {count}")
    except simple_websocket.ConnectionClosed:
        pass
    raise ConnectionError("WebSocket closed")  # no HTTP response after a WebSocket


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="the simple scenario's floor server")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    server = make_server("127.0.0.1", args.port, app, threaded=True)
    print(f"floor serving at http://127.0.0.1:{server.server_port}/", flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
