"""Joining the client's modules into one (stgo/web/client.py): what it understands and refuses."""

from __future__ import annotations

import pytest

from stgo.web.client import ENTRY, JoinError, bundle


def test_each_module_keeps_its_own_names_and_runs_after_what_it_imports() -> None:
    joined = bundle({
        "main.js": 'import { listen as listenA } from "./a.js";\n'
                   'import * as b from "./b.js";\nimport { shared } from "./c.js";\n'
                   "listenA(); b.listen(shared);\n",
        "a.js": 'import { shared } from "./c.js";\nexport function listen() { return shared; }\n',
        "b.js": 'import { shared } from "./c.js";\nexport function listen(x) { return x; }\n',
        "c.js": "export const shared = {};\n",
    }, entry="main.js")
    order = [line[8:] for line in joined.splitlines() if line.startswith("// ---- ")]
    assert order == ["c.js", "a.js", "b.js", "main.js"]  # each once, deepest first
    assert "const { listen: listenA } = _stgo_a;" in joined
    assert "const b = _stgo_b;" in joined
    assert "return Object.freeze({ listen });" in joined
    assert "export" not in joined and "import" not in joined.replace("// stgo", "")


@pytest.mark.parametrize(("source", "says"), [
    ("export let x = 1;\n", "export let x"),          # a live binding: copying it is wrong
    ("export var x = 1;\n", "export var x"),
    ('import x from "./c.js";\n', "cannot join"),     # a default import
    ("export default function () {}\n", "cannot join"),
    ('export { y } from "./c.js";\n', "cannot join"),
])
def test_forms_the_join_does_not_understand_are_refused(source: str, says: str) -> None:
    with pytest.raises(JoinError, match=says):
        bundle({"main.js": source, "c.js": "export const y = 1;\n"}, entry="main.js")


def test_modules_importing_in_a_circle_are_refused() -> None:
    with pytest.raises(JoinError, match="a.js -> b.js -> a.js"):
        bundle({"main.js": 'import * as a from "./a.js";\n',
                "a.js": 'import * as b from "./b.js";\nexport const x = 1;\n',
                "b.js": 'import * as a from "./a.js";\nexport const y = 2;\n'}, entry="main.js")


def test_stgo_s_own_client_joins() -> None:
    joined = bundle()
    assert joined.rstrip().endswith("})();")
    assert f"// ---- {ENTRY}" in joined
