"""The public API is what the docs may name, and the docs name only it.

The public API is ``stgo``'s ``__all__`` plus the ``__all__`` of the public
modules below (docs/architecture.md, "Public API", lists the same ones);
every other module is internal and may change. So:

- every ``stgo.X.Y`` the docs (README.md, docs/*.md) and examples/*.py name
  resolves, and is public, or the text beside it says it is an internal
  (docs may cite an internal constant where they explain a limit);
- every ``from stgo... import ...`` there imports public names only;
- every public name is importable, and its classes and functions have a
  docstring.
"""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")),
           *sorted((ROOT / "examples").glob("*.py"))]

#: The public modules: what each exports (its ``__all__``) is the public API.
PUBLIC_MODULES = ("stgo", "stgo.column", "stgo.config", "stgo.store", "stgo.server", "stgo.testing",
                  "stgo.cli")

# A dotted stgo name ("stgo.tab:<id>", a state key, is not one).
_DOTTED = re.compile(r"(?<![\w./-])stgo(?:\.[A-Za-z_]\w*)+(?![\w:])")
_FROM_IMPORT = re.compile(
    r"^[ \t>]*from[ \t]+(stgo(?:\.\w+)*)[ \t]+import[ \t]+(\([^)]*\)|[^\n]*)", re.M)
_IMPORT_MODULE = re.compile(r"^[ \t>]*import[ \t]+(stgo(?:\.\w+)*)", re.M)
_IMPORT_LINE = re.compile(r"[ \t>]*(from|import)[ \t]+stgo\b")
_STATIC_FILE = re.compile(r"\.(js|css|py|md|html)$")  # stgo.js is a file, not a name


def _public(module: str) -> set[str]:
    return set(importlib.import_module(module).__all__)


def _module_prefix(parts: list[str]) -> tuple[ModuleType, list[str]]:
    """The longest importable module among *parts*' prefixes, and the rest."""
    for cut in range(len(parts), 0, -1):
        name = ".".join(parts[:cut])
        try:
            return importlib.import_module(name), parts[cut:]
        except ModuleNotFoundError as exc:
            if exc.name is None or not (name + ".").startswith(exc.name + "."):
                raise  # a module that exists failed to import
    raise LookupError(f"{'.'.join(parts)} names no module")


def _resolve(dotted: str) -> tuple[str, list[str]]:
    """Import *dotted* (a module, then attributes); return the module and the rest."""
    module, rest = _module_prefix(dotted.split("."))
    obj: Any = module
    for attr in rest:
        if not hasattr(obj, attr):
            raise LookupError(f"{attr!r} does not exist")
        obj = getattr(obj, attr)
    return module.__name__, rest


def is_public(dotted: str) -> bool:
    """Whether *dotted* (resolvable) is a public module or reached through a
    public module's ``__all__``."""
    module, rest = _resolve(dotted)
    return module in PUBLIC_MODULES and (not rest or rest[0] in _public(module))


def _cited(file: Path) -> list[tuple[int, str, str]]:
    """``(line, name, its paragraph)`` of every ``stgo.X...`` in *file*; a
    table row is a paragraph of its own."""
    text = file.read_text(encoding="utf-8")
    found = []
    for m in _DOTTED.finditer(text):
        name = m.group(0)
        if _STATIC_FILE.search(name):
            continue
        line_start = text.rfind("\n", 0, m.start()) + 1
        if _IMPORT_LINE.match(text, line_start):
            continue  # checked as an import
        start = max(text.rfind("\n\n", 0, m.start()), 0)
        end = text.find("\n\n", m.end())
        paragraph = text[start: end if end >= 0 else len(text)]
        if text.startswith("|", line_start):
            line_end = text.find("\n", m.end())
            paragraph = text[line_start: line_end if line_end >= 0 else len(text)]
        found.append((text.count("\n", 0, m.start()) + 1, name, paragraph))
    return found


def _imports(file: Path) -> list[tuple[int, str, str]]:
    """``(line, module, name)`` of every ``from stgo... import name`` in *file*,
    and ``(line, module, "")`` of every ``import stgo...``."""
    text = file.read_text(encoding="utf-8")
    found = [(text.count("\n", 0, m.start()) + 1, m.group(1), "")
             for m in _IMPORT_MODULE.finditer(text)]
    for m in _FROM_IMPORT.finditer(text):
        names = m.group(2).strip().strip("()").split("#")[0]
        for item in names.replace("\n", " ").split(","):
            name = item.strip().split(" as ")[0].strip()
            if name:
                found.append((text.count("\n", 0, m.start()) + 1, m.group(1), name))
    return found


def misnamed(file: Path, root: Path = ROOT) -> list[str]:
    """What *file* names that is not public (nor said to be internal), or does not exist."""
    wrong = []
    shown = file.relative_to(root)
    for line, name, paragraph in _cited(file):
        where = f"{shown}:{line}: {name}"
        try:
            public = is_public(name)
        except LookupError as exc:
            wrong.append(f"{where} does not resolve ({exc})")
            continue
        if not public and "internal" not in paragraph.lower():
            wrong.append(f"{where} is internal: name it by a public module or say it is internal")
    for line, module, name in _imports(file):
        where = f"{shown}:{line}: " + (f"from {module} import {name}" if name
                                        else f"import {module}")
        if module not in PUBLIC_MODULES or (name and name not in _public(module)):
            wrong.append(f"{where} is not public")
        elif name and not hasattr(importlib.import_module(module), name):
            wrong.append(f"{where} does not resolve")
    return wrong


def test_the_sources_are_found() -> None:
    names = [n for f in SOURCES for _, n, _ in _cited(f)]
    assert len(names) > 50 and "stgo.App" in names
    imports = [(m, n) for f in SOURCES for _, m, n in _imports(f)]
    assert ("stgo.testing", "AppTester") in imports and ("stgo.store", "MemoryStore") in imports


@pytest.mark.parametrize("file", SOURCES, ids=lambda f: str(f.relative_to(ROOT)))
def test_docs_and_examples_name_only_the_public_api(file: Path) -> None:
    assert misnamed(file) == []


def test_the_check_catches_internal_and_missing_names(tmp_path: Path) -> None:
    # The check itself, on a made-up page (a doc that drifts must fail above).
    page = tmp_path / "page.md"
    page.write_text(
        "Use `stgo.Page`, `stgo.store.MemoryStore` and `stgo.testing.AppTester`.\n\n"
        "A tab is a `stgo.core.tabs.BrowserTab`.\n\n"
        "Made by `stgo.App.no_such_method`.\n\n"
        "The limit is `stgo.store.codec.MAX_DEPTH` (an internal constant).\n\n"
        "```python\nimport stgo.web\nfrom stgo.core.hub import Hub\nfrom stgo import (App,\n"
        "    Session)\n```\n",
        encoding="utf-8")
    wrong = misnamed(page, root=tmp_path)
    assert [w.split(": ", 1)[1].split(" ")[0:3] for w in wrong] == [
        ["stgo.core.tabs.BrowserTab", "is", "internal:"],
        ["stgo.App.no_such_method", "does", "not"],
        ["import", "stgo.web", "is"],
        ["from", "stgo.core.hub", "import"],
    ], wrong


@pytest.mark.parametrize("module", PUBLIC_MODULES)
def test_every_public_name_is_importable_and_documented(module: str) -> None:
    mod = importlib.import_module(module)
    assert mod.__doc__, module
    names = mod.__all__
    assert len(names) == len(set(names)), f"{module}.__all__ repeats a name"
    for name in names:
        assert hasattr(mod, name), f"{module}.{name} is in __all__ but not importable"
        obj = getattr(mod, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            # Its own docstring (a class does not inherit one through __doc__).
            assert (obj.__doc__ or "").strip(), f"{module}.{name} has no docstring"


def test_every_public_module_is_listed_in_the_architecture() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    section = text.split("## Public API", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"^\| `(stgo(?:\.\w+)*)` \|", section, re.M))
    assert listed == set(PUBLIC_MODULES)
