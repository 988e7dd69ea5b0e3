"""Tests on source values: filters and conditional fields.

A condition tests one source column, either as **text** (``equals``, ``in``, ``is_blank``:
trimmed, in any case, since legacy codes vary in case) or as a **number** (``less_than``,
``greater_than``, ``at_most``, ``at_least``, ``between``: compared as an exact ``Decimal``).

How a value is read as a number (the pipeline's ``migrate/transform/numbers.py`` and
reconciliation's ``reconcile/reading/numbers.py`` each say it in their own code): the
column's text, trimmed of ASCII whitespace, is an optional sign, digits with at most one
decimal point, and an optional exponent (``-12.50``, ``+3``, ``.5``, ``1E3``); an integer
or decimal column is its value. Then:

- a value that is **blank** (none, or only whitespace) is no number: the comparison does not
  hold (``negate`` then makes it hold). Test for it with ``is_blank``;
- a value that is **present but not a number** (``12,50``, ``$5``, ``N/A``) is never
  silently true or false: the row is **rejected** with reason ``invalid_number``, naming
  the field (or, for a filter, the filter's column) and the value, and reconciliation
  restates that the row cannot be decided. Whatever ``negate`` says.

Date comparisons (``before``, ``after``, ``on_or_before``, ``on_or_after``, each a day) read
a DATE or TIMESTAMP value as its day and text by ``date_format`` (``strptime``; ISO
``%Y-%m-%d`` by default); blank holds none, and a present value that is no date in that
format is rejected as ``invalid_date``.

With ``amount: cents | fixed | text`` the value is read instead as the ``money`` step with
that encoding reads it (``$1,234.56``, ``(2.00)`` and ``5-`` under ``text``), compared in
units; a present value it cannot read is rejected as ``invalid_amount``.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, Literal

from pydantic import Field, model_validator

from migrate.spec.base import Strict


class Condition(Strict):
    """A test on one source column, used by filters and conditional fields."""

    column: str
    equals: Any = Field(default=None, description="its text, trimmed, in any case, equals this")
    in_: list[Any] | None = Field(
        default=None, alias="in", description="its text, trimmed, in any case, is one of these"
    )
    is_blank: bool | None = Field(
        default=None, description="true: it is none or only whitespace; false: it is not"
    )
    less_than: Decimal | None = Field(
        default=None, description="read as a number (see Conditions), it is < this"
    )
    greater_than: Decimal | None = Field(default=None, description="read as a number, it is > this")
    at_most: Decimal | None = Field(default=None, description="read as a number, it is <= this")
    at_least: Decimal | None = Field(default=None, description="read as a number, it is >= this")
    between: list[Decimal] | None = Field(
        default=None,
        min_length=2,
        max_length=2,
        description="[low, high]: read as a number, low <= it <= high (both included)",
    )
    amount: Literal["cents", "fixed", "text"] | None = Field(
        default=None,
        description="compare the column read as the `money` step with this encoding reads it, "
        "in units (`less_than: 0`: a negative amount; text takes `$1,234.56`, `(2.00)`, "
        "`5-`); a present value it cannot read rejects the row as invalid_amount",
    )
    before: date | None = Field(
        default=None, description="read as a date (see `date_format`), it is before this day"
    )
    after: date | None = Field(default=None, description="read as a date, it is after this day")
    on_or_before: date | None = Field(
        default=None, description="read as a date, it is this day or earlier"
    )
    on_or_after: date | None = Field(
        default=None, description="read as a date, it is this day or later"
    )
    date_format: str | None = Field(
        default=None,
        description='how a text value is read for a date comparison (strptime, e.g. "%Y%m%d"; '
        "default ISO %Y-%m-%d); a DATE or TIMESTAMP column is its day. A present value it "
        "cannot read rejects the row as invalid_date",
    )
    negate: bool = Field(
        default=False,
        description="the test reversed (a blank value then holds; an unreadable number is "
        "still rejected)",
    )

    @model_validator(mode="after")
    def _one_test(self) -> Condition:
        text = [x for x in (self.equals, self.in_, self.is_blank) if x is not None]
        numeric, dated = self.bounds(), self.date_bounds()
        if len(text) + (1 if numeric else 0) + (1 if dated else 0) != 1:
            raise ValueError(
                "a condition needs exactly one of: equals, in, is_blank, number comparisons "
                "(less_than, greater_than, at_most, at_least, between) or date comparisons "
                "(before, after, on_or_before, on_or_after); several of a kind must all hold"
            )
        if self.amount is not None and not numeric:
            raise ValueError("`amount` says how to read a comparison's value: add a comparison")
        if self.date_format is not None and not dated:
            raise ValueError("`date_format` reads a date comparison's value: add one")
        if self.between is not None and self.between[0] > self.between[1]:
            raise ValueError("between needs [low, high] with low <= high")
        if any(not b.is_finite() for _, b in numeric):
            raise ValueError("a comparison's bound must be a finite number")
        return self

    def bounds(self) -> list[tuple[str, Decimal]]:
        """The comparisons as (operator, bound), all of which must hold: ``<``, ``>``,
        ``<=``, ``>=`` (``between`` is ``>=`` low and ``<=`` high)."""
        out: list[tuple[str, Decimal]] = []
        for op, bound in (
            ("<", self.less_than),
            (">", self.greater_than),
            ("<=", self.at_most),
            (">=", self.at_least),
        ):
            if bound is not None:
                out.append((op, bound))
        if self.between is not None:
            out += [(">=", self.between[0]), ("<=", self.between[1])]
        return out

    def date_bounds(self) -> list[tuple[str, date]]:
        """The date comparisons as (operator, day), all of which must hold."""
        given = (
            ("<", self.before),
            (">", self.after),
            ("<=", self.on_or_before),
            (">=", self.on_or_after),
        )
        return [(op, day) for op, day in given if day is not None]

    @property
    def numeric(self) -> bool:
        return bool(self.bounds())

    @property
    def dated(self) -> bool:
        return bool(self.date_bounds())

    @property
    def ordered(self) -> bool:
        """A comparison (of numbers or of dates), not a test of text."""
        return self.numeric or self.dated

    @property
    def reason(self) -> str:
        """The reject reason for a value this condition cannot read."""
        if self.dated:
            return "invalid_date"
        return "invalid_amount" if self.amount is not None else "invalid_number"


class Filter(Strict):
    """A named rule that drops rows; dropped rows are counted and listed, never lost."""

    name: str
    drop_when: Condition
