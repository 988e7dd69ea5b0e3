"""Reconciliation reads legacy files and rows with its own code (invariant 3): no module of
``reconcile/`` imports the pipeline's readers or transform. ``migrate.files.origins`` (where
each mapping file lives, no reading code) is the one part of ``migrate.files`` it may use."""

from __future__ import annotations

import ast
from pathlib import Path

RECONCILE = Path(__file__).resolve().parents[1] / "reconcile"
FORBIDDEN = (
    "migrate.transform",
    "migrate.pipeline",
    "migrate.validate",
    "migrate.extract",
    "migrate.export",  # reconcile/exported*.py read the export's files with their own code
)
ALLOWED_FILES = {"migrate.files.origins"}


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return names


def forbidden(name: str) -> bool:
    if name.startswith(FORBIDDEN):
        return True
    inside_files = name.startswith("migrate.files.")
    return inside_files and not any(name.startswith(a) for a in ALLOWED_FILES)


def test_reconcile_never_imports_the_pipelines_readers_or_transform() -> None:
    offending = {
        f"{path.name}: {name}"
        for path in sorted(RECONCILE.glob("*.py"))
        for name in imported(path)
        if forbidden(name)
    }
    assert not offending


def test_the_guard_sees_a_forbidden_import() -> None:
    assert forbidden("migrate.files.delimited") and forbidden("migrate.extract.read_file")
    assert not forbidden("migrate.files.origins.mapping_dir")
