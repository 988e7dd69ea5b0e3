"""Every value of an exported file against staging's, without keeping either in memory.

Counts and totals miss a text changed in place, or two rows' amounts swapped. So both sides
are folded into order-free digests: per column, the sum (mod 2**64) of a 64-bit hash of
each non-empty value's text; per row, the sum of a hash of all its compared values. The
file gives its texts as read; staging's values are written as text here, by the rules the
export documents (``docs/how-to/export.md``), with reconciliation's own code: money with two
decimals, a decimal in plain notation, a date and a timestamp in the file's format (the FBDI
layout's hint, the declared ``format`` of a target, else ISO), booleans ``true``/``false``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Boolean, Date, DateTime, MetaData, select
from sqlalchemy.engine import Engine

from migrate.staging.catalog import staging_table
from migrate.staging.types import Money

MASK = (1 << 64) - 1
CENT = Decimal("0.01")
ISO_DATE, ISO_TIMESTAMP = "%Y-%m-%d", "%Y-%m-%d %H:%M:%S.%f"
FBDI_DATE, FBDI_TIMESTAMP = "%Y/%m/%d", "%Y/%m/%d %H:%M:%S:%f"
_ELEMENTS = (("YYYY", "%Y"), ("HH24", "%H"), ("MM", "%m"), ("DD", "%d"), ("MI", "%M"),
             ("SS", "%S"), ("FF", "%f"))  # fmt: skip


@dataclass
class Digests:
    """Order-free digests of a set of rows."""

    columns: dict[str, int] = field(default_factory=dict)
    rows: int = 0

    def add(self, values: dict[str, str]) -> None:
        """One row: ``values`` maps each compared column to its text ("" when empty)."""
        for name, value in values.items():
            if value != "":
                self.columns[name] = (self.columns.get(name, 0) + _hash(name, value)) & MASK
        row = "\x1e".join(f"{n}\x1f{values[n]}" for n in sorted(values))
        self.rows = (self.rows + _hash("", row)) & MASK


def _hash(name: str, value: str) -> int:
    digest = hashlib.blake2b(f"{name}\x1f{value}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def strftime_of(fmt: str) -> str | None:
    """``YYYY/MM/DD HH24:MI:SS:FF`` as a ``strftime`` format (None: an element unknown)."""
    out, rest = "", fmt
    while rest:
        for element, code in _ELEMENTS:
            if rest.startswith(element):
                out, rest = out + code, rest[len(element) :]
                break
        else:
            if not re.match(r"[ /:.\-T]", rest[0]):
                return None
            out, rest = out + rest[0], rest[1:]
    return out


def layout_formats(hints: dict[str, str]) -> dict[str, str]:
    """Column -> strftime format, for an FBDI layout's date and timestamp hints."""
    out = {}
    for name, hint in hints.items():
        if hint.startswith("date YYYY/MM/DD"):
            out[name] = FBDI_DATE
        elif hint.startswith("timestamp YYYY/MM/DD HH24:MI:SS:FF"):
            out[name] = FBDI_TIMESTAMP
    return out


def declared_formats(table: str) -> dict[str, str]:
    """Column -> strftime format, for a generic CSV: ISO, or the target's declared format."""
    t = staging_table(table)
    out: dict[str, str] = {}
    for c in t.columns if t is not None else ():
        if isinstance(c.type, DateTime | Date):
            iso = ISO_TIMESTAMP if isinstance(c.type, DateTime) else ISO_DATE
            declared = getattr(c.info.get("definition"), "format", None)
            out[c.name] = (strftime_of(declared) if declared else None) or iso
    return out


def as_text(value: Any, money: bool, fmt: str | None) -> str:
    """A staged value as the export writes it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value.quantize(CENT) if money else value, "f")
    if isinstance(value, datetime | date) and fmt is not None:
        if not isinstance(value, datetime) and "%H" in fmt:
            value = datetime(value.year, value.month, value.day)
        return str(value.strftime(fmt))
    if isinstance(value, datetime):
        return value.strftime(FBDI_TIMESTAMP)
    if isinstance(value, date):
        return value.strftime(FBDI_DATE)
    if isinstance(value, str) and fmt is not None and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return date.fromisoformat(value).strftime(fmt)
    return str(value)


def staged_digests(
    engine: Engine,
    schema: str | None,
    table: str,
    run_id: str,
    compared: list[str],
    formats: dict[str, str],
) -> Digests:
    """The digests of the run's rows of ``table`` over the ``compared`` columns."""
    t = staging_table(table)
    if t is None:
        raise LookupError(f"staging defines no table {table!r}")
    if schema is not None:
        t = t.to_metadata(MetaData(), schema=schema)
    money = {c.name for c in t.columns if isinstance(c.type, Money)}
    boolean = {c.name for c in t.columns if isinstance(c.type, Boolean)}
    sql = select(*[t.c[c] for c in compared]).where(t.c["MIG_RUN_ID"] == run_id)
    out = Digests()
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=5_000).execute(sql)
        for row in result:
            out.add(_texts(compared, row, money, boolean, formats))
    return out


def _texts(
    names: Iterable[str], row: Any, money: set[str], boolean: set[str], formats: dict[str, str]
) -> dict[str, str]:
    return {
        n: as_text(bool(v) if n in boolean and v is not None else v, n in money, formats.get(n))
        for n, v in zip(names, row, strict=True)
    }
