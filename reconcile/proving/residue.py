"""Legacy amounts that are not whole cents, read again and summed exactly, never as 0.

The scans of both sides work in integer cents; a legacy value they cannot read as cents
(``63791994.8380``, ``O00034126.81``, a float) is flagged there, not summed. For each
measure with such values this module reads those rows once more, by reconciliation's own
rules, and sorts them in two:

- **finer than a cent** (four or nine decimals): read exactly with :func:`parse_exact` at the
  legacy's own scale and added to the source total, and to the Rejected or Filtered total
  when the row was rejected or filtered (a staged row of it shows as a difference);
- **unreadable** (not an amount at any scale): the measure is ``UNVERIFIED`` (a failing
  status) and the rows are listed: a total that leaves them out is not the legacy's total.

Under a rounding policy (``rounding.py``) the scans count each row at the cents it must be
staged as, so this module also reads every value finer than a cent with its rounded cents:
the source total at the legacy's own precision, and the rounding the staged rows carry, are
computed from them. A float is read at its shortest decimal form (a float that is not one
amount of the scale, rejected by the pipeline as ``inexact_float``, is summed at that form).

On a database the rows are narrowed in SQL to those whose text is not whole cents (the
servers' own validity test, our parser on SQLite) and selected by the measure's sign test
spelled as the scan spells it (``sources.sign_sql``), so both select the same rows; a file
or a money-text table is read through in Python, with the Python sign test its scan uses.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine

from migrate.spec.model import EntitySpec, Measure
from reconcile.reading.files import LINE, file_path, file_records
from reconcile.reading.money import InvalidAmount
from reconcile.reading.rounding import cents_or_none, read_exact, reading_of
from reconcile.reading.sources import (
    grain_columns,
    key_string,
    pushed_down,
    sign_selected,
    sign_sql,
    table_records,
)
from reconcile.reading.sqltext import CENTS_FN, as_text, family
from reconcile.reading.sqltext import parse_cents as sql_cents

LISTED = 100  # unreadable rows listed per measure (all are counted)


@dataclass(frozen=True)
class ExactRow:
    """One legacy row whose amount is not whole cents: its key, grain values and amount
    (``None`` when it is not an amount at any scale), the text as stored, and the cents the
    scan counted it as (rounded by the declared policy; ``None``: the scan flagged it)."""

    key: str
    extras: tuple[object, ...]
    amount: Decimal | None
    text: str
    rounded: int | None = None


@dataclass
class Residue:
    """The rows of one measure that the cents scans flagged, read exactly."""

    rows: list[ExactRow] = field(default_factory=list)
    rounding: bool = False  # read under a rounding policy: every row finer than a cent
    _by_key: dict[str, list[ExactRow]] | None = None

    @property
    def total(self) -> Decimal:
        return sum((r.amount for r in self.rows if r.amount is not None), Decimal(0))

    @property
    def unreadable(self) -> list[ExactRow]:
        return [r for r in self.rows if r.amount is None]

    @property
    def flagged(self) -> int:
        """The rows the scan flagged rather than counted (to match its count)."""
        return sum(r.rounded is None for r in self.rows)

    def take(self, key: str) -> ExactRow | None:
        """The exact row of a rejected or filtered key (each copy taken once)."""
        pool = self._pools().get(key)
        return pool.pop() if pool else None

    def left(self) -> list[ExactRow]:
        """The rows no rejected or filtered key took: those of staged (or missing) rows."""
        return [r for pool in self._pools().values() for r in pool]

    def _pools(self) -> dict[str, list[ExactRow]]:
        if self._by_key is None:
            self._by_key = defaultdict(list)
            for r in reversed(self.rows):
                self._by_key[r.key].append(r)
        return self._by_key


def read_residue(
    spec: EntitySpec, i: int, legacy: Engine | None, workdir: Path | None
) -> Residue | None:
    """The flagged rows of measure ``i``; ``None`` when the source cannot be read here."""
    m = spec.reconcile.measures[i]
    extras = grain_columns(spec)
    cols = _columns(spec, m, extras)
    if spec.source.file is not None:
        if workdir is None:
            return None
        records: Iterator[dict[str, object]] = file_records(spec, file_path(spec, workdir))
    elif legacy is not None:
        records = table_records(
            spec, legacy, [c for c in cols if c != LINE], _where(spec, m, legacy)
        )
    else:
        return None
    reading = reading_of(spec, m)
    out = Residue(rounding=reading.rounding is not None)
    in_python = not pushed_down(spec)  # SQL sides were selected by their sign test in SQL
    for record in records:
        if in_python and not sign_selected(m, record.get(m.sign_column or "")):
            continue
        raw = record.get(m.source_column)
        try:
            amount = read_exact(raw, reading)
        except InvalidAmount:
            amount, rounded = None, None
        else:
            if amount is None:
                continue  # blank
            rounded = cents_or_none(raw, reading)
            if rounded is not None and amount.scaleb(2) == rounded and abs(rounded) < 2**63:
                continue  # whole cents, read by the scans already
        key = key_string([record.get(c) for c in spec.source.key])
        extra = tuple(record.get(c) for c in extras)
        out.rows.append(ExactRow(key, extra, amount, _shown(raw), rounded))
    return out


def _columns(spec: EntitySpec, m: Measure, extras: tuple[str, ...]) -> list[str]:
    cols = [*spec.source.key, m.source_column, *([m.sign_column] if m.sign_column else [])]
    cols += list(extras)
    return [c for n, c in enumerate(cols) if c not in cols[:n]]


def _where(spec: EntitySpec, m: Measure, engine: Engine) -> str:
    """SQL keeping the rows the scan flagged: selected by the measure's sign test, with an
    amount the scan does not read as cents (a superset is fine: Python decides which are
    whole cents after all)."""
    if not pushed_down(spec):
        return ""
    dialect = engine.dialect.name
    quote = engine.dialect.identifier_preparer.quote
    column = quote(m.source_column)
    selected = sign_sql(m, dialect, quote)
    if family(dialect) == "sqlite":
        return (
            f"{selected} AND {column} IS NOT NULL AND "
            f"typeof({CENTS_FN}({column}, '{m.source_encoding}')) <> 'integer'"
        )
    blank, valid, _ = sql_cents(as_text(column, dialect), m.source_encoding, dialect)
    return f"{selected} AND NOT {blank} AND NOT ({valid})"


def _shown(raw: object) -> str:
    """The stored value as a reader can see it (control characters escaped, cut short)."""
    text = repr(raw) if isinstance(raw, float | bytes) else str(raw)
    text = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text)
    return text if len(text) <= 60 else text[:57] + "..."
