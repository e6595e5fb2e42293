"""Callback failures: an error id for the user, one traceback in the log.

A callback that raises shows its user "Something went wrong (error 3f2a9c)"
and the log gets the traceback under the same id, so the two can be matched
without the exception's text (paths, SQL, tokens) reaching a browser.  The
same callback raising the same exception type again is the same failure: it
keeps its id, and the log gets a one-line count at the 2nd, 4th, 8th ...
occurrence instead of a traceback per event.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections import OrderedDict

from .strings import strings

__all__ = ["FailureLog", "generic_message"]


def generic_message(error_id: str, language: str = "en") -> str:
    """What a user is told when the server failed on their event (in the
    App's *language*)."""
    return strings(language)["went_wrong"].replace("{id}", error_id)


class FailureLog:
    """Logs each distinct failure once, with an id, and counts its repeats.

    :param logger: where tracebacks and counts go.
    :param size: distinct failures remembered (least recent forgotten first).
    """

    def __init__(self, logger: logging.Logger, size: int = 1024) -> None:
        self._log = logger
        self._size = size
        # (where, exception type) -> [error id, occurrences]
        self._seen: OrderedDict[tuple[str, str], list[str | int]] = OrderedDict()
        self._lock = threading.Lock()

    def record(self, where: str, exc: BaseException, context: str = "") -> str:
        """Log *exc* raised in *where* (once per kind) and return its error id.

        :param where: the callback's name, or what the server was doing.
        :param context: appended to the log line (a redacted session, say).
        """
        kind = f"{type(exc).__module__}.{type(exc).__qualname__}"
        with self._lock:
            entry = self._seen.get((where, kind))
            if entry is None:
                entry = [secrets.token_hex(3), 0]
                self._seen[(where, kind)] = entry
                if len(self._seen) > self._size:
                    self._seen.popitem(last=False)
            else:
                self._seen.move_to_end((where, kind))
            entry[1] = count = int(entry[1]) + 1
            error_id = str(entry[0])
        suffix = f" {context}" if context else ""
        if count == 1:
            self._log.error("%s raised %s (error %s)%s", where, type(exc).__name__, error_id,
                            suffix, exc_info=(type(exc), exc, exc.__traceback__))
        elif count & (count - 1) == 0:  # 2, 4, 8, ...: a summary, not a flood
            self._log.error("%s raised %s again: %d times so far (error %s, traceback logged "
                            "the first time)%s", where, type(exc).__name__, count, error_id,
                            suffix)
        return error_id

    def count(self, where: str, exc_type: type[BaseException]) -> int:
        """How often *where* has raised *exc_type* (0 if never, or forgotten)."""
        kind = f"{exc_type.__module__}.{exc_type.__qualname__}"
        with self._lock:
            entry = self._seen.get((where, kind))
            return 0 if entry is None else int(entry[1])
