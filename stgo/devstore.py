"""The development store: sessions kept across ``--reload`` restarts.

Under ``--reload`` every edit restarts the serving process, which used to
throw every session away: the browser came back to a fresh session, its
typing and clicks gone.  The reloader's parent picks a file in a private
temporary folder (or ``STGO_DEV_STORE``) and hands it to each child in the
environment; a child that is restarted for an edit writes its sessions (ID
and state) there on the way out, and the next child brings them back before
it serves, so the browser's cookie still names a live session and its tabs
reconnect to the same state.

What comes back: the ID and every state value that pickles (the
``on_session_start`` hooks run again, then the saved state is laid over what
they set, so widgets are rebuilt by the new code and show the old values).
What does not: values that do not pickle (logged), per-tab state, and
anything else only in memory.  This is for development on one machine only:
the file holds session IDs and is read back with :mod:`pickle`, so it lives
in a folder only this user may open.  A persistent session store (Redis),
where there is one, makes this unneeded.
"""

from __future__ import annotations

import atexit
import logging
import os
import pickle
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .ids import redact

if TYPE_CHECKING:
    from .app import App

__all__ = ["DevStore", "ENV_VAR", "dev_store_from_env", "prepare_dev_store"]

log = logging.getLogger("stgo")

#: The environment variable naming the file (set by the reloader's parent).
ENV_VAR = "STGO_DEV_STORE"

_FORMAT = 1


class DevStore:
    """A file of sessions (IDs and state) for the next process of this app.

    :param path: the file; its folder should be private to this user.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def save(self, app: App) -> int:
        """Write *app*'s live sessions; return how many.  Atomic: a reader
        sees the old file or the new one, never half of one."""
        records = []
        for session in app.sessions.sessions():
            if session.ended:
                continue
            state: dict[str, Any] = {}
            for key, value in session.items().items():
                try:
                    pickle.dumps(value)
                except Exception:
                    log.warning("--reload: %s of session %s does not pickle: not kept",
                                key, redact(session.id))
                    continue
                state[key] = value
            records.append((session.id, state))
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            pickle.dump({"format": _FORMAT, "sessions": records}, out)
        os.replace(tmp, self.path)
        log.info("--reload: kept %d session(s) for the next process", len(records))
        return len(records)

    def load(self, app: App) -> int:
        """Bring the saved sessions back into *app*; return how many."""
        try:
            with self.path.open("rb") as src:
                data = pickle.load(src)
        except FileNotFoundError:
            return 0
        except Exception:
            log.exception("--reload: cannot read %s: starting with no sessions", self.path)
            return 0
        if not isinstance(data, dict) or data.get("format") != _FORMAT:
            return 0
        restored = 0
        for session_id, state in data.get("sessions", []):
            if app.sessions.restore(session_id, state) is not None:
                restored += 1
        if restored:
            log.info("--reload: brought back %d session(s)", restored)
        return restored


def prepare_dev_store() -> Path:
    """In the reloader's parent: the file every child shares (``STGO_DEV_STORE``
    if set, else a new private temporary folder), named in the environment."""
    named = os.environ.get(ENV_VAR)
    if named:
        return Path(named)
    folder = tempfile.mkdtemp(prefix="stgo-dev-")  # mode 0700
    # Gone with the parent: the sessions end when the server does.
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    path = Path(folder) / "sessions.pickle"
    os.environ[ENV_VAR] = str(path)
    return path


def dev_store_from_env() -> DevStore | None:
    """In a reloader child: the store its parent named, if any."""
    named = os.environ.get(ENV_VAR)
    return DevStore(named) if named else None
