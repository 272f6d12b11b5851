"""The analysis core's modules depend on each other one way: no import circle, however hidden.

Every ``import`` counts, at module level or inside a function (a function-level import only
postpones a circle to the first call); imports under ``if TYPE_CHECKING:`` do not run and are
left out. Layers, lowest first: fold definitions (``cv``), loading data (``cohort``), the
analysis methods (``methods``), the runner that composes them.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import kbtools

PACKAGE = Path(kbtools.__file__).resolve().parent


def module_names(root: Path, package: str) -> dict[str, Path]:
    """Dotted module name -> file, for every ``.py`` under ``root`` (a package's
    ``__init__.py`` is the package itself)."""
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = [package, *path.relative_to(root).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for sub in node.body:
                skip.update(id(n) for n in ast.walk(sub))
    return skip


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the modules of ``modules`` it imports (any import statement that runs)."""
    edges: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip = _type_checking_nodes(tree)
        here = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        for node in ast.walk(tree):
            if id(node) in skip:
                continue
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = here[:len(here) - (node.level - 1)]
                    base = ".".join(anchor + ([base] if base else []))
                for alias in node.names:  # `from pkg import module` imports the module
                    full = f"{base}.{alias.name}"
                    targets.append(full if full in modules else base)
            edges[name].update(t for t in targets if t in modules and t != name)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in edges:
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_checker_finds_a_circle_hidden_in_a_function(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("from typing import TYPE_CHECKING\n"
                                            "if TYPE_CHECKING:\n    from pkg import c\n")
    (pkg / "a.py").write_text("from pkg.sub import b\n")
    (pkg / "sub" / "b.py").write_text("def f():\n    from .. import a\n    return a\n")
    (pkg / "c.py").write_text("import pkg.sub\n")
    edges = import_graph(module_names(pkg, "pkg"))
    assert edges["pkg.a"] == {"pkg.sub.b"} and edges["pkg.sub.b"] == {"pkg.a"}
    assert edges["pkg.sub"] == set()  # TYPE_CHECKING imports do not run
    assert cycles(edges) == [["pkg.a", "pkg.sub.b"]]


@pytest.fixture(scope="module")
def kbtools_graph() -> dict[str, set[str]]:
    return import_graph(module_names(PACKAGE, "kbtools"))


def test_the_analysis_core_has_no_import_circle(kbtools_graph: dict[str, set[str]]) -> None:
    core = [c for c in cycles(kbtools_graph) if any(m.startswith("kbtools.experiments")
                                                    for m in c)]
    assert core == []


@pytest.mark.parametrize(("lower", "higher"), [
    ("kbtools.experiments.cv", "kbtools.experiments.cohort"),
    ("kbtools.experiments.cohort", "kbtools.experiments.methods"),
    ("kbtools.experiments.methods", "kbtools.experiments.runner"),
])
def test_lower_layers_never_import_higher_ones(kbtools_graph: dict[str, set[str]], lower: str,
                                              higher: str) -> None:
    edges = kbtools_graph

    def within(name: str, prefix: str) -> bool:
        return name == prefix or name.startswith(prefix + ".")

    reach = {m for m in edges if within(m, lower)}
    frontier = list(reach)
    while frontier:  # everything the lower layer imports, directly or not
        for dep in edges[frontier.pop()]:
            if dep not in reach:
                reach.add(dep)
                frontier.append(dep)
    assert not [m for m in reach if within(m, higher)], f"{lower} depends on {higher}"
