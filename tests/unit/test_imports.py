"""Finding and fingerprinting the relative imports of an ES module (sensorhub/web/imports.py)."""

from __future__ import annotations

from sensorhub.web.imports import imports_of, resolve, rewrite

MODULE = """/* A header that says: import x from './not-an-import.js'
   (not at the start of a line) */
import { a, b } from './a.js';
import * as c from "../lib/c.js";
import './side.js';
import {
  d,
  e,
} from './sub/d.js';
export { f } from './f.js';
export * from './a.js';
import io from 'socket.io-client';
import data from './data.json';
export const where = './not-a-spec.js';
const later = import('./lazy.js');
"""


def test_the_static_imports_of_a_module_each_once() -> None:
    assert imports_of("js/main.js", MODULE) == (
        "js/a.js", "lib/c.js", "js/side.js", "js/sub/d.js", "js/f.js")


def test_rewriting_puts_a_version_on_each_and_leaves_the_rest_alone() -> None:
    versions = {"js/a.js": "aaaa", "lib/c.js": "cccc", "js/side.js": "ssss",
                "js/sub/d.js": "dddd", "js/f.js": "ffff"}
    out = rewrite("js/main.js", MODULE, versions.get)
    assert "import { a, b } from './a.js?v=aaaa';" in out
    assert 'import * as c from "../lib/c.js?v=cccc";' in out  # its own quotes
    assert "import './side.js?v=ssss';" in out
    assert "} from './sub/d.js?v=dddd';" in out
    assert "export { f } from './f.js?v=ffff';" in out
    assert "export * from './a.js?v=aaaa';" in out
    for untouched in ("'socket.io-client'", "'./data.json'", "'./not-a-spec.js'",
                      "import('./lazy.js')", "'./not-an-import.js'"):
        assert untouched in out
    assert out.count("?v=") == 6


def test_a_missing_module_is_left_as_written() -> None:
    text = "import './gone.js';\n"
    assert rewrite("main.js", text, lambda _path: None) == text


def test_nothing_outside_the_root() -> None:
    assert resolve("js/main.js", "../../etc/x.js") is None
    assert resolve("main.js", "../x.js") is None
    assert resolve("js/admin/main.js", "../dom.js") == "js/dom.js"
