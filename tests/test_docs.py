"""The documentation is executed, so that it cannot go stale.

Every ```` ```python ```` block in README.md and docs/*.md runs, in a fresh
namespace, from the repository root:

- an ``App`` the block leaves in ``app`` is then driven by :class:`AppTester`
  (a session is opened: its start hooks must not fail);
- every ``test_*`` function the block defines is called (with the
  ``app_tester`` fixture when it asks for it);
- every App the block made is stopped afterwards, so no thread outlives it.

A block that cannot run on its own (it imports the reader's own modules) is
preceded by ``<!-- not-run: reason -->``; those are counted, and must stay few.
Other fences (shell, JSON) are not executed; the nginx configurations of
docs/deployment.md are run by a real nginx (``tests/services.py`` builds the
nginx fixture's configuration from them, and the tests at the end of this
file open WebSockets through them).

Names the docs promise are checked too: the configuration table against
``App(...)`` and the CLI, the widget reference against the factory methods.
"""

from __future__ import annotations

import argparse
import inspect
import re
import signal
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import stgo
from stgo.cli import build_parser
from stgo.testing import AppTester, app_tester
from stgo.widgets.layout import Factory

from .helpers import Client, ServerProcess, request, wait_until
from .services import MANY_PROCESSES, NginxServer

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
REQUIRED_DOCS = ["architecture", "sessions", "protocol", "widgets", "deployment", "testing"]
MAX_NOT_RUN = 4

_FENCE = re.compile(
    r"^(?P<indent> *)```(?P<lang>[\w+-]*)[^\n]*\n(?P<body>.*?)^(?P=indent)```[ \t]*$", re.M | re.S
)
_NOT_RUN = re.compile(r"<!--\s*not-run:\s*(?P<reason>[^>]*?)\s*-->\s*\Z")


@dataclass
class Block:
    file: Path
    line: int
    lang: str
    code: str
    not_run: str | None  # the reason, when marked

    @property
    def name(self) -> str:
        return f"{self.file.relative_to(ROOT)}:{self.line}"


def blocks(lang: str | None = "python") -> list[Block]:
    found = []
    for file in DOCS:
        text = file.read_text(encoding="utf-8")
        for m in _FENCE.finditer(text):
            if lang is not None and m["lang"] != lang:
                continue
            before = text[: m.start()].rstrip()
            marker = _NOT_RUN.search(before)
            found.append(Block(
                file, text.count("\n", 0, m.start()) + 1, m["lang"],
                textwrap.dedent(m["body"]), marker["reason"] if marker else None,
            ))
    return found


PYTHON = blocks()
RUNNABLE = [b for b in PYTHON if b.not_run is None]


def test_every_doc_exists_and_has_samples() -> None:
    for name in REQUIRED_DOCS:
        assert (ROOT / "docs" / f"{name}.md").is_file(), name
    assert len(RUNNABLE) >= 25, "the fence parser finds too few blocks"
    per_file = {b.file.name for b in RUNNABLE}
    assert {"README.md", "sessions.md", "widgets.md", "testing.md", "deployment.md",
            "architecture.md"} <= per_file


def test_not_run_blocks_are_few_and_explained() -> None:
    skipped = [b for b in PYTHON if b.not_run is not None]
    assert len(skipped) <= MAX_NOT_RUN, [b.name for b in skipped]
    for block in skipped:
        assert len(block.not_run or "") >= 10, f"{block.name}: say why it cannot run"


@pytest.fixture
def in_repo_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    monkeypatch.syspath_prepend(str(ROOT))


@pytest.mark.usefixtures("in_repo_root")
@pytest.mark.parametrize("block", RUNNABLE, ids=lambda b: b.name)
def test_python_block_runs(block: Block) -> None:
    namespace: dict[str, Any] = {"__name__": "__docs__"}
    fixtures: list[Iterator[Any]] = []
    try:
        exec(compile(block.code, block.name, "exec"), namespace)  # noqa: S102
        app = namespace.get("app")
        if isinstance(app, stgo.App):
            with AppTester(app) as tester:
                tab = tester.new_session()
                assert tab.messages[0]["type"] == "render"
                assert not tab.errors, tab.errors
        for name, fn in list(namespace.items()):
            if name.startswith("test_") and inspect.isfunction(fn):
                args = {}
                for param in inspect.signature(fn).parameters:
                    assert param == "app_tester", f"{block.name}: {name} asks for {param!r}"
                    fixture = app_tester()
                    fixtures.append(fixture)
                    args[param] = next(fixture)
                fn(**args)
    finally:
        for fixture in fixtures:
            next(fixture, None)
        for value in list(namespace.values()):
            if isinstance(value, stgo.App):
                value.stop()


# -- names the docs promise -------------------------------------------------------------


def _config_rows() -> list[list[str]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    table = text.split("| setting | flag | env var | `App(...)` | default |", 1)[1]
    rows = []
    for line in table.splitlines()[2:]:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in line.strip("|").split("|")])
    return rows


def test_configuration_table_matches_the_code() -> None:
    rows = _config_rows()
    params = set(inspect.signature(stgo.App).parameters)
    documented = {r[3].strip("`") for r in rows if r[3] != "—"}
    assert documented == params, "README's table and App(...) disagree"
    flags = {opt for action in build_parser()._subparsers._group_actions  # type: ignore[union-attr]
             for parser in action.choices.values() for a in parser._actions
             for opt in a.option_strings if opt.startswith("--") and opt != "--help"
             and a.help != argparse.SUPPRESS}  # hidden: not a setting (--worker-fds)
    assert {r[1].strip("`") for r in rows if r[1] != "—"} == flags
    cli_source = inspect.getsource(sys.modules["stgo.cli"])
    for env in {r[2].strip("`") for r in rows if r[2] != "—"}:
        assert f'"{env}"' in cli_source, env


def test_widget_reference_covers_every_factory_method() -> None:
    text = (ROOT / "docs" / "widgets.md").read_text(encoding="utf-8")
    methods = {n for n, _ in inspect.getmembers(Factory, inspect.isfunction)
               if not n.startswith("_")}
    documented = set(re.findall(r"^### `\w+\.(\w+)\(", text, re.M))
    assert methods - documented == set(), "widgets missing from docs/widgets.md"
    assert documented - methods == set(), "docs/widgets.md names methods that do not exist"
    for cls in re.findall(r"`stgo\.([A-Z]\w+)`", text):
        assert hasattr(stgo, cls), cls


def test_setters_named_in_the_widget_reference_exist() -> None:
    text = (ROOT / "docs" / "widgets.md").read_text(encoding="utf-8")
    # Every "Setters:" paragraph names methods of the class in the section's heading.
    for section in re.split(r"^### ", text, flags=re.M)[1:]:
        m = re.search(r"→ `stgo\.(\w+)`", section.splitlines()[0])
        if m is None:
            continue
        cls = getattr(stgo, m.group(1))
        for chunk in re.findall(r"Setters:(.*?)(?:\n\n|\Z)", section, re.S):
            for name in re.findall(r"`(\w+)\(", chunk):
                assert callable(getattr(cls, name, None)), f"{cls.__name__}.{name}"


def test_links_between_docs_resolve() -> None:
    for file in DOCS:
        for target in re.findall(r"\]\(([^)#\s]+)", file.read_text(encoding="utf-8")):
            if "://" in target or target.endswith(".png"):
                continue  # images come from the screenshot job
            assert (file.parent / target).exists(), f"{file.name} links to {target}"


def test_gunicorn_config_from_the_deployment_guide(tmp_path: Path) -> None:
    """The gunicorn.conf.py of docs/deployment.md starts and stops the App for real."""
    conf = next(b for b in PYTHON if b.code.startswith("# gunicorn.conf.py"))
    (tmp_path / "gunicorn.conf.py").write_text(conf.code)
    record = tmp_path / "ended.txt"
    proc = ServerProcess(
        [sys.executable, "-m", "gunicorn", "-c", str(tmp_path / "gunicorn.conf.py"),
         # A worker held by its open WebSocket would stop only when the
         # master gives up on it: far past the wait below, on any machine.
         "--graceful-timeout", "600",
         "-b", "127.0.0.1:0", "--chdir", str(ROOT / "tests" / "apps"), "recorder:app"],
        env={"STGO_TEST_RECORD": str(record), "STGO_TEST_APP_TIMEOUT": "1",
             "STGO_TEST_APP_INTERVAL": "0.1"},
        url_pattern=r"Listening at: (http://[0-9.]+:[0-9]+)",
    )
    idle, live = Client(""), Client("")
    try:
        url = proc.wait_url()
        idle.base_url = live.base_url = url
        idle.get("/")  # a page load, then nothing: only the cleanup thread can end it
        live.connect()  # an open tab: kept alive until shutdown
        wait_until(lambda: record.exists() and record.read_text(), timeout=10)
        assert record.read_text().split() == [idle.session_id, "timeout"]
        proc.signal(signal.SIGTERM)
        # Not held for graceful_timeout (600 s here) by the open WebSocket.
        assert proc.wait(30) == 0, proc.output()
        lines = record.read_text().splitlines()
        assert lines[1].split() == [live.session_id, "shutdown"], lines
    finally:
        live.close()
        proc.kill()


# -- the nginx configurations of the deployment guide, run by a real nginx ----------------------


@pytest.mark.parametrize("doc", ["nginx in front", MANY_PROCESSES])
def test_the_guides_nginx_configs_pass_a_websocket_on_a_port_not_80(
    serve: Any, nginx_server: NginxServer, doc: str,
) -> None:
    # nginx's $host drops the port: the browser's Origin (http://host:PORT)
    # never matched and every WebSocket was refused on a port but 80/443.
    app = stgo.App(title="Proxied")
    app.button("Click", key="click")
    server = serve(app)
    nginx_server.start([server.port], doc=doc)
    assert nginx_server.port not in (80, 443)
    browser = Client(nginx_server.url)
    try:
        tab = browser.connect()  # Origin: http://127.0.0.1:PORT, through nginx
        seq = tab.event(app.widget("click").id)
        assert tab.ack(seq)["type"] == "patch"
    finally:
        browser.close()


def test_behind_the_guides_nginx_a_clients_forwarded_host_does_not_pass_allowed_hosts(
    serve: Any, nginx_server: NginxServer,
) -> None:
    # A DNS-rebinding page (Host: evil.example) sending X-Forwarded-Host: an
    # allowed name itself: nginx passed it on, and trust_proxy believed it.
    server = serve(stgo.App(title="Hosts", trust_proxy=True, allowed_hosts=["127.0.0.1"]))
    nginx_server.start([server.port], doc="nginx in front")
    forged = {"Host": f"evil.example:{nginx_server.port}", "X-Forwarded-Host": "127.0.0.1"}
    assert request(nginx_server.url, "/", forged).status == 400
    assert request(nginx_server.url, "/", {"X-Forwarded-Host": "evil.example"}).status == 200


def test_two_apps_behind_the_guides_prefix_stripping_nginx_keep_a_cookie_each(
    serve: Any, nginx_server: NginxServer,
) -> None:
    # Both saw "/" (nginx strips the prefix) and set Path=/: the second app's
    # cookie replaced the first's in the browser, whose session was lost.
    apps = {prefix: stgo.App(title=prefix, trust_proxy=True) for prefix in ("/a/", "/b/")}
    servers = {prefix: serve(app) for prefix, app in apps.items()}
    nginx_server.start([], routes={p: [s.port] for p, s in servers.items()})
    paths = {}
    for prefix in apps:
        browser = Client(nginx_server.url + prefix[1:])
        try:
            page = browser.get("/")
            assert page.status == 200
            [cookie] = page.cookies()
            paths[prefix] = cookie.split("Path=", 1)[1].split(";", 1)[0]
            tab = browser.connect()  # the cookie comes back, through the prefix
            assert tab.messages[-1]["type"] == "render"
        finally:
            browser.close()
        assert len(apps[prefix].sessions) == 1
    assert paths == {"/a/": "/a/", "/b/": "/b/"}


def test_no_file_holds_a_merge_conflict() -> None:
    # A conflict left in a doc reads as text to every other test; say it here.
    found = []
    for top in ("stgo", "tests", "docs", "examples", "bench", "scripts"):
        for path in (ROOT / top).rglob("*"):
            if path.suffix not in {".py", ".md", ".js", ".css", ".cfg", ".toml", ".txt"}:
                continue
            for n, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
                if line.startswith(("<<<<<<< ", ">>>>>>> ")):
                    found.append(f"{path.relative_to(ROOT)}:{n}")
    for name in ("README.md", "setup.cfg", "pyproject.toml", "Makefile"):
        text = (ROOT / name).read_text()
        found += [f"{name}:{n}" for n, line in enumerate(text.splitlines(), 1)
                  if line.startswith(("<<<<<<< ", ">>>>>>> "))]
    assert not found, f"merge conflict markers in {found}"
