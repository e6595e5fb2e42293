"""Who a session belongs to: :class:`User`, how a sign-in is kept in the
session's state, ``signed_in`` (the page access check), and what a session
asks of the app's identity service (:class:`IdentityLink`, which types the session as ``Any``: the
session module imports this one).

The sign-in lives in the session's own state under :data:`USER_KEY`, so it is
kept wherever the session is (memory, or the Redis store for every process),
moves with an ID rotation and ends with the session.  The provider's tokens
are never kept there (see docs/auth.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ..store.base import StateView

__all__ = ["User", "USER_KEY", "IdentityLink", "signed_in", "user_record", "user_from"]

#: The session-state key of the sign-in (reserved: apps must not write it).
USER_KEY = "_stgo_user"


@dataclass(frozen=True)
class User:
    """A signed-in person.

    :param id: the provider's subject (``sub``), stable for one person.
    :param email: their e-mail address, if the provider said (``None``: not said).
    :param name: their display name, if the provider said.
    :param claims: every claim of the ID token (and userinfo, when asked),
        plain JSON values.
    """

    id: str
    email: str | None = None
    name: str | None = None
    claims: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id or len(self.id) > 255:
            raise ValueError(f"User.id must be a non-empty string of at most 255 "
                             f"characters, got {self.id!r}")


def user_record(user: User, now: float, expires: float | None) -> dict[str, Any]:
    """What a session's state keeps of a sign-in at *now* (epoch seconds),
    good until *expires* (``None``: while the session lives)."""
    return {"id": user.id, "email": user.email, "name": user.name,
            "claims": dict(user.claims), "at": now,
            "exp": expires if expires is not None else 0.0}


def user_from(record: Any, now: float) -> User | None:
    """The user of a kept sign-in *record*, or ``None`` (none, malformed, or
    past its ``login_max_age`` at *now*)."""
    if not isinstance(record, dict) or not isinstance(record.get("id"), str):
        return None
    expires = record.get("exp") or 0.0
    if isinstance(expires, (int, float)) and expires and now >= expires:
        return None
    claims = record.get("claims")
    return User(id=record["id"],
                email=record.get("email") if isinstance(record.get("email"), str) else None,
                name=record.get("name") if isinstance(record.get("name"), str) else None,
                claims=dict(claims) if isinstance(claims, dict) else {})


class _Signed(Protocol):
    @property
    def user(self) -> User | None: ...


def signed_in(session: _Signed) -> bool:
    """The page access check of pages for signed-in users only:
    ``app.page("/reports", access=stgo.signed_in)``.

    An anonymous visitor who loads such a page is sent to sign in
    (``auth/login?next=<the page>``) and comes back to it afterwards.
    """
    return session.user is not None


class IdentityLink(Protocol):
    """What a session asks of the app's identity service (``stgo.auth``)."""

    def user_state(self, session: Any) -> StateView:
        """The state of *session*'s signed-in user.

        :raises ~stgo.errors.AuthError: nobody is signed in.
        """

    def adopt(self, session: Any) -> None:
        """A session object was made in this process (new, or loaded)."""

    def logout(self, session: Any, everywhere: bool) -> None:
        """Sign *session* out (and, *everywhere*, end the user's other sessions)."""
