"""The exception tree: everything stgo raises on purpose is a :class:`StgoError`.

Every stgo exception is defined here, so that any module can raise or catch
one without importing the module that raises it::

    StgoError
    ├── ConfigurationError (also a ValueError)
    ├── AppLoadError
    ├── ProtocolError (also a ValueError)
    ├── WidgetError
    ├── CapacityError
    │   └── StagingFullError
    ├── MissingExtraError (also an ImportError)
    ├── SessionBusyError
    ├── CodecError (also a TypeError)
    ├── StoreError
    │   └── StoreUnavailableError
    ├── Cancelled
    └── AuthError
        └── SignInError
"""

from __future__ import annotations

__all__ = [
    "StgoError", "CapacityError", "ConfigurationError", "AppLoadError", "ProtocolError",
    "WidgetError", "MissingExtraError", "StagingFullError", "SessionBusyError", "CodecError",
    "StoreError", "StoreUnavailableError", "Cancelled", "AuthError", "SignInError",
]


class StgoError(Exception):
    """Base of every error stgo raises on purpose."""


class ConfigurationError(StgoError, ValueError):
    """A setting is out of range or of the wrong type; the message says the fix."""


class AppLoadError(StgoError):
    """An app file could not be loaded (missing, broken, or without an App)."""


class ProtocolError(StgoError, ValueError):
    """A client message is malformed; the message is safe to send back.

    :param seq: the ``seq`` of the event it is about, when one could be read
        (the client matches the error to its event by it); ``None`` otherwise.
    """

    def __init__(self, message: str, *, seq: int | None = None) -> None:
        super().__init__(message)
        self.seq = seq


class WidgetError(StgoError):
    """A widget was misused (duplicate key, wrong owner, bad value)."""


class CapacityError(StgoError):
    """A limit is reached (``max_sessions``, say); nothing was changed."""


class SessionBusyError(StgoError):
    """With many processes, another one held the session's event lock for a
    whole lease (:data:`stgo.cluster.relay.EVENT_LEASE`): the event was not run."""


class MissingExtraError(StgoError, ImportError):
    """An optional dependency is not installed; the message names the extra to install."""


class StagingFullError(CapacityError):
    """A session already has as many uploads, or bytes, staged as it may.

    :ivar reason: ``"count"`` or ``"bytes"``.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(f"too many staged uploads ({reason})")
        self.reason = reason


class CodecError(StgoError, TypeError):
    """A value cannot be stored (its type is not supported) or decoded."""


class StoreError(StgoError):
    """The store is misconfigured (a bad URL) or refused an operation."""


class StoreUnavailableError(StoreError):
    """The store cannot be reached right now (Redis down or paused).

    The server keeps serving what it can; ``/health`` says ``degraded``.
    """


class Cancelled(StgoError):
    """Raised inside a task (``session.run_task``) that changes a widget after
    it was cancelled: by ``task.cancel()``, by a newer task with the same
    key, or by its session's end.  The change is not pushed; let it end the
    task (the task runner does not report it as a failure)."""


class AuthError(StgoError):
    """Sign-in misuse: nobody is signed in where a user is needed
    (``session.user_state``), or the app has no ``auth=``."""


class SignInError(AuthError):
    """A sign-in that failed (the provider unreachable, consent denied, a
    wrong or replayed ``state`` or ``code``, a token failing verification).

    :ivar status: the HTTP status of the page the user is shown.
    :ivar title: that page's title; the message is the exception's text.
    :ivar detail: what the log says (never a token or a session ID).
    """

    def __init__(self, status: int, title: str, message: str, detail: str) -> None:
        super().__init__(message)
        self.status = status
        self.title = title
        self.detail = detail
