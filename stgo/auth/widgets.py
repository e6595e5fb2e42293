"""The sign-in and sign-out buttons (``app.login_button``, ``app.logout_button``).

Plain HTML, working without script: the sign-in button is a link to
``auth/login`` (the page it was clicked on comes back as ``next`` through
the same-origin ``Referer``), the sign-out button a form that POSTs to
``auth/logout`` (its ``Origin`` is checked).  Each is drawn for each
session: the first hidden once it is signed in, the second until it is.
"""

from __future__ import annotations

import time
from typing import ClassVar

from ..core.identity import USER_KEY, user_from
from ..widgets.base import StateReader, Widget, esc

__all__ = ["LoginButton", "LogoutButton"]


def _signed_in(state: StateReader | None) -> bool:
    return state is not None and user_from(state.get(USER_KEY), time.time()) is not None


class _AuthButton(Widget):
    """What both buttons share: a label, and being drawn per session."""

    def __init__(self, label: str, *, key: str | None = None, visible: bool = True) -> None:
        super().__init__(key=key, visible=visible)
        self.label = str(label)

    @property
    def per_session(self) -> bool:
        return True  # shown or not depends on the session's sign-in

    def render(self, state: StateReader | None = None) -> str:
        html = super().render(state)
        if self._visible and state is not None and not self.shown_to(state):
            # The same wrapper, hidden for this session only.
            html = html.replace(f'data-kind="{self.kind}"', f'data-kind="{self.kind}" hidden', 1)
        return html


class LoginButton(_AuthButton):
    """A "Sign in" link, shown to anonymous sessions only."""

    kind: ClassVar[str] = "login-button"

    def shown_to(self, state: StateReader | None) -> bool:
        return self._visible and not _signed_in(state)

    def render_body(self, state: StateReader | None) -> str:
        return (f'<a class="stgo-btn stgo-btn-primary" href="auth/login" '
                f'rel="nofollow">{esc(self.label)}</a>')


class LogoutButton(_AuthButton):
    """A "Sign out" button, shown to signed-in sessions only.

    :param everywhere: also end every other session of the user.
    """

    kind: ClassVar[str] = "logout-button"

    def __init__(self, label: str, *, everywhere: bool = False, key: str | None = None,
                 visible: bool = True) -> None:
        super().__init__(label, key=key, visible=visible)
        self.everywhere = bool(everywhere)

    def shown_to(self, state: StateReader | None) -> bool:
        return self._visible and (state is None or _signed_in(state))

    def render_body(self, state: StateReader | None) -> str:
        flag = '<input type="hidden" name="everywhere" value="1">' if self.everywhere else ""
        return (f'<form method="post" action="auth/logout">{flag}'
                f'<button type="submit" class="stgo-btn stgo-btn-secondary">'
                f'{esc(self.label)}</button></form>')
