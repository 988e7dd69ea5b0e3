"""Reconciliation reads legacy files and rows with its own code (invariant 3): no module of
``reconcile/`` imports the pipeline's readers or transform. ``migrate.extract.files.origins``
(where each mapping file lives) and ``.confinement`` (which paths a mapping may name), neither
with reading code, are the parts of ``migrate.extract`` it may use."""

from __future__ import annotations

import ast
from pathlib import Path

RECONCILE = Path(__file__).resolve().parents[1] / "reconcile"
FORBIDDEN = (
    "migrate.transform",
    "migrate.runs.pipeline",
    "migrate.validate",
    "migrate.extract",  # the package's own names too: it hands out the pipeline's readers
    "migrate.export",  # reconcile/exported*.py read the export's files with their own code
)
# where a mapping's files live, and which paths a mapping may name: no reading code
ALLOWED_FILES = {"migrate.extract.files.origins", "migrate.extract.files.confinement"}


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
    # the allowed module, its names, and the packages on the way to it
    if any(name == a or name.startswith(a + ".") for a in ALLOWED_FILES):
        return False
    if any(a.startswith(name + ".") for a in ALLOWED_FILES):
        return False
    return name.startswith(FORBIDDEN)


def test_reconcile_never_imports_the_pipelines_readers_or_transform() -> None:
    offending = {
        f"{path.relative_to(RECONCILE)}: {name}"
        for path in sorted(RECONCILE.rglob("*.py"))
        for name in imported(path)
        if forbidden(name)
    }
    assert not offending


def test_the_guard_sees_a_forbidden_import() -> None:
    assert forbidden("migrate.extract.files.delimited") and forbidden(
        "migrate.extract.chunks.read_file"
    )
    assert forbidden("migrate.extract.read_file") and forbidden("migrate.extract.files.fixed")
    assert not forbidden("migrate.extract.files.origins.mapping_dir")
    assert not forbidden("migrate.extract.files.origins")
