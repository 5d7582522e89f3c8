"""Run the doctests in every module of the package; exit non-zero if any fails."""

from __future__ import annotations

import doctest
import importlib
import os
import pkgutil
import sys
import tempfile

import pykcworkshop


def main() -> int:
    """Import each module of ``pykcworkshop`` and run its doctests."""
    # Token helpers need a secret; use a throwaway one so no .env is read or written.
    os.environ.setdefault("SECRET_KEY", "doctest-secret")
    os.chdir(tempfile.mkdtemp())
    failed = tried = 0
    for module_info in pkgutil.walk_packages(pykcworkshop.__path__, "pykcworkshop."):
        module = importlib.import_module(module_info.name)
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        failed += result.failed
        tried += result.attempted
    print(f"doctests: {tried - failed} passed, {failed} failed")
    return 1 if failed or not tried else 0


if __name__ == "__main__":
    sys.exit(main())
