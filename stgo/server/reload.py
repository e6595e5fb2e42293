"""``--reload``: serve under Werkzeug's reloader, sessions kept across restarts."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Protocol

from werkzeug.serving import is_running_from_reloader, run_simple

from ..transport.ws import CLOSE_LINGER
from .binding import reloader_port
from .devstore import DevStore, Kept, dev_store_from_env, prepare_dev_store
from .handler import RequestHandler

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

__all__ = ["Reloadable", "serve_reloading"]

log = logging.getLogger("stgo")


class Hub(Protocol):
    """The open connections, as the reloader sees them."""

    def __len__(self) -> int: ...

    def close_all(self, code: int = ..., reason: str = ...) -> int: ...


class Reloadable(Kept, Protocol):
    """What :func:`serve_reloading` (and :func:`~stgo.server.serving.serve`)
    needs of the app it serves (the App is one)."""

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse
                 ) -> Iterable[bytes]: ...

    def listening_on(self, host: str) -> None: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def handed_over(self) -> None: ...

    @property
    def hub(self) -> Hub: ...

    @property
    def page_title(self) -> str: ...


def serve_reloading(app: Reloadable, host: str, port: int) -> None:
    """Serve *app* with Werkzeug's reloader: a child process serves, and
    another replaces it on each edit, with the sessions it kept."""
    app.listening_on(host)
    child = is_running_from_reloader()
    # A persistent store (Redis) keeps the sessions across restarts itself.
    store = dev_store_from_env() if child and not app.store.persistent else None
    if child:
        if store is not None:
            store.load(app)
        app.start()
    else:
        # The children share one file of sessions (see stgo.server.devstore).
        prepare_dev_store()
        # The reloader's child serves a socket the parent binds: a port that
        # is taken fails here, and port 0 is picked here so that the URL line
        # names the real one.
        port = reloader_port(host, port)
    display = f"http://{host}:{port}/"
    if not child:
        print(f"stgo: serving {app.page_title!r} at {display} (reloading on change)", flush=True)
    restarting = False
    try:
        run_simple(host, port, app, threaded=True, use_reloader=True,
                   request_handler=RequestHandler)
    except SystemExit as exc:
        # Werkzeug's reloader leaves a child with status 3 to restart it.
        restarting = child and exc.code == 3
        raise
    finally:
        if restarting and store is not None:
            _hand_over(app, store)
        else:
            app.stop()


def _hand_over(app: Reloadable, store: DevStore) -> None:
    """A child restarted for an edit: keep the sessions for the next one
    instead of ending them, and tell the tabs to reconnect (1012)."""
    try:
        store.save(app)
    except Exception:
        log.exception("--reload: could not keep the sessions")
        app.stop()
        return
    app.hub.close_all(1012, "server restarting")
    app.sessions.stop(end_sessions=False)
    app.handed_over()
    deadline = time.monotonic() + CLOSE_LINGER + 1.0
    while len(app.hub) and time.monotonic() < deadline:
        time.sleep(0.01)
