"""The import rules of the package, held by walking its source (no import needed).

Layers, from the top: ``cli -> app -> adapters -> health -> core``. A module imports its own
area or the layers below it, never above, and adapters never import each other, so each
area can change without the others noticing. Only ``app`` and ``cli`` read the settings;
adapters receive plain values. Cycles and function-level imports that dodge one are
refused; a function-level import is allowed only for a heavy or platform-only third-party
module that a cold path should not pay for.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "panel_tracker"

# Rank of each area: a module may import areas of the same or a higher rank number only.
# The settings sit between app and the adapters: they build the adapters' own value types
# (plain frozen dataclasses), and no adapter can see them.
LAYERS: dict[str, float] = {
    "cli": 0,
    "app": 1,
    "settings": 1.5,
    "enlighten": 2,
    "envoy": 2,
    "sheets": 2,
    "notify": 2,
    "report": 2,
    "export": 2,
    "health": 3,
    "history": 4,
    "energy": 4,
    "storage": 4,
    "errors": 4,
    "findings": 4,
    "redaction": 4,
    "python_version": 4,
    "wording": 4,
    "roof": 4,
}
ADAPTERS = {area for area, rank in LAYERS.items() if rank == 2}
SETTINGS_READERS = {"app", "cli"}
LAZY_THIRD_PARTY = {
    "matplotlib",
    "httplib2",
    "google",
    "googleapiclient",
    "google_auth_oauthlib",
    "google_auth_httplib2",
    "msvcrt",
    "fcntl",
    "pvlib",
    "pyenphase",
    "paho",
}


@dataclass(frozen=True)
class Import:
    importer: str  # dotted module name inside the package, e.g. "sheets.push"
    target: str  # dotted name it imports, package-relative when internal, else absolute
    internal: bool
    line: int
    in_function: bool


def module_name(path: Path, package: Path = PACKAGE) -> str:
    parts = path.relative_to(package).with_suffix("").parts
    return ".".join(p for p in parts if p != "__init__")


def area_of(module: str) -> str:
    return module.split(".", 1)[0]


def resolve_relative(importer: Path, package: Path, level: int, module: str | None) -> str:
    base = list(importer.relative_to(package).parent.parts)
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join([*base, *(module.split(".") if module else [])])


def imports_of(path: Path, package: Path = PACKAGE) -> list[Import]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[Import] = []
    importer = module_name(path, package)

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            nested = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            if isinstance(child, ast.ImportFrom):
                if child.level:
                    target = resolve_relative(path, package, child.level, child.module)
                    if child.module is None:  # "from . import x": x is the module
                        for alias in child.names:
                            found.append(
                                Import(
                                    importer,
                                    f"{target}.{alias.name}".strip("."),
                                    True,
                                    child.lineno,
                                    nested,
                                )
                            )
                        continue
                    found.append(Import(importer, target, True, child.lineno, nested))
                elif child.module and child.module.startswith("panel_tracker"):
                    target = child.module.removeprefix("panel_tracker").lstrip(".")
                    found.append(Import(importer, target, True, child.lineno, nested))
                elif child.module:
                    found.append(Import(importer, child.module, False, child.lineno, nested))
            elif isinstance(child, ast.Import):
                for alias in child.names:
                    internal = alias.name.startswith("panel_tracker")
                    target = alias.name.removeprefix("panel_tracker").lstrip(".")
                    found.append(
                        Import(
                            importer,
                            target if internal else alias.name,
                            internal,
                            child.lineno,
                            nested,
                        )
                    )
            visit(child, nested)

    visit(tree, in_function=False)
    return found


def all_imports() -> list[Import]:
    return [imp for path in sorted(PACKAGE.rglob("*.py")) for imp in imports_of(path)]


def internal_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for imp in all_imports():
        graph.setdefault(imp.importer, set())
        if imp.internal and imp.target and not imp.in_function:
            graph[imp.importer].add(imp.target)
    return graph


def test_every_area_has_a_layer() -> None:
    areas = {area_of(module_name(p)) for p in PACKAGE.rglob("*.py")} - {""}
    assert areas <= set(LAYERS), f"give these a layer in LAYERS: {sorted(areas - set(LAYERS))}"


def test_imports_point_down_the_layers() -> None:
    wrong = []
    for imp in all_imports():
        if not imp.internal or not imp.target:
            continue
        source, target = area_of(imp.importer), area_of(imp.target)
        if source == target or not source:
            continue
        if LAYERS[target] < LAYERS[source]:
            wrong.append(f"{imp.importer}:{imp.line} imports {imp.target} (a higher layer)")
        elif source in ADAPTERS and target in ADAPTERS:
            wrong.append(f"{imp.importer}:{imp.line} imports {imp.target} (another adapter)")
    assert not wrong, "\n".join(wrong)


def test_only_app_and_cli_read_the_settings() -> None:
    readers = [
        f"{imp.importer}:{imp.line}"
        for imp in all_imports()
        if imp.internal
        and area_of(imp.target) == "settings"
        and area_of(imp.importer) not in SETTINGS_READERS | {"settings"}
    ]
    assert not readers, f"adapters get plain values, not settings: {readers}"


def test_no_function_level_import_dodges_a_cycle() -> None:
    lazy = [
        f"{imp.importer}:{imp.line} imports {imp.target}"
        for imp in all_imports()
        if imp.in_function and (imp.internal or imp.target.split(".")[0] not in LAZY_THIRD_PARTY)
    ]
    assert not lazy, "\n".join(lazy)


def test_no_import_cycle() -> None:
    graph = internal_graph()
    # A package's __init__ is imported with each of its modules: count it as the package.
    visiting: list[str] = []
    done: set[str] = set()
    cycles: list[str] = []

    def walk(node: str) -> None:
        if node in done:
            return
        if node in visiting:
            cycles.append(" -> ".join([*visiting[visiting.index(node) :], node]))
            return
        visiting.append(node)
        for target in sorted(graph.get(node, ())):
            walk(target)
        visiting.pop()
        done.add(node)

    for node in sorted(graph):
        walk(node)
    assert not cycles, "\n".join(cycles)


def test_no_re_export_shim() -> None:
    shims = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = {
            alias.asname or alias.name
            for node in tree.body
            if isinstance(node, ast.ImportFrom)
            for alias in node.names
        }
        for node in tree.body:
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
            ):
                names = {
                    elt.value
                    for elt in getattr(node.value, "elts", [])
                    if isinstance(elt, ast.Constant) and isinstance(elt.value, str)
                }
                if names & imported:
                    shims.append(f"{module_name(path)} re-exports {sorted(names & imported)}")
    assert not shims, "\n".join(shims)


@pytest.mark.parametrize(
    ("source", "expected_target"),
    [
        ("from ..history import History", "history"),
        ("from .grid import A1", "sheets.grid"),
        ("from panel_tracker.settings import Settings", "settings"),
    ],
)
def test_the_walk_reads_every_import_form(
    tmp_path: Path, source: str, expected_target: str
) -> None:
    package = tmp_path / "panel_tracker"
    (package / "sheets").mkdir(parents=True)
    module = package / "sheets" / "push.py"
    module.write_text(source + "\n", encoding="utf-8")
    (found,) = imports_of(module, package)
    assert (found.importer, found.target, found.internal) == ("sheets.push", expected_target, True)
