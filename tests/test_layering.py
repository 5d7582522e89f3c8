"""The package's import graph: no circles, and no import from a lower layer to a higher one.

    hatch run test tests/test_layering.py

Every module under ``src/pykcworkshop`` is parsed with :mod:`ast` (nothing is imported).
Every import counts: at module level, inside a function (a lazy import, e.g. of the Redis
backends) or under ``if TYPE_CHECKING:``. ``import a.b`` and ``from a.b import c`` are an
edge to the module ``a.b.c`` when that is a module, otherwise to ``a.b``. Importing a
submodule also runs its package's ``__init__``, but that is not counted as an edge: a
package's ``__init__`` that re-exports its submodules would otherwise be a circle with
every one of them.

The layers, lowest first, are :data:`LAYERS`; a module may import its own layer and the
ones below. Every module must be placed in exactly one layer, so a new module makes this
test fail until someone decides where it belongs.
"""

from __future__ import annotations

import ast
import fnmatch
from collections.abc import Iterable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"
PACKAGE = "pykcworkshop"

#: Lowest first. Patterns are fnmatch patterns over dotted module names.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    # Settings, generated files, the clock, problem+json: no knowledge of the chat.
    (
        "foundation",
        (
            "pykcworkshop.__about__",
            "pykcworkshop.envfile",
            "pykcworkshop.config",
            "pykcworkshop.utils",
            "pykcworkshop.problems",
            "pykcworkshop.hypercorn_fixes",
            "pykcworkshop.gctuning",
            "pykcworkshop.socket_reads",
        ),
    ),
    # The chat's rules: limits, name and content checks, tokens, channel names.
    (
        "rules",
        (
            "pykcworkshop.chat.constants",
            "pykcworkshop.chat.validation",
            "pykcworkshop.chat.confusables",
            "pykcworkshop.chat.tokens",
            "pykcworkshop.chat.channels",
            "pykcworkshop.chat.mentions",
        ),
    ),
    ("data", ("pykcworkshop.chat.db", "pykcworkshop.chat.db.*")),
    ("backplane", ("pykcworkshop.chat.backplane", "pykcworkshop.chat.backplane.*")),
    # What a message is and how forms are checked, on top of the data layer.
    (
        "chat",
        (
            "pykcworkshop.chat.messages",
            "pykcworkshop.chat.forms",
            "pykcworkshop.chat.moderation",
            "pykcworkshop.chat.room_events",
            "pykcworkshop.chat.groupcommit",
        ),
    ),
    # Everything that answers requests: the page, the HTTP API, the websockets, site routes.
    ("web", ("pykcworkshop.chat", "pykcworkshop.chat.api", "pykcworkshop.chat.api.*", "pykcworkshop.site")),
    ("app factory", ("pykcworkshop", "pykcworkshop.hardening")),
]

#: Packages of one layer that must not import each other.
SIBLINGS = [("pykcworkshop.chat.api.http", "pykcworkshop.chat.api.websockets")]


def module_names(src: Path = SRC) -> dict[str, Path]:
    """Return every module of the package by dotted name (packages by their ``__init__``)."""
    names = {}
    for path in sorted((src / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(src).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def imports_of(name: str, path: Path, modules: Iterable[str]) -> set[str]:
    """Return the package's modules that module ``name`` (at ``path``) imports, anywhere in it."""
    known = set(modules)
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the package this module is in
                anchor = name.split(".")
                anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                found.add(candidate if candidate in known else base)
    return {module for module in found if module in known and module != name}


def import_graph(src: Path = SRC) -> dict[str, set[str]]:
    """Return module -> the package modules it imports."""
    modules = module_names(src)
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Return the circles of ``graph`` (its strongly connected components of 2+ modules, or self-loops).

    >>> cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}})
    [['a', 'b']]
    """
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's algorithm
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph.get(node, ()):
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def layer_of(module: str) -> list[int]:
    """Return the indexes of the layers whose patterns match ``module``."""
    return [
        i for i, (_, patterns) in enumerate(LAYERS) if any(fnmatch.fnmatchcase(module, p) for p in patterns)
    ]


def within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


@pytest.mark.parametrize(
    ("example", "expected"),
    [
        ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
        ({"a": {"b"}, "b": {"a"}, "c": {"a"}}, [["a", "b"]]),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"d"}}, [["a", "b", "c"], ["d"]]),
    ],
)
def test_cycles_finds_every_circle(example, expected):
    assert sorted(cycles(example)) == expected


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return import_graph()


def test_the_graph_sees_every_kind_of_import(graph):
    # The backplane imports the Redis backends only inside backplane_for(): lazy imports count.
    assert "pykcworkshop.chat.backplane.pubsub_redis" in graph["pykcworkshop.chat.backplane"]
    # `from pykcworkshop.chat import db` is an edge to the db package.
    assert "pykcworkshop.chat.db" in graph["pykcworkshop.chat.api.http.v1"]
    # The app factory reaches the websocket package's ASGI class.
    assert "pykcworkshop.chat.api.websockets.asgi" in graph["pykcworkshop"]


def test_there_are_no_import_circles(graph):
    assert cycles(graph) == []


def test_every_module_is_in_exactly_one_layer(graph):
    misplaced = {module: [LAYERS[i][0] for i in layer_of(module)] for module in graph}
    assert {module: layers for module, layers in misplaced.items() if len(layers) != 1} == {}


def test_no_module_imports_a_higher_layer(graph):
    upward = [
        f"{module} ({LAYERS[layer_of(module)[0]][0]}) imports {target} ({LAYERS[layer_of(target)[0]][0]})"
        for module, targets in sorted(graph.items())
        for target in sorted(targets)
        if layer_of(target)[0] > layer_of(module)[0]
    ]
    assert upward == []


@pytest.mark.parametrize(("first", "second"), SIBLINGS)
def test_sibling_packages_do_not_import_each_other(graph, first, second):
    crossing = [
        f"{module} imports {target}"
        for module, targets in sorted(graph.items())
        for target in sorted(targets)
        if (within(module, first) and within(target, second))
        or (within(module, second) and within(target, first))
    ]
    assert crossing == []


def test_tests_benchmarks_and_docs_import_only_tests_support():
    """Conftests hold fixtures and test modules hold tests: helpers come from tests.support."""
    offenders = []
    for folder in ("tests", "bench", "docs"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
                names = (
                    [alias.name for alias in node.names]
                    if isinstance(node, ast.Import)
                    else [node.module or ""]
                    if isinstance(node, ast.ImportFrom) and node.level == 0
                    else []
                )
                offenders += [
                    f"{path.relative_to(ROOT)} imports {name}"
                    for name in names
                    if within(name, "tests") and not within(name, "tests.support")
                ]
    assert offenders == []
