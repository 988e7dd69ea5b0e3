"""The workbook reads as a controller needs it (issue 23, item 8): what fails first, then
what needs acceptance, most money first; passing count lines and grain values without
activity folded (nothing with activity hidden); reasons in words; money as numbers; the
method text on the Run sheet; every sheet printable landscape, one page wide, its header
repeated. Each test was seen failing on the workbook of bbefed2.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from pathlib import Path

from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from reconcile.report import GrainRow, Reconciliation, RejectGroup
from reconcile.reports.workbook import write_workbook
from reconcile.reports.workbook_grains import active
from tests.test_workbook import _ap, _gl, _run

D = Decimal


def _zero_grain(account: str) -> GrainRow:
    return GrainRow("fund x account x period", ("GEN", account, "2024-02"), "debit",
                    D(0), D(0), D(0), D(0), D(0))  # fmt: skip


def _report() -> Reconciliation:
    """ap_invoice (EXCEPTIONS) first in the run; gl_journal fails; gl has idle grain values;
    ap's two reject groups hold different money, with each sample row's own amount."""
    gl = _gl()
    gl = replace(gl, grains=(_zero_grain("3000"), *gl.grains, _zero_grain("4000")))
    ap = _ap()
    small = RejectGroup("ap_invoice", "negative_amount", 1, (("INV-8", "AMOUNT", "-5623076"),),
                        (("invoice_amount", D("-56230.76")),), ((D("-56230.76"),),))  # fmt: skip
    big = replace(ap.rejects[0], count=4, sample_amounts=((D("65.20"),),))
    measure = replace(ap.measures[0], source=D("42534.97"), rejected=D("-56165.56"))
    ap = replace(ap, rejects=(small, big), measures=(measure,))  # still 0.01 within tolerance
    return Reconciliation(_run(), (ap, gl))


def _book(tmp_path: Path) -> Path:
    path = tmp_path / "w.xlsx"
    write_workbook(_report(), path)
    return path


def _rows(ws: Worksheet, first: int) -> list[tuple[object, ...]]:
    return [tuple(r) for r in ws.iter_rows(min_row=first, values_only=True)]


def test_failing_entities_come_first_and_passing_counts_are_folded(tmp_path: Path) -> None:
    ws = load_workbook(_book(tmp_path))["Summary"]
    entities = [r[0] for r in _rows(ws, 9) if r[0]]
    assert entities[0] == "gl_journal" and entities[-1] == "ap_invoice"  # FAIL before EXCEPTIONS
    for r in range(9, ws.max_row + 1):
        check, status = ws.cell(r, 2).value, ws.cell(r, 10).value
        folded = ws.row_dimensions[r].hidden
        if (
            status != "PASS"
            or check in ("Row count", "Entity status")
            or (str(check).startswith("Amount:"))
        ):
            assert not folded, (r, check)
        else:
            assert folded and ws.row_dimensions[r].outlineLevel == 1, (r, check)
    notes = " ".join(str(ws.cell(r, 11).value) for r in range(9, ws.max_row + 1))
    assert "SUM(AMT_CENTS)" not in notes and "bucket" not in notes  # the method: on sheet Run


def test_grain_values_without_activity_are_folded_under_a_count(tmp_path: Path) -> None:
    wb = load_workbook(_book(tmp_path))
    ws = wb["gl_journal totals"]
    rows = _rows(ws, 4)
    assert rows[0][2:5] == ("2000", "2024-01", "credit")  # the failing line first
    assert rows[2][0].startswith("2 grain line(s) whose every figure is 0")
    assert "amounts that net to 0" in rows[2][0]  # not "no activity": sums, not rows
    for r in range(4, ws.max_row + 1):
        key = ws.cell(r, 3).value
        hidden = bool(ws.row_dimensions[r].hidden)
        assert hidden == (key in ("3000", "4000")), r
    assert "$L$4:$L$" in wb["Summary"].cell(_find(wb["Summary"], "Grain rows failing"), 7).value
    assert not active(_zero_grain("1")) and all(active(g) for g in _gl().grains)


def _find(ws: Worksheet, check: str) -> int:
    return next(r for r in range(1, ws.max_row + 1) if ws.cell(r, 2).value == check)


def test_exceptions_by_severity_then_money_in_words_and_money(tmp_path: Path) -> None:
    ws = load_workbook(_book(tmp_path))["Exceptions"]
    groups = [r for r in _rows(ws, 4) if r[4] is not None]
    assert [(g[0], g[3]) for g in groups] == [
        ("ap_invoice", "negative_amount"),  # 56,230.76 at stake
        ("gl_journal", "INVALID_ACCOUNT"),  # 1,000.00
        ("ap_invoice", "MISSING_SUPPLIER"),  # 65.20
        ("gl_journal", "drop_reversed"),  # filtered: last
    ]
    first = _rows(ws, 4)[:2]
    assert first[0][2] == "The amount is negative where the ERP allows no negative amount."
    assert first[0][5] == -56230.76 and ws["F4"].number_format.startswith("_(* #,##0.00")
    assert first[1][5:] == (-56230.76, "invoice_amount", "INV-8", "AMOUNT", "-5623076")


def test_every_sheet_prints_landscape_one_page_wide_with_its_header(tmp_path: Path) -> None:
    wb = load_workbook(_book(tmp_path))
    for ws in wb.worksheets:
        assert ws.page_setup.orientation == "landscape", ws.title
        assert ws.page_setup.fitToWidth == 1 and ws.page_setup.fitToHeight == 0, ws.title
        assert ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
        if ws.title not in ("Run",):
            assert ws.print_title_rows, ws.title


def test_the_audit_checkpoint_is_printed_where_the_copy_is_filed(tmp_path: Path) -> None:
    """A reconciliation that carries its run's audit log checkpoint (tamper's anchor) shows
    it on the Sign-off sheet and keeps it in the JSON; the workbook stays byte-identical."""
    from reconcile.reports.report_json import from_json, to_json
    from reconcile.reports.workbook import workbook_bytes

    anchor: dict[str, object] = {"entries": 1234, "head": "ab" * 32}
    report = replace(_report(), run=replace(_run(), audit_anchor=anchor))
    write_workbook(report, tmp_path / "w.xlsx")
    so = load_workbook(tmp_path / "w.xlsx")["Sign-off"]
    shown = {so.cell(r, 1).value: so.cell(r, 2).value for r in range(1, 30)}
    assert (
        shown["Audit log checkpoint (at the end of the run)"] == f"1,234 entries, head {'ab' * 32}"
    )
    assert from_json(to_json(report)).run.audit_anchor == anchor
    assert workbook_bytes(report) == workbook_bytes(report)


def test_reconcile_keeps_each_sample_rejected_rows_own_amount(tmp_path: Path) -> None:
    """On the demo estate, each sample row of a reject group carries its own amount, read
    from the legacy row as the group's total is, and the samples add up within the group.
    Needs /work/notes/patches/workbook.diff (reconcile/proving/entity.py); fails until it is
    applied."""
    from migrate.config import load_settings
    from migrate.runs.runner import run_migration
    from migrate.spec.loader import load_project
    from reconcile.run import reconcile_run
    from tests.test_pipeline import MAPPINGS, make_estate

    make_estate(tmp_path, scale=200, seed=21)
    settings = load_settings(tmp_path)
    entities = ["suppliers_finance", "ap_invoices"]
    run = run_migration(settings, MAPPINGS, "full", entities)
    report = reconcile_run(settings, load_project(MAPPINGS), run.run_id)
    groups = [g for e in report.entities for g in e.rejects if g.amounts]
    assert groups
    for g in groups:
        assert len(g.sample_amounts) == len(g.sample), g.reason
        if g.count == len(g.sample):  # every row sampled: they add up to the group's total
            for i, (_, total) in enumerate(g.amounts):
                assert sum(a[i] for a in g.sample_amounts) == total, g.reason
