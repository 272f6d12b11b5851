"""Dependencies run one way: no import circle between kbtools' parts, lazy imports included.

Every ``import`` / ``from ... import`` of every module is read from the source (imports inside
functions count: they are dependencies too). The parts are kbtools' sub-packages and top-level
modules; the test fails on any circle between two parts and on any part importing one of a
higher layer.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "kbtools"

#: Layers, lowest first: a part may import parts of its own or lower layers only.
LAYERS: list[set[str]] = [
    {"errors", "text", "kb", "layout", "yamlio", "schemas"},
    {"vocabulary", "config_rules", "run_folders", "site_files"},
    {"validation", "experiments", "pdf"},
    {"migrate"},
    {"site"},
    {"cli", "__main__", "__init__"},
]


def _part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def imports() -> dict[str, set[tuple[str, str]]]:
    """Part -> {(imported part, "importing module -> imported module")}."""
    out: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for path in PACKAGE.rglob("*.py"):
        module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            for name in names:
                if name.startswith("kbtools.") and name.count(".") >= 1:
                    target = _part(name)
                    if (PACKAGE / target).exists() or (PACKAGE / f"{target}.py").exists():
                        out[_part(module)].add((target, f"{module} -> {name}"))
    return out


def test_every_part_is_in_a_layer() -> None:
    parts = {p.stem for p in PACKAGE.iterdir()
             if (p.suffix == ".py" or (p.is_dir() and (p / "__init__.py").exists()))}
    assert parts <= set().union(*LAYERS), parts - set().union(*LAYERS)


def test_no_part_imports_a_higher_layer() -> None:
    level = {part: i for i, layer in enumerate(LAYERS) for part in layer}
    wrong = sorted(why for part, found in imports().items() for target, why in found
                   if level.get(target, 99) > level.get(part, 99))
    assert wrong == []


def test_no_import_circle_between_parts() -> None:
    graph = {part: {t for t, _ in found if t != part} for part, found in imports().items()}
    circles = sorted((a, b) for a in graph for b in graph[a] if a < b and a in graph.get(b, ()))
    assert circles == []
