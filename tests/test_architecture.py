"""The shape README.md's "Architecture" section promises, checked on the source: the layers and the
direction of imports between them, no import cycle, faces that go through the use cases only, and
no function longer than a screen.

Every module under tracker/ is read as text (nothing is imported). Imports inside functions count
like top-level ones; imports under ``if TYPE_CHECKING:`` count for the direction of layers (a type
names a dependency too) but not for cycles, since they never run.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest

TRACKER = Path(__file__).resolve().parent.parent / "tracker"

#: Lowest first. A module may import modules of its own layer or of the layers below it, never above.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("foundation", ("tracker", "tracker.config", "tracker.errors", "tracker.vocabulary", "tracker.models",
                    "tracker.db", "tracker.workers", "tracker.audit", "tracker.runs", "tracker.sample")),
    ("ingest", ("tracker.ingest",)),
    ("embed", ("tracker.embed", "tracker.backlog")),
    ("narratives", ("tracker.narratives",)),
    ("analysis", ("tracker.analysis",)),
    ("library", ("tracker.queries", "tracker.similarity", "tracker.queue", "tracker.export", "tracker.actors",
                 "tracker.accounts", "tracker.backup", "tracker.jobs", "tracker.vector_index")),
    ("service", ("tracker.service",)),
    ("faces", ("tracker.cli", "tracker.web")),
]
#: What the faces may import when they run, besides their own package: the use cases and the foundation's
#: plain parts (settings, refusals, vocabulary). The CLI may also import the web face, to serve it.
FACE_MAY_USE = ("tracker", "tracker.config", "tracker.errors", "tracker.vocabulary", "tracker.service")
MAX_FUNCTION_LINES = 80


@dataclass(frozen=True)
class Import:
    source: str
    target: str
    line: int
    type_only: bool


def module_name(path: Path) -> str:
    parts = path.relative_to(TRACKER.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(TRACKER.rglob("*.py"))}


def _resolve(name: str) -> str | None:
    """The tracker module an import names (a name imported from a package is its submodule if there is one)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports_in(source: str, tree: ast.AST) -> list[Import]:
    found: list[Import] = []

    def visit(node: ast.AST, type_only: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for inner in child.body:
                    visit_one(inner, True)
                for inner in child.orelse:
                    visit_one(inner, type_only)
            else:
                visit_one(child, type_only)

    def visit_one(node: ast.AST, type_only: bool) -> None:
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{alias.name}" for alias in node.names]
        for name in names:
            target = _resolve(name) if name.split(".")[0] == "tracker" else None
            if target is not None and target != source:
                found.append(Import(source, target, getattr(node, "lineno", 0), type_only))
            elif name.split(".")[0] == "sqlalchemy":
                found.append(Import(source, "sqlalchemy", getattr(node, "lineno", 0), type_only))
        visit(node, type_only)

    visit(tree, False)
    return found


TREES = {name: ast.parse(path.read_text(encoding="utf-8")) for name, path in MODULES.items()}
IMPORTS = [imp for name, tree in TREES.items() for imp in _imports_in(name, tree)]


def layer_of(module: str) -> int:
    """The index of the module's layer: the most specific prefix listed wins."""
    best: tuple[int, int] | None = None
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and (best is None or len(prefix) > best[0]):
                best = (len(prefix), index)
    if best is None:
        raise KeyError(module)
    return best[1]


def test_every_module_belongs_to_a_layer() -> None:
    unplaced = []
    for module in MODULES:
        try:
            layer_of(module)
        except KeyError:
            unplaced.append(module)
    assert not unplaced, f"add these to a layer in LAYERS and in README.md: {unplaced}"


def test_imports_only_go_down_the_layers() -> None:
    upward = [f"{imp.source}:{imp.line} imports {imp.target} ({LAYERS[layer_of(imp.source)][0]} -> "
              f"{LAYERS[layer_of(imp.target)][0]})"
              for imp in IMPORTS if imp.target != "sqlalchemy" and layer_of(imp.target) > layer_of(imp.source)]
    assert not upward, "\n".join(upward)


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            connect(v)
    return found


def test_no_import_cycle() -> None:
    edges: dict[str, set[str]] = defaultdict(set)
    for imp in IMPORTS:
        if not imp.type_only and imp.target != "sqlalchemy":
            edges[imp.source].add(imp.target)
    assert _cycles(edges) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


@pytest.mark.parametrize("face", ["tracker.cli", "tracker.web"])
def test_faces_only_call_the_use_cases_and_write_no_sql(face: str) -> None:
    """A face parses input, calls a use case and renders what it returns: delete it and nothing is lost."""
    allowed = {face, *FACE_MAY_USE, *(("tracker.web",) if face == "tracker.cli" else ())}
    wrong = [f"{imp.source}:{imp.line} imports {imp.target}" for imp in IMPORTS
             if not imp.type_only and (imp.source == face or imp.source.startswith(face + "."))
             and not any(imp.target == a or imp.target.startswith(a + ".") for a in allowed)]
    assert not wrong, "\n".join(wrong)


def test_no_function_is_longer_than_a_screen() -> None:
    long = [f"{name}:{node.lineno} {node.name} has {node.end_lineno - node.lineno + 1} lines"
            for name, tree in TREES.items() for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.end_lineno is not None
            and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES]
    assert not long, "\n".join(long)
