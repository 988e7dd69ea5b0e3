"""The Summary's rounding line: under a money step's rounding policy, what rounding added to
a measure, shown as its own line under the measure (``docs/how-to/money.md``)."""

from __future__ import annotations

from openpyxl.worksheet.worksheet import Worksheet

from reconcile.report import MeasureIdentity
from reconcile.reports.workbook_style import put, put_formula, put_money


def rounding_row(
    ws: Worksheet, row: int, m: MeasureIdentity, exact: bool, places: int | None
) -> int:
    """The rounding difference as its own line: Source holds the rounding reconciliation
    restates row by row, Difference the rounding staging shows (staged - (source -
    rejected - filtered), by formula), Tolerance its bound. Returns the next free row."""
    n = row + 1
    put(ws, n, 2, f"Rounding: {m.measure}")
    put_money(ws, n, 3, m.rounding_expected)
    put_money(ws, n, 8, m.rounding_bound)
    if exact:
        put_money(ws, n, 7, m.rounding)
        put(ws, n, 9, m.rounding_status)
    else:
        expr = f"D{row}-(C{row}-E{row}-F{row})"
        put_formula(ws, n, 7, f"=ROUND({expr},{places})" if places is not None else f"={expr}")
        ws.cell(row=n, column=7).number_format = ws.cell(row=row, column=3).number_format
        put_formula(ws, n, 9, f'=IF(ABS(G{n})<=H{n},"PASS","FAIL")')
    put(ws, n, 10, m.rounding_status)
    bound = (
        "a cent less one unit of the source scale"
        if "truncated" in m.rounding_rule
        else ("half a cent")
    )
    put(ws, n, 11, (
        f"{m.rounding_rule}: Difference = Staged - (Source - Rejected - Filtered), what "
        f"rounding {m.rounded_rows:,} staged row(s) finer than a cent added; it must be within "
        f"Tolerance = {m.rounded_rows:,} row(s) x {bound}, and equal the Source column here, "
        "the rounding reconciliation restates row by row from the legacy values (the amount "
        "line above adds it to the Source)"
    ))  # fmt: skip
    return n + 1
