"""The Sign-off sheet: who prepared, reviewed and approved; each exception finance must
accept, with a cell to mark it accepted; a comment per entity. Its shaded cells are the only
editable ones in the workbook.
"""

from __future__ import annotations

from dataclasses import dataclass

from openpyxl.styles import Alignment
from openpyxl.worksheet.worksheet import Worksheet

from reconcile.report import EXCEPTIONS, FAIL, EntityReconciliation, Reconciliation
from reconcile.workbook_style import (
    BOLD,
    COUNT_FORMAT,
    DATE_FORMAT,
    TITLE_FONT,
    header,
    landscape,
    put,
    put_formula,
    quote_sheet,
    status_colours,
    unlock,
    widths,
)

SIGNOFF_ROLES = ("Prepared by", "Reviewed by", "Approved by")
SIGNOFF_ROLE_ROW = 7
EXCEPTIONS_HEADER_ROW = 12
EXCEPTION_TITLES = ("Entity", "Exception", "Rows", "Amounts", "Accepted (initials)", "Comment")
_MIDDLE = Alignment(vertical="center")
_TOP = Alignment(wrap_text=True, vertical="top")


@dataclass(frozen=True)
class ExceptionLine:
    """One thing finance must accept: the entity, what it is, how many rows, which amounts."""

    entity: str
    text: str
    rows: int | None
    amounts: str


def exception_lines(e: EntityReconciliation) -> list[ExceptionLine]:
    """One line per exception of the entity (``EntityReconciliation.exceptions``, in its
    order), with the rows and amounts of each where the report has them."""
    out = []
    if e.source_rows and not e.staged_rows:
        out.append(ExceptionLine(e.entity, e.exceptions[0], e.source_rows, "-"))
    for g in e.rejects:
        money = "\n".join(f"{m} {v:,}" for m, v in g.amounts) or "-"
        out.append(
            ExceptionLine(e.entity, f"{g.count:,} row(s) rejected as {g.reason}", g.count, money)
        )
    for column, why in e.not_verified:
        out.append(ExceptionLine(e.entity, f"column {column} not verified: {why}", None, "-"))
    out += [ExceptionLine(e.entity, text, None, "-") for text in e.exceptions[len(out) :]]
    return out


def _what_signing_means(report: Reconciliation, n: int) -> str:
    if report.verdict == EXCEPTIONS:
        return (
            f"The totals hold, with {n} exception(s) below. Approving accepts each of them: "
            "initial each line in 'Accepted' before signing."
        )
    if report.verdict == FAIL:
        return "FAIL: do not approve. The run must not go live as it is (see the Summary)."
    return "PASS: every legacy row and cent is accounted for; nothing to accept."


def write_signoff(ws: Worksheet, report: Reconciliation, prepared_by: str | None) -> str | None:
    """Fill the sheet; returns the absolute range of the exceptions' Entity column (the
    Summary counts each entity's lines there), or None when there are none."""
    lines = [line for e in report.entities for line in exception_lines(e)]
    put(ws, 1, 1, f"Sign-off: run {report.run.run_id}").font = TITLE_FONT
    put(ws, 2, 1, "Overall verdict")
    put(ws, 2, 2, report.verdict).font = BOLD
    status_colours(ws, "B2")
    put(ws, 3, 1, _what_signing_means(report, len(lines))).font = BOLD
    put(ws, 4, 1, "Only the shaded cells can be edited. The SHA-256 of this file as issued is"
        " recorded with the run's reconciliation history: `migrate audit history RUN_ID`"
        " lists it.")  # fmt: skip
    _roles(ws, prepared_by)
    row = _exceptions(ws, lines)
    _entity_comments(ws, report, row + 2)
    widths(ws, (26, 60, 12, 26, 16, 40))
    ws.print_title_rows = f"{EXCEPTIONS_HEADER_ROW}:{EXCEPTIONS_HEADER_ROW}"
    landscape(ws)
    if not lines:
        return None
    first, last = EXCEPTIONS_HEADER_ROW + 1, EXCEPTIONS_HEADER_ROW + len(lines)
    return f"{quote_sheet(ws.title)}!$A${first}:$A${last}"


def _roles(ws: Worksheet, prepared_by: str | None) -> None:
    header(ws, SIGNOFF_ROLE_ROW - 1, ("Role", "Name", "Date (yyyy-mm-dd)", "Signature"))
    for i, role in enumerate(SIGNOFF_ROLES):
        row = SIGNOFF_ROLE_ROW + i
        label = put(ws, row, 1, role)
        label.font = BOLD
        label.alignment = _MIDDLE
        name = prepared_by if role == "Prepared by" else None
        for col, value, fmt in ((2, name, None), (3, None, DATE_FORMAT), (4, None, None)):
            cell = put(ws, row, col, value, fmt)
            unlock(cell)
            cell.alignment = _MIDDLE
        ws.row_dimensions[row].height = 32


def _exceptions(ws: Worksheet, lines: list[ExceptionLine]) -> int:
    """The exceptions table; returns its last row."""
    put(ws, EXCEPTIONS_HEADER_ROW - 1, 1, "Exceptions to accept").font = BOLD
    header(ws, EXCEPTIONS_HEADER_ROW, EXCEPTION_TITLES)
    row = EXCEPTIONS_HEADER_ROW
    for line in lines:
        row += 1
        put(ws, row, 1, line.entity).alignment = _TOP
        put(ws, row, 2, line.text).alignment = _TOP
        put(ws, row, 3, line.rows if line.rows is not None else "-", COUNT_FORMAT).alignment = _TOP
        put(ws, row, 4, line.amounts).alignment = _TOP
        for col in (5, 6):
            cell = put(ws, row, col, None)
            unlock(cell)
            cell.alignment = _TOP
        height = 15 * max(line.amounts.count("\n") + 1, len(line.text) // 55 + 1)
        ws.row_dimensions[row].height = max(height, 30)
    if not lines:
        row += 1
        put(ws, row, 1, "(none: nothing to accept)")
        return row
    row += 1
    put(ws, row, 4, "Accepted so far").font = BOLD
    first = EXCEPTIONS_HEADER_ROW + 1
    put_formula(ws, row, 5, f'=COUNTA(E{first}:E{row - 1})&" of {len(lines)}"').font = BOLD
    return row


def _entity_comments(ws: Worksheet, report: Reconciliation, top: int) -> None:
    titles = ("Entity", "Comment (explain any accepted variance)", "Status", "Initials")
    header(ws, top, titles)
    row = top + 1
    for e in report.entities:
        put(ws, row, 1, e.entity).alignment = _MIDDLE
        comment = put(ws, row, 2, None)
        unlock(comment)
        comment.alignment = _TOP
        put(ws, row, 3, e.status).alignment = Alignment(horizontal="center", vertical="center")
        unlock(put(ws, row, 4, None))
        ws.row_dimensions[row].height = 45
        row += 1
    status_colours(ws, f"C{top + 1}:C{max(row - 1, top + 1)}")
