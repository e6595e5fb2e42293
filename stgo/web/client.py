"""The browser client as one file: ``stgo.js`` and the modules it imports, joined.

The client is plain ES modules with no build step (``stgo/static``); a new
visitor's browser would ask for each (14 requests after the page, each a
round of the server's request handling).  When first asked for, the modules
are joined into one module, ``static/v/<version>/client.js``, that the page loads
alone.  Each module's body becomes a function whose result is the module's
exports (its names stay its own: ``listen`` is in three modules), run in
the order of the imports, deepest first.

The joining understands the only forms the client uses, and refuses any
other (so a new module cannot be joined wrongly):
``import { a, b as c } from "./x.js";``, ``import * as x from "./x.js";`` and
``export function`` / ``export const`` declarations.  An ``export var`` or
``export let`` is refused: a join copies the value, and ES modules see a
reassigned export change (a live binding).

:data:`VERSION` is a digest of every static file: the page's URLs carry it,
so a browser may keep them for ever (``immutable``) and still gets an
edited file at once.
"""

from __future__ import annotations

import hashlib
import re
from importlib import resources

__all__ = ["bundle", "static_version", "JoinError", "VERSION", "ENTRY"]

#: The module the page runs; it imports the others.
ENTRY = "stgo.js"

_IMPORT = re.compile(
    r'^import\s+(?:\{(?P<names>[^}]*)\}|\*\s+as\s+(?P<ns>\w+))\s+from\s+"\./(?P<mod>[\w-]+)\.js";'
    r"[ \t]*$", re.M)
_EXPORT = re.compile(r"^export\s+(?P<kind>function\*?|const|var|let|class)\s+(?P<name>\w+)", re.M)
_ANY_MODULE_LINE = re.compile(r"^(?:import|export)\b.*$", re.M)


class JoinError(ValueError):
    """A client module is written in a form the join does not understand."""


def _var(module: str) -> str:
    return "_stgo_" + module.replace("-", "_")


def _imports(names: str, module: str) -> str:
    parts = []
    for item in names.split(","):
        words = item.split()
        if not words:
            continue
        if len(words) == 3 and words[1] == "as":
            parts.append(f"{words[0]}: {words[2]}")
        elif len(words) == 1:
            parts.append(words[0])
        else:
            raise JoinError(f"cannot join the import {{{names}}} from {module}.js")
    return f"const {{ {', '.join(parts)} }} = {_var(module)};"


def _join_one(name: str, text: str) -> tuple[str, list[str]]:
    """The module's body as a function, and the modules it needs."""
    needs: list[str] = []

    def imported(m: re.Match[str]) -> str:
        module = m["mod"]
        needs.append(module)
        if m["ns"]:
            return f"const {m['ns']} = {_var(module)};"
        return _imports(m["names"], module)

    body = _IMPORT.sub(imported, text)
    exports: list[str] = []

    def exported(m: re.Match[str]) -> str:
        if m["kind"] in ("var", "let"):
            raise JoinError(f"{name}: `export {m['kind']} {m['name']}` cannot be joined "
                            "(a join copies it): export a const or a function")
        exports.append(m["name"])
        return f"{m['kind']} {m['name']}"

    body = _EXPORT.sub(exported, body)
    left = _ANY_MODULE_LINE.search(body)
    if left is not None:
        raise JoinError(f"{name}: cannot join {left.group(0)!r}")
    stem = name.removesuffix(".js")
    wrapped = (f"// ---- {name}\nconst {_var(stem)} = (function () {{\n{body.rstrip()}\n"
               f"return Object.freeze({{ {', '.join(exports)} }});\n}})();\n")
    return wrapped, needs


def bundle(read: dict[str, str] | None = None, entry: str = ENTRY) -> str:
    """One ES module of *entry* and everything it imports, each module once,
    a module after those it imports.

    :param read: file name to text (default: ``stgo/static``).
    :raises JoinError: a form the join does not understand, or an import circle.
    """
    static = resources.files("stgo") / "static"

    def source(name: str) -> str:
        if read is not None:
            return read[name]
        return (static / name).read_text(encoding="utf-8")

    done: dict[str, str] = {}
    path: list[str] = []

    def visit(name: str) -> None:
        if name in done:
            return
        if name in path:
            raise JoinError("the client's modules import in a circle: "
                            + " -> ".join([*path[path.index(name):], name]))
        path.append(name)
        wrapped, needs = _join_one(name, source(name))
        for module in needs:
            visit(module + ".js")
        path.pop()
        done[name] = wrapped

    visit(entry)
    return ("// stgo's browser client: the modules of stgo/static joined "
            "(stgo/web/client.py).\n" + "".join(done.values()))


def static_version() -> str:
    """A digest of every file of ``stgo/static`` (names and bytes), 12 hex digits."""
    digest = hashlib.sha256()
    static = resources.files("stgo") / "static"
    for item in sorted(static.iterdir(), key=lambda p: p.name):
        if item.is_file():
            digest.update(item.name.encode() + b"\0" + item.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


#: Read once: the static files do not change while the process runs.
VERSION = static_version()
