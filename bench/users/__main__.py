"""``python -m bench.users [--quick] [--json FILE] [--doc]``: the head-to-head run.

For each N, each scenario, the frameworks take turns (each on a fresh server,
its order rotated from one scenario to the next), so every ratio compares
figures measured minutes apart on the same machine. The stgo row with two
workers on Redis (``stgo-w2``) runs at the largest N.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from ..runner import machine
from ..scale import redis_server
from .driver import Browsers, run_cell
from .peers import VENVS, ensure_peers, server, versions
from .scenarios import FRAMEWORKS, SCENARIOS
from .stats import add_ratios, markdown, row, turns_markdown

DOC = Path(__file__).resolve().parent.parent.parent / "docs" / "benchmarks.md"
BEGIN, END = "<!-- bench.users:begin -->", "<!-- bench.users:end -->"
#: The block of a run in turns (``--turns``): beside the one-turn table, not over it.
TURNS_BEGIN, TURNS_END = "<!-- bench.users-turns:begin -->", "<!-- bench.users-turns:end -->"


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


#: Before a cell: the machine's CPU busy below this percent (two reads in a row)...
QUIET_PERCENT = 25.0
#: ... or this many seconds waited (the figure reached goes in the row).
QUIET_WAIT = 60.0


async def _settle() -> float:
    """Wait until the last cell's processes (a peer's server winding down,
    Chromium's renderers) have let go of the CPU, so a cell does not start
    on the one before's tail; return the CPU busy percent it started at."""
    import psutil  # the bench extra

    deadline = time.monotonic() + QUIET_WAIT
    calm, busy = 0, 100.0
    while calm < 2 and time.monotonic() < deadline:
        busy = await asyncio.to_thread(psutil.cpu_percent, 0.5)
        calm = calm + 1 if busy < QUIET_PERCENT else 0
    return busy


def plan(ns: list[int], scenarios: list[str], frameworks: list[str],
         workers2: bool, turns: int = 1) -> list[tuple[int, str, str, int]]:
    """The cells in run order: (N, scenario, framework, turn), the frameworks of
    a scenario and N one after another, *turns* times, their order rotated each time."""
    cells: list[tuple[int, str, str, int]] = []
    rotation = 0
    for n in ns:
        for name in scenarios:
            fws = [f for f in frameworks if f != "floor" or SCENARIOS[name].floor]
            if workers2 and n == max(ns) and "stgo" in fws:
                fws.insert(fws.index("stgo") + 1, "stgo-w2")
            for turn in range(turns):
                k = rotation % len(fws)
                rotation += 1
                cells.extend((n, name, f, turn) for f in fws[k:] + fws[:k])
    return cells


async def _run(args: argparse.Namespace, pythons: dict[str, Path],
               cells: list[tuple[int, str, str, int]], redis_url: str | None,
               facts: dict[str, Any]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    async with Browsers(args.browsers) as browsers:
        for i, (n, name, fw, turn) in enumerate(cells, 1):
            busy = await _settle()
            _log(f"bench.users: [{i}/{len(cells)}] {name} N={n} {fw} turn {turn} (load {_load()}, "
                 f"CPU {busy:.0f} % busy) ...")
            try:
                with server(fw, name, pythons, redis_url) as srv, \
                        _profile(args.profile, srv.proc.pid, f"{fw}-{name}-{n}"):
                    cell = await run_cell(browsers, srv.url, srv.proc.pid, SCENARIOS[name], fw,
                                          n, args.timeout)
                r = row(cell)
            except Exception as exc:  # noqa: BLE001 - a server that fails is a row that says so
                _log(f"bench.users: {fw} {name} N={n} FAILED: {exc}")
                r = {"framework": fw, "scenario": name, "n": n, "ok": 0, "success": 0.0,
                     "load_p50_ms": None, "load_p95_ms": None, "click_p50_ms": None,
                     "click_p95_ms": None, "mb_per_user": None, "growth_mb": None,
                     "cpu_ms_per_action": None, "seconds": 0.0, "errors": {str(exc)[:200]: n}}
            r["load_avg"] = _load()
            r["cpu_busy_before"] = busy
            r["turn"] = turn
            _log(f"  ok {r['ok']}/{n}, load P95 {r['load_p95_ms']}, click P95 "
                 f"{r['click_p95_ms']}, MB/user {r['mb_per_user']}, errors {r['errors']}")
            rows.append(r)
            if args.json:  # after every cell: a run cut short still leaves its figures
                args.json.write_text(json.dumps(
                    {**facts, "partial": True, "rows": add_ratios(_order(rows))}, indent=1))
    return rows


@contextmanager
def _profile(where: Path | None, pid: int, name: str) -> Iterator[None]:
    """py-spy (the bench extra) records *pid*'s tree while the cell runs, if *where* is given."""
    if where is None:
        yield
        return
    where.mkdir(parents=True, exist_ok=True)
    out = where / f"{name}.txt"
    spy = subprocess.Popen([str(Path(sys.executable).parent / "py-spy"), "record", "--pid",
                            str(pid), "--subprocesses", "--nonblocking", "--format", "raw",
                            "--rate", "50", "-o", str(out)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield
    finally:
        spy.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
        try:
            spy.wait(30)
        except subprocess.TimeoutExpired:
            spy.kill()
        _log(f"bench.users: profile of {name} in {out}")


def _order(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    fw = {f: i for i, f in enumerate(("floor", "stgo", "stgo-w2", "streamlit", "nicegui"))}
    sc = {s: i for i, s in enumerate(SCENARIOS)}
    return sorted(rows, key=lambda r: (sc[r["scenario"]], r["n"], fw.get(r["framework"], 9)))


def write_doc(text: str, doc: Path = DOC, begin: str = BEGIN, end: str = END) -> None:
    """Put *text* between the markers in docs/benchmarks.md (appended the first time)."""
    body = doc.read_text()
    block = f"{begin}\n{text}{end}"
    if begin in body and end in body:
        head, rest = body.split(begin, 1)
        body = head + block + rest.split(end, 1)[1]
    else:
        body = body.rstrip("\n") + "\n\n" + block + "\n"
    doc.write_text(body)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.users", description=__doc__)
    p.add_argument("--quick", action="store_true", help="N = 10, 25 (for make bench)")
    p.add_argument("--n", default=None, help="comma-separated user counts (10,25,50)")
    p.add_argument("--scenarios", default=",".join(SCENARIOS))
    p.add_argument("--frameworks", default=",".join(FRAMEWORKS))
    p.add_argument("--no-workers", action="store_true", help="no stgo --workers 2 row")
    p.add_argument("--venvs", type=Path, default=VENVS, help="the peers' virtualenvs")
    p.add_argument("--browsers", type=int, default=3, help="Chromium processes")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds per user step")
    p.add_argument("--profile", type=Path, help="py-spy each server into this folder "
                   "(raw, collapsed stacks: one file per cell)")
    p.add_argument("--turns", type=int, default=1, help="run each scenario and N this many "
                   "times (frameworks in turns): a table of the median and range over them")
    p.add_argument("--json", type=Path, help="write the rows and the run's facts here")
    p.add_argument("--doc", action="store_true", help="write the table into "
                   "docs/benchmarks.md")
    p.add_argument("--render", type=Path, metavar="JSON", help="no run: print (and with "
                   "--doc write) the table of a run saved with --json")
    args = p.parse_args(argv)
    if args.render:
        saved = json.loads(args.render.read_text())
        rows = saved.pop("rows")
        _publish(saved, rows, args.doc)
        return 0
    ns = [int(x) for x in (args.n or ("10,25" if args.quick else "10,25,50")).split(",")]
    scenarios = [s for s in args.scenarios.split(",") if s]
    frameworks = [f for f in args.frameworks.split(",") if f]
    for s in scenarios:
        if s not in SCENARIOS:
            p.error(f"no scenario {s!r} (have {', '.join(SCENARIOS)})")
    peers = [f for f in frameworks if f in ("streamlit", "nicegui")]
    pythons, missing = ensure_peers(peers, args.venvs)
    frameworks = [f for f in frameworks if f not in missing]
    workers2 = not args.no_workers and not args.quick and "stgo" in frameworks
    cells = plan(ns, scenarios, frameworks, workers2, max(1, args.turns))
    facts: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "machine": machine(),
        "versions": versions(pythons), "load_before": _load(), "ns": ns,
        "browsers": args.browsers, "missing": missing, "turns": max(1, args.turns),
    }
    _log(f"bench.users: {len(cells)} cells, versions {facts['versions']}, load "
         f"{facts['load_before']}")
    with ExitStack() as stack:
        redis_url = stack.enter_context(redis_server()).url if workers2 else None
        rows = asyncio.run(_run(args, pythons, cells, redis_url, facts))
    facts["load_after"] = _load()
    rows = add_ratios(_order(rows))
    if args.json:
        args.json.write_text(json.dumps({**facts, "rows": rows}, indent=1))
    _publish(facts, rows, args.doc)
    return 1 if missing else 0


def _calm(rows: list[dict[str, Any]]) -> str:
    busy = [r["cpu_busy_before"] for r in rows if r.get("cpu_busy_before") is not None]
    if not busy:
        return ""
    late = sum(b >= QUIET_PERCENT for b in busy)
    return (f" Each cell began once the CPU was under {QUIET_PERCENT:g} % busy"
            + (f" ({late} of {len(busy)} after waiting {QUIET_WAIT:g} s for it)" if late else "")
            + ".")


def _publish(facts: dict[str, Any], rows: list[dict[str, Any]], doc: bool) -> None:
    """Print the table; with *doc*, write it with the run's facts into docs/benchmarks.md."""
    turns = int(facts.get("turns", 1))
    table = markdown(rows, facts.get("missing")) if turns == 1 else turns_markdown(rows)
    print(table)
    if doc:
        m = facts["machine"]
        loads = [r["load_avg"][0] for r in rows if r.get("load_avg")]
        head = (f"`python -m bench.users{f' --turns {turns}' if turns > 1 else ''}` on "
                f"{facts['date']}, commit {m['commit']}, "
                f"{m['nproc']} x {m['cpu']}, Python {m['python']}; "
                + ", ".join(f"{k} {v}" for k, v in facts["versions"].items() if k != "python")
                + f"; {facts['browsers']} Chromium processes on the same machine; load "
                f"average {facts['load_before']} before, {facts.get('load_after', '-')} after"
                + (f", {min(loads):g}-{max(loads):g} (1 min) over the cells" if loads else "")
                + "." + _calm(rows) + "\n\n")
        if facts.get("partial"):
            head += ("**A partial run**: it was stopped before its last cells; the table "
                     "has the cells it finished.\n\n")
        write_doc(head + table, *((DOC, TURNS_BEGIN, TURNS_END) if turns > 1 else ()))


if __name__ == "__main__":
    sys.exit(main())
