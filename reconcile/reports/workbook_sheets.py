"""The detail sheets: Differences, Rules and Run (Exceptions: ``workbook_exceptions``;
Legend: ``workbook_legend``; Sign-off: ``workbook_signoff``).

Each writer fills one sheet and returns only what the Summary's formulas need to point at.
Differences show numbers as numbers with their difference; broken rules come first; the Run
sheet keeps, for auditors, how each entity was reconciled (the Summary keeps to figures).
"""

from __future__ import annotations

import re
from decimal import Decimal

from openpyxl.worksheet.worksheet import Worksheet

from reconcile.proving.differences import DifferencesFile, kinds_of
from reconcile.report import Reconciliation, RuleResult, RunFacts
from reconcile.reports.workbook_legend import difference_kind
from reconcile.reports.workbook_style import (
    BOLD,
    COUNT_FORMAT,
    TITLE_FONT,
    decimal_places,
    excel_number,
    finish_table,
    header,
    landscape,
    note_row,
    put,
    put_formula,
    quote_sheet,
    widths,
    wrap_column,
)

TABLE_HEADER_ROW = 3


DIFFERENCE_WIDTHS = (22, 24, 22, 22, 26, 26, 16)
RULE_WIDTHS = (22, 60, 12, 12, 12, 48)
RULES_NOTE = (
    "Rules checked on the staged data: journals balance per group, every reference resolves, "
    "headers equal the sum of their lines; warnings (rows loaded but flagged, by reason, "
    "re-derived from the staged rows). Status is PASS without violations, else the rule's "
    "level (FAIL, or EXCEPTIONS). Broken rules first."
)


def _title(ws: Worksheet, title: str, note: str, sizes: tuple[float, ...]) -> None:
    put(ws, 1, 1, title).font = TITLE_FONT
    note_row(ws, 2, note, len(sizes), sizes)


def write_differences(
    ws: Worksheet, report: Reconciliation, csv_file: DifferencesFile | None = None
) -> str:
    """Row-level mismatches, the first of each kind (all in the CSV ``csv_file``); returns
    the absolute range of the Entity column."""
    _title(ws, "Row differences", differences_note(report, csv_file), DIFFERENCE_WIDTHS)
    titles = ("Entity", "Source key", "Kind", "Column", "Source value", "Staged value",
              "Difference")  # fmt: skip
    header(ws, TABLE_HEADER_ROW, titles)
    row = TABLE_HEADER_ROW + 1
    for e in report.entities:
        for d in e.differences:
            values = (d.entity, d.source_key, difference_kind(d.kind), d.column)
            for col, value in enumerate(values, start=1):
                put(ws, row, col, value)
            _values(ws, row, d.source_value, d.staged_value)
            row += 1
    row = _none_line(ws, row, "(none: every compared row matches)")
    finish_table(ws, TABLE_HEADER_ROW, row - 1, len(titles))
    widths(ws, DIFFERENCE_WIDTHS)
    return _column_range(ws, "A", row - 1)


def _values(ws: Worksheet, row: int, source: str | None, staged: str | None) -> None:
    """Both values as numbers (thousands separators, their own decimals) when both are plain
    decimal numbers, with the difference staged - source; else as text, exactly as found."""
    a, b = as_number(source), as_number(staged)
    if a is None or b is None:
        put(ws, row, 5, source)
        put(ws, row, 6, staged)
        return
    places = decimal_places((a, b))
    fmt = (
        "#,##0"
        + ("." + "0" * places if places else "")
        + ";-#,##0"
        + ("." + "0" * places if places else "")
    )
    put(ws, row, 5, excel_number(a), fmt)
    put(ws, row, 6, excel_number(b), fmt)
    put(ws, row, 7, excel_number(b - a), fmt)


_PLAIN_NUMBER = re.compile(r"-?\d{1,30}(\.\d{1,12})?")


def as_number(text: str | None) -> Decimal | None:
    """A value that is a plain decimal number (``-1234.50``), else None (codes such as
    ``00123`` with a leading zero stay text: they are identifiers, not amounts)."""
    if text is None or not _PLAIN_NUMBER.fullmatch(text):
        return None
    digits = text.lstrip("-")
    if len(digits) > 1 and digits[0] == "0" and digits[1] != ".":
        return None
    return Decimal(text)


def write_rules(ws: Worksheet, report: Reconciliation) -> tuple[str, str]:
    """ERP rule results; returns the absolute ranges of the Entity and Status columns.

    A rule's Status is PASS without violations, else its level: FAIL, or EXCEPTIONS for a
    warning (rows loaded and flagged, listed by reason with samples in Detail) and for a
    rule already broken in the legacy data (its legacy keys in Detail)."""
    _title(ws, "ERP rules", RULES_NOTE, RULE_WIDTHS)
    titles = ("Entity", "Rule", "Violations", "Status", "Report status", "Detail")
    header(ws, TABLE_HEADER_ROW, titles)
    row = TABLE_HEADER_ROW + 1
    ranked = sorted((r for e in report.entities for r in e.rules), key=_rule_rank)
    for r in ranked:
        put(ws, row, 1, r.entity)
        put(ws, row, 2, r.rule)
        put(ws, row, 3, r.violations, COUNT_FORMAT)
        put_formula(ws, row, 4, f'=IF(C{row}=0,"PASS","{r.level}")')
        put(ws, row, 5, r.status)
        put(ws, row, 6, r.detail)
        row += 1
    finish_table(ws, TABLE_HEADER_ROW, row - 1, len(titles), (4, 5))
    widths(ws, RULE_WIDTHS)
    for col in (2, 6):  # rules and details are sentences: wrapped, not cut off
        wrap_column(ws, col, range(TABLE_HEADER_ROW + 1, row))
    return _column_range(ws, "A", row - 1), _column_range(ws, "D", row - 1)


def _rule_rank(r: RuleResult) -> tuple[int, int]:
    """Broken rules first (failures before warnings), most violations first."""
    level = 0 if r.status == "FAIL" else 1 if r.violations else 2
    return level, -r.violations


def differences_note(report: Reconciliation, csv_file: DifferencesFile | None) -> str:
    """How many differences there are, which are listed here, and where all of them are."""
    total = sum(e.differences_found for e in report.entities)
    if not total:
        return "Keyed row comparison of source and staging: every compared row matches"
    capped = [
        f"{e.entity}: first {listed:,} of {found:,} {kind}"
        for e in report.entities
        for kind, found in kinds_of(e)
        if (listed := sum(d.kind == kind for d in e.differences)) < found
    ]
    text = f"{total:,} row difference(s): missing in staging, unexpected in staging, or changed"
    text += " (one line per changed column). " + (
        f"Listed here: {'; '.join(capped)}. " if capped else "All are listed here. "
    )
    if csv_file is not None:
        text += (
            f"All {csv_file.rows:,} are in the differences CSV issued with this workbook "
            f"(SHA-256 {csv_file.sha256})."
        )
    return text


def _none_line(ws: Worksheet, row: int, text: str) -> int:
    """Say so in an empty table (a blank sheet reads as if something failed to print)."""
    if row > TABLE_HEADER_ROW + 1:
        return row
    put(ws, row, 1, text)
    return row + 1


def _column_range(ws: Worksheet, letter: str, last_row: int) -> str:
    first = TABLE_HEADER_ROW + 1
    return f"{quote_sheet(ws.title)}!${letter}${first}:${letter}${max(last_row, first)}"


def write_run(ws: Worksheet, report: Reconciliation, prepared_by: str | None) -> None:
    """Run facts, databases (passwords already redacted), mapping hashes and row counts."""
    run = report.run
    put(ws, 1, 1, f"Run {run.run_id}").font = TITLE_FONT
    row = _facts(ws, 3, run, prepared_by)
    row = _pairs(ws, row + 1, ("Source database", "Connection (password redacted)"),
                 sorted(run.source_identity.items()))  # fmt: skip
    row = _pairs(ws, row + 1, ("Mapping file", "SHA-256"), sorted(run.mapping_hashes.items()))
    header(ws, row + 1, ("Entity", "Source table", "Target table", "Source rows", "Staged",
                         "Rejected", "Filtered"))  # fmt: skip
    row += 2
    for e in report.entities:
        values = (e.entity, e.source_table, e.target_table)
        for col, text in enumerate(values, start=1):
            put(ws, row, col, text)
        counts = (e.source_rows, e.staged_rows, e.rejected_rows, e.filtered_rows)
        for col, count in enumerate(counts, start=4):
            put(ws, row, col, count, COUNT_FORMAT)
        row += 1
    first = row + 2
    row = _method(ws, row + 1, report)
    ws.freeze_panes = "A2"
    widths(ws, (50, 72, 28, 14, 14, 14, 14))
    wrap_column(ws, 2, range(first, row))
    landscape(ws)


def _method(ws: Worksheet, row: int, report: Reconciliation) -> int:
    """How each side of each entity was computed, for auditors (the Summary keeps to the
    figures): each amount's rule, each compared text column's rule, the keyed row diff."""
    header(ws, row, ("How each entity was reconciled (for auditors)", "Method"))
    row += 1
    for e in report.entities:
        lines = [(f"{e.entity}: amount {m.measure}", f"{m.source_rule} -> {m.target_column}")
                 for m in e.measures]  # fmt: skip
        lines += [(f"{e.entity}: compared column", text) for text in e.compared]
        if e.row_diff:
            lines.append((f"{e.entity}: row comparison", e.row_diff))
        for what, how in lines:
            put(ws, row, 1, what)
            put(ws, row, 2, how)
            row += 1
    return row


def _facts(ws: Worksheet, row: int, run: RunFacts, prepared_by: str | None) -> int:
    facts = (
        ("Run id", run.run_id),
        ("Mode", run.mode),
        ("Started at", run.started_at),
        ("Ended at", run.ended_at),
        ("Run by", run.started_by),
        ("Reconciled at", run.reconciled_at),
        ("Workbook prepared by", prepared_by),
        ("Staging database", run.staging_identity),
    )
    for label, value in facts:
        put(ws, row, 1, label).font = BOLD
        put(ws, row, 2, value if value is not None else "(not recorded)")
        row += 1
    return row


def _pairs(ws: Worksheet, row: int, titles: tuple[str, str], items: list[tuple[str, str]]) -> int:
    """A two-column table; returns the next free row."""
    header(ws, row, titles)
    row += 1
    for name, value in items:
        put(ws, row, 1, name)
        put(ws, row, 2, value)
        row += 1
    return row
