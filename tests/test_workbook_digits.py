"""Amounts of 16 or more significant digits: the workbook's formulas must agree with the
report (review of issue 19: big.py).

Such an amount is written as its exact text (``excel_number``: Excel would round the
number), and a spreadsheet turns text into a number at 15 digits inside a formula, so
``=ROUND(C9-D9-E9-F9,4)`` of 223456789012.3401 - 223456789012.34 - 0.0001 gave -0.0001 and
FAIL where the report, exact, says 0 and PASS; and the other way round, a real 0.0001 gap
gave 0 and a false PASS. Such a row's Difference and Status are the report's own exact
values, said so beside them; the formula verdict reads them like any other line.

Seen failing first on f30a265: the Summary's formula verdict said FAIL for the PASS report
(and PASS for the FAIL one), and the rows disagreed.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook

from reconcile.report import GrainRow, MeasureIdentity, Reconciliation
from reconcile.reports.workbook import write_workbook
from tests.test_workbook import SOFFICE, _ap, _row_of, _run, _soffice

D = Decimal
BIG, STAGED = D("223456789012.3401"), D("223456789012.34")  # 16 significant digits


def _big(rejected: Decimal) -> Reconciliation:
    """ap_invoice with an amount beyond 15 digits, its identity and its one grain row;
    ``rejected`` 0.0001 balances it (PASS), 0 leaves a 0.0001 gap (FAIL)."""
    ap = _ap()
    m = MeasureIdentity("salary", "SUM(Salary)", "ANNUAL_SALARY", BIG, STAGED, rejected,
                        D("0"), D("0"))  # fmt: skip
    g = GrainRow("agency", ("A01",), "salary", BIG, STAGED, rejected, D("0"), D("0"))
    small = GrainRow("agency", ("A02",), "salary", D("0.30"), D("0.30"), D("0"), D("0"), D("0"))
    e = replace(ap, measures=(m,), grains=(g, small), rejects=(), rejected_rows=0,
                staged_rows=500)  # fmt: skip
    return Reconciliation(_run(), (e,))


def _book(report: Reconciliation, tmp_path: Path) -> Path:
    path = tmp_path / "w.xlsx"
    write_workbook(report, path)
    return path


@pytest.mark.parametrize(("rejected", "verdict"), [(D("0.0001"), "PASS"), (D("0"), "FAIL")])
def test_the_report_decides_a_row_beyond_15_digits(
    tmp_path: Path, rejected: Decimal, verdict: str
) -> None:
    report = _big(rejected)
    assert report.verdict == verdict
    wb = load_workbook(_book(report, tmp_path))
    ws = wb["Summary"]
    r = _row_of(ws, "ap_invoice", "Amount: salary")
    assert ws[f"C{r}"].value == str(BIG)  # the exact text, as before
    assert D(str(ws[f"G{r}"].value)) == report.entities[0].measures[0].difference
    assert ws[f"I{r}"].value == verdict == ws[f"J{r}"].value  # a value, not a formula
    assert "beyond Excel's 15 significant digits" in ws[f"K{r}"].value
    grains = wb["ap_invoice totals"]
    assert grains["J4"].value == verdict and "beyond" in str(grains["L4"].value)
    assert str(grains["J5"].value).startswith("=IF(")  # a row within 15 digits: a formula


@pytest.mark.slow
@pytest.mark.skipif(SOFFICE is None, reason="needs LibreOffice (soffice) for recalculation")
@pytest.mark.parametrize(("rejected", "verdict"), [(D("0.0001"), "PASS"), (D("0"), "FAIL")])
def test_recalculated_formulas_agree_beyond_15_digits(
    tmp_path: Path, rejected: Decimal, verdict: str
) -> None:
    report = _big(rejected)
    wb = load_workbook(_soffice(_book(report, tmp_path), "xlsx", tmp_path), data_only=True)
    ws = wb["Summary"]
    assert ws["C3"].value == report.verdict == verdict
    for row in range(9, ws.max_row + 1):
        assert ws[f"I{row}"].value == ws[f"J{row}"].value, f"Summary row {row}"
    grains = wb["ap_invoice totals"]
    for row in range(4, grains.max_row + 1):
        assert grains[f"J{row}"].value == grains[f"K{row}"].value, f"grain row {row}"
