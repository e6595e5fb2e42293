"""``session.user_state``: the state of a *person*, shared by all their
sessions, devices and processes.

It is the session-state API (a :class:`~stgo.store.base.StateView`) over the
store's namespace ``u:<user id>``, through the store's codec, so with Redis it
is shared by every process and outlives the sessions; it lives
``user_state_ttl`` seconds after its last use.  A change redraws the user's
other open sessions (``session_page`` runs again there), on every process.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from ..store.base import StateView, Store
from ..store.users import user_ns

if TYPE_CHECKING:
    from ..core.session import Session

__all__ = ["UserState"]

T = TypeVar("T")


class Owner(Protocol):
    """What a user's state tells the identity service."""

    def state_used(self, user_id: str) -> None: ...
    def state_changed(self, user_id: str, origin: Session | None) -> None: ...


class UserState(StateView):
    """The state of user *user_id*, as seen from *session*.

    :param owner: told of each use (the TTL) and change (the redraws).
    """

    def __init__(self, store: Store, user_id: str, session: Session | None,
                 owner: Owner) -> None:
        super().__init__(store, user_ns(user_id))
        self.user_id = user_id
        self._session = session
        self._owner = owner

    def __repr__(self) -> str:
        return f"<UserState of {self.user_id!r}>"

    def _used(self) -> None:
        self._owner.state_used(self.user_id)

    def _changed(self) -> None:
        self._owner.state_used(self.user_id)
        self._owner.state_changed(self.user_id, self._session)

    def get(self, key: str, default: Any = None) -> Any:
        """The value under *key*, or *default*."""
        self._used()
        return super().get(key, default)

    def items(self) -> dict[str, Any]:
        """A copy of every key and value."""
        self._used()
        return super().items()

    def set(self, key: str, value: Any) -> None:
        """Store *value* under *key* (the codec's types: see docs/scaling.md)."""
        super().set(key, value)
        self._changed()

    def delete(self, key: str) -> bool:
        """Remove *key*; return whether it was there."""
        found = super().delete(key)
        if found:
            self._changed()
        return found

    def clear(self) -> None:
        """Remove every key."""
        super().clear()
        self._changed()

    def update(self, key: str, fn: Callable[[Any], T], default: Any = None) -> T:
        """Atomically replace the value under *key* with ``fn(old)`` (*fn* may
        run more than once: keep it free of side effects)."""
        new = super().update(key, fn, default)
        self._changed()
        return new

    def increment(self, key: str, amount: float = 1) -> Any:
        """Atomically add *amount* to the number under *key* (missing: 0); return it."""
        new = super().increment(key, amount)
        self._changed()
        return new
