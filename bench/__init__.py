"""stgo's benchmarks: ``python -m bench [--quick]`` (``make bench``, ``make bench-full``).

Modules: :mod:`bench.load` (WebSocket clients against a real server process),
:mod:`bench.browser` (Chromium via Playwright), :mod:`bench.cleanup` (the
session cleanup pass), :mod:`bench.rtt` (a standalone round-trip check),
:mod:`bench.floor` (the plain simple-websocket server every number is
compared with), :mod:`bench.scale` (many processes on one Redis, behind
nginx), :mod:`bench.runner` (the table).  docs/benchmarks.md has the
latest table.
"""
