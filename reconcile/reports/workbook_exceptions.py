"""The Exceptions sheet: every row not staged, most serious first, in words and in money.

Order: legacy amounts no one can read (they fail the entity) first, then rejected rows by the
money at stake (largest first, then by rows), then rows left out by a named mapping rule.
Each group line says what happened in a sentence (sheet Legend explains each code), how many
rows and how much money; its sample rows follow with the legacy key, column and value as the
legacy system holds it (escaped where it cannot be shown, personal data masked) and, where the
reconciliation kept it, the row's own amount in money.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import partial

from openpyxl.styles import Alignment
from openpyxl.worksheet.worksheet import Worksheet

from reconcile.report import EntityReconciliation, MeasureIdentity, Reconciliation, RejectGroup
from reconcile.reports.workbook_legend import reason_text
from reconcile.reports.workbook_style import (
    BOLD,
    COUNT_FORMAT,
    TITLE_FONT,
    finish_table,
    header,
    note_row,
    put,
    put_money,
    widths,
    wrap_column,
)

HEADER_ROW = 3
TITLES = (
    "Entity", "Kind", "What happened", "Code", "Rows", "Amount", "Amount of",
    "Source key", "Column", "Legacy value",
)  # fmt: skip
WIDTHS = (20, 9, 50, 20, 8, 15, 15, 16, 22, 34)
NOTE = (
    "Most serious first: legacy amounts that cannot be read (they fail), then rejected rows by "
    "amount, then rows left out by a mapping rule. Each Code is explained on sheet Legend. "
    "Legacy value: as the legacy system holds it (personal data masked); Amount: the money."
)


@dataclass(frozen=True)
class _Group:
    """One group line to write, with what it is sorted by."""

    rank: int  # 0 not read, 1 rejected, 2 filtered
    at_stake: Decimal
    count: int
    entity: str
    write: Callable[[Worksheet, int], int]  # writes the group at a row, returns the next


def write_exceptions(ws: Worksheet, report: Reconciliation) -> None:
    """All groups of all entities, sorted by severity then money, then rows."""
    put(ws, 1, 1, "Exceptions").font = TITLE_FONT
    note_row(ws, 2, NOTE, len(TITLES), WIDTHS)
    header(ws, HEADER_ROW, TITLES)
    groups = [g for e in report.entities for g in _groups(e)]
    groups.sort(key=lambda g: (g.rank, -g.at_stake, -g.count, g.entity))
    row = HEADER_ROW + 1
    for g in groups:
        row = g.write(ws, row)
    if row == HEADER_ROW + 1:
        put(ws, row, 1, "(no rejected or filtered rows)")
        row += 1
    finish_table(ws, HEADER_ROW, row - 1, len(TITLES))
    widths(ws, WIDTHS)
    wrap_column(ws, 10, range(HEADER_ROW + 1, row))
    wrap_column(ws, 3, range(HEADER_ROW + 1, row))


def _groups(e: EntityReconciliation) -> list[_Group]:
    out = [
        _Group(0, Decimal(0), m.unreadable, e.entity, partial(_not_read, e.entity, m))
        for m in e.measures
        if m.unreadable
    ]
    unread = {m.measure: {k for k, _ in m.unreadable_rows} for m in e.measures if m.unreadable}
    for g in e.rejects:
        stake = max((abs(v) for _, v in g.amounts), default=Decimal(0))
        out.append(_Group(1, stake, g.count, e.entity, partial(_rejected, g, unread)))
    only = len(e.filtered_by_rule) == 1
    for rule, count in sorted(e.filtered_by_rule.items()):
        amounts = tuple((m.measure, m.filtered) for m in e.measures) if only else ()
        write = partial(_filtered, e.entity, rule, count, amounts)
        out.append(_Group(2, Decimal(0), count, e.entity, write))
    return out


def _line(ws: Worksheet, row: int, values: tuple[object, ...], bold: bool = False) -> None:
    """Entity, Kind, What happened, Code, Rows: text and a count (None leaves a cell empty)."""
    for col, value in enumerate(values, start=1):
        if value is None:
            continue
        cell = put(ws, row, col, value, COUNT_FORMAT if col == 5 else None)  # type: ignore[arg-type]
        if bold:
            cell.font = BOLD


NOT_READ = "not read"


def _money(
    ws: Worksheet, row: int, measure: str, amount: Decimal | None, unread: bool = False
) -> None:
    """The amount in money; "not read" where a zero stands for a value no one could read
    (an unverified measure): a zero there would say the row carries no money."""
    if unread and not amount:
        put(ws, row, 6, NOT_READ).alignment = Alignment(horizontal="right", vertical="top")
    elif amount is not None:
        put_money(ws, row, 6, amount)
    put(ws, row, 7, measure).alignment = Alignment(horizontal="left", indent=1)


def _by_size(amounts: tuple[tuple[str, Decimal], ...]) -> list[tuple[str, Decimal]]:
    """The measures with money, largest first (at least one line even when all are 0)."""
    ranked = sorted(amounts, key=lambda a: -abs(a[1]))
    return [a for a in ranked if a[1]] or ranked[:1]


def _rejected(g: RejectGroup, unread: dict[str, set[str]], ws: Worksheet, row: int) -> int:
    """The group line (one per measure with money), then its sample rows, each with its own
    amount (the measure where it has money) where the reconciliation kept it."""
    ranked = _by_size(g.amounts)
    head = (g.entity, "Rejected", reason_text(g.reason), g.reason, g.count)
    _line(ws, row, head, bold=True)
    for i, (measure, total) in enumerate(ranked):  # one line per measure with money
        if i:
            _line(ws, row, (g.entity, "Rejected", None, g.reason))
        _money(ws, row, measure, total, measure in unread)
        ws.cell(row=row, column=6).font = BOLD
        row += 1
    if not ranked:
        row += 1
    names = [m for m, _ in g.amounts]
    for i, (key, column, value) in enumerate(g.sample):
        _line(ws, row, (g.entity, "Rejected", None, g.reason))
        if names and i < len(g.sample_amounts):
            own = g.sample_amounts[i]
            at = max(range(len(names)), key=lambda j: (abs(own[j]), -j))
            if not own[at]:
                at = names.index(ranked[0][0])
            measure = names[at]
            _money(ws, row, measure, own[at], measure in unread)
        _sample(ws, row, key, column, value)
        row += 1
    return row


def _not_read(entity: str, m: MeasureIdentity, ws: Worksheet, row: int) -> int:
    what = (
        f"Legacy values of {m.measure} that are not amounts: never counted as 0, so the "
        f"total of {m.measure} is unverified, which fails the entity"
    )
    _line(ws, row, (entity, "Not read", what, "not_an_amount", m.unreadable), bold=True)
    put(ws, row, 7, m.measure)
    row += 1
    for key, value in m.unreadable_rows:
        _line(ws, row, (entity, "Not read", None, "not_an_amount"))
        _sample(ws, row, key, m.measure, value)
        row += 1
    return row


def _filtered(
    entity: str, rule: str, count: int, amounts: tuple[tuple[str, Decimal], ...],
    ws: Worksheet, row: int,
) -> int:  # fmt: skip
    what = f"Left out on purpose by the mapping rule '{rule}'"
    _line(ws, row, (entity, "Filtered", what, rule, count), bold=True)
    for i, (measure, total) in enumerate(_by_size(amounts)):
        if i:
            _line(ws, row, (entity, "Filtered", None, rule))
        _money(ws, row, measure, total)
        row += 1
    return row + (0 if amounts else 1)


def _sample(ws: Worksheet, row: int, key: str, column: str | None, value: str | None) -> None:
    put(ws, row, 8, key)
    put(ws, row, 9, column)
    put(ws, row, 10, value if value is not None else "(blank)")


__all__ = ["write_exceptions"]
