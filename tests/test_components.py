"""stgo.Component: declaring a third-party widget, checking its values, and
serving only its declared files (issue 26)."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

import pytest

import stgo
from stgo.server import Server
from stgo.testing import AppTester

MOUNT = "export function mount(el, ctx) { el.textContent = ctx.label; }"


ROOT = Path(__file__).resolve().parents[1]
RATING = ROOT / "examples" / "components" / "stgo-rating"


def install_rating(target: Path) -> None:
    """Install examples/components/stgo-rating from its folder with pip, into *target*."""
    # --no-build-isolation: built with this venv's setuptools, no index needed.
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--no-build-isolation", "--target", str(target), str(RATING)],
                   check=True, timeout=300)


def test_the_rating_package_passes_its_own_tests_installed_next_to_stgo(
    tmp_path: Path
) -> None:
    install_rating(tmp_path)
    assert (tmp_path / "stgo_rating" / "rating.js").is_file()  # shipped as package data
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    # Its tests, against the installed copy (not the source folder) and this stgo.
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir",
         str(RATING), str(RATING / "tests")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "passed" in done.stdout


def _component_class(root: Path, script: str = MOUNT, **attrs: Any) -> type[stgo.Component]:
    (root / "dial.js").write_text(script)
    (root / "dial.css").write_text(".dial { color: red; }")
    (root / "secret.txt").write_text("not for the browser")
    body: dict[str, Any] = {"module": "dial.js", "styles": ("dial.css",), "root": root,
                            "component_name": "test-dial", "value_type": float,
                            "__module__": __name__, **attrs}
    return type("Dial", (stgo.Component,), body)


def _get(server: Server, path: str) -> tuple[int, dict[str, str], bytes]:
    parts = urlsplit(server.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, dict(resp.headers), resp.read()
    finally:
        conn.close()


def test_only_the_declared_files_are_served_at_their_version(
    serve: Callable[..., Server], tmp_path: Path
) -> None:
    dial_class = _component_class(tmp_path)
    app = stgo.App()
    app.add_widget(dial_class("Speed", 0.5, key="speed", top=10))
    server = serve(app)
    version = dial_class.asset_version
    base = f"/static/components/test-dial/{version}/"
    status, headers, body = _get(server, base + "dial.js")
    assert status == 200 and body.startswith(b"export function mount")
    assert headers["Content-Type"].startswith("text/javascript")
    assert "immutable" in headers["Cache-Control"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    status, headers, _ = _get(server, base + "dial.css")
    assert status == 200 and headers["Content-Type"].startswith("text/css")
    for path in (base + "secret.txt", base + "../dial.js", base + "%2e%2e/dial.js",
                 "/static/components/test-dial/0000/dial.js", "/static/components/nope/x/y.js",
                 f"/static/components/test-dial/{version}/"):
        assert _get(server, path)[0] == 404, path
    # A change to a file is a new version, at a new URL.
    assert _component_class(tmp_path, "export function mount() {}").asset_version != version


def test_values_and_events_are_checked_like_built_in_inputs(tmp_path: Path) -> None:
    dial_class = _component_class(tmp_path)

    class Knob(dial_class):  # type: ignore[misc, valid-type]
        events: ClassVar[tuple[str, ...]] = ("change", "hover")

        def check_event(self, event: str, value: Any) -> Any:
            if not isinstance(value, int):
                raise ValueError("hover gives a position")
            return value

    app = stgo.App()
    knob = app.add_widget(Knob("Speed", 1, key="speed", top=10))
    hovers: list[Any] = []
    knob.on("hover", lambda session, event, value: hovers.append(value))
    with AppTester(app) as tester:
        viewer = tester.new_session()
        viewer.send("speed", "change", 2)
        assert viewer.state["speed"] == 2.0 and isinstance(viewer.state["speed"], float)
        for bad in ("fast", True, [1]):
            viewer.send("speed", "change", bad)
            assert "takes float values" in viewer.errors[-1]
        assert viewer.state["speed"] == 2.0
        viewer.send("speed", "hover", 3)
        viewer.send("speed", "hover", "x")
        assert hovers == [3] and "hover gives a position" in viewer.errors[-1]
        viewer.send("speed", "click", 1)
        assert "no event 'click'" in viewer.errors[-1]
        html = viewer.html()
    assert json.dumps({"top": 10}, separators=(",", ":")).replace('"', "&quot;") in html
    assert 'data-requires="static/components.js"' in html
    # A bad initial value or property is the app's mistake, said at once.
    with pytest.raises(stgo.WidgetError, match="float"):
        Knob("Speed", "fast")
    with pytest.raises(stgo.WidgetError, match="JSON"):
        Knob("Speed", 1, top=object())


def test_a_component_class_must_declare_plain_existing_files(tmp_path: Path) -> None:
    with pytest.raises(stgo.WidgetError, match="plain relative path"):
        _component_class(tmp_path, files=("../etc/passwd",))
    with pytest.raises(stgo.WidgetError, match="not in"):
        _component_class(tmp_path, styles=("missing.css",))
    with pytest.raises(stgo.WidgetError, match="component_name"):
        _component_class(tmp_path, component_name="a b")
    with pytest.raises(stgo.WidgetError, match="declares no module"):
        stgo.Component("Plain")
