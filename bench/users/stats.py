"""Figures of a head-to-head run: percentiles, a cell's row, ratios, the pass bar, the table.

Pure functions on plain data (no browser, no server), so the test can check
them on fixed inputs.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .scenarios import PASS_BAR

__all__ = ["percentile", "UserResult", "Cell", "row", "add_ratios", "pass_bar",
           "markdown", "turns_markdown"]

MB = 1_000_000


def percentile(values: Sequence[float], q: float) -> float | None:
    """The *q*-th percentile (0-100) of *values*, linear between ranks; ``None`` if empty."""
    if not values:
        return None
    if not 0 <= q <= 100:
        raise ValueError(f"percentile {q} is not in 0..100")
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


@dataclass
class UserResult:
    """One user: its load time, each click's time (ms), and why it failed, if it did."""

    load_ms: float | None = None
    clicks_ms: list[float] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class Cell:
    """One framework, scenario and N: its users and its server's samples."""

    framework: str
    scenario: str
    users: list[UserResult]
    rss_before: int  # bytes, the server's process tree before the users came
    rss_peak: int  # the largest sample while they were there
    cpu_seconds: float  # the server tree's CPU over the users' time
    seconds: float = 0.0  # wall time of the users

    @property
    def n(self) -> int:
        return len(self.users)


def row(cell: Cell) -> dict[str, Any]:
    """A cell's figures: success, load and click P50/P95 (ms), MB and CPU ms per user/action.

    Load and click times are of the users that succeeded (a failed user's load
    time counts if it loaded); CPU is divided by every load and click done.
    """
    ok = [u for u in cell.users if u.ok]
    loads = [u.load_ms for u in cell.users if u.load_ms is not None]
    clicks = [c for u in cell.users for c in u.clicks_ms]
    actions = len(loads) + len(clicks)
    growth = max(0, cell.rss_peak - cell.rss_before)
    errors: dict[str, int] = {}
    for u in cell.users:
        if u.error:
            errors[u.error] = errors.get(u.error, 0) + 1
    return {
        "framework": cell.framework, "scenario": cell.scenario, "n": cell.n,
        "ok": len(ok), "success": len(ok) / cell.n if cell.n else 0.0,
        "load_p50_ms": percentile(loads, 50), "load_p95_ms": percentile(loads, 95),
        "click_p50_ms": percentile(clicks, 50), "click_p95_ms": percentile(clicks, 95),
        "mb_per_user": growth / MB / cell.n if cell.n else None,
        "growth_mb": growth / MB,
        "cpu_ms_per_action": cell.cpu_seconds * 1000 / actions if actions else None,
        "seconds": cell.seconds, "errors": errors,
    }


_RATIO_KEYS = ("load_p95_ms", "click_p95_ms", "mb_per_user", "cpu_ms_per_action")


def _ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b <= 0:
        return None
    return a / b


def add_ratios(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each row with ``x_floor`` and ``x_streamlit``: its figures over the floor's and
    Streamlit's of the same scenario, N and turn in the same run (``None`` where there is none)."""
    by = {(r["framework"], r["scenario"], r["n"], r.get("turn", 0)): r for r in rows}
    out = []
    for r in rows:
        r = dict(r)
        for ref in ("floor", "streamlit"):
            other = by.get((ref, r["scenario"], r["n"], r.get("turn", 0)))
            r[f"x_{ref}"] = {k: _ratio(r[k], other[k]) if other else None for k in _RATIO_KEYS}
        out.append(r)
    return out


def pass_bar(r: dict[str, Any]) -> tuple[bool, str]:
    """Streamlit's own bar for *r*'s scenario: (passed, the bar in words).

    Memory is scaled to 50 users: growth per user x 50 < the bar.
    """
    success, load_s, mb50 = PASS_BAR.get(r["scenario"], PASS_BAR["*"])
    ok = (r["success"] >= success
          and r["load_p95_ms"] is not None and r["load_p95_ms"] < load_s * 1000
          and r["mb_per_user"] is not None and r["mb_per_user"] * 50 < mb50)
    return ok, f"{success:.0%} ok, P95 load < {load_s:g} s, < {mb50:g} MB/50 users"


def _ms(v: float | None) -> str:
    if v is None:
        return "-"
    return f"{v / 1000:.2f} s" if v >= 1000 else f"{v:.0f} ms"


def _x(v: float | None) -> str:
    return "-" if v is None else f"x{v:.2f}"


def _num(v: float | None, fmt: str) -> str:
    return "-" if v is None else format(v, fmt)


HEAD = ("scenario", "N", "framework", "ok", "load P50", "load P95", "click P50", "click P95",
        "MB/user", "CPU ms/action", "load P95 / floor", "click P95 / floor",
        "load P95 / Streamlit", "click P95 / Streamlit", "MB/user / Streamlit",
        "Streamlit's bar")


def markdown(rows: list[dict[str, Any]], missing: dict[str, str] | None = None) -> str:
    """The table (rows as :func:`add_ratios` gives them), with a line per missing peer."""
    lines = ["| " + " | ".join(HEAD) + " |", "|" + "|".join("---" for _ in HEAD) + "|"]
    for r in rows:
        ok, _ = pass_bar(r)
        xf, xs = r.get("x_floor") or {}, r.get("x_streamlit") or {}
        cells = (r["scenario"], str(r["n"]), r["framework"], f"{r['ok']}/{r['n']}",
                 _ms(r["load_p50_ms"]), _ms(r["load_p95_ms"]), _ms(r["click_p50_ms"]),
                 _ms(r["click_p95_ms"]), _num(r["mb_per_user"], ".2f"),
                 _num(r["cpu_ms_per_action"], ".1f"), _x(xf.get("load_p95_ms")),
                 _x(xf.get("click_p95_ms")), _x(xs.get("load_p95_ms")),
                 _x(xs.get("click_p95_ms")), _x(xs.get("mb_per_user")),
                 "pass" if ok else "MISS")
        lines.append("| " + " | ".join(cells) + " |")
    for name, why in (missing or {}).items():
        lines.append(f"\n**{name} MISSING**: {why}")
    return "\n".join(lines) + "\n"


TURNS_HEAD = ("scenario", "N", "framework", "turns", "ok", "load P95: median (range)",
              "click P95: median (range)", "load P95 / floor: median (range)",
              "click P95 / floor: median (range)")


def _spread(values: list[float], fmt: Callable[[float | None], str]) -> str:
    if not values:
        return "-"
    return f"{fmt(statistics.median(values))} ({fmt(min(values))}-{fmt(max(values))})"


def turns_markdown(rows: list[dict[str, Any]]) -> str:
    """A run of several turns (``--turns``): per scenario, N and framework, the
    median and range of its P95s over the turns, and of their ratios to the
    floor's of the same turn (rows as :func:`add_ratios` gives them)."""
    groups: dict[tuple[str, int, str], list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault((r["scenario"], r["n"], r["framework"]), []).append(r)
    lines = ["| " + " | ".join(TURNS_HEAD) + " |", "|" + "|".join("---" for _ in TURNS_HEAD) + "|"]
    for (scenario, n, fw), rs in groups.items():
        def got(key: str, rs: list[dict[str, Any]] = rs) -> list[float]:
            return [r[key] for r in rs if r.get(key) is not None]

        def x(key: str, rs: list[dict[str, Any]] = rs) -> list[float]:
            return [r["x_floor"][key] for r in rs
                    if (r.get("x_floor") or {}).get(key) is not None]

        ok = sum(r["ok"] for r in rs)
        cells = (scenario, str(n), fw, str(len(rs)), f"{ok}/{n * len(rs)}",
                 _spread(got("load_p95_ms"), _ms), _spread(got("click_p95_ms"), _ms),
                 _spread(x("load_p95_ms"), _x), _spread(x("click_p95_ms"), _x))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"

