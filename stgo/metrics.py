"""Counters for ``GET /metrics`` in the Prometheus text format (opt-in).

Plain integers behind one lock: cheap enough to bump on every event, and no
dependency on a Prometheus client library.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

__all__ = ["Metrics"]

_HELP = {
    "stgo_sessions_created_total": ("counter", "Sessions created."),
    "stgo_sessions_ended_total": ("counter", "Sessions ended, by reason."),
    "stgo_connections_opened_total": ("counter", "WebSocket connections accepted."),
    "stgo_events_total": ("counter", "Widget events dispatched."),
    "stgo_errors_total": ("counter", "Errors sent to clients, by kind."),
    "stgo_refused_total": ("counter", "Requests refused by a defence, by reason."),
    "stgo_dropped_clients_total": ("counter", "Connections dropped for being slow or silent."),
    "stgo_relay_sent_total": ("counter", "Notices sent to the other processes, by kind."),
    "stgo_relay_received_total": ("counter", "Notices heard from the other processes, by kind."),
    "stgo_relay_applied_total": ("counter", "Changes of other processes shown here, by kind."),
    "stgo_relay_resyncs_total": ("counter", "Resyncs from the store after a (re)connect."),
    "stgo_redis_errors_total": ("counter", "Redis errors of the relay, by operation."),
    "stgo_timer_ticks_total": ("counter", "Timer ticks, by outcome (run, failed, skipped, "
                               "elsewhere: another process's, no_store)."),
    "stgo_presence_hooks_total": ("counter", "on_connect / on_disconnect hook runs."),
    "stgo_presence_reaped_total": ("counter", "Tabs of dead processes found gone."),
    "stgo_presence_moved_total": ("counter", "Tabs whose disconnect ran on the process "
                                  "they had moved to."),
}


class Metrics:
    """Named counters with optional one-label breakdowns, plus live gauges."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, str], int] = {}
        self._gauges: dict[str, tuple[str, Callable[[], float]]] = {}

    def inc(self, name: str, label: str = "", amount: int = 1) -> None:
        """Add *amount* to counter *name* (with the label value *label*, if any)."""
        with self._lock:
            key = (name, label)
            self._counts[key] = self._counts.get(key, 0) + amount

    def get(self, name: str, label: str = "") -> int:
        """The current value of a counter."""
        with self._lock:
            return self._counts.get((name, label), 0)

    def gauge(self, name: str, help_text: str, read: Callable[[], float]) -> None:
        """Register a gauge whose value is read at scrape time."""
        self._gauges[name] = (help_text, read)

    def render(self) -> str:
        """The exposition text (``text/plain; version=0.0.4``)."""
        with self._lock:
            counts = dict(self._counts)
        lines: list[str] = []
        for name, (help_text, read) in sorted(self._gauges.items()):
            lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge", f"{name} {read():g}"]
        names = sorted({n for n, _ in counts} | set(_HELP))
        for name in names:
            kind, help_text = _HELP.get(name, ("counter", name))
            lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
            series = sorted((label, v) for (n, label), v in counts.items() if n == name)
            if not series:
                lines.append(f"{name} 0")
            for label, value in series:
                key = _label_key(name)
                lines.append(f'{name}{{{key}="{label}"}} {value}' if label else f"{name} {value}")
        return "\n".join(lines) + "\n"


def _label_key(name: str) -> str:
    return {"stgo_sessions_ended_total": "reason", "stgo_errors_total": "kind",
            "stgo_refused_total": "reason", "stgo_relay_sent_total": "kind",
            "stgo_relay_received_total": "kind", "stgo_relay_applied_total": "kind",
            "stgo_redis_errors_total": "op", "stgo_timer_ticks_total": "outcome",
            "stgo_presence_hooks_total": "hook"}.get(name, "label")
