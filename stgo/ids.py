"""Session IDs: generation and strict validation.

An ID looks like ``session_{timestamp}_{random}``: the timestamp is the creation
time in whole milliseconds since the epoch and only helps humans order IDs; the
security comes from the random part, 32 URL-safe base64 characters drawn from
:mod:`secrets` (192 bits).  Every ID that arrives from outside goes through
:func:`is_valid_session_id` before it is used to look anything up.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time

__all__ = ["new_session_id", "is_valid_session_id", "redact", "RANDOM_BYTES"]

#: Bytes of randomness in an ID (24 bytes = 192 bits, 32 characters of base64).
RANDOM_BYTES = 24
_RANDOM_CHARS = 32

# Prefix, 1-16 digits of milliseconds, then exactly the random part.  Anchored
# with \Z so that a trailing newline is refused too.  The timestamp only orders
# IDs for humans, so any width is accepted: a fake clock near 0 (tests) must
# still make IDs that the manager can look up.
_ID_RE = re.compile(rf"session_[0-9]{{1,16}}_[A-Za-z0-9_-]{{{_RANDOM_CHARS}}}\Z")
_MAX_LEN = len("session_") + 16 + 1 + _RANDOM_CHARS

# A per-process key for log redaction: the same ID gives the same short tag
# within one process, which is enough to follow a session through the logs,
# but the tag cannot be turned back into the ID.
_REDACT_KEY = secrets.token_bytes(16)


def new_session_id(now: float | None = None) -> str:
    """Return a fresh session ID.

    :param now: creation time in epoch seconds; ``None`` means the current time.
    """
    stamp = int((time.time() if now is None else now) * 1000)
    return f"session_{stamp}_{secrets.token_urlsafe(RANDOM_BYTES)}"


def is_valid_session_id(value: object) -> bool:
    """Tell whether *value* has the exact shape of an ID this module makes.

    Cheap and safe for any input: the length is checked before the pattern, so
    a 10 MB string costs nothing.
    """
    return (
        isinstance(value, str)
        and len(value) <= _MAX_LEN
        and value.isascii()
        and _ID_RE.match(value) is not None
    )


def redact(session_id: str) -> str:
    """Return a short keyed hash of *session_id*, safe to write to logs."""
    digest = hmac.new(_REDACT_KEY, session_id.encode("utf-8", "replace"), hashlib.sha256)
    return "sid:" + digest.hexdigest()[:12]
