"""The starter generator: ast stubbing, import pruning, file selection, refusing to overwrite.

These tests also run inside the generated starter (the check runs every non-socket test
there), where the handlers are already stubbed and there is no git: stubbing must then be
idempotent and the file walk must fall back to ``.gitignore``.
"""

from __future__ import annotations

import ast
import doctest
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path, PurePosixPath

import pytest

from workshop import check, probe, starter
from workshop.starter import HANDLERS_MODULE, REPO_ROOT, SOCKETS, StarterError

HANDLERS = REPO_ROOT / HANDLERS_MODULE


def handler_nodes(source: str) -> dict[str, ast.AsyncFunctionDef | ast.FunctionDef]:
    return {node.name: node for node in starter.websocket_handlers(ast.parse(source))}


def segments(source: str, nodes: list[ast.AST]) -> list[str | None]:
    return [ast.get_source_segment(source, node) for node in nodes]


def ruff(*args: str, stdin: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ruff", *args],
        input=stdin,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


needs_ruff = pytest.mark.skipif(importlib.util.find_spec("ruff") is None, reason="ruff is not installed")


# ---------------------------------------------------------------- the real handlers module


def test_the_six_handlers_are_found():
    assert sorted(handler_nodes(HANDLERS.read_text(encoding="utf-8"))) == sorted(SOCKETS)


def test_stub_keeps_decorators_signatures_and_docstrings():
    original = HANDLERS.read_text(encoding="utf-8")
    stubbed = starter.stub_handlers(original).source
    before, after = handler_nodes(original), handler_nodes(stubbed)
    for name in SOCKETS:
        old, new = before[name], after[name]
        assert segments(stubbed, new.decorator_list) == segments(original, old.decorator_list), name
        assert ast.dump(new.args) == ast.dump(old.args), name
        assert segments(stubbed, [new.returns]) == segments(original, [old.returns]), name
        assert type(new) is type(old), name  # still async
        assert ast.get_docstring(new, clean=False) == ast.get_docstring(old, clean=False), name
        assert ast.get_docstring(new), f"{name} lost its assignment text"


def test_stub_body_refuses_with_404_and_says_what_to_do():
    stubbed = starter.stub_handlers(HANDLERS.read_text(encoding="utf-8")).source
    for name, node in handler_nodes(stubbed).items():
        body = node.body[1:]
        assert [ast.unparse(statement) for statement in body] == ["abort(404)"], name
        text = ast.get_source_segment(stubbed, node) or ""
        assert f"# TODO(workshop): implement {name}" in text
    assert "from quart import" in stubbed and "abort" in stubbed


def test_stubbing_is_idempotent():
    once = starter.stub_handlers(HANDLERS.read_text(encoding="utf-8")).source
    assert starter.stub_handlers(once).source == once


def test_stubbed_module_compiles_and_keeps_module_level_code():
    original = HANDLERS.read_text(encoding="utf-8")
    stubbed = starter.stub_handlers(original).source
    compile(stubbed, str(HANDLERS_MODULE), "exec")
    kept = [n for n in ast.parse(original).body if not isinstance(n, ast.Import | ast.ImportFrom)]
    kept_after = [n for n in ast.parse(stubbed).body if not isinstance(n, ast.Import | ast.ImportFrom)]
    assert ast.get_docstring(ast.parse(stubbed)) == ast.get_docstring(ast.parse(original))
    assert [type(n).__name__ for n in kept_after] == [type(n).__name__ for n in kept]


@needs_ruff
def test_stubbed_module_passes_ruff_check_and_format():
    stubbed = starter.stub_handlers(HANDLERS.read_text(encoding="utf-8")).source
    checked = ruff("check", "--no-cache", "--stdin-filename", str(HANDLERS_MODULE), "-", stdin=stubbed)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    formatted = ruff("format", "--no-cache", "--stdin-filename", str(HANDLERS_MODULE), "-", stdin=stubbed)
    assert formatted.returncode == 0, formatted.stderr
    assert formatted.stdout == stubbed


#: A file named in the assignment: a path, or a module of the handlers' package (``:mod:`.x```).
FILE_REFERENCE = re.compile(r"(?<![\w/.-])((?:[\w-]+/)*[\w-]+\.(?:py|mjs|md))\b|:mod:`\.(\w+)`")


def referenced_files(text: str) -> set[str]:
    """Return the file names ``text`` mentions (relative paths as written; modules as ``x.py``)."""
    return {path or f"{module}.py" for path, module in FILE_REFERENCE.findall(text)}


def test_the_assignment_points_only_to_files_that_exist(tmp_path):
    """The handlers' docstrings and the student guide name files the starter must contain."""
    target = tmp_path / "starter"
    starter.write_starter(REPO_ROOT, target)
    module = target / HANDLERS_MODULE
    tree = ast.parse(module.read_text(encoding="utf-8"))
    texts = [ast.get_docstring(tree) or ""]
    texts += [ast.get_docstring(node) or "" for node in starter.websocket_handlers(tree)]
    texts.append((target / "docs" / "workshop.md").read_text(encoding="utf-8"))
    # Where a relative name is looked for: the project, the handlers' package, the chat
    # package, and the socket tests.
    bases = [target, module.parent, target / "src" / "pykcworkshop" / "chat", target / "tests" / "websockets"]
    names = set().union(*(referenced_files(text) for text in texts))
    assert {"handshake.py", "socket.py", "docs/protocol.md"} <= names  # the parser finds them
    missing = sorted(name for name in names if not any((base / name).is_file() for base in bases))
    assert missing == []


# ---------------------------------------------------------------- code that moved around

MOVED = textwrap.dedent(
    '''\
    """Handlers, rearranged."""

    from __future__ import annotations

    import json
    from datetime import UTC, datetime

    from quart import Blueprint, websocket

    from pykcworkshop.chat.api.websockets.handshake import admit
    from pykcworkshop.chat.api.websockets.socket import serve

    bp = Blueprint("v1", __name__)


    def not_a_handler() -> str:
        return json.dumps({})


    @bp.websocket(
        "/a",
        strict_slashes=False,
    )
    async def chat_message(
        room_hash: str,
        *,
        extra: int = 1,
    ) -> None:
        # a comment in the body
        user = await admit()
        async with serve(1) as socket:
            await socket.send_json({"at": datetime.now(UTC).isoformat(), "user": user})


    @bp.websocket("/b")
    async def client_sync() -> None:
        """Docstring only in the first line."""
        await websocket.accept()


    @bp.websocket("/c")
    def form_validation() -> None:
        pass
    '''
)


def test_stubbing_follows_the_code_not_its_layout():
    result = starter.stub_handlers(MOVED, expected=["chat_message", "client_sync", "form_validation"])
    expected = textwrap.dedent(
        '''\
        """Handlers, rearranged."""

        from __future__ import annotations

        import json

        from quart import Blueprint, abort

        bp = Blueprint("v1", __name__)


        def not_a_handler() -> str:
            return json.dumps({})


        @bp.websocket(
            "/a",
            strict_slashes=False,
        )
        async def chat_message(
            room_hash: str,
            *,
            extra: int = 1,
        ) -> None:
            # TODO(workshop): implement chat_message as its docstring says; until then it refuses with 404.
            abort(404)


        @bp.websocket("/b")
        async def client_sync() -> None:
            """Docstring only in the first line."""
            # TODO(workshop): implement client_sync as its docstring says; until then it refuses with 404.
            abort(404)


        @bp.websocket("/c")
        def form_validation() -> None:
            # TODO(workshop): implement form_validation as its docstring says; until then it refuses with 404.
            abort(404)
        '''
    )
    assert result.source == expected
    assert sorted(result.dropped_imports) == ["UTC", "admit", "datetime", "serve", "websocket"]


def test_abort_is_imported_even_without_a_quart_import():
    source = textwrap.dedent(
        """\
        import json

        from pykcworkshop.site import bp


        @bp.websocket("/x")
        async def client_sync() -> None:
            '''Doc.'''
            await json.loads("1")
        """
    )
    stubbed = starter.stub_handlers(source, expected=["client_sync"]).source
    assert stubbed.startswith("from quart import abort\n\nfrom pykcworkshop.site import bp\n")
    compile(stubbed, "x.py", "exec")


@pytest.mark.parametrize(
    ("imports", "expected"),
    [
        # after straight imports and earlier modules, before later ones
        (
            "import attr\nfrom aiohttp import web\nfrom sqlalchemy import select\n",
            "import attr\nfrom aiohttp import web\nfrom quart import abort\nfrom sqlalchemy import select\n",
        ),
        # a third-party section that disappears entirely is replaced, not glued to first party
        ("from aiohttp import web\n", "from quart import abort\n"),
    ],
)
def test_abort_goes_where_isort_puts_it(imports, expected):
    kept = "USED = (attr, web, select)\n" if "sqlalchemy" in imports else ""
    handler = '@bp.websocket("/x")\nasync def client_sync() -> None:\n    """Doc."""\n    json.dumps(web)\n'
    source = f"import json\n\n{imports}\nfrom pykcworkshop.site import bp\n\n{kept}\n\n{handler}"
    stubbed = starter.stub_handlers(source, expected=["client_sync"]).source
    assert stubbed.startswith(f"{expected}\nfrom pykcworkshop.site import bp\n"), stubbed
    compile(stubbed, "x.py", "exec")


def test_unexpected_handlers_are_refused():
    with pytest.raises(StarterError, match="expected the websocket handlers"):
        starter.stub_handlers(MOVED)


def test_doctests_of_the_workshop_tools():
    for module in (starter, probe, check):
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert result.failed == 0 and result.attempted > 0, module.__name__


# ---------------------------------------------------------------- writing the starter


def test_refuses_a_non_empty_directory_without_force(tmp_path):
    target = tmp_path / "starter"
    target.mkdir()
    (target / "keep.txt").write_text("student work", encoding="utf-8")
    with pytest.raises(StarterError, match="not empty"):
        starter.write_starter(REPO_ROOT, target)
    assert (target / "keep.txt").read_text(encoding="utf-8") == "student work"
    assert starter.main([str(target)]) == 2


def test_force_replaces_the_contents(tmp_path):
    target = tmp_path / "starter"
    (target / "old").mkdir(parents=True)
    (target / "old" / "stale.py").write_text("x = 1\n", encoding="utf-8")
    report = starter.write_starter(REPO_ROOT, target, force=True)
    assert not (target / "old").exists()
    assert (target / HANDLERS_MODULE).is_file() and report.files > 0


def test_refuses_to_write_over_the_project_itself(tmp_path):
    for target in (REPO_ROOT, REPO_ROOT.parent):
        with pytest.raises(StarterError, match="contains the project"):
            starter.write_starter(REPO_ROOT, target, force=True)


def test_starter_is_a_complete_copy_with_only_the_handlers_changed(tmp_path):
    target = tmp_path / "starter"
    report = starter.write_starter(REPO_ROOT, target)
    files = starter.project_files(REPO_ROOT)
    copied = sorted(PurePosixPath(p.relative_to(target).as_posix()) for p in target.rglob("*") if p.is_file())
    assert copied == sorted(files) and report.files == len(files)
    for rel in ("pyproject.toml", "src/pykcworkshop/chat/api/websockets/socket.py", "tests/conftest.py"):
        assert (target / rel).read_bytes() == (REPO_ROOT / rel).read_bytes(), rel
    assert not any(p.name == ".env" or p.suffix == ".sqlite3" for p in target.rglob("*"))
    stubbed = (target / HANDLERS_MODULE).read_text(encoding="utf-8")
    assert stubbed == starter.stub_handlers(HANDLERS.read_text(encoding="utf-8")).source
    for script in ("gethatch.sh",):
        if (REPO_ROOT / script).is_file():
            assert os.access(target / script, os.X_OK) == os.access(REPO_ROOT / script, os.X_OK)


def test_plain_copy_for_the_check(tmp_path):
    starter.write_starter(REPO_ROOT, tmp_path / "solution", stub=False)
    assert (tmp_path / "solution" / HANDLERS_MODULE).read_bytes() == HANDLERS.read_bytes()


# ---------------------------------------------------------------- which files


def make_project(root: Path) -> None:
    for rel in (
        "README.md",
        "src/pkg/a.py",
        "src/pkg/__pycache__/a.cpython-311.pyc",
        "build/out.txt",
        "docs/site/index.html",
        "docs/guide.md",
        ".env",
        "notes/keep.log",
        "notes/drop.log",
        ".git/config",
    ):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(rel, encoding="utf-8")
    (root / ".gitignore").write_text(
        "# comment\n.env\n__pycache__/\n/build/\ndocs/site/\n*.log\n!notes/keep.log\n", encoding="utf-8"
    )


EXPECTED_FILES = [".gitignore", "README.md", "docs/guide.md", "notes/keep.log", "src/pkg/a.py"]


def test_without_git_the_tree_minus_gitignore_is_copied(tmp_path, monkeypatch):
    make_project(tmp_path)
    monkeypatch.setattr(starter.shutil, "which", lambda name: None)
    assert [str(f) for f in starter.project_files(tmp_path)] == EXPECTED_FILES


def test_outside_a_repository_the_tree_minus_gitignore_is_copied(tmp_path):
    make_project(tmp_path)
    assert [str(f) for f in starter.project_files(tmp_path)] == EXPECTED_FILES


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_with_git_tracked_and_unignored_files_are_copied(tmp_path):
    make_project(tmp_path)
    shutil.rmtree(tmp_path / ".git")
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}

    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True, env=env)

    git("init", "-q")
    git("add", ".gitignore", "README.md", "src/pkg/a.py")
    assert [str(f) for f in starter.project_files(tmp_path, tracked_only=True)] == [
        ".gitignore",
        "README.md",
        "src/pkg/a.py",
    ]
    assert [str(f) for f in starter.project_files(tmp_path)] == EXPECTED_FILES
