"""Run the doctests in every module of the package; exit non-zero if any fails.

    hatch run docs:test

A module that cannot be imported counts as a failure, and so does a module listed in
``MUST_HAVE_EXAMPLES`` that has lost its examples.
"""

from __future__ import annotations

import doctest
import importlib
import os
import pkgutil
import shutil
import sys
import tempfile
import traceback

import pykcworkshop

#: Helpers whose docstrings must keep runnable examples.
MUST_HAVE_EXAMPLES = ("pykcworkshop.chat.tokens", "pykcworkshop.chat.validation")


def main() -> int:
    """Import each module of ``pykcworkshop`` and run its doctests."""
    # Token helpers need a secret; use a throwaway one so no .env is read or written,
    # and run in an empty directory so nothing lands in the checkout.
    os.environ.setdefault("SECRET_KEY", "doctest-secret")
    workdir = tempfile.mkdtemp(prefix="doctests-")
    previous = os.getcwd()
    os.chdir(workdir)
    failed = tried = 0
    problems: list[str] = []
    try:
        for module_info in pkgutil.walk_packages(pykcworkshop.__path__, "pykcworkshop."):
            try:
                module = importlib.import_module(module_info.name)
            except Exception:
                problems.append(f"{module_info.name}: cannot be imported\n{traceback.format_exc()}")
                continue
            result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
            failed += result.failed
            tried += result.attempted
            if result.attempted:
                print(f"{module_info.name}: {result.attempted - result.failed}/{result.attempted}")
            elif module_info.name in MUST_HAVE_EXAMPLES:
                problems.append(f"{module_info.name}: has no doctest examples any more")
    finally:
        os.chdir(previous)
        shutil.rmtree(workdir, ignore_errors=True)
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"doctests: {tried - failed} passed, {failed + len(problems)} failed")
    return 1 if failed or problems or not tried else 0


if __name__ == "__main__":
    sys.exit(main())
