"""Build or serve the pdoc API documentation of every module of ``pykcworkshop``.

    python docs/apidocs.py build   # static site in docs/site/ (git-ignored)
    python docs/apidocs.py serve   # live docs at http://localhost:9000

pdoc only follows submodules that a package's ``__all__`` lists, and our packages use
``__all__`` for their public Python names (``pykcworkshop``, ``pykcworkshop.chat.db``). This
script names the modules pdoc would skip, so every module gets a page.
"""

from __future__ import annotations

import pkgutil
import sys
from importlib import import_module
from pathlib import Path

import pdoc.__main__

import pykcworkshop

SITE = Path(__file__).resolve().parent / "site"
PDOC_OPTIONS = ["--docformat", "restructuredtext", "--footer-text", "pykcworkshop"]


def module_specs() -> list[str]:
    """Return ``pykcworkshop`` plus each module hidden from pdoc by its package's ``__all__``."""
    specs = ["pykcworkshop"]
    for info in pkgutil.walk_packages(pykcworkshop.__path__, "pykcworkshop."):
        parent_name, _, leaf = info.name.rpartition(".")
        public = getattr(import_module(parent_name), "__all__", None)
        hidden_by_parent = public is not None and leaf not in public
        if hidden_by_parent:  # pdoc cannot reach it from any parent, so name it
            specs.append(info.name)
    return specs


def main(argv: list[str]) -> int:
    """Run pdoc's command line for ``build`` or ``serve``; extra arguments go to pdoc."""
    if not argv or argv[0] not in ("build", "serve"):
        print("usage: apidocs.py build|serve [pdoc options]", file=sys.stderr)
        return 2
    command, extra = argv[0], argv[1:]
    where = (
        ["--output-directory", str(SITE)] if command == "build" else ["--host", "localhost", "--port", "9000"]
    )
    pdoc.__main__.cli([*PDOC_OPTIONS, *where, *extra, *module_specs()])
    if command == "build":
        print(f"API docs written to {SITE / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
