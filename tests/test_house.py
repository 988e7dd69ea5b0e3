"""The tree shows the data flow (issue 21): a package per stage, its public names in its
``__init__``, and no import that runs back up (core < reconcile, flows < the command line;
in ``reconcile/``, reading < proving < reports)."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# a package may import nothing of the packages listed for it, in any module, at any depth
NEVER = {
    "migrate": ("cli", "flows", "reconcile"),
    "reconcile": ("cli", "flows"),
    "flows": ("cli",),
    "reconcile/reading": ("reconcile.proving", "reconcile.reports", "reconcile.run"),
    "reconcile/proving": ("reconcile.reports", "reconcile.run"),
}
STAGES = ("spec", "extract", "transform", "validate", "load", "targets", "runs", "lineage")
# what stays beside the stage packages: the base every stage shares
BASE = {"__init__", "config", "db", "errors", "legacy_role", "progress", "reach"}
LAZY = (
    "cli",
    "migrate.extract",
    "migrate.load",
    "migrate.runs",
    "migrate.audit",
    "migrate.signoff",
    "reconcile.reading",
    "reconcile.proving",
    "reconcile.reports",
)


def imports_of(path: Path) -> set[str]:
    """Every module a file imports, at module level or inside a function."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return names


def upward(folder: str, above: tuple[str, ...]) -> set[str]:
    return {
        f"{path.relative_to(ROOT)}: {name}"
        for path in sorted((ROOT / folder).rglob("*.py"))
        for name in imports_of(path)
        if any(name == a or name.startswith(a + ".") for a in above)
    }


@pytest.mark.parametrize("folder", sorted(NEVER))
def test_no_import_runs_back_up(folder: str) -> None:
    assert upward(folder, NEVER[folder]) == set()


def test_the_guard_sees_an_import_that_runs_back_up(tmp_path: Path) -> None:
    planted = tmp_path / "planted.py"
    planted.write_text("def f():\n    from reconcile.reports.workbook import write_workbook\n")
    assert "reconcile.reports.workbook" in imports_of(planted)


def test_every_stage_is_a_package_and_the_core_holds_no_loose_stage_modules() -> None:
    for stage in STAGES:
        init = ROOT / "migrate" / stage / "__init__.py"
        assert init.exists(), stage
        assert ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))), stage
    loose = {p.stem for p in (ROOT / "migrate").glob("*.py")}
    assert loose == BASE, f"a module beside the stages belongs in one: {sorted(loose - BASE)}"


@pytest.mark.parametrize("package", LAZY)
def test_public_names_resolve_to_their_modules(package: str) -> None:
    module = importlib.import_module(package)
    homes: dict[str, str] = module._HOMES
    assert sorted(module.__all__) == sorted(homes)
    # a name spelled like a module of the package is shadowed by it once that is imported
    modules = {p.stem for p in (ROOT / package.replace(".", "/")).glob("*.py")}
    assert not set(homes) & modules
    for name, home in homes.items():
        owner = importlib.import_module(f"{package}.{home}")
        assert getattr(module, name) is getattr(owner, name), name
    with pytest.raises(AttributeError):
        module.no_such_name  # noqa: B018


def test_importing_one_module_of_a_stage_imports_no_sibling() -> None:
    """The ``__init__`` hands out its names lazily, so no import cycle runs through it."""
    code = (
        "import sys, migrate.runs.records; "
        "print(sorted(m for m in sys.modules if m.startswith('migrate.runs.')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "['migrate.runs.records']"
