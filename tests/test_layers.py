"""The package's folders are its layers: a module may import only from its own layer or below.

Read with `ast`, so that imports inside functions and under `TYPE_CHECKING` count too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "pipeline"

#: Layer of each top-level part of the package, lowest first. A module may import a
#: module of a lower or the same layer, never a higher one.
LAYERS: dict[str, int] = {
    "errors": 0,
    "spec": 0,
    "sources": 1,
    "store": 1,
    "diff": 2,
    "impact": 3,
    "codesets": 4,
    "config": 5,
    "analysis": 6,
    "claims": 6,
    "report": 7,
    "project": 8,
    "cli": 9,
    "__init__": 9,
    "__main__": 9,
}

#: Known upward imports still to be removed (each is a defect, listed to be fixed).
PENDING: set[tuple[str, str]] = set()


def part(module: str) -> str:
    """`pipeline.store.keys` -> `store`."""
    pieces = module.split(".")
    return pieces[1] if len(pieces) > 1 else "__init__"


def module_name(path: Path, root: Path = PACKAGE) -> str:
    rel = path.relative_to(root.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts = parts[:-1] if len(parts) > 2 else [*parts[:-1], "__init__"]
    return ".".join(parts)


def imports(path: Path) -> set[str]:
    """Every `pipeline...` module `path` imports, at any depth of the file."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("pipeline."))
        elif (
            isinstance(node, ast.ImportFrom)
            and node.level == 0
            and (node.module or "").startswith("pipeline.")
        ):
            found.add(str(node.module))
    return found


def upward_imports(root: Path = PACKAGE) -> list[tuple[str, str]]:
    """(importer, imported) pairs where a lower layer imports a higher one."""
    wrong = []
    for path in sorted(root.rglob("*.py")):
        importer = module_name(path, root)
        for imported in sorted(imports(path)):
            if LAYERS[part(imported)] > LAYERS[part(importer)]:
                wrong.append((importer, imported))
    return wrong


def test_every_part_of_the_package_has_a_layer() -> None:
    parts = {p.stem if p.is_file() else p.name for p in PACKAGE.iterdir()}
    parts = {p for p in parts if not p.startswith(("_", ".")) or p in LAYERS}
    parts -= {"py", "__pycache__"}
    assert parts <= set(LAYERS), f"give these a layer: {sorted(parts - set(LAYERS))}"


def test_no_module_imports_a_higher_layer() -> None:
    wrong = [pair for pair in upward_imports() if pair not in PENDING]
    assert not wrong, "upward imports:\n" + "\n".join(f"{a} -> {b}" for a, b in wrong)


def test_the_check_catches_an_upward_import(tmp_path: Path) -> None:
    """The test of the test: a store module that imports the report layer is caught."""
    package = tmp_path / "pipeline"
    (package / "store").mkdir(parents=True)
    (package / "report").mkdir()
    (package / "store" / "bad.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from pipeline.report.render import render_cycle\n"
    )
    (package / "report" / "ok.py").write_text("from pipeline.store.snapshots import Store\n")
    assert upward_imports(package) == [("pipeline.store.bad", "pipeline.report.render")]


@pytest.mark.parametrize("module", ["pipeline.store.keys", "pipeline.codesets.hcpcs.anweb"])
def test_part_names_the_top_level_folder(module: str) -> None:
    assert part(module) == module.split(".")[1]
