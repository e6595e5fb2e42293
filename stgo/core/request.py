"""What a browser's request told: its headers, cookies and address.

A page load stores one on its session (``session.request``) and a
WebSocket handshake one on its tab (``session.tab.request``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

__all__ = ["RequestInfo", "Headers"]


@dataclass(frozen=True)
class RequestInfo:
    """What a request told about its browser: headers, cookies, address.

    The session cookie is never in it (not in :attr:`cookies`, and the
    ``Cookie`` header is left out of :attr:`headers`): app code may show any
    of this to the user without leaking the session ID.

    :param headers: request headers, case-insensitive names.
    :param cookies: the request's cookies but the session cookie.
    :param client_address: the client's address (behind ``trust_proxy``,
        the one the proxy saw).
    :param url: the URL the browser asked for (no query string).
    """

    headers: Mapping[str, str] = field(default_factory=dict)
    cookies: Mapping[str, str] = field(default_factory=dict)
    client_address: str = "?"
    url: str = ""

    @property
    def remote_addr(self) -> str:
        """Alias of :attr:`client_address` (Flask's name)."""
        return self.client_address


class Headers(Mapping[str, str]):
    """A read-only, case-insensitive copy of request headers."""

    def __init__(self, pairs: Iterator[tuple[str, str]] | list[tuple[str, str]]) -> None:
        self._items: dict[str, tuple[str, str]] = {}
        for name, value in pairs:
            lower = name.lower()
            if lower in self._items:
                value = f"{self._items[lower][1]}, {value}"
            self._items[lower] = (name, value)

    def __getitem__(self, name: str) -> str:
        return self._items[name.lower()][1]

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._items

    def __repr__(self) -> str:
        return f"Headers({dict(self)!r})"
