"""The control-totals sheet of one entity: its totals by grain (fund x account x period...).

A ledger's grain has thousands of values, most without activity for a given amount (an
account with credits only has an all-zero debit line): printed in full they were 67 pages
for one 2,002-row table. So the lines that fail come first (largest difference first), then
every line with activity in the order reconciled; the lines whose every figure is zero are
folded away at the end under a count line, in a collapsed outline group a reader can open
with its "+" and that does not print. Nothing with money in any figure is ever folded. A
line holds sums, not row counts, so one whose amounts net to 0 (+100 and -100) folds too:
the count line says so rather than claim "no activity". Each line keeps its Difference and
Status formulas, and the Summary counts the failing and unverified ones over the whole
Status column, folded lines included. The Report status is ``GrainRow.status``, the one the
JSON writes, and the Status formula gives the same word (UNVERIFIED where its amount has
legacy values not read and the known figures hold).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from decimal import Decimal

from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from reconcile.report import FAIL, PASS, UNVERIFIED, EntityReconciliation, GrainRow
from reconcile.reports.workbook_style import (
    BEYOND_EXCEL,
    FONT,
    TITLE_FONT,
    beyond_excel,
    decimal_places,
    finish_table,
    header,
    note_row,
    put,
    put_formula,
    put_money,
    quote_sheet,
    widths,
)

HEADER_ROW = 3
_GRAIN_SPLIT = re.compile(r"\s*(?:\bx\b|×|,|\*|\|)\s*")
_NOTE_FONT = Font(name=FONT, italic=True)


def key_headers(rows: Sequence[GrainRow]) -> list[str]:
    """Grain key column names from the grain's own name when it spells them, else Key 1..n."""
    size = max((len(g.key) for g in rows), default=0)
    names = {g.grain for g in rows}
    if len(names) == 1:
        parts = [p for p in _GRAIN_SPLIT.split(next(iter(names))) if p]
        if len(parts) == size:
            return parts
    return [f"Key {i}" for i in range(1, size + 1)]


def active(g: GrainRow) -> bool:
    """Whether a grain line shows money: a figure that is not zero (amounts netting to 0
    in every figure look like none; a GrainRow carries no row count)."""
    return any((g.source, g.staged, g.rejected, g.filtered, g.difference))


def reading_order(
    rows: Sequence[GrainRow], unread: Collection[str] = ()
) -> tuple[list[GrainRow], list[GrainRow]]:
    """(shown, folded): failing and UNVERIFIED lines (``GrainRow.status``; ``unread`` names
    more measures to hold out, for lines not held by an entity), by largest difference
    first; then lines with rejected or filtered money (largest first), then the other
    active lines as reconciled; folded: the passing lines whose every figure is 0."""
    doubtful = [g for g in rows if g.status != PASS or g.measure in unread]
    failing = sorted(doubtful, key=lambda g: -abs(g.difference))
    passing = [g for g in rows if g.status == PASS and g.measure not in unread]
    left_out = sorted(
        (g for g in passing if g.rejected or g.filtered),
        key=lambda g: -(abs(g.rejected) + abs(g.filtered)),
    )
    others = [g for g in passing if active(g) and not (g.rejected or g.filtered)]
    return failing + left_out + others, [g for g in passing if not active(g)]


def write_grains(ws: Worksheet, e: EntityReconciliation) -> str:
    """Control totals by grain for one entity; returns the absolute range of its Status column."""
    keys = key_headers(e.grains)
    k = len(keys)
    titles = ["Grain", *keys, "Measure", "Source", "Staged", "Rejected", "Filtered",
              "Difference", "Tolerance", "Status", "Report status"]  # fmt: skip
    if any(_beyond(g) or g.unreadable for g in e.grains):
        titles.append("Note")  # only where a line is beyond 15 digits or cannot be verified
    shown, folded = reading_order(e.grains)
    failing = sum(g.status == FAIL for g in e.grains)
    unverified = sum(g.status == UNVERIFIED for g in e.grains)
    put(ws, 1, 1, f"{e.entity}: control totals by grain").font = TITLE_FONT
    status_width = 12 if unverified else 9  # UNVERIFIED is wider than PASS and FAIL
    sizes = (24, *([20] * k), 14, 18, 18, 16, 16, 16, 12, status_width, status_width, 60)
    note_row(ws, 2, f"Source {e.source_table} vs staged {e.target_table}; Difference = Source - "
        f"Staged - Rejected - Filtered. {failing:,} of {len(e.grains):,} line(s) fail"
        + (f", {unverified:,} cannot be verified" if unverified else "") + ". Failing "
        "lines first, then those with rejected or filtered money; lines whose every figure is 0 "
        "are folded at the end", len(titles), sizes)  # fmt: skip
    header(ws, HEADER_ROW, titles)
    row = HEADER_ROW + 1
    for g in shown:
        _grain_row(ws, row, k, g)
        row += 1
    if folded:
        note = put(ws, row, 1, f"{len(folded):,} grain line(s) whose every figure is 0 "
                   "(no amount of the measure, or amounts that net to 0; all PASS), "
                   "folded: + at the left opens them")  # fmt: skip
        note.font = _NOTE_FONT
        row += 1
        for g in folded:
            _grain_row(ws, row, k, g)
            ws.row_dimensions[row].outlineLevel = 1
            ws.row_dimensions[row].hidden = True
            row += 1
        ws.sheet_properties.outlinePr.summaryBelow = False  # the count line heads the group
    status_col = k + 9
    finish_table(ws, HEADER_ROW, row - 1, len(titles), (status_col, status_col + 1))
    widths(ws, sizes)
    letter = get_column_letter(status_col)
    first = HEADER_ROW + 1
    return f"{quote_sheet(ws.title)}!${letter}${first}:${letter}${max(row - 1, first)}"


def _grain_row(ws: Worksheet, row: int, k: int, g: GrainRow) -> None:
    """One line; its Report status is ``g.status``. With legacy values of its measure no
    one could read (``g.unreadable``; which line holds them is not known), a line whose
    known figures hold is UNVERIFIED (red, as on the Summary), never PASS; one that fails
    stays FAIL. The Status formula gives the same words."""
    put(ws, row, 1, g.grain)
    for i, part in enumerate(g.key, start=2):
        put(ws, row, i, part)
    put(ws, row, k + 2, g.measure)
    amounts: tuple[Decimal, ...] = (g.source, g.staged, g.rejected, g.filtered)
    cols = [get_column_letter(k + 3 + i) for i in range(6)]
    for col, amount in enumerate(amounts, start=k + 3):
        put_money(ws, row, col, amount)
    put_money(ws, row, k + 8, g.tolerance)
    held = UNVERIFIED if g.unreadable else PASS  # the status when the known figures hold
    status = g.status
    put(ws, row, k + 10, status)
    notes = [BEYOND_EXCEL] if _beyond(g) else []
    if g.unreadable:
        notes.append(f"{g.measure}: {g.unreadable:,} legacy value(s) not read (sheet Exceptions, "
                     "kind Not read); the line that holds them is not known")  # fmt: skip
    if notes:
        put(ws, row, k + 11, "; ".join(notes))
    if _beyond(g):  # the spreadsheet would compute it rounded: the report's own values
        put_money(ws, row, k + 7, g.difference)
        put(ws, row, k + 9, status)
        return
    places = decimal_places((*amounts, g.tolerance))
    src, stg, rej, fil, diff, tol = cols
    put_formula(ws, row, k + 7, f"=ROUND({src}{row}-{stg}{row}-{rej}{row}-{fil}{row},{places})")
    ws.cell(row=row, column=k + 7).number_format = ws.cell(row=row, column=k + 3).number_format
    put_formula(ws, row, k + 9, f'=IF(ABS({diff}{row})<={tol}{row},"{held}","FAIL")')


def _beyond(g: GrainRow) -> bool:
    return beyond_excel((g.source, g.staged, g.rejected, g.filtered, g.tolerance, g.difference))


__all__ = ["active", "key_headers", "reading_order", "write_grains"]
