"""The relative imports of an ES module, found and pointed at fingerprinted URLs.

The dashboard is ES modules with no build step. A browser fetches what a module
imports by the URL written in it, so ``import { x } from './x.js'`` would be fetched
as ``/static/js/x.js``: not cacheable for long, so revalidated on every reload (one
304 per module). ``assets.py`` serves modules with each relative specifier rewritten
to ``./x.js?v=<version>``, the version covering that module and everything it imports.

Only static ``import``/``export ... from`` statements that start a line are rewritten,
and only specifiers that start with ``./`` or ``../`` and end in ``.js``: the shape
every module in ``static/js`` has. A dynamic ``import('./x.js')`` is left alone (it
would still work, fetched unversioned).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable

# import './x.js'        import { a } from './x.js'        export * from '../y.js'
# (the import list may span lines; no quote or semicolon before the "from")
IMPORT_RE = re.compile(
    r"""^(?P<head>[ \t]*(?:import[ \t]*|(?:import|export)\b[^'";]*?\bfrom[ \t]*))"""
    r"""(?P<q>['"])(?P<spec>\.\.?/[^'"\s?#]+\.js)(?P=q)""",
    re.MULTILINE,
)


def resolve(importer: str, spec: str) -> str | None:
    """The path (relative to the static root) that ``spec`` names from ``importer``."""
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(importer), spec))
    return None if joined.startswith("../") or joined == ".." else joined


def imports_of(name: str, text: str) -> tuple[str, ...]:
    """The static-root paths a module imports, in order, each once."""
    found = (resolve(name, m["spec"]) for m in IMPORT_RE.finditer(text))
    return tuple(dict.fromkeys(path for path in found if path is not None))


def rewrite(name: str, text: str, version_of: Callable[[str], str | None]) -> str:
    """``text`` with each relative import pointed at ``<spec>?v=<version>``.

    ``version_of`` gets the imported path; None (no such file) leaves it as written.
    """
    def versioned(match: re.Match[str]) -> str:
        path = resolve(name, match["spec"])
        version = version_of(path) if path is not None else None
        if version is None:
            return match[0]
        q = match["q"]
        return f"{match['head']}{q}{match['spec']}?v={version}{q}"

    return IMPORT_RE.sub(versioned, text)
