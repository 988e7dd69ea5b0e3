"""The detail sheets: Exceptions, Differences, Rules and Run (Sign-off: ``workbook_signoff``).

Each writer fills one sheet and returns only what the Summary's formulas need to point at.
"""

from __future__ import annotations

from openpyxl.worksheet.worksheet import Worksheet

from reconcile.differences import DifferencesFile, kinds_of
from reconcile.report import EntityReconciliation, Reconciliation, RunFacts
from reconcile.workbook_style import (
    BOLD,
    COUNT_FORMAT,
    TITLE_FONT,
    finish_table,
    header,
    landscape,
    put,
    put_formula,
    quote_sheet,
    widths,
    wrap_column,
)

TABLE_HEADER_ROW = 3


def _title(ws: Worksheet, title: str, note: str) -> None:
    put(ws, 1, 1, title).font = TITLE_FONT
    put(ws, 2, 1, note)


def write_exceptions(ws: Worksheet, report: Reconciliation) -> None:
    """Rejects grouped by reason with their sample rows, then rows filtered by named rule."""
    _title(ws, "Exceptions", "Rows not staged: rejected (with reason and sample offending"
           " values, personal data masked) or filtered out by a named mapping rule; legacy"
           " amounts reconciliation cannot read (Not read: the amount is unverified)")  # fmt: skip
    titles = ("Entity", "Kind", "Reason or rule", "Rows", "Source key", "Column", "Offending value")
    header(ws, TABLE_HEADER_ROW, titles)
    row = TABLE_HEADER_ROW + 1
    for e in report.entities:
        for group in e.rejects:
            _group_line(ws, row, e.entity, "Rejected", group.reason, group.count)
            row += 1
            for key, column, value in group.sample:
                for col, text in enumerate((e.entity, "Rejected", group.reason), start=1):
                    put(ws, row, col, text)
                for col, cell in enumerate((key, column, value), start=5):
                    put(ws, row, col, cell)
                row += 1
        for rule, count in sorted(e.filtered_by_rule.items()):
            _group_line(ws, row, e.entity, "Filtered", rule, count)
            row += 1
        row = _not_read(ws, row, e)
    row = _none_line(ws, row, "(no rejected or filtered rows)")
    finish_table(ws, TABLE_HEADER_ROW, row - 1, len(titles))
    widths(ws, (22, 11, 34, 10, 22, 20, 36))


def _not_read(ws: Worksheet, row: int, e: EntityReconciliation) -> int:
    """Each unverified amount: how many legacy values are not amounts, then the first."""
    for m in e.measures:
        if not m.unreadable:
            continue
        reason = f"amount {m.measure}: not an amount"
        _group_line(ws, row, e.entity, "Not read", reason, m.unreadable)
        row += 1
        for key, value in m.unreadable_rows:
            for col, text in enumerate((e.entity, "Not read", reason), start=1):
                put(ws, row, col, text)
            for col, cell in enumerate((key, m.measure, value), start=5):
                put(ws, row, col, cell)
            row += 1
    return row


def _group_line(ws: Worksheet, row: int, entity: str, kind: str, reason: str, count: int) -> None:
    for col, text in enumerate((entity, kind, reason), start=1):
        put(ws, row, col, text).font = BOLD
    put(ws, row, 4, count, COUNT_FORMAT).font = BOLD


def write_differences(
    ws: Worksheet, report: Reconciliation, csv_file: DifferencesFile | None = None
) -> str:
    """Row-level mismatches, the first of each kind (all in the CSV ``csv_file``); returns
    the absolute range of the Entity column."""
    _title(ws, "Row differences", "Keyed row comparison of source and staging: missing in"
           " staging, unexpected in staging, or changed (one line per changed column)")  # fmt: skip
    put(ws, 2, 1, differences_note(report, csv_file))
    titles = ("Entity", "Source key", "Kind", "Column", "Source value", "Staged value")
    header(ws, TABLE_HEADER_ROW, titles)
    row = TABLE_HEADER_ROW + 1
    for e in report.entities:
        for d in e.differences:
            values = (d.entity, d.source_key, d.kind, d.column, d.source_value, d.staged_value)
            for col, value in enumerate(values, start=1):
                put(ws, row, col, value)
            row += 1
    row = _none_line(ws, row, "(none: every compared row matches)")
    finish_table(ws, TABLE_HEADER_ROW, row - 1, len(titles))
    widths(ws, (22, 24, 12, 22, 28, 28))
    return _column_range(ws, "A", row - 1)


def write_rules(ws: Worksheet, report: Reconciliation) -> tuple[str, str]:
    """ERP rule results; returns the absolute ranges of the Entity and Status columns.

    A rule's Status is PASS without violations, else its level: FAIL, or EXCEPTIONS for a
    warning (rows loaded and flagged, listed by reason with samples in Detail) and for a
    rule already broken in the legacy data (its legacy keys in Detail)."""
    _title(ws, "ERP rules", "Rules checked on the staged data: journals balance per group,"
           " every reference resolves, headers equal the sum of their lines; warnings (rows"
           " loaded but flagged, by reason, re-derived from the staged rows). Status is PASS"
           " without violations, else the rule's level (FAIL, or EXCEPTIONS)")  # fmt: skip
    titles = ("Entity", "Rule", "Violations", "Status", "Report status", "Detail")
    header(ws, TABLE_HEADER_ROW, titles)
    row = TABLE_HEADER_ROW + 1
    for e in report.entities:
        for r in e.rules:
            put(ws, row, 1, r.entity)
            put(ws, row, 2, r.rule)
            put(ws, row, 3, r.violations, COUNT_FORMAT)
            put_formula(ws, row, 4, f'=IF(C{row}=0,"PASS","{r.level}")')
            put(ws, row, 5, r.status)
            put(ws, row, 6, r.detail)
            row += 1
    finish_table(ws, TABLE_HEADER_ROW, row - 1, len(titles), (4, 5))
    widths(ws, (22, 60, 12, 9, 9, 48))
    for col in (2, 6):  # rules and details are sentences: wrapped, not cut off
        wrap_column(ws, col, range(TABLE_HEADER_ROW + 1, row))
    return _column_range(ws, "A", row - 1), _column_range(ws, "D", row - 1)


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
    ws.freeze_panes = "A2"
    widths(ws, (50, 72, 28, 14, 14, 14, 14))
    landscape(ws)


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
