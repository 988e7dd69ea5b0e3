"""Review of issue 23 item 8's workbook: can the sheet finance signs say less than the
report? Probes: the verdict cell against the report's (and the JSON's) verdict where the
spreadsheet's own arithmetic runs out of digits; grain lines with money that must never
be folded; FAIL always above PASS; amounts equal to the report's to the cent."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook

from reconcile.report import EntityReconciliation, GrainRow, Reconciliation
from reconcile.reports.workbook import write_workbook
from reconcile.reports.workbook_grains import reading_order
from reconcile.reports.workbook_order import severity_order
from tests.test_workbook import SOFFICE, _ap, _gl, _run, _soffice

D = Decimal
# 15 significant digits: each amount is shown exactly, but their one-cent difference is
# below what the spreadsheet's subtraction keeps (LibreOffice sets it to 0, so does Excel)
BIG, BIG_LESS_A_CENT = D("9999999999999.99"), D("9999999999999.98")


def _one_cent_off(source: Decimal, staged: Decimal) -> Reconciliation:
    gl = _gl()
    m = replace(gl.measures[0], source=source, staged=staged, rejected=D(0), filtered=D(0),
                tolerance=D(0))  # fmt: skip
    g = replace(gl.grains[0], source=source, staged=staged, rejected=D(0), filtered=D(0),
                tolerance=D(0))  # fmt: skip
    gl = replace(gl, measures=(m,), grains=(g,), differences=(), rules=(), rejects=(),
                 problems=(), difference_count=0, not_verified=())  # fmt: skip
    report = Reconciliation(_run(), (gl,))
    assert report.verdict == "FAIL" and gl.failures == ["1 amount gap(s)", "1 grain row(s) off"]
    return report


def test_a_cent_the_spreadsheet_cannot_subtract_is_no_formula(tmp_path: Path) -> None:
    """Where the line's figures reach 15 digits at its decimal places, Difference and Status
    are the report's own values, not formulas (found: the formulas made the Summary's
    verdict cell PASS for a FAIL report; seen failing before the fix)."""
    path = tmp_path / "w.xlsx"
    write_workbook(_one_cent_off(BIG, BIG_LESS_A_CENT), path)
    wb = load_workbook(path)
    ws = wb["Summary"]
    row = next(r for r in range(1, ws.max_row + 1) if ws.cell(r, 2).value == "Amount: debit")
    assert ws.cell(row, 9).value == "FAIL" and D(str(ws.cell(row, 7).value)) == D("0.01")
    grains = wb["gl_journal totals"]
    assert [c.value for c in grains[4]][-3:-1] == ["FAIL", "FAIL"]


@pytest.mark.slow
@pytest.mark.skipif(SOFFICE is None, reason="needs LibreOffice (soffice) for recalculation")
@pytest.mark.parametrize(
    "source, staged",
    [(BIG, BIG_LESS_A_CENT), (D("999999999999.99"), D("999999999999.98"))],
    ids=["15-digits", "14-digits"],
)
def test_the_verdict_cell_recalculated_is_the_reports(
    tmp_path: Path, source: Decimal, staged: Decimal
) -> None:
    report = _one_cent_off(source, staged)
    path = tmp_path / "w.xlsx"
    write_workbook(report, path)
    ws = load_workbook(_soffice(path, "xlsx", tmp_path), data_only=True)["Summary"]
    assert ws["C3"].value == report.verdict == "FAIL"
    for row in range(10, ws.max_row + 1):
        assert ws[f"I{row}"].value == ws[f"J{row}"].value, f"Summary row {row}"


def _grain(account: str, **amounts: str) -> GrainRow:
    figures = {k: D(amounts.get(k, "0")) for k in ("source", "staged", "rejected", "filtered")}
    return GrainRow("fund x account", ("GEN", account), "debit", **figures, tolerance=D(0))


def test_grain_lines_with_any_money_are_never_folded() -> None:
    """Rejected money only, filtered money only, a difference only, a negative amount: all
    shown; only lines whose every figure is 0 fold."""
    lines = [
        _grain("idle"),
        _grain("rejected", source="5.00", rejected="5.00"),
        _grain("filtered", source="0.01", filtered="0.01"),
        _grain("gap", source="0.01"),
        _grain("negative", source="-3.00", staged="-3.00"),
        _grain("unexpected", staged="2.00"),
    ]
    shown, folded = reading_order(lines)
    assert [g.key[1] for g in folded] == ["idle"]
    assert [g.key[1] for g in shown][:2] == ["unexpected", "gap"]  # failing first, most first


def test_a_fail_never_sorts_below_a_pass_or_exceptions() -> None:
    gl, ap = _gl(), _ap()
    tiny = replace(
        gl, measures=(replace(gl.measures[0], source=gl.measures[0].source + D("0.01")),)
    )
    calm: EntityReconciliation = replace(ap, rejects=(), not_verified=(), rules=())
    report = Reconciliation(_run(), (calm, ap, tiny))
    levels = [e.status for e in severity_order(report)]
    assert levels == sorted(levels, key=("FAIL", "EXCEPTIONS", "PASS").index)
    assert levels[0] == "FAIL"


def test_an_undecodable_legacy_byte_in_a_difference_is_written_never_a_crash(
    tmp_path: Path,
) -> None:
    """A legacy text read with ``surrogateescape`` keeps a byte it cannot decode as a lone
    surrogate; the differences CSV raised UnicodeEncodeError on it, so reconciliation ended
    in a traceback with no verdict (found; seen failing before the fix). It is written in
    the workbook's notation (``\\udcff``); a NUL and a leading ``=`` stay as they are."""
    from reconcile.proving.differences import keep, write_differences_csv
    from reconcile.report import RowDifference

    found = [RowDifference("gl_journal", "K1", "changed", "NAME", "caf\udce9\x00", "=1+1")]
    kept = keep(found)
    gl = replace(_gl(), differences=kept.listed, difference_count=kept.count,
                 difference_kinds=kept.kinds, differences_csv=kept.csv)  # fmt: skip
    written = write_differences_csv(Reconciliation(_run(), (gl,)), tmp_path / "d.csv")
    assert written.rows == 1
    text = (tmp_path / "d.csv").read_text(encoding="utf-8")
    assert "caf\\udce9\x00,=1+1" in text
    listed = replace(gl, differences_csv=b"")  # the path without the compressed copy
    write_differences_csv(Reconciliation(_run(), (listed,)), tmp_path / "e.csv")
    assert (tmp_path / "e.csv").read_text(encoding="utf-8") == text


def test_a_grain_line_of_a_measure_with_unread_values_is_never_pass(tmp_path: Path) -> None:
    """The demo's salaries: one legacy rate is '$29.61 O', so the measure is UNVERIFIED,
    yet both basis lines of the totals sheet said PASS, one of them holding the unread
    amount (found; seen failing before the fix). A line of such a measure whose known
    figures hold is UNVERIFIED, one whose known figures fail stays FAIL; neither folds."""
    gl = _gl()
    debit = replace(gl.measures[0], unreadable=1, unreadable_rows=(("JE-5/1", "1O0.00"),))
    ok_debit = replace(gl.grains[0], source=D("10.00"), staged=D("10.00"), rejected=D(0),
                       filtered=D(0))  # fmt: skip
    idle_debit = replace(ok_debit, key=("GEN", "9000", "2024-01"), source=D(0), staged=D(0))
    gl = replace(gl, measures=(debit, gl.measures[1]),
                 grains=(ok_debit, idle_debit, gl.grains[1]))  # fmt: skip
    shown, folded = reading_order(gl.grains, unread={"debit"})
    assert folded == [] and [g.key[1] for g in shown] == ["2000", "1000", "9000"]
    path = tmp_path / "w.xlsx"
    write_workbook(Reconciliation(_run(), (gl,)), path)
    ws = load_workbook(path)["gl_journal totals"]
    head = [c.value for c in ws[3]]
    status, report_status = head.index("Status") + 1, head.index("Report status") + 1
    lines = {ws.cell(r, 3).value: r for r in range(4, ws.max_row + 1) if ws.cell(r, 5).value}
    for account in ("1000", "9000"):
        r = lines[account]
        assert ws.cell(r, report_status).value == "UNVERIFIED", account
        assert (
            '"UNVERIFIED"' in ws.cell(r, status).value and '"PASS"' not in ws.cell(r, status).value
        )
        assert not ws.row_dimensions[r].hidden
    assert ws.cell(lines["2000"], report_status).value == "FAIL"  # the credit line: as before
