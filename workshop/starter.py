"""Write the students' starter: this project with the six websocket handlers stubbed.

    hatch run workshop:starter DIR [--force] [--tracked-only]

The starter is generated from the working solution, never maintained by hand. It is a
complete copy of the project (the files git knows about), in which the body of each
websocket handler in ``chat/api/websockets/v1.py`` is replaced by a stub that refuses the
connection with 404. Signatures, decorators and docstrings (the assignment text) stay, and
so does everything else: broker, helpers, HTTP API, frontend, tests. Imports that only the
solution bodies used are dropped, so the starter passes ``hatch run lint`` and
``hatch run typecheck`` as handed out.

The handlers are found with :mod:`ast` (module-level functions decorated with
``@<blueprint>.websocket(...)``), so moving code around never breaks the generator.
Standard library only: it must run from a bare checkout.
"""

from __future__ import annotations

import argparse
import ast
import fnmatch
import os
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

REPO_ROOT = Path(__file__).resolve().parent.parent
#: The module whose handlers students implement, relative to the project root.
HANDLERS_MODULE = PurePosixPath("src/pykcworkshop/chat/api/websockets/v1.py")
#: The six sockets of the assignment, by handler name, easiest first.
SOCKETS = (
    "client_sync",
    "chat_message",
    "direct_message",
    "form_validation",
    "chat_history",
    "member_status",
)
#: The call the stub makes, and where it comes from.
STUB_CALL = "abort(404)"
STUB_IMPORT = ("quart", "abort")
STUB_COMMENT = "# TODO(workshop): implement {name} as its docstring says; until then it refuses with 404."
#: Always left out of the starter, even when git is missing and nothing is ignored.
ALWAYS_SKIPPED = {".git", ".hg", ".svn"}


class StarterError(Exception):
    """The starter cannot be written; the message says why."""


# ---------------------------------------------------------------- stubbing (ast)


@dataclass
class StubResult:
    """The stubbed source of the handlers module and what changed."""

    source: str
    handlers: list[str]
    dropped_imports: list[str] = field(default_factory=list)


def is_websocket_route(decorator: ast.expr) -> bool:
    """Return whether ``decorator`` is ``@<something>.websocket(...)``."""
    return (
        isinstance(decorator, ast.Call)
        and isinstance(decorator.func, ast.Attribute)
        and decorator.func.attr == "websocket"
    )


def websocket_handlers(tree: ast.Module) -> list[ast.AsyncFunctionDef | ast.FunctionDef]:
    """Return the module-level functions of ``tree`` routed as websockets."""
    return [
        node
        for node in tree.body
        if isinstance(node, ast.AsyncFunctionDef | ast.FunctionDef)
        and any(is_websocket_route(d) for d in node.decorator_list)
    ]


def stub_lines(name: str, indent: str) -> list[str]:
    """Return the lines of the stub body of handler ``name``."""
    return [f"{indent}{STUB_COMMENT.format(name=name)}\n", f"{indent}{STUB_CALL}\n"]


def _has_docstring(node: ast.AsyncFunctionDef | ast.FunctionDef) -> bool:
    first = node.body[0]
    return (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    )


def _body_span(handler: ast.AsyncFunctionDef | ast.FunctionDef, lines: list[str]) -> tuple[int, int, str]:
    """Return the 1-based line range of ``handler``'s body after its docstring, and its indent.

    The range includes comments and blank lines before the first statement. It is empty
    (``end == start - 1``) when the body is only a docstring.
    """
    if _has_docstring(handler):
        docstring, body = handler.body[0], handler.body[1:]
        start = (docstring.end_lineno or docstring.lineno) + 1
        indent = docstring.col_offset
    else:
        body = handler.body
        start, indent = body[0].lineno, body[0].col_offset
        # Comments and blank lines above the first statement belong to the body.
        while start > handler.lineno + 1 and lines[start - 2].strip()[:1] in ("", "#"):
            start -= 1
    if not body:
        return start, start - 1, " " * indent
    first = body[0]
    if lines[first.lineno - 1][: first.col_offset].strip():
        raise StarterError(f"{handler.name}: its body shares a line with the signature; reformat it")
    return start, body[-1].end_lineno or body[-1].lineno, " " * first.col_offset


def stub_handlers(
    source: str, *, expected: Iterable[str] | None = SOCKETS, line_length: int = 88
) -> StubResult:
    """Replace the body of every websocket handler in ``source`` by the 404 stub.

    Decorators, signature and docstring stay byte for byte; the statements after the
    docstring are replaced. Module-level imports that are no longer used are dropped and
    ``abort`` is imported from quart. ``expected`` (handler names) guards against stubbing
    the wrong module; pass None to accept any set of handlers.

    >>> src = (
    ...     "from quart import Blueprint\\n"
    ...     "from json import dumps\\n\\n"
    ...     "bp = Blueprint('x', __name__)\\n\\n\\n"
    ...     "@bp.websocket('/echo')\\n"
    ...     "async def echo() -> None:\\n"
    ...     "    '''Echo.'''\\n"
    ...     "    await send(dumps(1))\\n"
    ... )
    >>> print(stub_handlers(src, expected=["echo"]).source)
    from quart import Blueprint, abort
    <BLANKLINE>
    bp = Blueprint('x', __name__)
    <BLANKLINE>
    <BLANKLINE>
    @bp.websocket('/echo')
    async def echo() -> None:
        '''Echo.'''
        # TODO(workshop): implement echo as its docstring says; until then it refuses with 404.
        abort(404)
    <BLANKLINE>
    """
    tree = ast.parse(source)
    handlers = websocket_handlers(tree)
    names = [h.name for h in handlers]
    if expected is not None and sorted(names) != sorted(expected):
        raise StarterError(
            f"expected the websocket handlers {sorted(expected)}, found {sorted(names)}; "
            "update workshop/starter.py (SOCKETS) and docs/workshop.md together with the handlers"
        )
    lines = source.splitlines(keepends=True)
    # Replace bottom-up so earlier line numbers stay valid.
    for handler in sorted(handlers, key=lambda h: h.lineno, reverse=True):
        start, end, indent = _body_span(handler, lines)
        lines[start - 1 : end] = stub_lines(handler.name, indent)
    stubbed = "".join(lines)
    stubbed, dropped = prune_imports(stubbed, line_length=line_length, ensure=STUB_IMPORT)
    ast.parse(stubbed)  # the result must still be valid Python
    return StubResult(stubbed, names, dropped)


# ---------------------------------------------------------------- imports (ast)


def _used_names(tree: ast.Module) -> set[str]:
    used: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            used.add(node.id)
        elif (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets)
            and isinstance(node.value, ast.List | ast.Tuple)
        ):
            used.update(
                e.value for e in node.value.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)
            )
    return used


def _bound_name(alias: ast.alias) -> str:
    return alias.asname or alias.name.split(".")[0]


def _member_key(name: str) -> tuple[int, str, str]:
    # isort/ruff "order-by-type": CONSTANTS, then Classes, then functions and variables.
    rank = 0 if name.isupper() and len(name) > 1 else 1 if name[:1].isupper() else 2
    return rank, name.lower(), name


def _alias_text(alias: ast.alias) -> str:
    return alias.name if alias.asname is None else f"{alias.name} as {alias.asname}"


def render_import(
    node: ast.Import | ast.ImportFrom, aliases: list[ast.alias], *, line_length: int
) -> list[str]:
    """Return the lines of ``node`` with only ``aliases``, formatted as ruff would."""
    if isinstance(node, ast.Import):
        return [f"import {_alias_text(a)}\n" for a in aliases]
    module = "." * node.level + (node.module or "")
    names = [_alias_text(a) for a in aliases]
    one_line = f"from {module} import {', '.join(names)}"
    if len(one_line) <= line_length:
        return [one_line + "\n"]
    return [f"from {module} import (\n", *(f"    {n},\n" for n in names), ")\n"]


def prune_imports(
    source: str, *, line_length: int = 88, ensure: tuple[str, str] | None = None
) -> tuple[str, list[str]]:
    """Drop module-level imports of ``source`` that nothing uses; make sure ``ensure`` is imported.

    ``ensure`` is ``(module, name)``: it is added to an existing ``from module import``
    statement, or a new statement is placed among the third-party imports. Returns the new
    source and the dropped names.

    >>> print(prune_imports("import os\\nimport sys\\n\\nprint(sys.argv)\\n")[0])
    import sys
    <BLANKLINE>
    print(sys.argv)
    <BLANKLINE>
    """
    tree = ast.parse(source)
    used = _used_names(tree)
    if ensure is not None:
        used.add(ensure[1])
    lines = source.splitlines(keepends=True)
    imports = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
    edits: list[tuple[int, int, list[str]]] = []
    dropped: list[str] = []
    ensured = ensure is None
    survivors: list[ast.Import | ast.ImportFrom] = []
    for node in imports:
        if isinstance(node, ast.ImportFrom) and node.module == "__future__":
            survivors.append(node)
            continue
        keep = [a for a in node.names if a.name == "*" or _bound_name(a) in used]
        if keep:
            survivors.append(node)
        dropped += [_bound_name(a) for a in node.names if a not in keep]
        if (
            ensure is not None
            and isinstance(node, ast.ImportFrom)
            and node.level == 0
            and node.module == ensure[0]
        ):
            if not any(_bound_name(a) == ensure[1] for a in keep):
                keep = sorted([*keep, ast.alias(ensure[1])], key=lambda a: _member_key(a.name))
            ensured = True
        if [(a.name, a.asname) for a in keep] == [(a.name, a.asname) for a in node.names]:
            continue
        new = render_import(node, keep, line_length=line_length) if keep else []
        edits.append((node.lineno, node.end_lineno or node.lineno, new))
    if not ensured and ensure is not None:
        edits.append(_new_import_edit(survivors, ensure))
    for start, end, new in sorted(edits, key=lambda e: e[0], reverse=True):
        if start > end:  # pure insertion before line ``start``
            lines[start - 1 : start - 1] = new
            continue
        lines[start - 1 : end] = new
        if not new:
            _close_gap(lines, start - 1)
    # An import that was dropped by an ensure-merge is not a drop.
    dropped = [d for d in dropped if ensure is None or d != ensure[1]]
    return "".join(lines), dropped


def _close_gap(lines: list[str], index: int) -> None:
    """After deleting the lines before ``index``, drop a blank line left doubled (or leading)."""
    if index < len(lines) and not lines[index].strip() and (index == 0 or not lines[index - 1].strip()):
        del lines[index]


FIRST_PARTY = "pykcworkshop"


def _import_root(node: ast.Import | ast.ImportFrom) -> str | None:
    """Return the top-level package an absolute import names (None for relative imports)."""
    if isinstance(node, ast.ImportFrom):
        return None if node.level or node.module is None else node.module.split(".")[0]
    return node.names[0].name.split(".")[0]


def _is_third_party(node: ast.Import | ast.ImportFrom) -> bool:
    root = _import_root(node)
    return (
        root is not None and root not in sys.stdlib_module_names and root not in ("__future__", FIRST_PARTY)
    )


def _new_import_edit(
    imports: list[ast.Import | ast.ImportFrom], ensure: tuple[str, str]
) -> tuple[int, int, list[str]]:
    """Return an insertion of ``from module import name`` where ruff's isort would put it.

    Within the third-party section ``import x`` statements come first, then ``from``
    imports sorted by module. Without a third-party section, a new one opens before the
    first-party imports (or after the last import).
    """
    text = [f"from {ensure[0]} import {ensure[1]}\n"]
    third = [n for n in imports if _is_third_party(n)]
    if third:
        later = [n for n in third if isinstance(n, ast.ImportFrom) and (n.module or "") > ensure[0]]
        line = later[0].lineno if later else (third[-1].end_lineno or third[-1].lineno) + 1
        return line, line - 1, text
    first_party = [n for n in imports if _import_root(n) in (None, FIRST_PARTY)]
    if first_party:
        line = first_party[0].lineno
        return line, line - 1, [*text, "\n"]
    line = (imports[-1].end_lineno or imports[-1].lineno) + 1 if imports else 1
    return line, line - 1, ["\n", *text] if imports else [*text, "\n"]


# ---------------------------------------------------------------- project files


def _git_files(root: Path, *, tracked_only: bool) -> list[PurePosixPath] | None:
    """Return the files git knows in ``root`` (tracked, plus untracked not ignored), or None."""
    git = shutil.which("git")
    if git is None:
        return None
    try:
        top = subprocess.run(  # noqa: S603 - fixed git command, no shell
            [git, "-C", str(root), "rev-parse", "--show-toplevel"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        if Path(top).resolve() != root.resolve():
            return None  # root is not a repository of its own (e.g. a folder inside another repo)
        listing = ["--cached"] if tracked_only else ["--cached", "--others", "--exclude-standard"]
        out = subprocess.run(  # noqa: S603 - fixed git command, no shell
            [git, "-C", str(root), "ls-files", "-z", *listing],
            capture_output=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    names = sorted({name for name in out.decode("utf-8", "surrogateescape").split("\0") if name})
    return [PurePosixPath(name) for name in names]


@dataclass
class IgnoreRule:
    """One pattern of a ``.gitignore`` file (the common subset of the syntax)."""

    pattern: str
    negated: bool
    directory_only: bool
    anchored: bool

    @classmethod
    def parse(cls, line: str) -> IgnoreRule | None:
        """Return the rule on ``line``, or None for blanks and comments."""
        line = line.rstrip("\n").rstrip()
        if not line or line.startswith("#"):
            return None
        negated = line.startswith("!")
        line = line[1:] if negated else line
        directory_only = line.endswith("/")
        line = line.rstrip("/")
        anchored = "/" in line
        return cls(line.lstrip("/"), negated, directory_only, anchored)

    def matches(self, path: PurePosixPath, is_dir: bool) -> bool:
        """Return whether this rule matches ``path`` (relative to the project root)."""
        if self.directory_only and not is_dir:
            return False
        if self.anchored:
            return fnmatch.fnmatchcase(str(path), self.pattern)
        return fnmatch.fnmatchcase(path.name, self.pattern)


def _walk_files(root: Path) -> list[PurePosixPath]:
    """Return the project files under ``root`` minus what the top ``.gitignore`` ignores."""
    gitignore = root / ".gitignore"
    rules = []
    if gitignore.is_file():
        rules = [r for r in map(IgnoreRule.parse, gitignore.read_text(encoding="utf-8").splitlines()) if r]

    def ignored(path: PurePosixPath, is_dir: bool) -> bool:
        verdict = False
        for rule in rules:
            if rule.matches(path, is_dir):
                verdict = not rule.negated
        return verdict

    found: list[PurePosixPath] = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = PurePosixPath(Path(dirpath).relative_to(root).as_posix())
        dirnames[:] = sorted(
            d
            for d in dirnames
            if d not in ALWAYS_SKIPPED
            and not ignored(rel_dir / d if rel_dir.parts else PurePosixPath(d), True)
        )
        for name in sorted(filenames):
            rel = rel_dir / name if rel_dir.parts else PurePosixPath(name)
            if not ignored(rel, False):
                found.append(rel)
    return found


def project_files(root: Path, *, tracked_only: bool = False) -> list[PurePosixPath]:
    """Return the files that make up the project at ``root``, relative to it.

    With git: the tracked files, plus untracked files that are not ignored (so a starter made
    from a working tree matches what its tests see) unless ``tracked_only``. Without git (or
    outside a repository): every file under ``root`` except what ``.gitignore`` ignores.
    """
    files = _git_files(root, tracked_only=tracked_only)
    if files is None:
        files = _walk_files(root)
    # Tracked files deleted in the working tree are not part of it.
    return [f for f in files if (root / f).is_file() or (root / f).is_symlink()]


# ---------------------------------------------------------------- writing


@dataclass
class StarterReport:
    """What :func:`write_starter` wrote."""

    destination: Path
    files: int
    handlers: list[str]
    dropped_imports: list[str]
    #: Copied files that git does not track yet (0 without git or with ``tracked_only``).
    uncommitted: int = 0


def _line_length(root: Path) -> int:
    try:
        config = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return 88
    return int(config.get("tool", {}).get("ruff", {}).get("line-length", 88))


def _check_destination(source: Path, destination: Path, *, force: bool) -> None:
    source, destination = source.resolve(), destination.resolve()
    if destination == source or destination in source.parents:
        raise StarterError(f"{destination} contains the project itself; choose another directory")
    if destination.exists() and not destination.is_dir():
        raise StarterError(f"{destination} exists and is not a directory")
    if destination.is_dir() and any(destination.iterdir()) and not force:
        raise StarterError(f"{destination} is not empty; pass --force to replace its contents")


def _empty_directory(directory: Path) -> None:
    for entry in directory.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def write_starter(
    source: Path,
    destination: Path,
    *,
    force: bool = False,
    tracked_only: bool = False,
    stub: bool = True,
) -> StarterReport:
    """Copy the project at ``source`` to ``destination`` with the handlers stubbed.

    Refuses a non-empty ``destination`` unless ``force`` (which empties it first). With
    ``stub=False`` it writes a plain copy of the same files (the check's solution copy).
    """
    source = source.resolve()
    _check_destination(source, destination, force=force)
    files = project_files(source, tracked_only=tracked_only)
    tracked = None if tracked_only else _git_files(source, tracked_only=True)
    uncommitted = 0 if tracked is None else len(set(files) - set(tracked))
    if HANDLERS_MODULE not in files:
        raise StarterError(f"{HANDLERS_MODULE} is not among the project files of {source}")
    # Plan everything before touching the destination, so a failure leaves it as it was.
    handlers_text = (source / HANDLERS_MODULE).read_text(encoding="utf-8")
    result = StubResult(handlers_text, [])
    if stub:
        result = stub_handlers(handlers_text, line_length=_line_length(source))
    destination = destination.resolve()
    # A destination inside the project (e.g. an ignored build/ folder) is never copied into itself.
    inside = (
        PurePosixPath(destination.relative_to(source).as_posix())
        if destination.is_relative_to(source)
        else None
    )
    if destination.is_dir() and force:
        _empty_directory(destination)
    destination.mkdir(parents=True, exist_ok=True)
    count = 0
    for rel in files:
        if inside is not None and (rel == inside or inside in rel.parents):
            continue
        target = destination / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if rel == HANDLERS_MODULE:
            # newline="" keeps the line endings exactly as read.
            target.write_text(result.source, encoding="utf-8", newline="")
            shutil.copymode(source / rel, target)
        else:
            shutil.copy2(source / rel, target, follow_symlinks=False)
        count += 1
    return StarterReport(destination, count, result.handlers, result.dropped_imports, uncommitted)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``starter.py DIR [--force] [--tracked-only] [--source ROOT]``."""
    parser = argparse.ArgumentParser(
        prog="hatch run workshop:starter",
        description="Write the workshop starter: this project with the six websocket handlers stubbed.",
    )
    parser.add_argument("directory", type=Path, help="where to write the starter (must be empty)")
    parser.add_argument("--force", action="store_true", help="replace the contents of a non-empty DIR")
    parser.add_argument(
        "--tracked-only",
        action="store_true",
        help="copy only files committed to git (default: also untracked files that are not ignored)",
    )
    parser.add_argument(
        "--source", type=Path, default=REPO_ROOT, help="project to copy (default: this checkout)"
    )
    args = parser.parse_args(argv)
    try:
        report = write_starter(args.source, args.directory, force=args.force, tracked_only=args.tracked_only)
    except StarterError as error:
        print(f"starter: {error}", file=sys.stderr)
        return 2
    print(f"Wrote the starter to {report.destination} ({report.files} files).")
    if report.uncommitted:
        print(f"{report.uncommitted} of them are not committed yet (--tracked-only leaves them out).")
    print(f"Stubbed handlers in {HANDLERS_MODULE}: {', '.join(report.handlers)}.")
    if report.dropped_imports:
        print(f"Dropped imports only the solution used: {', '.join(report.dropped_imports)}.")
    print("Students: cd into it, then `hatch run serve` and `hatch run test` (see docs/workshop.md).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
