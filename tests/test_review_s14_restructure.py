"""Review (session 14) of the package restructure (a15c0c6, b1cd60e): tests that would
pass because they look at nothing.

- ``tests/hostile/test_workbook_control_chars.py::test_every_cell_is_written_by_put_or_put_formula``
  globs ``reconcile/workbook*.py``; the workbook modules moved to ``reconcile/reports/``,
  so it now checks no file and passes whatever a sheet writer does. The same rule is held
  here over the modules where they are (found recursively, and at least the ten known).
- A ``monkeypatch.setattr(module, "name", ...)`` patches the module's global: it changes
  what the code does only if the code looks ``name`` up there at run time (a global of
  that module, or ``module.name`` elsewhere). After a move, a patch of a module that only
  re-exports the name, or of one whose callers did ``from module import name``, patches
  nothing and the test passes without its plant. Every such patch in tests/ is checked.
"""

from __future__ import annotations

import ast
import importlib
import re
import types
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CODE = ("migrate", "reconcile", "cli", "flows", "fixtures")


def test_every_workbook_cell_is_written_by_put_or_put_formula_where_the_modules_are() -> None:
    setting = re.compile(r"\.value\s*=(?!=)|\bvalue\s*=(?!=)|\.append\(\s*\[")
    allowed = "StringProperty(name=WORKBOOK_PROPERTY, value=text)"  # a document property
    writers = sorted((ROOT / "reconcile").rglob("workbook*.py"))
    assert len(writers) >= 10, [p.name for p in writers]
    for path in writers:
        text = path.read_text(encoding="utf-8").replace(allowed, "")
        if path.name == "workbook_style.py":
            text = text[: text.index("def put(")] + text[text.index("def _cell(") :]
        assert not setting.search(text), path.relative_to(ROOT)


def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def _code_files() -> Iterator[Path]:
    for folder in CODE:
        yield from sorted((ROOT / folder).rglob("*.py"))


def _aliases(tree: ast.Module) -> dict[str, str]:
    """A file's local names for modules: ``import a.b as c``, ``from a import b``."""
    out: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                out[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for a in node.names:
                out[a.asname or a.name] = f"{node.module}.{a.name}"
    return out


def _looked_up() -> set[tuple[str, str]]:
    """(module, name): a name the code looks up in a module at run time, as a global of
    the module itself, as ``<module>.name`` anywhere, or by a ``from module import name``
    inside a function (run at each call)."""
    out: set[tuple[str, str]] = set()
    for path in _code_files():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        here = _module_name(path)
        aliases = _aliases(tree)
        top = {id(n) for n in tree.body}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and id(node) not in top:
                out |= {(node.module, a.name) for a in node.names}
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                out.add((here, node.id))
            elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                module = aliases.get(node.value.id)
                if module:
                    out.add((module, node.attr))
            elif isinstance(node, ast.Attribute):
                dotted = ast.unparse(node.value)
                out.add((dotted, node.attr))
    return out


def _patches() -> Iterator[tuple[str, str, str]]:
    """(where, target, name) of each ``setattr(<module or object>, "name", ...)`` in tests."""
    for path in sorted((ROOT / "tests").rglob("test_*.py")):
        if path.name.startswith("test_review_s14"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        aliases = _aliases(tree)
        for node in ast.walk(tree):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "setattr"
                and len(node.args) >= 2
                and isinstance(node.args[1], ast.Constant)
                and isinstance(node.args[1].value, str)
            ):
                continue
            target = ast.unparse(node.args[0])
            head = target.split(".")[0]
            full = aliases.get(head, head) + target[len(head) :]
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            yield where, full, node.args[1].value


def _resolve(dotted: str) -> object:
    try:
        return importlib.import_module(dotted)
    except ImportError:
        owner, _, attr = dotted.rpartition(".")
        return getattr(importlib.import_module(owner), attr)


def test_every_patched_module_global_is_one_the_code_looks_up() -> None:
    looked = _looked_up()
    checked, dead = 0, []
    for where, target, name in _patches():
        if not target.startswith(CODE):
            continue
        obj = _resolve(target)
        if not isinstance(obj, types.ModuleType):  # a class: its attribute is looked up
            assert hasattr(obj, name), f"{where}: {target} has no {name}"
            continue
        checked += 1
        if not hasattr(obj, name):
            dead.append(f"{where}: {target} has no {name} (raising=False hides it?)")
        elif (obj.__name__, name) not in looked:
            dead.append(f"{where}: nothing calls {target}.{name} through {target}")
    assert checked >= 40, checked  # the guard sees the suite's patches
    assert not dead, dead


def test_the_patch_guard_tells_a_live_patch_from_a_dead_one() -> None:
    looked = _looked_up()
    assert ("migrate.runs.pipeline", "process_chunk") in looked  # called as a global there
    assert ("reconcile.run", "reconcile_command") in looked  # imported at each call
    assert ("migrate.runs", "run_migration") not in looked  # a lazy re-export: nobody calls it
