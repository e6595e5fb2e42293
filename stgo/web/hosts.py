"""Who asked: the host, scheme, path prefix and address of a request, through
a trusted proxy's headers, and whether the host and an ``Origin`` are allowed."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from typing import Protocol

from werkzeug.wrappers import Request

from ..errors import ConfigurationError

__all__ = ["HostPolicy", "Hosts", "AllowedHosts", "LOCAL_HOSTS", "host_name", "is_loopback"]

#: The names a page on loopback may be asked for (see ``App(allowed_hosts=)``).
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})

# A path prefix a proxy may name (X-Forwarded-Prefix): segments of URL-safe
# characters, no "." or ".." segment.
_PREFIX = re.compile(r"^(?:/(?!\.\.?(?:/|$))[A-Za-z0-9._~!$&'()*+,;=:@%-]+)+$")


class HostPolicy(Protocol):
    """What the app says about the hosts and origins it serves (the App is
    one); read on every request, so a change applies at once."""

    @property
    def trust_proxy(self) -> bool:
        """Believe the proxy's ``X-Forwarded-*`` (or ``Forwarded``) headers."""

    @property
    def allowed_origins(self) -> frozenset[str]:
        """Origins allowed besides the page's own."""

    def effective_allowed_hosts(self) -> frozenset[str] | None:
        """The host names served now, or ``None`` for any."""


class Hosts:
    """Reads a request as the browser made it, through a trusted proxy.

    :param policy: the app's hosts, origins and whether it trusts a proxy.
    """

    def __init__(self, policy: HostPolicy) -> None:
        self._policy = policy

    @property
    def trust_proxy(self) -> bool:
        """Whether a proxy's headers are believed."""
        return self._policy.trust_proxy

    @property
    def allowed_origins(self) -> frozenset[str]:
        """Origins allowed besides the page's own."""
        return self._policy.allowed_origins

    def forwarded(self, request: Request, name: str) -> str | None:
        """What the trusted proxy says about *name* (``for``, ``proto``, ``host``).

        The entry the proxy added: the *last* of ``X-Forwarded-For`` (or
        ``-Proto``, ``-Host``), or of RFC 7239 ``Forwarded`` when those are
        absent.  Earlier entries come from the client and prove nothing.
        ``None`` without ``trust_proxy``, or when the proxy said nothing.
        """
        if not self._policy.trust_proxy:
            return None
        legacy = request.headers.get(f"X-Forwarded-{name.capitalize()}", "")
        if legacy.strip():
            return legacy.split(",")[-1].strip() or None
        standard = request.headers.get("Forwarded", "")
        if not standard.strip():
            return None
        for pair in standard.split(",")[-1].split(";"):
            key, _, value = pair.partition("=")
            if key.strip().lower() == name:
                value = value.strip().strip('"')
                if name == "for" and value.startswith("["):
                    value = value[1:].split("]", 1)[0]  # "[2001:db8::1]:4711"
                return value or None
        return None

    def is_https(self, request: Request) -> bool:
        """Whether the browser asked over HTTPS (to the proxy, behind one)."""
        proto = self.forwarded(request, "proto")
        if proto is not None:
            return proto.lower() == "https"
        return request.scheme == "https"

    def host(self, request: Request) -> str:
        """The page's public host (and port), as the browser asked for it."""
        return self.forwarded(request, "host") or request.host

    def origin(self, request: Request) -> str:
        """The page's own origin (``https://host:port``), as the browser sees it."""
        return f"{'https' if self.is_https(request) else 'http'}://{self.host(request)}"

    def allowed(self, request: Request) -> bool:
        """Whether the request's host is one of ``App.allowed_hosts``."""
        allowed = self._policy.effective_allowed_hosts()
        if allowed is None:
            return True
        name = host_name(self.host(request))
        return any(name == a or (a.startswith(".") and (name.endswith(a) or name == a[1:]))
                   for a in allowed)

    def origin_allowed(self, request: Request, origin: str) -> bool:
        """Whether *origin* (an ``Origin`` header) is the page's own or an allowed one."""
        origin = origin.rstrip("/")
        return origin == self.origin(request) or origin in self._policy.allowed_origins

    def prefix(self, request: Request) -> str:
        """The app's public path prefix (``""`` at the root of its host): the
        mount's ``SCRIPT_NAME``, under what a trusted proxy says it stripped
        (``X-Forwarded-Prefix: /app``; a value that is no plain path is ignored)."""
        root = request.script_root or ""
        said = (self.forwarded(request, "prefix") or "").rstrip("/")
        if said and len(said) <= 1024 and _PREFIX.match(said):
            return said + root
        return root

    def client_address(self, request: Request) -> str:
        """The client's address, for the per-address limit and the logs.

        Behind a trusted proxy every request comes from the proxy, which
        would make the per-address limit one limit for everybody: take the
        address the proxy saw instead, the last ``X-Forwarded-For`` entry (the
        one it added; earlier entries come from the client and prove nothing).
        """
        return self.forwarded(request, "for") or request.remote_addr or "?"


def host_name(host: str) -> str:
    """The name in a ``Host`` value, lower-cased, without port or brackets:
    ``"[::1]:8501"`` is ``"::1"``, ``"Example.COM.:80"`` is ``"example.com"``."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    if host.count(":") > 1:  # a bare IPv6 address
        return host
    return host.split(":", 1)[0].rstrip(".")


def is_loopback(host: str) -> bool:
    """Whether *host* (a name or address to listen on) is this machine only."""
    name = host_name(host)
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class AllowedHosts:
    """The ``allowed_hosts`` setting (see :class:`stgo.App`), and the host
    names it means now.

    :param hosts: host name patterns (``".example.com"`` a domain and its
        subdomains, ``"*"`` any), or ``None`` for the default.
    """

    def __init__(self, hosts: Iterable[str] | None = None) -> None:
        #: The patterns, normalised, or ``None`` (the default).
        self.patterns = None if hosts is None else host_patterns(hosts)
        #: Set by stgo's server: it listens on a loopback address.
        self.loopback_only = False

    def listening_on(self, host: str) -> None:
        """The server listens on *host*: a loopback one limits the default
        to :data:`LOCAL_HOSTS`."""
        self.loopback_only = is_loopback(host)

    def effective(self, trust_proxy: bool) -> frozenset[str] | None:
        """The host names served now, or ``None`` for any."""
        if self.patterns is not None:
            return None if "*" in self.patterns else self.patterns
        if self.loopback_only and not trust_proxy:
            return LOCAL_HOSTS
        return None


def host_patterns(hosts: Iterable[str]) -> frozenset[str]:
    """``allowed_hosts`` as compared: lower-case names, no port or brackets.

    :raises ConfigurationError: one string instead of a list, an empty name,
        or no name at all.
    """
    if isinstance(hosts, str):
        raise ConfigurationError("allowed_hosts must be a list of names, not one string")
    patterns = set()
    for host in hosts:
        name = host.strip().lower()
        if name not in ("*", "") and not name.startswith("."):
            name = host_name(name)
        if not name:
            raise ConfigurationError(f"allowed_hosts: empty host name in {hosts!r}")
        patterns.add(name)
    if not patterns:
        raise ConfigurationError("allowed_hosts is empty: nobody could reach the app "
                                 "(None means the default)")
    return frozenset(patterns)
