"""``stgo run FILE`` (or ``python -m stgo run FILE``): load an app file and serve it;
``stgo hello`` serves the tour that ships with stgo."""

from __future__ import annotations

import argparse
import logging
import os
import runpy
import signal
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .app import App
from .errors import AppLoadError, ConfigurationError, StoreError
from .server.binding import listen, reloader_port
from .server.handler import RequestHandler
from .workers import WORKER_FDS_OPTION, Supervisor, keep_worker_fds, serve_worker

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

__all__ = ["main", "load_app", "hello_app"]

EXIT_USAGE = 2


def load_app(path: str | os.PathLike[str]) -> App:
    """Run the file at *path* and return the :class:`App` it made.

    The variable ``app`` wins; otherwise the only App among its globals.

    :raises AppLoadError: the file is missing, does not compile, raises, or
        makes no App; the message says which and where.
    """
    file = Path(path)
    if not file.is_file():
        raise AppLoadError(f"no such file: {str(path)!r}")
    directory = str(file.resolve().parent)
    if directory not in sys.path:
        sys.path.insert(0, directory)
    try:
        namespace = runpy.run_path(str(file), run_name="__stgo_app__")
    except SyntaxError as exc:
        where = f"{exc.filename}, line {exc.lineno}"
        raise AppLoadError(f"syntax error in {where}: {exc.msg}") from None
    except Exception as exc:
        detail = "".join(traceback.format_exception(exc)[-3:]).rstrip()
        raise AppLoadError(f"{file} raised while loading:\n{detail}") from None
    candidate = namespace.get("app")
    if isinstance(candidate, App):
        return candidate
    apps = [v for v in namespace.values() if isinstance(v, App)]
    if len(apps) == 1:
        return apps[0]
    if not apps:
        raise AppLoadError(f"{file} makes no stgo.App: add `app = stgo.App(title=...)`")
    raise AppLoadError(f"{file} makes {len(apps)} Apps: name the one to serve `app`")


def _env_float(name: str) -> float | None:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return None
    try:
        return float(raw)
    except ValueError:
        raise AppLoadError(f"{name} must be a number of seconds, got {raw!r}") from None


def hello_path() -> Path:
    """The tour app that ships inside the package (``stgo hello``)."""
    return Path(__file__).resolve().parent / "hello.py"


def hello_app() -> App:
    """A fresh App of the tour.  Not through :func:`load_app`: with stgo's own
    folder on ``sys.path``, stgo's ``http`` would shadow the standard library's."""
    app = runpy.run_path(str(hello_path()), run_name="__stgo_app__").get("app")
    if not isinstance(app, App):  # pragma: no cover - the tour is ours
        raise AppLoadError("stgo/hello.py makes no App")
    return app


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog or _prog(), description="Serve a stgo app.")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="serve an app file")
    run.add_argument("file", help="the Python file that creates the stgo.App")
    _serving_options(run)
    hello = sub.add_parser("hello", help="serve the tour of stgo (stgo/hello.py)")
    _serving_options(hello)
    return parser


def _prog() -> str:
    # "stgo" from the console script, "python -m stgo" from the module.
    name = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else ""
    return "python -m stgo" if name in ("__main__.py", "-m", "") else "stgo"


def _serving_options(run: argparse.ArgumentParser) -> None:
    run.add_argument("--host", help="interface to listen on (default 127.0.0.1; env STGO_HOST)")
    run.add_argument("--port", type=int,
                     help="port; 0 picks a free one (default 8501; env STGO_PORT)")
    run.add_argument("--session-timeout", type=float, metavar="S",
                     help="idle seconds before a session expires (env STGO_SESSION_TIMEOUT)")
    run.add_argument("--cleanup-interval", type=float, metavar="S",
                     help="seconds between expiry passes (env STGO_CLEANUP_INTERVAL)")
    run.add_argument("--allowed-hosts", metavar="NAMES",
                     help="comma-separated host names the app answers to, '.example.com' for "
                          "a domain and its subdomains (default: local names on loopback, "
                          "else any; env STGO_ALLOWED_HOSTS)")
    run.add_argument("--store", metavar="URL",
                     help="where sessions live: memory (default) or redis://host:port/db "
                          "(env STGO_STORE)")
    run.add_argument("--workers", type=int, metavar="N",
                     help="processes serving the app on one port; more than 1 needs a shared "
                          "store, --store redis://... (default 1; env STGO_WORKERS). SIGHUP "
                          "to the supervisor starts new workers, which load the app file "
                          "afresh, and stops the old ones once the new ones serve")
    run.add_argument("--reload", action="store_true", help="restart when a source file changes")
    # Set by the supervisor of --workers for each worker it starts.
    run.add_argument(WORKER_FDS_OPTION, dest="worker_fds", help=argparse.SUPPRESS)
    run.add_argument("--log-level", default=os.environ.get("STGO_LOG_LEVEL", "INFO"),
                     help="logging level (default INFO)")


def main(argv: Sequence[str] | None = None) -> int:
    """The command line; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    # Several workers write to one terminal: say which one speaks.
    where = " [%(process)d]" if args.worker_fds else ""
    try:
        logging.basicConfig(level=args.log_level.upper(),
                            format=f"%(asctime)s %(name)s{where} %(levelname)s %(message)s")
    except ValueError:  # an unknown level name: one line, not a traceback
        print(f"stgo: error: unknown --log-level {args.log_level!r}", file=sys.stderr)
        return EXIT_USAGE
    # Werkzeug sets its own logger to INFO (its access log) unless it has a
    # level: it follows --log-level like the rest.
    logging.getLogger("werkzeug").setLevel(args.log_level.upper())
    if args.worker_fds is not None:
        # Before the app file runs: what it starts must not inherit them.
        try:
            keep_worker_fds(args.worker_fds)
        except (ValueError, OSError):
            print(f"stgo: error: bad {WORKER_FDS_OPTION} {args.worker_fds!r} "
                  "(set by the supervisor of --workers)", file=sys.stderr)
            return EXIT_USAGE
    if args.store is not None:
        # Before the app file runs: its App reads STGO_STORE when it is made.
        os.environ["STGO_STORE"] = args.store
    try:
        host = args.host or os.environ.get("STGO_HOST") or "127.0.0.1"
        port_raw = args.port if args.port is not None else os.environ.get("STGO_PORT", "8501")
        try:
            port = int(port_raw)
        except ValueError:
            raise AppLoadError(f"STGO_PORT must be a port number, got {port_raw!r}") from None
        workers = _workers(args)
    except AppLoadError as exc:
        print(f"stgo: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if workers > 1 and args.worker_fds is None:
        return _supervise(argv, host, port, workers)
    try:
        if args.reload:
            # Before anything can fail: every reloaded child, the one showing
            # a load error included, then shares one file of sessions.
            from .server.devstore import prepare_dev_store

            prepare_dev_store()
        try:
            app = hello_app() if args.command == "hello" else load_app(args.file)
        except AppLoadError as exc:
            if not args.reload or not Path(args.file).is_file():
                raise
            # As Flask's reloader does: say what is wrong, show it on the
            # page, and load again when the file changes.
            print(f"stgo: error: {exc}", file=sys.stderr, flush=True)
            return _serve_load_error(str(exc), args.file, host, port)
        # `is not None`, not `or`: a flag of 0 must reach the setter (and be
        # refused there), not fall through silently to the env var or default.
        timeout = (args.session_timeout if args.session_timeout is not None
                   else _env_float("STGO_SESSION_TIMEOUT"))
        interval = (args.cleanup_interval if args.cleanup_interval is not None
                    else _env_float("STGO_CLEANUP_INTERVAL"))
        hosts = (args.allowed_hosts if args.allowed_hosts is not None
                 else os.environ.get("STGO_ALLOWED_HOSTS"))
        if hosts is not None:
            try:
                app.allowed_hosts = [h for h in hosts.split(",") if h.strip()]
            except ConfigurationError as exc:
                raise AppLoadError(str(exc)) from None
        if timeout is not None:
            app.sessions.session_timeout = timeout
        if interval is not None:
            app.sessions.cleanup_interval = interval
        if args.worker_fds and not app.store.persistent:
            raise AppLoadError(
                f"{workers} workers need a shared store: each would keep its own sessions in "
                "memory. Use --store redis://host:port/db (or STGO_STORE)")
    except (AppLoadError, StoreError, ValueError) as exc:
        print(f"stgo: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.reload:
        app.show_error_details = True  # a developer at work: show what raised
    try:
        if args.worker_fds:
            serve_worker(app, host, args.worker_fds)
        else:
            app.run(host=host, port=port, reload=args.reload)
    except StoreError as exc:
        print(f"stgo: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        return _cannot_listen(host, port, exc)
    # Stopped: one more SIGTERM (a supervisor that repeats itself) must not
    # turn the clean exit that follows into a death by signal.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_IGN)
    return 0


def _workers(args: argparse.Namespace) -> int:
    """How many processes serve the app: ``--workers`` > ``STGO_WORKERS`` > 1."""
    raw = args.workers if args.workers is not None else os.environ.get("STGO_WORKERS") or "1"
    try:
        workers = int(raw)
    except ValueError:
        raise AppLoadError(f"STGO_WORKERS must be a whole number, got {raw!r}") from None
    if workers < 1:
        raise AppLoadError(f"--workers must be at least 1, got {workers}")
    if workers > 1 and args.reload:
        raise AppLoadError("--reload serves one process: use it without --workers")
    return workers


def _supervise(argv: list[str], host: str, port: int, workers: int) -> int:
    """Bind *host*:*port* once and run *workers* processes on it (see stgo.workers)."""
    try:
        listener = listen(host, port)
    except OSError as exc:
        return _cannot_listen(host, port, exc)
    with listener:
        return Supervisor(argv, listener, workers).run()


def _cannot_listen(host: str, port: int, exc: OSError) -> int:
    """Say that *host*:*port* cannot be bound (taken, say), as one line."""
    print(f"stgo: error: cannot listen on {host}:{port}: {exc.strerror or exc}", file=sys.stderr)
    return EXIT_USAGE


class LoadErrorPage:
    """The WSGI app served under ``--reload`` while the app file fails to load.

    Every request gets a 500 page with the error (the developer's own file:
    nothing secret); it reloads itself every few seconds, so the page shows
    the app again once the file is fixed and the reloader has restarted.
    Each answer says :attr:`header`: a tab of the app that lost its socket
    asks ``health``, sees it and reloads into this page (docs/protocol.md).
    """

    #: The response header that marks this page.
    header = "X-Stgo-Load-Error"

    #: Seconds between the error page's reloads.
    refresh = 2

    def __init__(self, message: str) -> None:
        self.message = message

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        from .widgets.base import esc, valid_unicode

        body = (
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="refresh" content="{self.refresh}">'
            "<title>stgo: the app failed to load</title></head><body>"
            "<h1>The app failed to load</h1>"
            f"<pre>{esc(self.message)}</pre>"
            "<p>Fix the file: the server is watching it and reloads when it changes.</p>"
            "</body></html>"
        )
        data = valid_unicode(body).encode("utf-8")
        start_response("500 Internal Server Error", [
            ("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(data))),
            ("Cache-Control", "no-store"), (self.header, "1"),
        ])
        return [data] if environ.get("REQUEST_METHOD") != "HEAD" else []


def _serve_load_error(message: str, file: str, host: str, port: int) -> int:
    """Serve :class:`LoadErrorPage` and watch *file* until it changes; the
    reloader then runs the CLI again, which loads the fixed file."""
    from werkzeug.serving import is_running_from_reloader, run_simple

    try:
        if not is_running_from_reloader():
            port = reloader_port(host, port)  # as the reloading server does
            shown = host if ":" not in host else f"[{host}]"
            print(f"stgo: serving the load error at http://{shown}:{port}/ (reloading on change)",
                  flush=True)
        run_simple(host, port, LoadErrorPage(message), threaded=True, use_reloader=True,
                   extra_files=[str(Path(file).resolve())], request_handler=RequestHandler)
    except OSError as exc:
        return _cannot_listen(host, port, exc)
    return 0
