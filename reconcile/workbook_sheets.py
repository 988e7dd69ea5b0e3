"""The detail sheets: Exceptions, Differences, Rules, Run and Sign-off.

Each writer fills one sheet and returns only what the Summary's formulas need to point at.
"""

from __future__ import annotations

from openpyxl.styles import Alignment
from openpyxl.worksheet.worksheet import Worksheet

from reconcile.report import Reconciliation, RunFacts
from reconcile.workbook_style import (
    BOLD,
    COUNT_FORMAT,
    DATE_FORMAT,
    TITLE_FONT,
    finish_table,
    header,
    landscape,
    put,
    quote_sheet,
    status_colours,
    unlock,
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
           " values, personal data masked) or filtered out by a named mapping rule")  # fmt: skip
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
    row = _none_line(ws, row, "(no rejected or filtered rows)")
    finish_table(ws, TABLE_HEADER_ROW, row - 1, len(titles))
    widths(ws, (22, 11, 34, 10, 22, 20, 36))


def _group_line(ws: Worksheet, row: int, entity: str, kind: str, reason: str, count: int) -> None:
    for col, text in enumerate((entity, kind, reason), start=1):
        put(ws, row, col, text).font = BOLD
    put(ws, row, 4, count, COUNT_FORMAT).font = BOLD


def write_differences(ws: Worksheet, report: Reconciliation) -> str:
    """Row-level mismatches; returns the absolute range of the Entity column."""
    _title(ws, "Row differences", "Keyed row comparison of source and staging: missing in"
           " staging, unexpected in staging, or changed (one line per changed column)")  # fmt: skip
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
    """ERP rule results; returns the absolute ranges of the Entity and Status columns."""
    _title(ws, "ERP rules", "Rules checked on the staged data: journals balance per group,"
           " every reference resolves. Status is PASS when there are no violations")  # fmt: skip
    titles = ("Entity", "Rule", "Violations", "Status", "Report status", "Detail")
    header(ws, TABLE_HEADER_ROW, titles)
    row = TABLE_HEADER_ROW + 1
    for e in report.entities:
        for r in e.rules:
            put(ws, row, 1, r.entity)
            put(ws, row, 2, r.rule)
            put(ws, row, 3, r.violations, COUNT_FORMAT)
            put(ws, row, 4, f'=IF(C{row}=0,"PASS","FAIL")')
            put(ws, row, 5, r.status)
            put(ws, row, 6, r.detail)
            row += 1
    finish_table(ws, TABLE_HEADER_ROW, row - 1, len(titles), (4, 5))
    widths(ws, (22, 60, 12, 9, 9, 48))
    for col in (2, 6):  # rules and details are sentences: wrapped, not cut off
        wrap_column(ws, col, range(TABLE_HEADER_ROW + 1, row))
    return _column_range(ws, "A", row - 1), _column_range(ws, "D", row - 1)


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


SIGNOFF_ROLES = ("Prepared by", "Reviewed by", "Approved by")
SIGNOFF_ROLE_ROW = 6
SIGNOFF_ENTITY_HEADER_ROW = 11
_MIDDLE = Alignment(vertical="center")


def write_signoff(ws: Worksheet, report: Reconciliation, prepared_by: str | None) -> None:
    """Who prepared, reviewed and approved, and a comment per entity: the only editable cells."""
    put(ws, 1, 1, f"Sign-off: run {report.run.run_id}").font = TITLE_FONT
    put(ws, 2, 1, "Overall verdict")
    put(ws, 2, 2, report.verdict).font = BOLD
    status_colours(ws, "B2")
    put(ws, 3, 1, "Only the shaded cells can be edited. The SHA-256 of this file as issued is"
        " recorded with the run: `migrate reconcile RUN_ID` prints it.")  # fmt: skip
    header(ws, SIGNOFF_ROLE_ROW - 1, ("Role", "Name", "Signature", "Date (yyyy-mm-dd)"))
    for i, role in enumerate(SIGNOFF_ROLES):
        row = SIGNOFF_ROLE_ROW + i
        label = put(ws, row, 1, role)
        label.font = BOLD
        label.alignment = _MIDDLE
        name = prepared_by if role == "Prepared by" else None
        for col, value, fmt in ((2, name, None), (3, None, None), (4, None, DATE_FORMAT)):
            cell = put(ws, row, col, value, fmt)
            unlock(cell)
            cell.alignment = _MIDDLE
        ws.row_dimensions[row].height = 32
    _entity_comments(ws, report)
    widths(ws, (26, 30, 64, 20))
    ws.print_title_rows = f"{SIGNOFF_ENTITY_HEADER_ROW}:{SIGNOFF_ENTITY_HEADER_ROW}"
    landscape(ws)


def _entity_comments(ws: Worksheet, report: Reconciliation) -> None:
    titles = ("Entity", "Status", "Comment (explain any accepted variance)", "Initials")
    header(ws, SIGNOFF_ENTITY_HEADER_ROW, titles)
    row = SIGNOFF_ENTITY_HEADER_ROW + 1
    for e in report.entities:
        put(ws, row, 1, e.entity).alignment = _MIDDLE
        put(ws, row, 2, e.status).alignment = Alignment(horizontal="center", vertical="center")
        comment = put(ws, row, 3, None)
        unlock(comment)
        comment.alignment = Alignment(wrap_text=True, vertical="top")
        unlock(put(ws, row, 4, None))
        ws.row_dimensions[row].height = 45
        row += 1
    status_colours(ws, f"B{SIGNOFF_ENTITY_HEADER_ROW + 1}:B{max(row - 1, 12)}")
