"""Prove the workshop kit: the starter fails exactly the websocket requirement tests.

    hatch run workshop:check [--keep DIR] [--serial] [--no-lint] [--timeout S] [PYTEST ARGS]

Steps:

1. Write two copies of this checkout into a temporary directory: ``starter/`` (handlers
   stubbed, as ``starter.py`` writes it) and ``solution/`` (the same files, unchanged).
2. Run the test suite in each copy with this interpreter (both at once unless
   ``--serial``). ``PYTHONPATH`` puts the copy's ``src/`` first, so the copy's code is
   imported, by pytest and by the live server it starts; the check verifies this instead
   of trusting it (an editable install of this checkout would silently test the solution).
3. Lint and type-check the starter as students will (``ruff check``, ``ruff format
   --check``, ``mypy``), unless ``--no-lint``.
4. Classify every test and print a table, socket -> tests, failing on starter, passing on
   solution. Exit 1 on any defect.

The rule. A *socket test* is a test that opens a websocket to one of the six sockets
(seen at run time by ``probe.py``). A *websocket requirement test* is a socket test in
``tests/websockets/``; it is counted for the socket its module is named after
(``test_<socket>.py``), otherwise (``test_handshake.py``, ``test_limits.py``) for each socket
it connected to. Defects:

- a requirement test that passes on the starter (a stub refusing with 404 satisfies it, so
  it proves nothing about the student's code);
- any test that fails on the solution;
- a test that is not a socket test and fails on the starter (students must start green
  everywhere else);
- a socket without any requirement test, or without ``tests/websockets/test_<socket>.py``.

Socket tests outside ``tests/websockets/`` (e.g. the smoke test) are expected to fail on
the starter and are listed, not counted. Tests skipped on the solution prove nothing and are
listed, not counted.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from workshop.starter import HANDLERS_MODULE, REPO_ROOT, SOCKETS, StarterError, write_starter

PROBE = Path(__file__).resolve().parent / "probe.py"
REQUIREMENT_DIR = "tests/websockets/"


# ---------------------------------------------------------------- running


@dataclass
class Run:
    """A test run in one copy of the project."""

    name: str
    root: Path
    process: subprocess.Popen[bytes] | None = None
    log: Path = Path()
    results: Path = Path()
    started: float = 0.0
    seconds: float = 0.0
    data: dict[str, Any] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        """Return the environment in which this copy's code, and only it, is imported."""
        env = dict(os.environ)
        paths = [str(self.root / "src"), str(self.root)]
        env["PYTHONPATH"] = os.pathsep.join(paths)
        # Whatever measures or configures the outer process must not leak into the copies.
        for name in ("COVERAGE_PROCESS_START", "COVERAGE_PROCESS_CONFIG", "PYTEST_ADDOPTS"):
            env.pop(name, None)
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        return env

    def start(self, pytest_args: Sequence[str]) -> None:
        """Start pytest in this copy through the probe, in a process group of its own."""
        self.log = self.root.parent / f"{self.name}.log"
        self.results = self.root.parent / f"{self.name}.json"
        command = [sys.executable, str(PROBE), str(self.results), "-p", "no:cacheprovider", *pytest_args]
        self.started = time.monotonic()
        # Its own session/group: on a timeout, pytest and the server it started go together.
        group: dict[str, Any] = (
            {"creationflags": getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)}
            if sys.platform == "win32"
            else {"start_new_session": True}
        )
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and script
                command, cwd=self.root, env=self.env(), stdout=log, stderr=subprocess.STDOUT, **group
            )

    def wait(self, deadline: float) -> None:
        """Wait for pytest to finish (until ``deadline``, a monotonic time) and load its results."""
        assert self.process is not None
        try:
            self.process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.stop()
            current = self.results.with_suffix(".current")
            stuck = current.read_text(encoding="utf-8") if current.is_file() else "(unknown)"
            raise CheckError(
                f"the {self.name} test run did not finish in time; it was running {stuck}\n"
                f"the end of its log:\n{self.log_tail()}"
            ) from None
        self.seconds = time.monotonic() - self.started
        if not self.results.is_file():
            raise CheckError(
                f"the {self.name} test run wrote no results; the end of its log:\n{self.log_tail()}"
            )
        self.data = json.loads(self.results.read_text(encoding="utf-8"))

    def stop(self) -> None:
        """Stop this run's pytest and everything it started (its own process group)."""
        if self.process is None or self.process.poll() is not None:
            return
        if sys.platform == "win32":
            self.process.kill()
        else:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def log_tail(self, size: int = 4000) -> str:
        """Return the end of this run's output."""
        return self.log.read_text(encoding="utf-8", errors="replace")[-size:] if self.log.is_file() else ""

    def imported_from(self) -> Path:
        """Return the file ``pykcworkshop`` is imported from in this copy's environment."""
        out = subprocess.run(
            [sys.executable, "-c", "import pykcworkshop; print(pykcworkshop.__file__)"],
            cwd=self.root.parent,  # not the copy: prove PYTHONPATH alone selects it, as in the server
            env=self.env(),
            capture_output=True,
            text=True,
            check=True,
        )
        return Path(out.stdout.strip()).resolve()


class CheckError(Exception):
    """The check could not run; the message says why."""


def verify_origin(run: Run) -> None:
    """Fail unless the copy's own ``pykcworkshop`` is imported, in a server-like process and in pytest."""
    expected = (run.root / "src" / "pykcworkshop").resolve()
    for where, found in (
        ("a plain interpreter", run.imported_from()),
        ("pytest", Path(run.data["package_file"]) if run.data else None),
    ):
        if found is not None and expected not in found.parents:
            raise CheckError(f"{run.name}: {where} imports pykcworkshop from {found}, not from {expected}")


LINTERS = (
    ("ruff check", ["-m", "ruff", "check", "--no-cache", "."]),
    ("ruff format --check", ["-m", "ruff", "format", "--check", "--no-cache", "."]),
    ("mypy", ["-m", "mypy"]),
)


def lint(root: Path) -> dict[str, str]:
    """Run ruff and mypy in a copy as ``hatch run ci`` does; return each failing tool's output."""
    failures = {}
    env = Run("lint", root).env()
    for label, args in LINTERS:
        if label == "mypy":
            args = [*args, "--cache-dir", str(root.parent / f"mypy-cache-{root.name}")]
        done = subprocess.run(  # noqa: S603 - our own interpreter
            [sys.executable, *args], cwd=root, env=env, capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            failures[label] = (done.stdout + done.stderr).strip()
    return failures


def lint_starter(starter: Path, solution: Path) -> list[str]:
    """Return the lint problems of the starter, saying which the solution shares."""
    problems = []
    in_solution = lint(solution)
    for label, output in lint(starter).items():
        lines = output.splitlines()
        shown = "\n".join(lines[:30] + ([f"... ({len(lines) - 30} more lines)"] if len(lines) > 30 else []))
        origin = " (the solution fails it too: fix it there)" if label in in_solution else ""
        problems.append(f"starter fails `{label}`{origin}:\n{shown}")
    return problems


# ---------------------------------------------------------------- judging


@dataclass
class Verdict:
    """Every test classified, and the defects found."""

    rows: dict[str, list[str]]
    starter: dict[str, dict[str, Any]]
    solution: dict[str, dict[str, Any]]
    other_socket_tests: list[str]
    plain_tests: list[str]
    skipped: list[str]
    defects: list[str]


def module_socket(path: str) -> str | None:
    """Return the socket a test module is named after (``tests/websockets/test_<socket>.py``)."""
    if not path.startswith(REQUIREMENT_DIR):
        return None
    stem = Path(path).stem.removeprefix("test_")
    return stem if stem in SOCKETS else None


def judge(starter: dict[str, Any], solution: dict[str, Any], root: Path) -> Verdict:
    """Classify the tests of both runs and list the defects."""
    on_starter, on_solution = starter["tests"], solution["tests"]
    rows: dict[str, list[str]] = {name: [] for name in SOCKETS}
    other_socket_tests, plain_tests, skipped, defects = [], [], [], []
    for nodeid in sorted(set(on_starter) | set(on_solution)):
        a, b = on_starter.get(nodeid), on_solution.get(nodeid)
        if a is None or b is None:
            defects.append(f"{nodeid}: collected in only one of the two runs")
            continue
        sockets = set(a["sockets"]) | set(b["sockets"])
        path = b["path"]
        if b["outcome"] == "skipped":
            skipped.append(nodeid)
            continue
        if b["outcome"] != "passed":
            defects.append(f"{nodeid}: fails on the solution")
            continue  # nothing to learn from its starter outcome
        if not sockets:
            plain_tests.append(nodeid)
            if a["outcome"] != "passed":
                defects.append(f"{nodeid}: uses no socket but does not pass on the starter ({a['outcome']})")
            continue
        if not path.startswith(REQUIREMENT_DIR):
            other_socket_tests.append(nodeid)
            continue
        named = module_socket(path)
        for name in [named] if named else sorted(sockets):
            rows[name].append(nodeid)
        if a["outcome"] != "failed":
            defects.append(
                f"{nodeid}: a websocket requirement test that does not fail on the starter ({a['outcome']})"
            )
    for name in SOCKETS:
        if not (root / REQUIREMENT_DIR / f"test_{name}.py").is_file():
            defects.append(f"{name}: no {REQUIREMENT_DIR}test_{name}.py")
        if not rows[name]:
            defects.append(f"{name}: no websocket requirement test connects to this socket")
    return Verdict(rows, on_starter, on_solution, other_socket_tests, plain_tests, skipped, defects)


def table(verdict: Verdict) -> str:
    """Return the per-socket table, with totals."""
    header = ("socket", "tests", "failing on starter", "passing on solution")
    body = []
    unique: set[str] = set()
    for name in SOCKETS:
        ids = verdict.rows[name]
        unique.update(ids)
        body.append(_row(name, ids, verdict))
    body.append(_row("all requirement tests", sorted(unique), verdict))
    widths = [max(len(str(r[i])) for r in [header, *body]) for i in range(4)]

    def line(cells: Sequence[object]) -> str:
        first, *rest = (str(c) for c in cells)
        return "  ".join(
            [first.ljust(widths[0]), *(c.rjust(w) for c, w in zip(rest, widths[1:], strict=True))]
        )

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), rule, *map(line, body[:-1]), rule, line(body[-1])])


def _row(label: str, ids: list[str], verdict: Verdict) -> tuple[str, int, str, str]:
    failing = sum(verdict.starter[i]["outcome"] == "failed" for i in ids)
    passing = sum(verdict.solution[i]["outcome"] == "passed" for i in ids)
    return label, len(ids), f"{failing}/{len(ids)}", f"{passing}/{len(ids)}"


def report(verdict: Verdict, runs: Sequence[Run]) -> str:
    """Return the whole report: table, the other groups, defects."""
    s = verdict
    plain_ok_starter = sum(s.starter[i]["outcome"] == "passed" for i in s.plain_tests)
    plain_ok_solution = sum(s.solution[i]["outcome"] == "passed" for i in s.plain_tests)
    lines = [
        "",
        table(verdict),
        "",
        f"other tests (no socket): {len(s.plain_tests)},"
        f" passing on starter {plain_ok_starter}/{len(s.plain_tests)},"
        f" on solution {plain_ok_solution}/{len(s.plain_tests)}",
    ]
    if s.other_socket_tests:
        failing = sum(s.starter[i]["outcome"] == "failed" for i in s.other_socket_tests)
        lines.append(
            f"socket tests outside {REQUIREMENT_DIR} (need the handlers; not counted):"
            f" {len(s.other_socket_tests)}, failing on starter {failing}"
        )
        lines += [f"  {i}" for i in s.other_socket_tests]
    if s.skipped:
        lines.append(f"skipped on the solution (not counted): {len(s.skipped)}")
        lines += [f"  {i}" for i in s.skipped]
    lines.append("runs: " + ", ".join(f"{r.name} {r.seconds:.0f}s" for r in runs))
    return "\n".join(lines)


# ---------------------------------------------------------------- main


def _split(argv: list[str], parser: argparse.ArgumentParser) -> int:
    """Return the index where pytest's arguments start: after ``--`` or at the first foreign one."""
    takes_value = {
        option for action in parser._actions if action.nargs is None and action.option_strings
        for option in action.option_strings
    }  # fmt: skip
    ours = {option for action in parser._actions for option in action.option_strings}
    index = 0
    while index < len(argv):
        word = argv[index]
        if word == "--":
            return index
        name = word.split("=", 1)[0]
        if name not in ours:
            return index
        index += 2 if name in takes_value and "=" not in word else 1
    return index


def own_options(argv: list[str], parser: argparse.ArgumentParser) -> list[str]:
    """Return the check's own options from ``argv``."""
    return argv[: _split(argv, parser)]


def pytest_arguments(argv: list[str], parser: argparse.ArgumentParser) -> list[str]:
    """Return the arguments for pytest from ``argv`` (hatch may or may not keep a ``--``).

    >>> parser = argparse.ArgumentParser()
    >>> _ = parser.add_argument("--keep")
    >>> pytest_arguments(["--keep", "d", "--", "-k", "x"], parser)
    ['-k', 'x']
    >>> pytest_arguments(["--keep=d", "tests/websockets", "-x"], parser)
    ['tests/websockets', '-x']
    """
    index = _split(argv, parser)
    rest = argv[index:]
    return rest[1:] if rest[:1] == ["--"] else rest


def main(argv: Sequence[str] | None = None) -> int:
    """Command line; see the module docstring."""
    parser = argparse.ArgumentParser(prog="hatch run workshop:check", description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", type=Path, help="write the copies, logs and results here and keep them")
    parser.add_argument("--serial", action="store_true", help="run the two test suites one after the other")
    parser.add_argument("--no-lint", action="store_true", help="skip ruff and mypy on the starter")
    parser.add_argument(
        "--timeout", type=float, default=900.0, help="seconds the test runs may take in all (default 900)"
    )
    parser.add_argument(
        "pytest_args", nargs="*", help="pytest arguments: everything after the check's options"
    )
    args = parser.parse_args(own_options(list(sys.argv[1:] if argv is None else argv), parser))
    args.pytest_args = pytest_arguments(list(sys.argv[1:] if argv is None else argv), parser)

    workdir = args.keep.resolve() if args.keep else Path(tempfile.mkdtemp(prefix="workshop-check-"))
    try:
        return _check(workdir, args)
    except (CheckError, StarterError) as error:
        print(f"workshop check: {error}", file=sys.stderr)
        return 2
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


def _check(workdir: Path, args: argparse.Namespace) -> int:
    if workdir.exists() and any(workdir.iterdir()):
        raise CheckError(f"{workdir} is not empty")
    starter = Run("starter", workdir / "starter")
    solution = Run("solution", workdir / "solution")
    made = write_starter(REPO_ROOT, starter.root)
    write_starter(REPO_ROOT, solution.root, stub=False)
    print(f"starter: {made.files} files, stubbed {', '.join(made.handlers)} in {HANDLERS_MODULE}")
    for run in (starter, solution):
        verify_origin(run)
    how = "one after the other" if args.serial else "in parallel"
    print(f"running the test suite in both copies ({how}) ...")
    runs = (starter, solution)
    deadline = time.monotonic() + args.timeout
    try:
        for run in runs:
            run.start(args.pytest_args)
            if args.serial:
                run.wait(deadline)
        problems = [] if args.no_lint else lint_starter(starter.root, solution.root)
        for run in runs:
            if not args.serial:
                run.wait(deadline)
            verify_origin(run)
    finally:
        for run in runs:
            run.stop()
    verdict = judge(starter.data, solution.data, REPO_ROOT)
    print(report(verdict, runs))
    defects = problems + verdict.defects
    if not args.no_lint and not problems:
        print("starter lint: ruff check, ruff format --check and mypy pass")
    if defects:
        print(f"\nDEFECTS ({len(defects)}):")
        print("\n".join(f"- {d}" for d in defects))
        if args.keep:
            print(f"logs and results are in {workdir}")
        return 1
    print("\nThe kit is sound: every requirement test fails on the starter and passes on the solution.")
    if args.pytest_args:
        print(f"(Only the tests selected by `{' '.join(args.pytest_args)}` were run.)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
