"""Look and protection shared by every sheet of the sign-off workbook.

Kept apart from the sheet writers so each writer only says *what* goes where; the house look
(accounting formats, bold frozen headers, red FAIL / green PASS, protection) lives here once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import TypeAlias

from openpyxl.cell.cell import Cell
from openpyxl.compat import safe_string
from openpyxl.formatting.rule import Rule
from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
from openpyxl.styles.differential import DifferentialStyle
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet

from reconcile.reports.workbook_text import cell_text

MONEY_FORMAT = '_(* #,##0.00_);_(* (#,##0.00);_(* "-"??_);_(@_)'
COUNT_FORMAT = '_(* #,##0_);_(* (#,##0);_(* "-"_);_(@_)'
DATE_FORMAT = "yyyy-mm-dd"

RED_FILL = PatternFill("solid", start_color="FFC7CE", end_color="FFC7CE")
GREEN_FILL = PatternFill("solid", start_color="C6EFCE", end_color="C6EFCE")
AMBER_FILL = PatternFill("solid", start_color="FFEB9C", end_color="FFEB9C")
HEADER_FILL = PatternFill("solid", start_color="DDEBF7", end_color="DDEBF7")
INPUT_FILL = PatternFill("solid", start_color="FFF2CC", end_color="FFF2CC")
ENTITY_FILL = PatternFill("solid", start_color="F2F2F2", end_color="F2F2F2")
FONT = "Calibri"  # the body font of openpyxl's default style; bold must name it too
RED_FONT = Font(name=FONT, color="9C0006", bold=True)
GREEN_FONT = Font(name=FONT, color="006100", bold=True)
AMBER_FONT = Font(name=FONT, color="9C5700", bold=True)
BOLD = Font(name=FONT, bold=True)
TITLE_FONT = Font(name=FONT, bold=True, size=14)
_THIN = Side(style="thin", color="808080")
HEADER_BORDER = Border(bottom=_THIN)
INPUT_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)

NUMERIC_TITLES = frozenset(
    {"Source", "Staged", "Rejected", "Filtered", "Difference", "Tolerance", "Rows",
     "Violations", "Source rows"}
)  # fmt: skip
STATUS_TITLES = frozenset({"Status", "Report status"})
_INVALID_TITLE = re.compile(r"[\[\]:*?/\\]")
MAX_TITLE = 31
CellValue: TypeAlias = str | int | Decimal | datetime | None


def put(ws: Worksheet, row: int, col: int, value: CellValue, fmt: str | None = None) -> Cell:
    """Write one cell; the single place values enter the workbook. Text goes through
    :func:`~reconcile.reports.workbook_text.cell_text` and stays text (a legacy ``=1+1`` is never
    a formula); the workbook's own formulas are written with :func:`put_formula`."""
    cell = _cell(ws, row, col)
    if isinstance(value, str):
        cell.value = cell_text(value)
        cell.data_type = "s"
    else:
        cell.value = value
    if fmt is not None:
        cell.number_format = fmt
    return cell


def put_formula(ws: Worksheet, row: int, col: int, formula: str, fmt: str | None = None) -> Cell:
    """One of the workbook's own formulas (``=...``), never legacy text."""
    if not formula.startswith("="):
        raise ValueError(f"not a formula: {formula!r}")
    cell = _cell(ws, row, col)
    cell.value = formula
    if fmt is not None:
        cell.number_format = fmt
    return cell


def _cell(ws: Worksheet, row: int, col: int) -> Cell:
    cell = ws.cell(row=row, column=col)
    if not isinstance(cell, Cell):
        raise TypeError(f"{ws.title}!{get_column_letter(col)}{row} is part of a merged range")
    return cell


_LARGEST_DOUBLE = Decimal("1.7976931348623157E+308")
_ROW_HEIGHT_MAX = 409  # points: Excel's limit


def excel_number(amount: Decimal) -> Decimal | str:
    """The Decimal itself when Excel shows it exactly, else its exact text.

    Excel holds numbers as binary doubles and shows and computes with 15 significant
    digits; openpyxl writes a number as ``"%.16g"`` of its double (so 90814.24 is written
    90814.24000000001, which Excel reads back as the very double nearest 90814.24). An
    amount is written as a number when the double Excel reads, shown at 15 digits, is the
    amount; one that would not survive (16 or more significant digits) is kept as exact
    text rather than silently rounded. The floats here only predict what Excel will hold.
    """
    if not amount.is_finite() or abs(amount) > _LARGEST_DOUBLE:
        return str(amount)
    excel_holds = float(safe_string(amount))
    return amount if Decimal(f"{excel_holds:.15g}") == amount else str(amount)


def put_money(ws: Worksheet, row: int, col: int, amount: Decimal) -> Cell:
    """Money in the accounting format, exact."""
    return put(ws, row, col, excel_number(amount), MONEY_FORMAT)


BEYOND_EXCEL = (
    "beyond Excel's 15 significant digits: Difference and Status are the report's exact "
    "values, not formulas (a spreadsheet computes with 15 digits and would lose the cents)"
)
# a formula's subtraction is trusted only below 15 digits at the line's decimal places:
# at 15 (9,999,999,999,999.99 less ...98) LibreOffice and Excel set a one-cent difference
# to 0, as too small beside the amounts, and the verdict cell said PASS for a FAIL
_FORMULA_DIGITS = Decimal(10) ** 14


def beyond_excel(amounts: Iterable[Decimal]) -> bool:
    """Whether a line's arithmetic cannot be left to the spreadsheet: one of its amounts is
    written as exact text (:func:`excel_number`), or its figures, counted in units of the
    finest decimal place among them, reach 15 digits, where the spreadsheet's subtraction
    drops the last unit; either is enough to turn a one-cent gap into a PASS."""
    figures = [a for a in amounts]
    if any(isinstance(excel_number(a), str) for a in figures):
        return True
    places = decimal_places(figures)
    return any(abs(a).scaleb(places) >= _FORMULA_DIGITS for a in figures if a.is_finite())


def decimal_places(amounts: Iterable[Decimal]) -> int:
    """Decimal places the formula results are rounded to: the finest the inputs use."""
    places = [-int(a.as_tuple().exponent) for a in amounts if a.is_finite()]
    return max([0, *places])


def header(ws: Worksheet, row: int, titles: Sequence[str]) -> None:
    """Bold, shaded header row of a table."""
    for col, title in enumerate(titles, start=1):
        cell = put(ws, row, col, title)
        cell.font = BOLD
        cell.fill = HEADER_FILL
        cell.border = HEADER_BORDER
        horizontal = "right" if title in NUMERIC_TITLES else None
        horizontal = "center" if title in STATUS_TITLES else horizontal
        cell.alignment = Alignment(wrap_text=True, vertical="bottom", horizontal=horizontal)
    ws.row_dimensions[row].height = 27  # room for a title wrapped on two lines


def widths(ws: Worksheet, sizes: Sequence[float]) -> None:
    """Column widths in characters, left to right."""
    for col, size in enumerate(sizes, start=1):
        ws.column_dimensions[get_column_letter(col)].width = size


def text_lines(text: str, width: float, bold: bool = False) -> int:
    """Lines a text wraps to in a column ``width`` units wide. A unit is the width of a digit:
    lower-case prose fits about 1.15 characters per unit, capitals and digits about 0.9;
    bold about a tenth fewer."""
    capitals = sum(ch.isupper() or ch.isdigit() for ch in text) / max(len(text), 1)
    per_line = max(int(width * (1.15 - 0.35 * capitals) * (0.88 if bold else 1)), 8)
    return sum(max(1, -(-len(part) // per_line)) for part in text.split("\n"))


def note_row(ws: Worksheet, row: int, text: str, ncols: int, widths_: Sequence[float]) -> Cell:
    """A sentence under a sheet's title, wrapped across the table's width (not overflowing
    past its edge, which would shrink the printed page)."""
    cell = put(ws, row, 1, text)
    cell.alignment = Alignment(wrap_text=True, vertical="top")
    ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=ncols)
    ws.row_dimensions[row].height = 15 * text_lines(text, sum(widths_[:ncols]))
    return cell


def wrap_column(ws: Worksheet, col: int, rows: range) -> None:
    """Wrap long text in one column and make each row tall enough to show all of it.

    Neither Excel nor LibreOffice sizes row heights on opening a file written without
    them, so a wrapped cell would be cut off (or drawn over the next row) on screen and
    in print; the height is estimated from the text length and the column width."""
    width = ws.column_dimensions[get_column_letter(col)].width or 10
    for r in rows:
        cell = ws.cell(row=r, column=col)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        text = "" if cell.value is None else str(cell.value)
        lines = text_lines(text, width, bool(cell.font and cell.font.b))
        if lines > 1:  # a tall row reads from the top: its figures beside the text's start
            # never lower a height another wrapped column of the row needs
            height = max(ws.row_dimensions[r].height or 0, 15 * lines)
            ws.row_dimensions[r].height = min(height, _ROW_HEIGHT_MAX)
            for other in ws[r]:
                other.alignment = Alignment(
                    horizontal=other.alignment.horizontal,
                    wrap_text=other.alignment.wrap_text,
                    indent=other.alignment.indent,
                    vertical="top",
                )


STATUS_LOOK = (
    ("FAIL", RED_FILL, RED_FONT),
    ("UNVERIFIED", RED_FILL, RED_FONT),
    ("EXCEPTIONS", AMBER_FILL, AMBER_FONT),
    ("PASS", GREEN_FILL, GREEN_FONT),
)
VERDICT_FILL = {"PASS": "00B050", "EXCEPTIONS": "FFC000", "FAIL": "C00000"}  # the big cell


def status_colours(ws: Worksheet, ref: str) -> None:
    """FAIL and UNVERIFIED red, EXCEPTIONS amber, PASS green wherever they appear in ``ref``
    (formulas included)."""
    for word, fill, font in STATUS_LOOK:
        style = DifferentialStyle(font=font, fill=fill)
        rule = Rule(type="cellIs", operator="equal", formula=[f'"{word}"'], dxf=style)
        ws.conditional_formatting.add(ref, rule)


def finish_table(
    ws: Worksheet, header_row: int, last_row: int, ncols: int, status_cols: Sequence[int] = ()
) -> None:
    """Frozen header, filter, status colours and landscape printing for one table."""
    last_col = get_column_letter(ncols)
    ws.freeze_panes = f"A{header_row + 1}"
    ws.auto_filter.ref = f"A{header_row}:{last_col}{max(last_row, header_row + 1)}"
    for col in status_cols:
        letter = get_column_letter(col)
        status_colours(ws, f"{letter}{header_row + 1}:{letter}{max(last_row, header_row + 1)}")
        for row in range(header_row + 1, last_row + 1):
            ws.cell(row=row, column=col).alignment = Alignment(horizontal="center")
    ws.print_title_rows = f"{header_row}:{header_row}"
    landscape(ws)


def landscape(ws: Worksheet) -> None:
    """Print (and render to PDF) one page wide, landscape."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    setup = ws.sheet_properties.pageSetUpPr
    if setup is None:
        setup = ws.sheet_properties.pageSetUpPr = PageSetupProperties()
    setup.fitToPage = True


def protect(ws: Worksheet) -> None:
    """Sheet protection without a password: it stops slips, not a determined editor.

    Filtering, sorting and resizing columns stay allowed so reviewers can still read.
    """
    prot = ws.protection
    prot.sheet = True
    prot.autoFilter = False
    prot.sort = False
    prot.formatColumns = False
    prot.formatRows = False


def unlock(cell: Cell) -> None:
    """An input cell on the sign-off sheet: editable under protection, shaded, boxed."""
    cell.protection = Protection(locked=False)
    cell.fill = INPUT_FILL
    cell.border = INPUT_BORDER


def sheet_title(base: str, taken: set[str]) -> str:
    """A valid, unique (case-insensitively, as Excel compares) sheet name of at most 31 chars."""
    clean = _INVALID_TITLE.sub("_", base).strip().strip("'") or "Sheet"
    title = clean[:MAX_TITLE]
    n = 2
    while title.casefold() in taken:
        suffix = f" ({n})"
        title = clean[: MAX_TITLE - len(suffix)] + suffix
        n += 1
    taken.add(title.casefold())
    return title


def quote_sheet(title: str) -> str:
    """A sheet name as formulas reference it."""
    return "'" + title.replace("'", "''") + "'"


def parse_time(text: str | None) -> datetime | None:
    """An ISO timestamp as a naive UTC datetime (Excel has no time zones), else None."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment
