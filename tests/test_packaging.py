"""The distribution: a wheel built as pip builds it carries the client's files."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_holds_the_static_files_without_a_packages_warning(tmp_path: Path) -> None:
    # A copy of what the build reads: the build writes build/ and *.egg-info
    # next to its sources, which must not land in the worktree.
    source = tmp_path / "src"
    source.mkdir()
    for name in ("setup.cfg", "pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "stgo", source / "stgo",
                    ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path / "wheel"
    try:
        built = subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--no-deps", "-v",
             "-w", str(out), str(source)],
            capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        pytest.fail("pip wheel took over 120 s")
    log = built.stdout + built.stderr
    assert built.returncode == 0, log[-3000:]
    # setuptools says this on every install (`make run` included) when the data
    # directory is not declared as a package.
    assert "absent from the `packages` configuration" not in log, log[-3000:]
    (wheel,) = out.glob("stgo-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {p.relative_to(ROOT).as_posix() for p in (ROOT / "stgo" / "static").iterdir()
               if p.is_file()}
    assert shipped >= {"stgo/static/stgo.js", "stgo/static/stgo.css", "stgo/static/charts.js"}
    assert shipped <= names, shipped - names
    assert "stgo/py.typed" in names
    assert not [n for n in names if "__pycache__" in n or n.startswith("tests/")]
