"""The package's shape, held as tests: imports point down the layers of
docs/architecture.md, and no module grows past what one reader holds at once.

Read from the source with :mod:`ast` (module-level, function-level and
``TYPE_CHECKING`` imports alike), so a new feature that reaches back up into
the App, or closes an import circle, fails here rather than in a review.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "stgo"

#: The one circle the layering allows: containers that make containers
#: (``Container.form()``, ``.dialog()``, ...) import each other in functions.
ALLOWED_CIRCLE = frozenset({
    "stgo.widgets.chat", "stgo.widgets.forms", "stgo.widgets.layout",
    "stgo.widgets.overlays", "stgo.widgets.slots"})

#: Packages on the run-time path: none of them may import the App.
RUN_TIME = ("stgo.core", "stgo.cluster", "stgo.web", "stgo.store", "stgo.transport",
            "stgo.widgets", "stgo.protocol", "stgo.context", "stgo.config", "stgo.errors")

MAX_MODULE_LINES = 600
MAX_STATIC_LINES = 400


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The stgo modules *name* imports, anywhere in its source."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[:len(package) - node.level + 1] + ([base] if base else []))
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            # A module importing its own package's __init__ (for a sibling) is not an edge up.
            if target and target not in (name, "stgo") and not name.startswith(target + "."):
                out.add(target)
    return out


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def _circles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """Strongly connected components of more than one module (iterative Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, edges = work[-1]
            for nxt in edges:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph.get(nxt, ())))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    members = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        members.add(member)
                        if member == node:
                            break
                    if len(members) > 1:
                        found.append(frozenset(members))
    return found


def test_the_only_import_circle_is_the_widget_containers(graph: dict[str, set[str]]) -> None:
    circles = _circles(graph)
    assert [c for c in circles if c != ALLOWED_CIRCLE] == []


def test_no_run_time_module_imports_the_app(graph: dict[str, set[str]]) -> None:
    offenders = sorted(name for name, deps in graph.items()
                       if "stgo.app" in deps and name.startswith(RUN_TIME))
    assert offenders == []


def test_no_module_is_longer_than_a_reader_holds() -> None:
    long = {str(path.relative_to(PACKAGE.parent)): n for path in PACKAGE.rglob("*.py")
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES}
    assert long == {}
    static = {path.name: n for path in (PACKAGE / "static").glob("*.js")
              if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_STATIC_LINES}
    assert static == {}


def test_one_event_context_at_most_one_thread_local() -> None:
    count = sum(path.read_text(encoding="utf-8").count("threading.local(")
                for path in PACKAGE.rglob("*.py"))
    assert count <= 1


def test_the_checks_see_a_circle_and_an_import_of_the_app() -> None:
    """The detector itself can fail: a made-up graph with both faults."""
    fake = {"stgo.core.a": {"stgo.core.b"}, "stgo.core.b": {"stgo.core.a", "stgo.app"},
            "stgo.app": set()}
    assert _circles(fake) == [frozenset({"stgo.core.a", "stgo.core.b"})]
