"""The sign-off workbook and the JSON report, built from a hand-made Reconciliation.

Opened again with openpyxl to check sheets, formulas, formats, filters, colours and
protection; recalculated by LibreOffice (when installed) so every formula's value is compared
with the figure the reconciliation computed in Python.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from reconcile.report import (
    EntityReconciliation,
    GrainRow,
    MeasureIdentity,
    Reconciliation,
    RejectGroup,
    RowDifference,
    RuleResult,
    RunFacts,
)
from reconcile.reports.report_json import figures_sha256, from_json, to_json, write_json
from reconcile.reports.workbook import write_workbook
from reconcile.reports.workbook_signoff import FIGURES_PRINT, WORKBOOK_PRINT
from reconcile.reports.workbook_style import MONEY_FORMAT, sheet_title

D = Decimal
SHEETS = [
    "Summary", "gl_journal totals", "ap_invoice totals", "Exceptions", "Differences", "Rules",
    "Legend", "Run", "Sign-off",
]  # fmt: skip


def _gl() -> EntityReconciliation:
    """Failing: one cent planted on a staged credit, seen in the identity, a grain and a row."""
    grains = (
        GrainRow("fund x account x period", ("GEN", "1000", "2024-01"), "debit",
                 D("125000.50"), D("124000.25"), D("1000.00"), D("0.25"), D("0")),
        GrainRow("fund x account x period", ("GEN", "2000", "2024-01"), "credit",
                 D("125000.50"), D("124990.49"), D("10.00"), D("0"), D("0")),
    )  # fmt: skip
    return EntityReconciliation(
        entity="gl_journal",
        source_table="GLTRAN",
        target_table="stg_gl_journal",
        source_rows=1000,
        staged_rows=990,
        rejected_rows=7,
        filtered_rows=3,
        filtered_by_rule={"drop_reversed": 3},
        measures=(
            MeasureIdentity(
                "debit",
                "SUM(AMT_CENTS)/100 where DR_CR_IND in ('D')",
                "debit",
                D("125000.50"),
                D("124000.25"),
                D("1000.00"),
                D("0.25"),
                D("0"),
            ),
            MeasureIdentity(
                "credit",
                "SUM(AMT_CENTS)/100 where DR_CR_IND in ('C')",
                "credit",
                D("125000.50"),
                D("124990.49"),
                D("10.00"),
                D("0"),
                D("0"),
            ),
        ),  # fmt: skip
        grains=grains,
        differences=(
            RowDifference("gl_journal", "JE-42/1", "changed", "credit", "100.10", "100.09"),
        ),
        rules=(
            RuleResult("gl_journal", "journals balance per JE", 1, "JE-42 off by 0.01"),
            RuleResult("gl_journal", "every account resolves", 0),
        ),
        rejects=(
            RejectGroup(
                "gl_journal",
                "INVALID_ACCOUNT",
                7,
                (("JE-7/2", "ACCT", "99999"), ("JE-9/1", "ACCT", None)),
                (("debit", D("1000.00")), ("credit", D("10.00"))),
            ),
        ),  # fmt: skip
        difference_count=1,
        difference_kinds=(("changed", 1),),
    )


def _ap() -> EntityReconciliation:
    """Totals hold (a one-cent difference inside a one-cent tolerance, shown with its value),
    but five rows were rejected: EXCEPTIONS, for finance to accept."""
    grains = (
        GrainRow("supplier x period", ("S001", "2024-01"), "invoice_amount",
                 D("98765.43"), D("98700.42"), D("65.00"), D("0"), D("0.01")),
        GrainRow("supplier x period", ("S002", "2024-01"), "invoice_amount",
                 D("0.30"), D("0.10"), D("0.20"), D("0"), D("0")),
    )  # fmt: skip
    return EntityReconciliation(
        entity="ap_invoice",
        source_table="APINV",
        target_table="stg_ap_invoice",
        source_rows=500,
        staged_rows=495,
        rejected_rows=5,
        filtered_rows=0,
        filtered_by_rule={},
        measures=(
            MeasureIdentity(
                "invoice_amount",
                "SUM(INV_AMT)",
                "amount",
                D("98765.73"),
                D("98700.52"),
                D("65.20"),
                D("0"),
                D("0.01"),
            ),
        ),  # fmt: skip
        grains=grains,
        differences=(),
        rules=(RuleResult("ap_invoice", "every supplier resolves", 0),),
        rejects=(
            RejectGroup(
                "ap_invoice",
                "MISSING_SUPPLIER",
                5,
                (("INV-3", "SUPP", "X9"),),
                (("invoice_amount", D("65.20")),),
            ),
        ),  # fmt: skip
        difference_count=0,
    )


def _run() -> RunFacts:
    return RunFacts(
        run_id="run-2024-06-30-001",
        mode="rehearsal",
        started_at="2024-06-30T08:00:00+00:00",
        ended_at="2024-06-30T08:41:12+00:00",
        started_by="jdoe",
        mapping_hashes={
            "mappings/finance/gl_journal.yaml": "a" * 64,
            "mappings/finance/ap_invoice.yaml": "b" * 64,
        },
        source_identity={"finance": "postgresql+psycopg://migrator:***@legacy-db:5432/fin"},
        staging_identity="postgresql+psycopg://stager:***@erp-stage:5432/stage",
        reconciled_at="2024-06-30T09:00:00+00:00",
    )


@pytest.fixture
def report() -> Reconciliation:
    return Reconciliation(run=_run(), entities=(_gl(), _ap()))


@pytest.fixture
def xlsx(report: Reconciliation, tmp_path: Path) -> tuple[Path, str]:
    path = tmp_path / "signoff.xlsx"
    return path, write_workbook(report, path, prepared_by="A. Accountant")


def _row_of(ws: Worksheet, entity: str, check: str) -> int:
    for row in range(1, ws.max_row + 1):
        if ws.cell(row, 1).value == entity and ws.cell(row, 2).value == check:
            return row
    raise AssertionError(f"no Summary line {entity} / {check}")


def test_the_model_marks_what_the_workbook_must_show(report: Reconciliation) -> None:
    gl, ap = report.entities
    assert (gl.status, ap.status, report.verdict) == ("FAIL", "EXCEPTIONS", "FAIL")
    assert ap.measures[0].difference == D("0.01") and ap.measures[0].status == "PASS"


def test_sheets_verdict_and_sha(xlsx: tuple[Path, str]) -> None:
    path, sha = xlsx
    assert sha == hashlib.sha256(path.read_bytes()).hexdigest()
    wb = load_workbook(path)
    assert wb.sheetnames == SHEETS
    summary = wb["Summary"]
    assert summary["C1"].value == "FAIL"
    assert summary["C1"].font.b and summary["C1"].font.sz == 20
    assert str(summary["A2"].value).startswith("FAIL: do not sign. 1 of 2 entities")
    assert str(summary["C3"].value).startswith("=IF(COUNTIF(B9:")
    assert summary["C4"].value == "run-2024-06-30-001"


def test_same_report_gives_same_bytes(report: Reconciliation, tmp_path: Path) -> None:
    first = write_workbook(report, tmp_path / "a.xlsx")
    second = write_workbook(report, tmp_path / "b.xlsx")
    assert first == second
    assert load_workbook(tmp_path / "a.xlsx").properties.modified.year == 2024


def test_differences_are_formulas_over_the_totals(xlsx: tuple[Path, str]) -> None:
    ws = load_workbook(xlsx[0])["Summary"]
    r = _row_of(ws, "gl_journal", "Row count")
    assert ws[f"G{r}"].value == f"=C{r}-D{r}-E{r}-F{r}"
    assert ws[f"I{r}"].value == f'=IF(ABS(G{r})<=H{r},"PASS","FAIL")'
    r = _row_of(ws, "gl_journal", "Amount: credit")
    assert ws[f"G{r}"].value == f"=ROUND(C{r}-D{r}-E{r}-F{r},2)"
    assert ws[f"J{r}"].value == "FAIL"
    r = _row_of(ws, "gl_journal", "Grain rows failing")
    span = "'gl_journal totals'!$L$4:$L$5"  # its failing and its unverified lines
    assert ws[f"G{r}"].value == f'=COUNTIF({span},"FAIL")+COUNTIF({span},"UNVERIFIED")'
    r = _row_of(ws, "gl_journal", "Row differences")
    assert ws[f"G{r}"].value == f"=COUNTIF('Differences'!$A$4:$A$4,A{r})"
    grains = load_workbook(xlsx[0])["gl_journal totals"]
    assert [c.value for c in grains[3]][:5] == ["Grain", "fund", "account", "period", "Measure"]
    assert grains["J5"].value == "=ROUND(F5-G5-H5-I5,2)"
    assert grains["L5"].value == '=IF(ABS(J5)<=K5,"PASS","FAIL")'


def test_tolerance_shows_the_difference_and_passes(xlsx: tuple[Path, str]) -> None:
    ws = load_workbook(xlsx[0])["Summary"]
    r = _row_of(ws, "ap_invoice", "Amount: invoice_amount")
    assert ws[f"H{r}"].value == pytest.approx(0.01)
    assert ws[f"J{r}"].value == "PASS"
    assert ws[f"G{r}"].value == f"=ROUND(C{r}-D{r}-E{r}-F{r},2)"
    assert ws[f"J{_row_of(ws, 'ap_invoice', 'Entity status')}"].value == "EXCEPTIONS"


def test_money_is_exact_and_in_accounting_format(xlsx: tuple[Path, str]) -> None:
    wb = load_workbook(xlsx[0])
    ws = wb["Summary"]
    r = _row_of(ws, "gl_journal", "Amount: credit")
    for col in "CDEFGH":
        assert ws[f"{col}{r}"].number_format == MONEY_FORMAT
    assert wb["gl_journal totals"]["G5"].number_format == MONEY_FORMAT
    with zipfile.ZipFile(xlsx[0]) as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
    assert "<v>124990.49</v>" in sheet and "<v>125000.5</v>" in sheet


def test_tables_have_frozen_headers_filters_and_colours(xlsx: tuple[Path, str]) -> None:
    wb = load_workbook(xlsx[0])
    frozen = {"Summary": "A9", "gl_journal totals": "A4", "Exceptions": "A4",
              "Differences": "A4", "Rules": "A4"}  # fmt: skip
    for name, cell in frozen.items():
        assert wb[name].freeze_panes == cell, name
        assert wb[name].auto_filter.ref, name
        header = wb[name].cell(int(cell[1:]) - 1, 1)
        assert header.font.b, name
    for name in ("Summary", "gl_journal totals", "Rules"):
        rules = [r for cf in wb[name].conditional_formatting for r in cf.rules]
        assert {tuple(r.formula) for r in rules} >= {('"FAIL"',), ('"PASS"',)}, name
    assert wb["Summary"].column_dimensions["K"].width == 46


def _find(ws: Worksheet, col: int, value: object) -> int:
    return next(r for r in range(1, ws.max_row + 1) if ws.cell(r, col).value == value)


def test_sheets_protected_except_signoff_inputs(xlsx: tuple[Path, str]) -> None:
    wb = load_workbook(xlsx[0])
    assert all(ws.protection.sheet for ws in wb.worksheets)
    so = wb["Sign-off"]
    assert [so.cell(r, 1).value for r in (7, 8, 9)] == ["Prepared by", "Reviewed by", "Approved by"]
    assert so["B7"].value == "A. Accountant"
    comments = _find(so, 2, "Comment (explain any accepted variance)")  # most serious first
    assert [so.cell(comments + 1, c).value for c in (1, 3)] == ["gl_journal", "FAIL"]
    assert [so.cell(comments + 2, c).value for c in (1, 3)] == ["ap_invoice", "EXCEPTIONS"]
    top = _find(so, 6, "Accepted (initials)")
    assert so.print_title_rows == f"${top}:${top}"  # the long list's header, on every page
    # gl_journal's reject: two lines (debit, credit), ap_invoice's: one, then the count
    e = top + 1
    assert so[f"A{e}"].value == "gl_journal" and so[f"A{e + 1}"].value is None
    assert (so[f"D{e}"].value, so[f"E{e}"].value, so[f"D{e + 1}"].value) == (1000, "debit", 10)
    assert so[f"A{e + 2}"].value == "ap_invoice"
    assert so[f"F{e + 3}"].value == f'=COUNTA(F{e}:F{e + 2})&" of 2"'
    inputs = [f"{c}{r}" for c in "BCD" for r in (7, 8, 9)]
    inputs += [f"{c}{r}" for c in "FG" for r in (e, e + 2)]
    inputs += [f"{c}{comments + r}" for c in "BD" for r in (1, 2)]
    inputs += [f"B{_find(so, 1, WORKBOOK_PRINT)}"]
    assert all(so[ref].protection.locked is False for ref in inputs)
    assert so["A7"].protection.locked and so[f"F{e + 1}"].protection.locked
    assert so[f"B{e}"].protection.locked and so[f"D{e}"].protection.locked
    assert so[f"C{comments + 1}"].protection.locked
    assert wb["Summary"]["C9"].protection.locked
    summary = wb["Summary"]
    r = _row_of(summary, "gl_journal", "Exceptions to accept")
    assert summary[f"G{r}"].value == f"=COUNTIF('Sign-off'!$A${e}:$A${e + 2},A{r})"


def test_signoff_prints_the_fingerprints_to_file(report: Reconciliation, tmp_path: Path) -> None:
    """The Sign-off sheet prints the fingerprint of the figures (which the JSON issued with it
    reproduces) and the differences CSV's SHA-256, and asks no one to run a command."""
    from reconcile.reports.history import write_reports

    ev = write_reports(report, tmp_path, 1)
    so = load_workbook(ev.workbook)["Sign-off"]
    shown = {so.cell(r, 1).value: so.cell(r, 2).value for r in range(1, so.max_row + 1)}
    issued = from_json(ev.json.read_text(encoding="utf-8"))  # recomputed from the issued JSON
    assert shown[FIGURES_PRINT] == figures_sha256(issued) == figures_sha256(report)
    diffs = next(k for k in shown if str(k).startswith("Row differences file"))
    assert str(shown[diffs]).startswith(ev.differences_sha256)
    texts = " ".join(str(c) for row in so.iter_rows(values_only=True) for c in row if c)
    assert "migrate " not in texts


def test_detail_sheets(xlsx: tuple[Path, str]) -> None:
    wb = load_workbook(xlsx[0])
    exc = [tuple(r) for r in wb["Exceptions"].iter_rows(min_row=4, values_only=True)]
    reason = "A reason named by the mapping ('INVALID_ACCOUNT'); see its rule."
    assert exc[0][:7] == ("gl_journal", "Rejected", reason, "INVALID_ACCOUNT", 7, 1000, "debit")
    assert exc[1][3:7] == ("INVALID_ACCOUNT", None, 10, "credit")
    assert exc[2][7:] == ("JE-7/2", "ACCT", "99999")
    assert exc[3][7:] == ("JE-9/1", "ACCT", "(blank)")
    filtered = next(r for r in exc if r[1] == "Filtered")
    assert filtered[:5] == ("gl_journal", "Filtered", "Left out on purpose by the mapping "
                            "rule 'drop_reversed'", "drop_reversed", 3)  # fmt: skip
    diff = [tuple(r) for r in wb["Differences"].iter_rows(min_row=4, values_only=True)]
    assert diff == [("gl_journal", "JE-42/1", "changed", "credit", 100.1, 100.09, -0.01)]
    assert wb["Differences"]["E4"].number_format == "#,##0.00;-#,##0.00"
    rules = wb["Rules"]
    assert rules["D4"].value == '=IF(C4=0,"PASS","FAIL")' and rules["E4"].value == "FAIL"
    run = {r[0]: r[1] for r in wb["Run"].iter_rows(min_row=3, max_col=2, values_only=True)}
    assert run["Run by"] == "jdoe" and run["Mode"] == "rehearsal"
    assert run["mappings/finance/gl_journal.yaml"] == "a" * 64
    assert "***" in str(run["finance"]) and "***" in str(run["Staging database"])
    assert run["gl_journal: amount debit"] == "SUM(AMT_CENTS)/100 where DR_CR_IND in ('D') -> debit"


def test_sheet_titles_are_valid_and_unique() -> None:
    taken = {"summary"}
    assert sheet_title("Summary", taken) == "Summary (2)"
    long = sheet_title("procurement/purchase_order:lines totals", taken)
    assert long == "procurement_purchase_order_line" and len(long) == 31
    again = sheet_title("procurement/purchase_order:lines totals", taken)
    assert again == "procurement_purchase_order_ (2)" and len(again) == 31


def _fail_on_float(text: str) -> Decimal:
    raise AssertionError(f"float in JSON: {text}")


def test_json_round_trip_without_floats(report: Reconciliation, tmp_path: Path) -> None:
    text = to_json(report)
    assert from_json(text) == report
    doc = json.loads(text, parse_float=_fail_on_float)
    assert doc["verdict"] == "FAIL"
    gl = doc["entities"][0]
    assert gl["measures"][1]["difference"] == "0.01" and gl["measures"][1]["status"] == "FAIL"
    assert gl["measures"][0]["source"] == "125000.50"
    write_json(report, tmp_path / "r.json")
    assert from_json((tmp_path / "r.json").read_text(encoding="utf-8")) == report


def test_json_refuses_edited_figures_and_numbers(report: Reconciliation) -> None:
    doc = json.loads(to_json(report))
    doc["entities"][0]["status"] = "PASS"
    with pytest.raises(ValueError, match="status"):
        from_json(json.dumps(doc))
    with pytest.raises(ValueError, match="string"):
        from_json(to_json(report).replace('"125000.50"', "125000.50", 1))


# --- LibreOffice: recalculate every formula, render once -------------------------------------

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")


def _soffice(src: Path, fmt: str, out: Path) -> Path:
    profile = out / "lo-profile"
    subprocess.run(
        [str(SOFFICE), f"-env:UserInstallation=file://{profile}", "--headless",
         "--convert-to", fmt, "--outdir", str(out / "conv"), str(src)],
        check=True, capture_output=True, timeout=180,
    )  # fmt: skip
    return out / "conv" / f"{src.stem}.{fmt}"


@pytest.mark.slow
@pytest.mark.skipif(SOFFICE is None, reason="needs LibreOffice (soffice) for recalculation")
def test_every_formula_agrees_with_the_report(
    xlsx: tuple[Path, str], report: Reconciliation, tmp_path: Path
) -> None:
    wb = load_workbook(_soffice(xlsx[0], "xlsx", tmp_path), data_only=True)
    ws = wb["Summary"]
    assert ws["C3"].value == report.verdict
    checked = 0
    for row in range(9, ws.max_row + 1):
        assert ws[f"I{row}"].value == ws[f"J{row}"].value, f"Summary row {row}"
        checked += 1
    measures = {(e.entity, f"Amount: {m.measure}"): m for e in report.entities for m in e.measures}
    for (entity, check), m in measures.items():
        value = ws[f"G{_row_of(ws, entity, check)}"].value
        assert D(str(value)).quantize(D("0.01")) == m.difference
    for e in report.entities:
        grains = wb[f"{e.entity} totals"]
        k = len(e.grains[0].key)  # rows sorted failing first: found by key and measure
        at = {
            (r[1 : 1 + k], r[1 + k]): i for i, r in enumerate(grains.iter_rows(values_only=True), 1)
        }
        for g in e.grains:
            row = at[(g.key, g.measure)]
            assert D(str(grains.cell(row, k + 7).value)).quantize(D("0.01")) == g.difference
            assert grains.cell(row, k + 9).value == g.status == grains.cell(row, k + 10).value
    rules = wb["Rules"]
    assert all(r[3] == r[4] for r in rules.iter_rows(min_row=4, values_only=True))
    assert checked == 15  # every line of both blocks, the exceptions lines included


@pytest.mark.slow
@pytest.mark.skipif(SOFFICE is None, reason="needs LibreOffice (soffice) to render")
def test_renders_to_pdf_and_png(xlsx: tuple[Path, str], tmp_path: Path) -> None:
    pdf = _soffice(xlsx[0], "pdf", tmp_path)
    assert pdf.read_bytes().startswith(b"%PDF")
    if shutil.which("pdftoppm"):
        prefix = tmp_path / "page"
        subprocess.run(["pdftoppm", "-png", "-r", "60", str(pdf), str(prefix)], check=True)
        assert sorted(tmp_path.glob("page*.png"))
