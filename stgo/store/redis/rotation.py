"""Rotation tokens in Redis: any process may be asked to trade one.

When a session's ID is rotated, the tab holding the old ID gets a token to
trade for the new one; with Redis the token (by its hash) is kept in the
store for a short TTL, so that whichever process the tab reaches can trade it,
once.
"""

from __future__ import annotations

from .layout import Layout
from .link import Link

__all__ = ["Tokens"]


class Tokens:
    """Rotation tokens' new session IDs, by the token's hash."""

    def __init__(self, link: Link, layout: Layout) -> None:
        self._link = link
        self._layout = layout

    def put(self, token_hash: str, new_id: str, ttl: float) -> None:
        """Keep a rotation token (by its hash) for *ttl* seconds, for any process."""
        self._link.call(lambda r: r.set(self._layout.token(token_hash), new_id,
                                        px=max(1, int(ttl * 1000))))

    def take(self, token_hash: str) -> str | None:
        """The new session ID of a rotation token, once (``GETDEL``), or ``None``."""
        raw = self._link.call(lambda r: r.getdel(self._layout.token(token_hash)))
        return None if raw is None else raw.decode("ascii", "replace")
