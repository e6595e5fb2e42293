"""A refused request: counted in ``stgo_refused_total`` and said in the log, once."""

from __future__ import annotations

import logging

from werkzeug.wrappers import Request

from ..limits import LogOnce
from ..metrics import Metrics
from .hosts import Hosts

__all__ = ["Refusals"]

log = logging.getLogger("stgo")

# Refusal reasons (as logged) and their label in stgo_refused_total.
_REFUSAL_LABELS = {
    "malformed session cookie": "forged_cookie",
    "unknown or expired session cookie": "unknown_cookie",
    "max_sessions": "max_sessions",
    "too many new sessions": "new_session_rate",
    "origin not allowed": "origin",
    "bad rotation token": "rotation_token",
    "no session cookie": "no_cookie",
    "host not allowed": "host",
    "too many connections": "max_connections",
    "too many connections from this address": "max_connections_per_address",
}


class Refusals:
    """Counts and logs refusals.

    :param metrics: where ``stgo_refused_total`` is counted.
    :param suspicious: warns once per (client, reason).
    """

    def __init__(self, hosts: Hosts, metrics: Metrics, suspicious: LogOnce) -> None:
        self._hosts = hosts
        self._metrics = metrics
        self._suspicious = suspicious
        # A refused Origin, said once per (Origin, expected) pair, a few a
        # minute at most: any client may send any Origin.
        self._origin_log = LogOnce(log, 1024, rate=0.2, burst=10)

    def refused(self, request: Request, reason: str) -> None:
        """Count a refusal and warn about it (once per client and reason)."""
        self._metrics.inc("stgo_refused_total", _REFUSAL_LABELS.get(reason, "other"))
        self._suspicious.warn(self._hosts.client_address(request), reason)

    def origin_refused(self, request: Request, origin: str | None, what: str) -> None:
        """Count a request refused for its ``Origin``, and say which Origin
        came and which were expected (once per pair, a few a minute at most):
        behind a proxy that drops the port from ``Host`` they differ only there."""
        self.refused(request, "origin not allowed")  # counted, and once per client
        hosts = self._hosts
        page = hosts.origin(request)[:200]
        extra = sorted(hosts.allowed_origins)
        got = "none" if origin is None else repr(origin[:200])
        self._origin_log.once(
            (got, page, *extra),
            "refused %s from %s: its Origin %s is not the page's origin %r (from the "
            "request's Host%s) nor in allowed_origins %s. Behind a proxy, pass the "
            "browser's Host with its port (nginx: proxy_set_header Host $http_host;), "
            "or list the public origin in App(allowed_origins=...); see docs/deployment.md",
            what, hosts.client_address(request), got, page,
            " and X-Forwarded-Proto/-Host" if hosts.trust_proxy else "", extra or "[]")
