"""The Summary sheet: the verdict, then a block per entity, most serious first
(``workbook_order``), its passing count lines folded (the control-totals sheets:
``workbook_grains``).

Every difference and status here is an Excel formula over the totals beside it, so an
accountant can audit the arithmetic; the status the reconciliation engine computed is written
next to it ("Report status") and the two must agree. The one exception is a line with an
amount of 16 or more significant digits, which the spreadsheet would read rounded: there the
Difference and Status are the report's exact values, and the line says so
(:data:`~reconcile.reports.workbook_style.BEYOND_EXCEL`).
"""

from __future__ import annotations

from dataclasses import dataclass

from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.worksheet import Worksheet

from reconcile.report import (
    EXCEPTIONS,
    FAIL,
    PASS,
    UNVERIFIED,
    EntityReconciliation,
    MeasureIdentity,
    Reconciliation,
)
from reconcile.reports.workbook_order import severity_order
from reconcile.reports.workbook_rounding import rounding_row
from reconcile.reports.workbook_style import (
    BEYOND_EXCEL,
    BOLD,
    COUNT_FORMAT,
    ENTITY_FILL,
    FONT,
    TITLE_FONT,
    VERDICT_FILL,
    beyond_excel,
    decimal_places,
    finish_table,
    header,
    put,
    put_formula,
    put_money,
    status_colours,
    widths,
    wrap_column,
)

SUMMARY_HEADER_ROW = 8
SUMMARY_COLUMNS = (
    "Entity", "Check", "Source", "Staged", "Rejected", "Filtered", "Difference",
    "Tolerance", "Status", "Report status", "Note",
)  # fmt: skip
ENTITY_STATUS = "Entity status"
ORDER_NOTE = (
    "Most serious first: entities that fail, then those with exceptions, then those that pass "
    "(largest amounts first). Checks that pass with nothing to count are folded: + at the "
    "left opens them. How each side was computed: sheet Run; words and codes: sheet Legend."
)


@dataclass(frozen=True)
class Refs:
    """Where the detail sheets keep what the Summary counts (absolute ranges, or None)."""

    grain_status: dict[str, str]  # entity -> status range on its control-totals sheet
    grain_sheet: dict[str, str]  # entity -> that sheet's title
    difference_entities: str | None
    rule_entities: str | None
    rule_status: str | None
    exception_entities: str | None = None  # the entity column of Sign-off's exception lines


def identity_formulas(ws: Worksheet, row: int, places: int | None) -> None:
    """Difference = Source - Staged - Rejected - Filtered; Status compares it with Tolerance.

    Money differences are rounded to the inputs' own decimal places so binary floating point
    in the spreadsheet cannot turn an exact cent into 0.0100000001 and a PASS into a FAIL.
    """
    expr = f"C{row}-D{row}-E{row}-F{row}"
    put_formula(ws, row, 7, f"=ROUND({expr},{places})" if places is not None else f"={expr}")
    put_formula(ws, row, 9, f'=IF(ABS(G{row})<=H{row},"PASS","FAIL")')


def _count_row(ws: Worksheet, row: int, e: EntityReconciliation) -> None:
    put(ws, row, 2, "Row count")
    counts = (e.source_rows, e.staged_rows, e.rejected_rows, e.filtered_rows)
    for col, value in enumerate(counts, start=3):
        put(ws, row, col, value, COUNT_FORMAT)
    put(ws, row, 8, 0, COUNT_FORMAT)
    identity_formulas(ws, row, None)
    ws.cell(row=row, column=7).number_format = COUNT_FORMAT
    put(ws, row, 10, "PASS" if e.count_difference == 0 else "FAIL")
    put(ws, row, 11, f"rows of {e.source_table} vs {e.target_table}")


def _measure_row(ws: Worksheet, row: int, m: MeasureIdentity) -> int:
    """One amount's identity; under a rounding policy a "Rounding" line under it (which its
    Difference reads); when legacy values of it cannot be read, a "Not read" line, which its
    status reads (UNVERIFIED fails). Returns the next free row."""
    put(ws, row, 2, f"Amount: {m.measure}")
    amounts = (m.source, m.staged, m.rejected, m.filtered)
    for col, amount in enumerate(amounts, start=3):
        put_money(ws, row, col, amount)
    put_money(ws, row, 8, m.tolerance)
    figures = (*amounts, m.tolerance, m.difference, m.rounding_expected, m.rounding_bound)
    exact = beyond_excel(figures)
    places = decimal_places(figures[:5] + figures[6:])
    n = row + 1
    if exact:  # the spreadsheet would compute it rounded: the report's own values
        put_money(ws, row, 7, m.difference)
        put(ws, row, 9, m.status)
    else:
        identity_formulas(ws, row, places)
        if m.rounding_rule:  # the restated rounding is part of the identity; beyond its
            expr = f"C{row}-D{row}-E{row}-F{row}+C{n}"  # bound, the rounding fails it too
            put_formula(
                ws, row, 7, f"=ROUND({expr},{places})" if places is not None else f"={expr}"
            )
            off = f"OR(ABS(G{row})>H{row},ABS(G{n})>H{n})"
            put_formula(ws, row, 9, f'=IF({off},"FAIL","PASS")')
        ws.cell(row=row, column=7).number_format = ws.cell(row=row, column=3).number_format
    put(ws, row, 10, m.status)
    put(ws, row, 11, BEYOND_EXCEL if exact else f"staged as {m.target_column}")
    if m.rounding_rule:
        n = rounding_row(ws, row, m, exact, places)
    if not m.unreadable:
        return n
    if not exact:
        within = f"ABS(G{row})<=H{row}" + (
            f",ABS(G{row + 1})<=H{row + 1}" if m.rounding_rule else ""
        )
        put_formula(ws, row, 9, f'=IF(G{n}>0,"{UNVERIFIED}",IF(AND({within}),"PASS","FAIL"))')
    put(ws, n, 2, f"Not read: {m.measure}")
    put(ws, n, 7, m.unreadable, COUNT_FORMAT)
    put(ws, n, 8, 0, COUNT_FORMAT)
    put_formula(ws, n, 9, f'=IF(G{n}=0,"PASS","{UNVERIFIED}")')
    put(ws, n, 10, UNVERIFIED)
    put(ws, n, 11, "values that are not amounts, never counted as 0: unverified; rows on "
        "sheet Exceptions")  # fmt: skip
    return n + 1


def _failures_row(ws: Worksheet, row: int, label: str, formula: str, ok: bool, note: str) -> None:
    """A check whose Difference is a count of failing items on another sheet (must be 0)."""
    put(ws, row, 2, label)
    put_formula(ws, row, 7, formula, COUNT_FORMAT)
    put(ws, row, 8, 0, COUNT_FORMAT)
    put_formula(ws, row, 9, f'=IF(ABS(G{row})<=H{row},"PASS","FAIL")')
    put(ws, row, 10, "PASS" if ok else "FAIL")
    put(ws, row, 11, note)


def _grains_row(ws: Worksheet, row: int, e: EntityReconciliation, refs: Refs) -> None:
    """The count of the entity's grain lines that fail or are UNVERIFIED (must be 0). Its
    status is FAIL when any line fails, else UNVERIFIED when any is, by formula over the
    totals sheet's Status column and as ``e.grains_status`` (each line's ``status``)."""
    put(ws, row, 2, "Grain rows failing")
    span = refs.grain_status.get(e.entity)
    if span:
        fails, unverified = f'COUNTIF({span},"{FAIL}")', f'COUNTIF({span},"{UNVERIFIED}")'
        put_formula(ws, row, 7, f"={fails}+{unverified}", COUNT_FORMAT)
        level = f'=IF({fails}>0,"{FAIL}",IF({unverified}>0,"{UNVERIFIED}","{PASS}"))'
        note = f"failing or unverified rows on sheet {refs.grain_sheet[e.entity]}"
    else:
        put_formula(ws, row, 7, "=0", COUNT_FORMAT)
        level, note = f'=IF(ABS(G{row})<=H{row},"{PASS}","{FAIL}")', "no grain declared"
    put(ws, row, 8, 0, COUNT_FORMAT)
    put_formula(ws, row, 9, level)
    put(ws, row, 10, e.grains_status)
    put(ws, row, 11, note)


def _detail_rows(ws: Worksheet, row: int, e: EntityReconciliation, refs: Refs) -> int:
    """Grain, row-diff and ERP-rule lines of one entity; returns the next free row."""
    _grains_row(ws, row, e, refs)
    diff = f"=COUNTIF({refs.difference_entities},A{row + 1})" if refs.difference_entities else "=0"
    where = "rows on sheet Differences"
    if unlisted := e.differences_found - len(e.differences):  # listed ones plus the rest
        diff += f"+{unlisted}"
        where = (
            f"the first {len(e.differences):,} of {e.differences_found:,} on sheet "
            "Differences, all of them in the differences CSV"
        )
    _failures_row(ws, row + 1, "Row differences", diff, not e.differences_found, where)
    rules = (
        f'=COUNTIFS({refs.rule_entities},A{row + 2},{refs.rule_status},"FAIL")'
        if refs.rule_entities and refs.rule_status
        else "=0"
    )
    rules_ok = all(r.status != FAIL for r in e.rules)  # RuleResult.status, as the Rules sheet
    _failures_row(ws, row + 2, "ERP rules failing", rules, rules_ok, "rules on sheet Rules")
    if e.problems:  # a mapping changed since the run, rows of the run no entity claims
        note = "; ".join(e.problems)
        _failures_row(ws, row + 3, "Run claims failing", f"={len(e.problems)}", False, note)
        row += 1
    return _exception_rows(ws, row + 3, e, refs)


def _exception_rows(ws: Worksheet, row: int, e: EntityReconciliation, refs: Refs) -> int:
    """What finance must accept: the count of the entity's lines on the Sign-off sheet
    (EXCEPTIONS when there are any), then each column not verified, with why."""
    put(ws, row, 2, "Exceptions to accept")
    spans = refs.exception_entities
    put_formula(ws, row, 7, f"=COUNTIF({spans},A{row})" if spans else "=0", COUNT_FORMAT)
    put(ws, row, 8, 0, COUNT_FORMAT)
    put_formula(ws, row, 9, f'=IF(G{row}=0,"PASS","{EXCEPTIONS}")')
    put(ws, row, 10, EXCEPTIONS if e.exceptions else PASS)
    put(ws, row, 11, "each on sheet Sign-off, to accept before signing")
    for column, why in e.not_verified:
        row += 1
        put(ws, row, 2, f"Column not verified: {column}")
        put(ws, row, 11, f"{why} (an exception to accept on the Sign-off sheet)")
    return row + 1


def _entity_block(ws: Worksheet, row: int, e: EntityReconciliation, refs: Refs) -> int:
    """All Summary lines of one entity, ending with its status line; returns the next row."""
    first = row
    _count_row(ws, row, e)
    row += 1
    for m in e.measures:
        row = _measure_row(ws, row, m)
    row = _detail_rows(ws, row, e, refs)
    for r in range(first, row + 1):
        put(ws, r, 1, e.entity)
    put(ws, row, 2, ENTITY_STATUS)
    put_formula(ws, row, 9, level_formula(f"I{first}:I{row - 1}"))
    put(ws, row, 10, e.status)
    for col in range(1, 12):
        cell = ws.cell(row=row, column=col)
        cell.font = BOLD
        cell.fill = ENTITY_FILL
    _fold_passing(ws, range(first + 1, row))
    return row + 1


def _fold_passing(ws: Worksheet, rows: range) -> None:
    """Fold the count lines that pass with nothing to count (no grain line off, no row
    difference, no rule broken, nothing to accept, a rounding within its bound) into a
    collapsed outline group: on screen a "+" opens them, on paper they do not print. The row
    count, every amount and every line that fails or asks for acceptance stay shown."""
    for r in rows:
        check = str(ws.cell(row=r, column=2).value or "")
        if ws.cell(row=r, column=10).value == PASS and not check.startswith("Amount:"):
            ws.row_dimensions[r].outlineLevel = 1
            ws.row_dimensions[r].hidden = True


def level_formula(span: str) -> str:
    """FAIL when any line in ``span`` fails (or is unverified), else EXCEPTIONS when any
    asks finance to accept something, else PASS."""
    fails = f'COUNTIF({span},"FAIL")+COUNTIF({span},"{UNVERIFIED}")'
    return f'=IF({fails}>0,"FAIL",IF(COUNTIF({span},"{EXCEPTIONS}")>0,"{EXCEPTIONS}","PASS"))'


def _verdict_head(ws: Worksheet, report: Reconciliation, last_row: int) -> None:
    put(ws, 1, 1, "Reconciliation verdict").font = TITLE_FONT
    verdict = put(ws, 1, 3, report.verdict)
    verdict.font = Font(name=FONT, bold=True, size=20, color="FFFFFF")
    verdict.fill = PatternFill("solid", start_color=VERDICT_FILL[report.verdict])
    verdict.alignment = Alignment(horizontal="center")
    ws.merge_cells("C1:E1")  # room for the longest word, EXCEPTIONS, at 20 points
    ws.row_dimensions[1].height = 30
    words = put(ws, 2, 1, verdict_words(report))
    words.font = BOLD
    words.alignment = Alignment(wrap_text=True, vertical="top")
    ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=len(SUMMARY_COLUMNS))
    ws.row_dimensions[2].height = 15 * (2 + len(words.value or "") // 150)
    put(ws, 3, 1, "Verdict by the formulas below")
    first = SUMMARY_HEADER_ROW + 1
    last = max(last_row, first)
    statuses = f"B{first}:B{last}", f"I{first}:I{last}"
    on = f'{statuses[0]},"{ENTITY_STATUS}",{statuses[1]}'
    formula = (
        f'=IF(COUNTIF({statuses[0]},"{ENTITY_STATUS}")=0,"FAIL",'
        f'IF(COUNTIFS({on},"FAIL")>0,"FAIL",'
        f'IF(COUNTIFS({on},"{EXCEPTIONS}")>0,"{EXCEPTIONS}","PASS")))'
    )
    put_formula(ws, 3, 3, formula).alignment = Alignment(horizontal="center")
    status_colours(ws, "C3")
    put(ws, 4, 1, "Run")
    put(ws, 4, 3, report.run.run_id)
    put(ws, 5, 1, "Reconciled at")
    put(ws, 5, 3, report.run.reconciled_at)
    put(ws, 6, 1, "Identity checked")
    put(ws, 6, 3, "Source = Staged + Rejected + Filtered;  Difference = Source - Staged"
        " - Rejected - Filtered, which must be within Tolerance (under a rounding policy"
        " the Source is at the legacy's precision and the Rounding line's restated rounding"
        " is added to it)").alignment = Alignment(wrap_text=True, vertical="top")  # fmt: skip
    ws.merge_cells(start_row=6, start_column=3, end_row=6, end_column=len(SUMMARY_COLUMNS))
    ws.row_dimensions[6].height = 30  # two lines across the table, not past its edge


SHOWN_FAILING = 5


def verdict_words(report: Reconciliation) -> str:
    """The verdict in a controller's words: what it means and what to do before signing."""
    if not report.entities:
        return "FAIL: do not sign. No entity was reconciled, so nothing is proved."
    if report.verdict == PASS:
        return (
            "PASS: every legacy row and every legacy cent is accounted for: staged, or left "
            "out by a named mapping rule. Nothing was rejected, and every amount and every "
            "compared column was verified."
        )
    if report.verdict == EXCEPTIONS:
        n = sum(len(e.exceptions) for e in report.entities)
        which = "the exception" if n == 1 else f"each of the {n} exceptions"
        return (
            "EXCEPTIONS: the totals hold: Source = Staged + Rejected + Filtered for every row "
            "count and every amount. But rows were rejected or columns could not be verified: "
            f"finance must accept {which} listed on the Sign-off sheet before signing."
        )
    failing = [e for e in report.entities if e.failures]
    named = "; ".join(f"{e.entity}: {', '.join(e.failures)}" for e in failing[:SHOWN_FAILING])
    more = f"; and {len(failing) - SHOWN_FAILING} more" if len(failing) > SHOWN_FAILING else ""
    return (
        f"FAIL: do not sign. {len(failing)} of {len(report.entities)} entities do not "
        f"reconcile ({named}{more}). The red lines below say where."
    )


def write_summary(ws: Worksheet, report: Reconciliation, refs: Refs) -> None:
    """One block per entity (counts, each amount, grains, row diff, rules) under the verdict."""
    header(ws, SUMMARY_HEADER_ROW, SUMMARY_COLUMNS)
    row = SUMMARY_HEADER_ROW + 1
    for e in severity_order(report):
        row = _entity_block(ws, row, e, refs)
    _verdict_head(ws, report, row - 1)
    put(ws, SUMMARY_HEADER_ROW - 1, 1, ORDER_NOTE).font = Font(name=FONT, italic=True)
    finish_table(ws, SUMMARY_HEADER_ROW, row - 1, len(SUMMARY_COLUMNS), (9, 10))
    ws.sheet_properties.outlinePr.summaryBelow = True  # each entity's status line closes it
    widths(ws, (22, 26, 17, 17, 16, 16, 16, 12, 12, 12, 46))
    wrap_column(ws, len(SUMMARY_COLUMNS), range(SUMMARY_HEADER_ROW + 1, row))


__all__ = ["Refs", "level_formula", "severity_order", "write_summary"]
