"""The servers under test: stgo and the floor from this tree, Streamlit and NiceGUI
each from its own virtualenv (made on demand, never in stgo's dependencies).

A peer whose virtualenv cannot be made is *missing*: :func:`ensure_peers` says
so on stderr and in the run's JSON, and the table names it; it is never
skipped silently.
"""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from pathlib import Path

import psutil

from ..proc import Server, free_port, run_server, stop

__all__ = ["PINS", "VENVS", "APPS", "ensure_peers", "server", "tree_rss", "tree_cpu",
           "versions"]

HERE = Path(__file__).resolve().parent
APPS = HERE / "apps"
#: Outside the tree, so tools and tests that walk it never read the peers' 16,000 files.
VENVS = Path(os.environ.get("STGO_BENCH_VENVS", Path.home() / ".cache" / "stgo-bench" / "venvs"))
#: The peers' versions, pinned so runs compare (pip's cache makes a new venv quick).
PINS = {"streamlit": "streamlit==1.67.0", "nicegui": "nicegui==3.18.0"}


def _venv_python(root: Path, name: str) -> Path:
    return root / name / "bin" / "python"


def ensure_peers(names: list[str], root: Path = VENVS,
                 log: object = None) -> tuple[dict[str, Path], dict[str, str]]:
    """A Python for each peer in *names* (making its venv under *root* if need be).

    :returns: ({name: python}, {name: why it is missing}).
    """
    found: dict[str, Path] = {}
    missing: dict[str, str] = {}
    for name in names:
        py = _venv_python(root, name)
        stamp = root / name / ".installed"
        pin = PINS[name]
        try:
            if not stamp.is_file() or stamp.read_text().strip() != pin:
                print(f"bench.users: making {root / name} ({pin}) ...", file=sys.stderr,
                      flush=True)
                subprocess.run([sys.executable, "-m", "venv", str(root / name)], check=True,
                               capture_output=True, text=True)
                subprocess.run([str(py), "-m", "pip", "install", "--quiet", pin], check=True,
                               capture_output=True, text=True, timeout=900)
                stamp.write_text(pin + "\n")
            subprocess.run([str(py), "-c", f"import {name}"], check=True, capture_output=True,
                           text=True, timeout=120)
            found[name] = py
        except (OSError, subprocess.SubprocessError) as exc:
            detail = getattr(exc, "stderr", None) or str(exc)
            missing[name] = f"no virtualenv with {pin} at {root / name}: {detail.strip()[-400:]}"
            print(f"bench.users: PEER MISSING: {name}: {missing[name]}", file=sys.stderr,
                  flush=True)
    return found, missing


def versions(pythons: dict[str, Path]) -> dict[str, str]:
    """Each framework's installed version (stgo's from this tree)."""
    import stgo

    out = {"stgo": stgo.__version__, "python": sys.version.split()[0]}
    for name, py in pythons.items():
        res = subprocess.run([str(py), "-c", f"import importlib.metadata as m; "
                              f"print(m.version('{name}'))"], capture_output=True, text=True)
        out[name] = res.stdout.strip() or "?"
    return out


@contextmanager
def _http_server(argv: list[str], port: int, health: str, env: dict[str, str] | None = None,
                 timeout: float = 60.0) -> Iterator[Server]:
    """Run *argv*; wait for ``GET health`` to answer 200 on *port*; end it after."""
    log = open(os.devnull, "w")  # noqa: SIM115 - closed in finally
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=str(HERE),
                            env={**os.environ, **(env or {})})
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{argv[:4]} exited with {proc.returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{argv[:4]} did not answer {health} in {timeout:.0f} s")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", health)
                if conn.getresponse().status == 200:
                    conn.close()
                    break
                conn.close()
            except OSError:
                pass
            time.sleep(0.2)
        yield Server(f"http://127.0.0.1:{port}/", proc)  # type: ignore[arg-type]
    finally:
        stop(proc, timeout=15)
        log.close()


def server(framework: str, scenario: str, pythons: dict[str, Path],
           redis_url: str | None = None) -> AbstractContextManager[Server]:
    """The server of *framework* for *scenario* (``stgo-w2``: two workers on *redis_url*)."""
    if framework == "floor":
        return run_server([sys.executable, "-m", "bench.users.floor_simple"])
    if framework in ("stgo", "stgo-w2"):
        argv = [sys.executable, "-m", "stgo", "run", str(APPS / "stgo" / f"{scenario}.py"),
                "--port", "0", "--log-level", "WARNING"]
        if framework == "stgo-w2":
            if not redis_url:
                raise RuntimeError("stgo-w2 needs a redis URL")
            argv += ["--workers", "2", "--store", redis_url]
        return run_server(argv)
    port = free_port()
    app = str(APPS / framework / f"{scenario}.py")
    py = str(pythons[framework])
    if framework == "streamlit":
        return _http_server([py, "-m", "streamlit", "run", app, "--server.port", str(port),
                             "--server.address", "127.0.0.1", "--server.headless", "true",
                             "--browser.gatherUsageStats", "false",
                             "--server.fileWatcherType", "none",
                             "--global.developmentMode", "false"], port, "/_stcore/health")
    if framework == "nicegui":
        return _http_server([py, app], port, "/", env={"PORT": str(port)})
    raise ValueError(f"unknown framework {framework!r}")


def _tree(pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def tree_rss(pid: int) -> int:
    """RSS of *pid* and all its descendants, bytes."""
    total = 0
    for p in _tree(pid):
        with suppress(psutil.NoSuchProcess):
            total += p.memory_info().rss
    return total


def tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) of *pid* and its descendants so far."""
    total = 0.0
    for p in _tree(pid):
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return total
