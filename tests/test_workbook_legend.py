"""Every reason code the tool can emit has a sentence on the workbook's Legend sheet.

The codes are found where the pipeline emits them, by reading its source (not by a list kept
by hand, which would drift): the reasons table of ``migrate/transform/failures.py``; the
code given to ``failures.add``; the code a step returns; module constants named after
reasons; the ``error=`` of each validation check; the default ``reason`` of each rule in
``migrate/spec/checks.py`` and the conditional returns of ``money_reason``; and the reasons
the shipped mappings declare. A new code without a legend entry fails here.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from openpyxl import load_workbook

from migrate.transform.failures import REASONS as PIPELINE_REASONS
from reconcile.report import Reconciliation
from reconcile.reports.workbook import write_workbook
from reconcile.reports.workbook_legend import REASONS, reason_text
from tests.test_workbook import _ap, _gl, _run

ROOT = Path(__file__).resolve().parents[1]
_CODE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)+$")


def _codes_in(tree: ast.AST) -> set[str]:
    found: set[str] = set()

    def text(node: ast.AST | None) -> str | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value if _CODE.match(node.value) else None
        return None

    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else ""
            owner = node.func.value if isinstance(node.func, ast.Attribute) else None
            owned = ast.unparse(owner) if owner is not None else ""
            if name == "add" and owned.endswith("failures") and len(node.args) >= 3:
                found.add(text(node.args[2]) or "")
            for kw in node.keywords:
                if kw.arg in ("error", "reason", "default"):
                    found.add(text(kw.value) or "")
        elif isinstance(node, ast.Return) and isinstance(node.value, ast.Tuple):
            if len(node.value.elts) == 3:  # a step's (value, bad, reason)
                found.add(text(node.value.elts[2]) or "")
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = [t.id for t in targets if isinstance(t, ast.Name)]
            if any("REASON" in n or n in ("UNREADABLE", "INCOMPLETE", "reason") for n in names):
                found.add(text(node.value) or "")
                if isinstance(node.value, ast.Dict):
                    found |= {text(v) or "" for v in node.value.values}
        elif isinstance(node, ast.FunctionDef) and node.name.endswith("_reason"):
            found |= {text(n) or "" for n in ast.walk(node) if isinstance(n, ast.Constant)}
    return found - {""}


def emitted_codes() -> set[str]:
    codes = set(PIPELINE_REASONS)
    for path in (ROOT / "migrate").rglob("*.py"):
        try:
            codes |= _codes_in(ast.parse(path.read_text(encoding="utf-8")))
        except SyntaxError:  # a module being edited in a shared tree: it cannot run either
            continue
    for path in (ROOT / "mappings").rglob("*.yaml"):
        codes |= set(re.findall(r"\breason:\s*([a-z][a-z0-9_]*)", path.read_text("utf-8")))
    return codes


def test_the_scan_finds_the_codes_it_must() -> None:
    codes = emitted_codes()
    needed = ("parent_rejected", "unreadable_record", "variant_incomplete", "too_long",
              "header_total_mismatch", "inexact_float", "invalid_boolean")  # fmt: skip
    assert not [code for code in needed if code not in codes]


def test_every_emitted_code_has_a_legend_entry() -> None:
    missing = sorted(emitted_codes() - set(REASONS))
    assert not missing, f"reason codes without a sentence on the Legend sheet: {missing}"
    assert all(text.endswith(".") and len(text) > 30 for text in REASONS.values())


def test_legend_sheet_lists_every_code_and_marks_those_in_this_workbook(tmp_path: Path) -> None:
    path = tmp_path / "w.xlsx"
    write_workbook(Reconciliation(_run(), (_gl(), _ap())), path)
    ws = load_workbook(path)["Legend"]
    rows = {r[0]: r for r in ws.iter_rows(min_row=4, values_only=True) if r[0]}
    for code in REASONS:
        assert rows[code][1] == REASONS[code]
    assert rows["INVALID_ACCOUNT"][1:] == (reason_text("INVALID_ACCOUNT"), "7 row(s)")
    for word in ("PASS", "EXCEPTIONS", "FAIL", "UNVERIFIED", "Not read", "Rejected", "Filtered"):
        assert word in rows
