"""Amounts enter the workbook as numbers whenever Excel can hold them, else as exact text.

Excel keeps numbers as binary doubles and shows and computes with 15 significant digits;
openpyxl writes a number as ``"%.16g"`` of that double. An amount is safe as a number when
the double Excel reads back shows the same amount at 15 digits. Text is the fallback only
for amounts Excel cannot hold (16 or more significant digits): text cells drop out of SUM.
"""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st
from openpyxl.compat import safe_string

from reconcile.reports.workbook_style import excel_number

CENTS = st.integers(min_value=-(10**13) + 1, max_value=10**13 - 1)  # up to 15 digits


def excel_reads(amount: Decimal) -> Decimal:
    """What Excel shows for the number openpyxl writes: the text parsed, shown at 15 digits."""
    return Decimal(f"{float(safe_string(amount)):.15g}")


@given(CENTS)
def test_amounts_of_fifteen_digits_are_numbers_excel_shows_exactly(cents: int) -> None:
    amount = Decimal(cents).scaleb(-2)
    written = excel_number(amount)
    assert isinstance(written, Decimal), f"{amount} written as text"
    assert excel_reads(written) == amount


def test_amounts_whose_double_prints_a_sixteenth_digit_stay_numbers() -> None:
    # the double nearest 90814.24 prints as 90814.24000000001 at 16 digits
    assert safe_string(Decimal("90814.24")) == "90814.24000000001"
    assert excel_number(Decimal("90814.24")) == Decimal("90814.24")


@given(st.integers(min_value=10**15, max_value=10**20))
def test_longer_amounts_are_exact_text(cents: int) -> None:
    amount = Decimal(cents).scaleb(-2)
    written = excel_number(amount)
    if excel_reads(amount) != amount:
        assert written == str(amount)
    assert Decimal(str(written)) == amount


def test_amounts_beyond_a_double_are_exact_text() -> None:
    for amount in (Decimal("1E+309"), Decimal("-1E+400"), Decimal("Infinity"), Decimal("NaN")):
        assert excel_number(amount) == str(amount)


def test_the_tallest_wrapped_column_sets_the_row_height() -> None:
    from openpyxl import Workbook

    from reconcile.reports.workbook_style import widths, wrap_column

    ws = Workbook().active
    assert ws is not None
    widths(ws, (20, 20))
    ws["A1"], ws["B1"] = "x" * 60, "y" * 30  # three lines, then two
    wrap_column(ws, 1, range(1, 2))
    wrap_column(ws, 2, range(1, 2))
    assert ws.row_dimensions[1].height == 45
    ws["A2"] = "z" * 2000  # a hundred lines: Excel's row height stops at 409 points
    wrap_column(ws, 1, range(2, 3))
    assert ws.row_dimensions[2].height == 409
