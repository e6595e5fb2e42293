"""The development store: sessions kept across ``--reload`` restarts.

Under ``--reload`` every edit restarts the serving process, which used to
throw every session away: the browser came back to a fresh session, its
typing and clicks gone.  The reloader's parent picks a file in a private
temporary folder (or ``STGO_DEV_STORE``) and hands it to each child in the
environment; a child that is restarted for an edit writes its sessions (and
the app's shared values) there on the way out, and the next child brings them
back before it serves, so the browser's cookie still names a live session and
its tabs reconnect to the same state.

What comes back, as a restart with a persistent store keeps it: each
session's ID (so the browser's cookie stays valid), its creation time and
whether it is still pending, and every state value that pickles (the
``on_session_start`` hooks run again, then the saved state is laid over what
they set, and only then does ``session_page`` draw, so the new code's page
shows the old values); ``app.state``; and the run-time attributes of every
keyed global widget (a metric's value, a shared input's value).  What does
not: values that do not pickle (logged), per-tab state, unkeyed global
widgets' changes, and anything else only in memory.  This is for development
on one machine only: the file holds session IDs and is read back with
:mod:`pickle`, so it lives in a folder only this user may open.  A
persistent session store (Redis), where there is one, makes this unneeded.
"""

from __future__ import annotations

import atexit
import logging
import os
import pickle
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ..cluster.persist import apply_attrs, snapshot
from ..ids import redact

if TYPE_CHECKING:
    from ..core.manager import SessionManager
    from ..store import StateView, Store
    from ..widgets.base import Widget

__all__ = ["DevStore", "Kept", "ENV_VAR", "dev_store_from_env", "prepare_dev_store"]

log = logging.getLogger("stgo")

#: The environment variable naming the file (set by the reloader's parent).
ENV_VAR = "STGO_DEV_STORE"

_FORMAT = 2


class Kept(Protocol):
    """What a :class:`DevStore` keeps of an app (the App is one)."""

    @property
    def sessions(self) -> SessionManager: ...

    @property
    def store(self) -> Store: ...

    @property
    def state(self) -> StateView: ...

    def every_global_widget(self) -> list[Widget]: ...


class DevStore:
    """A file of sessions (IDs and state) for the next process of this app.

    :param path: the file; its folder should be private to this user.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        # Keyed global widgets as this process's module built them (by key):
        # only what changed at run time is kept, so an edited label wins.
        self._built: dict[str, dict[str, bytes | None]] = {}

    def save(self, app: Kept) -> int:
        """Write *app*'s live sessions, ``app.state`` and its keyed global
        widgets' run-time changes (since :meth:`load`, which notes what the
        module built); return how many sessions.  Atomic: a reader sees the
        old file or the new one, never half of one."""
        records = []
        for session in app.sessions.sessions():
            if session.ended:
                continue
            state = _pickling(session.items(), f"of session {redact(session.id)}")
            records.append({"id": session.id, "state": state, "created_at": session.created_at,
                            "pending": not session.activated})
        widgets = {}
        for widget in _keyed_globals(app):
            built = self._built.get(widget.key, {})
            attrs = _pickling(snapshot(widget, app.store), f"of widget {widget.key!r}")
            changed = {name: value for name, value in attrs.items()
                       if built.get(name) != _pickled(value)}
            if changed:
                widgets[widget.key] = changed
        data = {"format": _FORMAT, "sessions": records, "globals": widgets,
                "app_state": _pickling(app.state.items(), "of app.state")}
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            pickle.dump(data, out)
        os.replace(tmp, self.path)
        log.info("--reload: kept %d session(s) for the next process", len(records))
        return len(records)

    def load(self, app: Kept) -> int:
        """Bring the saved sessions back into *app*; return how many.  Call
        it before the app starts: global widgets are set without a push."""
        self._built = {widget.key: {name: _pickled(value)
                                    for name, value in snapshot(widget, app.store).items()}
                       for widget in _keyed_globals(app)}
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
        # The app's own first: a session's start hooks and page may read them.
        for key, value in data.get("app_state", {}).items():
            app.state.set(key, value)
        saved = data.get("globals", {})
        for widget in _keyed_globals(app):
            if saved.get(widget.key):
                apply_attrs(widget, saved[widget.key])
        restored = 0
        for record in data.get("sessions", []):
            if app.sessions.restore(record["id"], record["state"],
                                    created_at=record["created_at"],
                                    pending=record["pending"]) is not None:
                restored += 1
        if restored:
            log.info("--reload: brought back %d session(s)", restored)
        return restored


def _keyed_globals(app: Kept) -> Iterator[Widget]:
    """The global widgets of every page that have a key (what a next process
    can find again)."""
    for top in app.every_global_widget():
        for widget in top.walk():
            if widget.key != widget.id:
                yield widget


def _pickled(value: Any) -> bytes | None:
    """*value* pickled (to compare), or ``None`` if it does not pickle."""
    try:
        return pickle.dumps(value)
    except Exception:
        return None


def _pickling(values: dict[str, Any], where: str) -> dict[str, Any]:
    """The items of *values* that pickle; the others are logged and left out."""
    kept = {}
    for key, value in values.items():
        try:
            pickle.dumps(value)
        except Exception:
            log.warning("--reload: %s %s does not pickle: not kept", key, where)
            continue
        kept[key] = value
    return kept


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
