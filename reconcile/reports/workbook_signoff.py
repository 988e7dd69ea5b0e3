"""The Sign-off sheet: who prepared, reviewed and approved; each exception finance must
accept, with a cell to mark it accepted; a comment per entity. Its shaded cells are the only
editable ones in the workbook.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from openpyxl.styles import Alignment
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.pagebreak import Break
from openpyxl.worksheet.worksheet import Worksheet

from reconcile.proving.differences import DifferencesFile
from reconcile.report import EXCEPTIONS, FAIL, EntityReconciliation, Reconciliation
from reconcile.reports.workbook_legend import reason_text
from reconcile.reports.workbook_order import severity_order
from reconcile.reports.workbook_style import (
    BOLD,
    COUNT_FORMAT,
    DATE_FORMAT,
    TITLE_FONT,
    header,
    landscape,
    put,
    put_formula,
    put_money,
    quote_sheet,
    status_colours,
    text_lines,
    unlock,
    widths,
)

SIGNOFF_ROLES = ("Prepared by", "Reviewed by", "Approved by")
SIGNOFF_ROLE_ROW = 7
COMMENTS_ROW = 21  # under the fingerprints to file
EXCEPTION_TITLES = (
    "Entity", "Exception", "Rows", "Amount", "Amount of", "Accepted (initials)", "Comment",
)  # fmt: skip
ACCEPT_COL = 6
_MIDDLE = Alignment(vertical="center")
_TOP = Alignment(wrap_text=True, vertical="top")
_TOP_RIGHT = Alignment(horizontal="right", vertical="top")
_TOP_INDENT = Alignment(horizontal="left", vertical="top", indent=1)


@dataclass(frozen=True)
class ExceptionLine:
    """One thing finance must accept: the entity, what it is, how many rows, which amounts
    (measure, total: one line of the table each, the first beside the text)."""

    entity: str
    text: str
    rows: int | None
    amounts: tuple[tuple[str, Decimal], ...] = ()
    unread: frozenset[str] = frozenset()  # measures with values no one could read


@dataclass(frozen=True)
class Fingerprints:
    """What the signed copy is filed with: the fingerprint of the figures
    (:func:`~reconcile.reports.report_json.figures_sha256`) and the differences CSV's SHA-256."""

    report_sha256: str
    differences: DifferencesFile | None = None


def exception_lines(e: EntityReconciliation) -> list[ExceptionLine]:
    """One line per exception of the entity (``EntityReconciliation.exceptions``, in its
    order), with the rows and amounts of each where the report has them."""
    out = []
    if e.source_rows and not e.staged_rows:
        out.append(ExceptionLine(e.entity, e.exceptions[0], e.source_rows))
    for g in e.rejects:
        text = f"{g.count:,} row(s) rejected: {reason_text(g.reason)} (code {g.reason})"
        money = [a for a in sorted(g.amounts, key=lambda a: -abs(a[1])) if a[1]]
        unread = frozenset(m.measure for m in e.measures if m.unreadable)
        out.append(ExceptionLine(e.entity, text, g.count, tuple(money or g.amounts[:1]), unread))
    for column, why in e.not_verified:
        out.append(ExceptionLine(e.entity, f"column {column} not verified: {why}", None))
    out += [ExceptionLine(e.entity, text, None) for text in e.exceptions[len(out) :]]
    return out


def _by_money(lines: list[ExceptionLine]) -> list[ExceptionLine]:
    """An entity's exceptions, the most money first (lines without money keep their order)."""
    return sorted(lines, key=lambda x: -max((abs(v) for _, v in x.amounts), default=Decimal(0)))


def _what_signing_means(report: Reconciliation, n: int) -> str:
    if report.verdict == EXCEPTIONS:
        return (
            f"The totals hold, with {n} exception(s) below. Approving accepts each of them: "
            "initial each line in 'Accepted' before signing."
        )
    if report.verdict == FAIL:
        return "FAIL: do not approve. The run must not go live as it is (see the Summary)."
    return "PASS: every legacy row and cent is accounted for; nothing to accept."


def write_signoff(
    ws: Worksheet,
    report: Reconciliation,
    prepared_by: str | None,
    prints: Fingerprints | None = None,
) -> str | None:
    """Fill the sheet; returns the absolute range of the exceptions' Entity column (the
    Summary counts each entity's lines there), or None when there are none."""
    lines = [line for e in severity_order(report) for line in _by_money(exception_lines(e))]
    put(ws, 1, 1, f"Sign-off: run {report.run.run_id}").font = TITLE_FONT
    put(ws, 2, 1, "Overall verdict")
    put(ws, 2, 2, report.verdict).font = BOLD
    status_colours(ws, "B2")
    put(ws, 3, 1, _what_signing_means(report, len(lines))).font = BOLD
    put(ws, 4, 1, "Only the shaded cells can be edited. File the signed copy with the "
        "fingerprints below.")  # fmt: skip
    _roles(ws, prepared_by)
    _to_file(ws, report, prints)
    top = _entity_comments(ws, report, COMMENTS_ROW) + 2  # the long list last, on its own
    ws.row_breaks.append(Break(id=top - 2))  # pages, under its header repeated on each
    row = _exceptions(ws, lines, top)
    widths(ws, (26, 66, 13, 16, 16, 14, 36))
    ws.print_title_rows = f"{top}:{top}"
    landscape(ws)
    if not lines:
        return None
    return f"{quote_sheet(ws.title)}!$A${top + 1}:$A${row - 2}"


FILE_ROW = 11
FIGURES_PRINT = "Figures fingerprint (SHA-256 of this reconciliation's figures)"
WORKBOOK_PRINT = "Workbook fingerprint (SHA-256 of this file as issued): copy it here"
WORKBOOK_PRINT_NOTE = (
    "A file cannot hold its own fingerprint: it comes with the workbook when issued and is "
    "kept in the reconciliation record. The figures fingerprint is reproduced by the JSON "
    "report issued with the workbook."
)


def _to_file(ws: Worksheet, report: Reconciliation, prints: Fingerprints | None) -> None:
    """What the signed copy is filed with, printed where it is filed."""
    put(ws, FILE_ROW - 1, 1, "File the signed copy with").font = BOLD
    header(ws, FILE_ROW, ("To file", "Value"))
    diffs = prints.differences if prints is not None else None
    facts = (
        ("Run", report.run.run_id),
        ("Reconciled at", report.run.reconciled_at),
        (FIGURES_PRINT, prints.report_sha256 if prints is not None else "(not computed)"),
        ("Row differences file (SHA-256)",
         f"{diffs.sha256} ({diffs.rows:,} row(s))" if diffs is not None else "(none issued)"),
        *_anchor(report),
    )  # fmt: skip
    row = FILE_ROW + 1
    for label, value in facts:
        put(ws, row, 1, label).alignment = _TOP
        put(ws, row, 2, value).alignment = _MIDDLE
        ws.row_dimensions[row].height = 15 * (1 + len(label) // 26)
        row += 1
    put(ws, row, 1, WORKBOOK_PRINT).alignment = _TOP
    cell = put(ws, row, 2, None)
    unlock(cell)
    cell.alignment = _MIDDLE
    ws.row_dimensions[row].height = 15 * (1 + len(WORKBOOK_PRINT) // 26)
    put(ws, row + 1, 2, WORKBOOK_PRINT_NOTE).alignment = _TOP
    ws.row_dimensions[row + 1].height = 15 * text_lines(WORKBOOK_PRINT_NOTE, 66)


def _anchor(report: Reconciliation) -> list[tuple[str, str]]:
    """The audit log's checkpoint at the run, when the reconciliation carries one."""
    anchor = report.run.audit_anchor
    if not anchor:
        return []
    entries, head = anchor.get("entries"), anchor.get("head")
    count = f"{entries:,}" if isinstance(entries, int) else str(entries)
    return [("Audit log checkpoint (at the end of the run)", f"{count} entries, head {head}")]


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


def _exceptions(ws: Worksheet, lines: list[ExceptionLine], top: int) -> int:
    """The exceptions table: a line each, with a further line per further amount; returns
    the first row after it."""
    put(ws, top - 1, 1, "Exceptions to accept").font = BOLD
    header(ws, top, EXCEPTION_TITLES)
    row = top + 1
    for line in lines:
        put(ws, row, 1, line.entity).alignment = _TOP
        put(ws, row, 2, line.text).alignment = _TOP
        put(ws, row, 3, line.rows if line.rows is not None else "-", COUNT_FORMAT).alignment = _TOP
        for col in (ACCEPT_COL, ACCEPT_COL + 1):
            cell = put(ws, row, col, None)
            unlock(cell)
            cell.alignment = _TOP
        ws.row_dimensions[row].height = max(15 * (len(line.text) // 60 + 1), 30)
        for i, (measure, amount) in enumerate(line.amounts or (("", None),)):
            if amount is None:
                continue
            if not amount and measure in line.unread:  # a zero here would say "no money"
                put(ws, row + i, 4, "not read").alignment = _TOP_RIGHT
            else:
                put_money(ws, row + i, 4, amount).alignment = _TOP
            put(ws, row + i, 5, measure).alignment = _TOP_INDENT
        row += max(len(line.amounts), 1)
    if not lines:
        put(ws, row, 1, "(none: nothing to accept)")
        return row + 1
    put(ws, row, ACCEPT_COL - 1, "Accepted so far").font = BOLD
    first, letter = top + 1, get_column_letter(ACCEPT_COL)
    count = f'=COUNTA({letter}{first}:{letter}{row - 1})&" of {len(lines)}"'
    put_formula(ws, row, ACCEPT_COL, count).font = BOLD
    return row + 1


def _entity_comments(ws: Worksheet, report: Reconciliation, top: int) -> int:
    """A comment per entity, most serious first; returns the first row after the table."""
    put(ws, top - 1, 1, "Comments by entity").font = BOLD
    titles = ("Entity", "Comment (explain any accepted variance)", "Status", "Initials")
    header(ws, top, titles)
    row = top + 1
    for e in severity_order(report):
        put(ws, row, 1, e.entity).alignment = _MIDDLE
        comment = put(ws, row, 2, None)
        unlock(comment)
        comment.alignment = _TOP
        put(ws, row, 3, e.status).alignment = Alignment(horizontal="center", vertical="center")
        unlock(put(ws, row, 4, None))
        ws.row_dimensions[row].height = 24
        row += 1
    status_colours(ws, f"C{top + 1}:C{max(row - 1, top + 1)}")
    return row
