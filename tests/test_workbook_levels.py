"""The workbook for three verdict levels: the Summary says the verdict first in plain words,
an unverified amount fails with its unreadable rows listed, columns not verified are listed
with why, the Sign-off sheet has a line per exception to accept, and long difference lists
are capped (exact counts, the full list in the CSV named by its SHA-256).

Each test below was seen failing on the workbook of 6fa0eac (it showed PASS or FAIL only).
"""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from reconcile.proving.differences import DifferencesFile, keep, write_differences_csv
from reconcile.report import Reconciliation, RowDifference
from reconcile.reports.report_json import from_json, to_json
from reconcile.reports.workbook import write_workbook
from tests.test_workbook import SOFFICE, _ap, _gl, _row_of, _run, _soffice

D = Decimal


def _exceptions_only() -> Reconciliation:
    """Totals hold; five rows rejected and one column not verified: EXCEPTIONS."""
    ap = replace(
        _ap(), not_verified=(("DESCRIPTION", "a regex step reconciliation cannot restate"),)
    )
    return Reconciliation(run=_run(), entities=(ap,))


def _unverified() -> Reconciliation:
    """gl_journal's debit has two legacy values no one can read: UNVERIFIED, which fails."""
    gl = _gl()
    debit = replace(
        gl.measures[0],
        unreadable=2,
        unreadable_rows=(("JE-1/1", "O00208241.12"), ("JE-3/2", "$1.2O")),
    )
    credit = replace(gl.measures[1], staged=D("124990.50"))  # the cent planted in _gl put back
    gl = replace(gl, measures=(debit, credit), grains=(), rules=(), differences=(),
                 difference_count=0, difference_kinds=())  # fmt: skip
    return Reconciliation(run=_run(), entities=(gl,))


def _book(report: Reconciliation, tmp_path: Path, name: str = "w.xlsx") -> Path:
    path = tmp_path / name
    write_workbook(report, path, prepared_by="A. Accountant")
    return path


def _lines(ws: Worksheet, first: int = 1) -> list[tuple[object, ...]]:
    return [tuple(r) for r in ws.iter_rows(min_row=first, values_only=True)]


def test_summary_says_the_verdict_first_in_plain_words(tmp_path: Path) -> None:
    ws = load_workbook(_book(_exceptions_only(), tmp_path))["Summary"]
    assert ws["C1"].value == "EXCEPTIONS"
    words = str(ws["A2"].value)
    assert words.startswith("EXCEPTIONS: the totals hold")
    assert "finance must accept each of the 2 exceptions" in words and "Sign-off" in words
    fail = load_workbook(_book(Reconciliation(_run(), (_gl(), _ap())), tmp_path, "f.xlsx"))
    assert str(fail["Summary"]["A2"].value).startswith("FAIL: do not sign")


def test_exceptions_line_and_entity_status_are_formulas(tmp_path: Path) -> None:
    ws = load_workbook(_book(_exceptions_only(), tmp_path))["Summary"]
    r = _row_of(ws, "ap_invoice", "Exceptions to accept")
    assert ws[f"G{r}"].value.startswith("=COUNTIF('Sign-off'!$A$")
    assert ws[f"I{r}"].value == f'=IF(G{r}=0,"PASS","EXCEPTIONS")' and ws[f"J{r}"].value == (
        "EXCEPTIONS"
    )
    s = _row_of(ws, "ap_invoice", "Entity status")
    assert "EXCEPTIONS" in ws[f"I{s}"].value and ws[f"J{s}"].value == "EXCEPTIONS"
    assert "EXCEPTIONS" in str(ws["C3"].value)  # the verdict by the formulas knows the level


def test_unverified_amount_fails_with_its_rows_listed(tmp_path: Path) -> None:
    report = _unverified()
    assert report.verdict == "FAIL" and report.entities[0].measures[0].status == "UNVERIFIED"
    wb = load_workbook(_book(report, tmp_path))
    ws = wb["Summary"]
    r = _row_of(ws, "gl_journal", "Amount: debit")
    assert ws[f"J{r}"].value == "UNVERIFIED"
    n = _row_of(ws, "gl_journal", "Not read: debit")
    assert ws[f"G{n}"].value == 2 and ws[f"J{n}"].value == "UNVERIFIED"
    assert f"G{n}" in ws[f"I{r}"].value  # the amount's status looks at the count not read
    assert "never counted as 0" in ws[f"K{n}"].value
    assert ws[f"J{_row_of(ws, 'gl_journal', 'Entity status')}"].value == "FAIL"
    exc = _lines(wb["Exceptions"], 4)
    assert exc[0][:5] == ("gl_journal", "Not read", exc[0][2], "not_an_amount", 2)
    assert "never counted as 0" in exc[0][2]  # the most serious first: it fails
    assert ("gl_journal", "Not read", None, "not_an_amount", None, None, None, "JE-1/1",
            "debit", "O00208241.12") in exc  # fmt: skip


def test_columns_not_verified_are_listed_with_why(tmp_path: Path) -> None:
    ws = load_workbook(_book(_exceptions_only(), tmp_path))["Summary"]
    r = _row_of(ws, "ap_invoice", "Column not verified: DESCRIPTION")
    assert "a regex step reconciliation cannot restate" in ws[f"K{r}"].value


def test_signoff_sheet_has_a_line_per_exception_to_accept(tmp_path: Path) -> None:
    report = Reconciliation(_run(), (_gl(), _exceptions_only().entities[0]))
    so = load_workbook(_book(report, tmp_path))["Sign-off"]
    lines = _lines(so)
    rows = {
        r[1]: i
        for i, r in enumerate(lines)
        if r[0] in ("gl_journal", "ap_invoice") and r[2] and isinstance(r[1], str)
    }
    named = "A reason named by the mapping ('INVALID_ACCOUNT'); see its rule."
    gl = rows[f"7 row(s) rejected: {named} (code INVALID_ACCOUNT)"]
    assert lines[gl][:5] == ("gl_journal", lines[gl][1], 7, 1000, "debit")
    assert lines[gl + 1][:5] == (None, None, None, 10, "credit")  # money as numbers, a line each
    ap = rows["column DESCRIPTION not verified: a regex step reconciliation cannot restate"]
    assert lines[ap][0] == "ap_invoice" and lines[ap][2] == "-"
    assert any(t.startswith("5 row(s) rejected: A reason named") for t in rows)
    header = next(
        r for r in range(1, so.max_row + 1) if so.cell(r, 6).value == "Accepted (initials)"
    )
    accept = [so.cell(r, 6) for r in (header + 1, header + 3, header + 4)]
    assert all(c.protection.locked is False for c in accept)
    assert so.cell(header + 1, 2).protection.locked  # the exception itself cannot be edited
    assert so.cell(header + 2, 6).protection.locked  # a further amount: nothing to accept


def test_long_difference_lists_are_capped_with_exact_counts(tmp_path: Path) -> None:
    found = [RowDifference("gl_journal", f"K{i:05}", "missing") for i in range(5000)]
    found += [RowDifference("gl_journal", "X1", "changed", "credit", "1.00", "1.01")]
    kept = keep(found, per_kind=3)
    assert [d.source_key for d in kept.listed] == ["K00000", "K00001", "K00002", "X1"]
    assert kept.kinds == (("missing", 5000), ("changed", 1)) and kept.count == 5001
    gl = replace(_gl(), differences=kept.listed, difference_count=kept.count,
                 difference_kinds=kept.kinds, differences_csv=kept.csv)  # fmt: skip
    report = Reconciliation(_run(), (gl,))
    got = write_differences_csv(report, tmp_path / "d.csv")
    assert got.rows == 5001
    rows = list(csv.reader(io.StringIO((tmp_path / "d.csv").read_text(encoding="utf-8"))))
    assert rows[0][:3] == ["entity", "source_key", "kind"] and len(rows) == 5002
    assert rows[-1] == ["gl_journal", "X1", "changed", "credit", "1.00", "1.01"]
    path = tmp_path / "w.xlsx"
    write_workbook(report, path, differences=got)
    wb = load_workbook(path)
    diff = wb["Differences"]
    assert "5,001" in diff["A2"].value and got.sha256 in diff["A2"].value
    assert "first 3 of 5,000 missing" in diff["A2"].value
    assert len([r for r in _lines(diff, 4) if r[0] == "gl_journal"]) == 4
    ws = wb["Summary"]
    r = _row_of(ws, "gl_journal", "Row differences")
    assert ws[f"G{r}"].value == f"=COUNTIF('Differences'!$A$4:$A$7,A{r})+4997"
    doc = from_json(to_json(report))
    assert doc.entities[0].differences_found == 5001
    assert doc.entities[0].difference_kinds == (("missing", 5000), ("changed", 1))


def test_csv_of_a_hand_made_report_holds_what_it_lists(tmp_path: Path) -> None:
    report = Reconciliation(_run(), (_gl(), _ap()))
    assert write_differences_csv(report, tmp_path / "d.csv") == DifferencesFile(
        write_differences_csv(report, tmp_path / "e.csv").sha256, 1
    )
    with pytest.raises(FileExistsError):  # a file already there is never replaced
        write_differences_csv(report, tmp_path / "d.csv")


@pytest.mark.slow
@pytest.mark.skipif(SOFFICE is None, reason="needs LibreOffice (soffice) for recalculation")
@pytest.mark.parametrize("which", ["exceptions", "unverified", "fail"])
def test_three_level_formulas_agree_with_the_report(tmp_path: Path, which: str) -> None:
    report = {
        "exceptions": _exceptions_only,
        "unverified": _unverified,
        "fail": lambda: Reconciliation(_run(), (_gl(), _ap())),
    }[which]()
    wb = load_workbook(_soffice(_book(report, tmp_path), "xlsx", tmp_path), data_only=True)
    ws = wb["Summary"]
    assert ws["C3"].value == report.verdict
    for row in range(10, ws.max_row + 1):
        assert ws[f"I{row}"].value == ws[f"J{row}"].value, f"Summary row {row}"
