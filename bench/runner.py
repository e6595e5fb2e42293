"""``python -m bench [--quick]``: run every benchmark, print one table, save JSON.

Each stgo number is printed beside the floor measured in the same run (plain
simple-websocket under Werkzeug for the protocol rows, a minimal page on that
server for the browser rows) and the ratio between them, so that the table
stays readable on a noisy, shared machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["main", "machine", "rows", "format_table"]

RESULTS = Path(__file__).resolve().parent / "results"
SECTIONS = ("rtt", "throughput", "fanout", "memory", "many", "cleanup", "page", "browser",
            "store", "scale", "timers")

_HEAD = ("metric", "value", "floor", "ratio", "target", "pass/miss")
_COLUMNS = ("metric", "value", "floor", "ratio", "target", "verdict")

KiB = 1024
MB = 1_000_000


def machine() -> dict[str, Any]:
    """The machine the numbers come from."""
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, cwd=RESULTS.parent.parent).stdout.strip()
    except OSError:
        commit = ""
    import stgo

    return {
        "nproc": os.cpu_count(), "cpu": model, "python": platform.python_version(),
        "stgo": stgo.__version__, "commit": commit, "platform": platform.platform(),
    }


def _settings(quick: bool) -> dict[str, Any]:
    if quick:
        return {"rtt": 2000, "tp_seconds": 3.0, "fan_rounds": 20, "page": 300}
    return {"rtt": 5000, "tp_seconds": 10.0, "fan_rounds": 50, "page": 2000}


def run(sections: tuple[str, ...], quick: bool, log: Callable[[str], None]) -> dict[str, Any]:
    """Run *sections*; return their raw results by name."""
    from . import cleanup, load

    cfg = _settings(quick)
    jobs: dict[str, Callable[[], Any]] = {
        "rtt": lambda: load.round_trip(cfg["rtt"]),
        "throughput": lambda: load.throughput(50, cfg["tp_seconds"]),
        "fanout": lambda: load.fanout((10, 100, 500, 1000), cfg["fan_rounds"]),
        "memory": lambda: load.memory(1000, 500),
        "many": lambda: load.many_sockets(10_000, rounds=10 if quick else 30),
        "cleanup": lambda: cleanup.measure(100_000),
        "page": lambda: load.page(cfg["page"]),
        "browser": lambda: _browser(quick),
        "store": lambda: _store(quick),
        "scale": lambda: _scale(quick, log),
        "timers": lambda: _timers(quick),
    }
    out: dict[str, Any] = {}
    for name in sections:
        t = time.monotonic()
        log(f"bench: {name} ...")
        out[name] = jobs[name]()
        log(f"bench: {name} done in {time.monotonic() - t:.1f} s")
    return out


def _browser(quick: bool) -> Any:
    from . import browser

    return browser.measure(quick)


def _store(quick: bool) -> Any:
    from . import store

    return store.measure(1000 if quick else 3000)


def _timers(quick: bool) -> Any:
    from . import timers

    return timers.measure(1000, 20 if quick else 60)


def _scale(quick: bool, log: Callable[[str], None]) -> Any:
    from . import scale

    return scale.measure(quick, log)


Row = tuple[str, float | None, float | None, str, str]  # name, value, floor, target, unit


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit in ("ms",):
        return f"{value:.2f} ms" if value < 10 else f"{value:.1f} ms"
    if unit == "/s":
        return f"{value:,.0f} /s"
    if unit == "KiB":
        return f"{value / KiB:.1f} KiB"
    if unit == "MB":
        return f"{value / MB:.3f} MB"
    return f"{value:g}"


def rows(results: dict[str, Any]) -> list[tuple[str, str, str, str, str, str]]:
    """The table: (metric, value, floor, ratio, target, pass/miss)."""
    table: list[tuple[str, str, str, str, str, str]] = []

    def add(name: str, value: float | None, floor: float | None, unit: str,
            target: float | None = None, higher_is_better: bool = False) -> None:
        ratio = "-"
        if value is not None and floor:
            ratio = f"x{value / floor:.2f}"
        if target is None:
            verdict, target_s = "-", "-"
        else:
            ok = value is not None and (value >= target if higher_is_better else value <= target)
            verdict = "pass" if ok else "MISS"
            target_s = (">= " if higher_is_better else "<= ") + _fmt(target, unit)
        table.append((name, _fmt(value, unit), _fmt(floor, unit), ratio, target_s, verdict))

    r = results.get("rtt")
    if r:
        add("event round trip p50 (1 session)", r["stgo_ms"]["p50"], r["floor_ms"]["p50"], "ms")
        add("event round trip p99 (1 session)", r["stgo_ms"]["p99"], r["floor_ms"]["p99"], "ms")
    r = results.get("throughput")
    if r:
        add(f"throughput, {r['sessions']} sessions, private events",
            r["private"]["events_per_s"], r["floor_events_per_s"], "/s")
        add(f"throughput, {r['sessions']} sessions, shared total (x{r['sessions']} pushes)",
            r["shared"]["events_per_s"], r["floor_events_per_s"], "/s")
    r = results.get("fanout")
    if r:
        for n, s in r["stgo_ms"].items():
            f = r["floor_ms"].get(n)
            add(f"fan-out to {n} sessions p50", s["p50"], f and f["p50"], "ms")
            add(f"fan-out to {n} sessions p99", s["p99"], f and f["p99"], "ms")
    r = results.get("memory")
    if r:
        add(f"memory per session, HTTP only ({r['sessions']})", r["stgo_session_bytes"], None,
            "KiB", 4 * KiB)
        add(f"memory per connection ({r['connections']} connected)",
            r["stgo_connection_bytes"], r["floor_connection_bytes"], "KiB")
    r = results.get("many")
    if r:
        add(f"memory per open socket ({r['sockets']:,} open)", r["rss_bytes_per_socket"],
            None, "KiB", 25 * KiB)
        add(f"server threads with {r['sockets']:,} sockets open", r["threads_open"], None, "")
        add(f"shared change -> all {r['sockets']:,} sockets p50", r["fanout_ms"]["p50"],
            None, "ms")
        add(f"shared change -> all {r['sockets']:,} sockets p95", r["fanout_ms"]["p95"],
            None, "ms")
    r = results.get("cleanup")
    if r:
        add(f"cleanup pass, {r['sessions']:,} sessions (half expired)", r["pass_s"] * 1000,
            None, "ms")
        add("longest get() stall during the pass", r["get_max_ms"], r["baseline_max_ms"], "ms")
    r = results.get("page")
    if r:
        add("GET / of a 50-widget page p50", r["stgo_ms"]["p50"], r["floor_ms"]["p50"], "ms")
    r = results.get("browser")
    if r:
        s, f = r["stgo"], r["floor"]
        add("browser: click -> DOM updated p50", s["click_to_dom_ms"]["p50"],
            f["click_to_dom_ms"]["p50"], "ms", 3.0)
        add("browser: page load -> first widget visible p50", s["page_load_ms"]["p50"],
            f["page_load_ms"]["p50"], "ms", 100.0)
        add("browser: server memory per extra open tab (new visitor)",
            s["memory"]["bytes_per_tab"], f["memory"]["bytes_per_tab"], "MB", 0.08 * MB)
        if "memory_same_browser" in s:
            add("browser: server memory per extra open tab (same browser)",
                s["memory_same_browser"]["bytes_per_tab"],
                f["memory_same_browser"]["bytes_per_tab"], "MB", 0.08 * MB)
        add("browser: shared change -> all 9 other tabs p50",
            s["shared_change"]["last_ms"]["p50"], f["shared_change"]["last_ms"]["p50"], "ms",
            5.0)
        add("browser: shared change -> each of 9 other tabs p50",
            s["shared_change"]["each_ms"]["p50"], f["shared_change"]["each_ms"]["p50"], "ms")
    r = results.get("store")
    if r:
        from . import store

        store.add_rows(r, add)  # the Redis store, the memory store as the floor
    r = results.get("scale")
    if r:
        from .scale import table_rows

        for name, value, baseline, unit, target, higher in table_rows(r):
            add(name, value, baseline, unit, target, higher)
    r = results.get("timers")
    if r:  # the floor: the same change from a thread in app.batch(), in the same run
        add(f"@app.every tick -> all {r['tabs']:,} tabs p50", r["timer"]["all_ms"]["p50"],
            r["batch"]["all_ms"]["p50"], "ms")
        add(f"@app.every tick -> each of {r['tabs']:,} tabs p50",
            r["timer"]["each_ms"]["p50"], r["batch"]["each_ms"]["p50"], "ms")
    return table


def format_table(table: list[tuple[str, str, str, str, str, str]]) -> str:
    """A Markdown table (readable as plain text too)."""
    head = _HEAD
    widths = [max(len(row[i]) for row in [head, *table]) for i in range(len(head))]
    right = {1, 2, 3, 4}

    def line(cells: tuple[str, ...]) -> str:
        parts = [c.rjust(w) if i in right else c.ljust(w)
                 for i, (c, w) in enumerate(zip(cells, widths, strict=True))]
        return "| " + " | ".join(parts) + " |"

    rule = "|" + "|".join(("-" * (w + 1) + ":") if i in right else ("-" * (w + 2))
                          for i, w in enumerate(widths)) + "|"
    return "\n".join([line(head), rule, *(line(r) for r in table)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="fewer samples (make bench; under 3 minutes)")
    parser.add_argument("--only", default=",".join(SECTIONS),
                        help=f"comma-separated sections (default all: {','.join(SECTIONS)})")
    parser.add_argument("--json", metavar="PATH",
                        help="also write the results here (the full run always writes "
                             "bench/results/bench-<time>.json)")
    args = parser.parse_args(argv)
    sections = tuple(s.strip() for s in args.only.split(",") if s.strip())
    unknown = [s for s in sections if s not in SECTIONS]
    if unknown:
        parser.error(f"unknown section(s) {unknown}; choose from {list(SECTIONS)}")

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    started = time.monotonic()
    info = machine()
    results = run(sections, args.quick, log)
    elapsed = time.monotonic() - started
    table = rows(results)
    print(f"stgo {info['stgo']} ({info['commit']}) on {info['nproc']} x {info['cpu']}, "
          f"Python {info['python']}; {'quick' if args.quick else 'full'} run, {elapsed:.0f} s")
    print(format_table(table))
    doc = {"machine": info, "quick": args.quick, "seconds": elapsed,
           "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "results": results,
           "table": [dict(zip(_COLUMNS, r, strict=True)) for r in table]}
    paths = [Path(args.json)] if args.json else []
    if not args.quick:
        RESULTS.mkdir(exist_ok=True)
        paths.append(RESULTS / f"bench-{time.strftime('%Y%m%d-%H%M%S')}.json")
    for path in paths:
        path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
        log(f"bench: results written to {path}")
    return 0
