"""Reading exported import files back, with nothing of the code that wrote them.

Reconciliation of an export (:mod:`reconcile.exported`) must not trust the exporter: these
readers use Python's ``csv`` and ``zipfile`` and, for an FBDI file, the vendor's layout file
alone (``csv_position`` → column). A file is tallied: its rows, the non-empty fields of each
column and the exact total of each money column. A field that is not a plain decimal in a
money column, a record with the wrong number of fields or bytes that are not UTF-8 are
reasons the file cannot be verified, never counted as zero.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from reconcile.reading.exported_values import Digests

_AMOUNT = re.compile(r"^-?\d+(\.\d+)?$")
MAX_UNREADABLE = 5


class Unreadable(Exception):
    """The file (or a member, or its layout) cannot be read as the format it claims."""


class NoLayout(Unreadable):
    """No vendor layout the file can be read with is at hand (the export followed the pack,
    or ``--layouts`` holds another layout than the one the export followed)."""


@dataclass
class Tally:
    """What a CSV holds, counted from its own bytes."""

    rows: int = 0
    filled: dict[str, int] = field(default_factory=dict)
    totals: dict[str, Decimal] = field(default_factory=dict)
    sha256: str = ""
    digests: Digests = field(default_factory=Digests)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def layout_columns(path: Path) -> list[str | None]:
    """The field names of an FBDI layout, by ``csv_position`` (1 → index 0); a position the
    layout skips is None."""
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise Unreadable(f"layout {path}: {exc}") from None
    named: dict[int, str] = {}
    for n, row in enumerate(rows, start=2):
        position = (row.get("csv_position") or "").strip()
        if not position:
            continue
        if not position.isdigit() or int(position) in named:
            raise Unreadable(f"layout {path}:{n}: csv_position {position!r}")
        named[int(position)] = (row.get("column_name") or "").strip()
    if not named:
        raise Unreadable(f"layout {path}: no column has a csv_position")
    return [named.get(i) for i in range(1, max(named) + 1)]


def layout_hints(path: Path) -> dict[str, str]:
    """Column -> the layout's format hint (``date YYYY/MM/DD`` also for an Oracle DATE)."""
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise Unreadable(f"layout {path}: {exc}") from None
    hints = {}
    for row in rows:
        hint = (row.get("load_transform_or_char_hint") or "").strip()
        if (row.get("oracle_type") or "").strip().upper() == "DATE" and not hint:
            hint = "date YYYY/MM/DD"
        hints[(row.get("column_name") or "").strip()] = hint
    return hints


class _Hashed(io.RawIOBase):
    """A binary stream read through, hashing every byte on the way."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.digest = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.stream.read(len(buffer))
        self.digest.update(data)
        buffer[: len(data)] = data
        return len(data)


def tally(
    stream: IO[bytes],
    columns: list[str | None] | None,
    money: set[str],
    compared: Callable[[list[str | None]], set[str]] = lambda _names: set(),
) -> tuple[list[str | None], Tally]:
    """Count the CSV read from ``stream`` (memory stays flat); ``columns`` names its fields
    (None: the first record is the header); ``compared`` gives, from the names, the columns
    whose values are folded into the digests. Returns the field names and the tally."""
    out = Tally()
    hashed = _Hashed(stream)
    text = io.TextIOWrapper(io.BufferedReader(hashed), encoding="utf-8", newline="")
    try:
        reader = csv.reader(text, strict=True)
        if columns is None:
            columns = list(next(reader, []))
        names = list(columns)
        out.filled = {c: 0 for c in names if c}
        out.totals = {c: Decimal(0) for c in names if c in money}
        wanted = compared(names)
        picks = [(i, n) for i, n in enumerate(names) if n in wanted]
        for record in reader:
            out.rows += 1
            _count(record, names, out)
            out.digests.add({n: record[i] for i, n in picks})
    except (UnicodeDecodeError, csv.Error) as exc:
        raise Unreadable(f"record {out.rows + 1}: {exc}") from None
    out.sha256 = hashed.digest.hexdigest()
    return names, out


def _count(record: list[str], names: list[str | None], out: Tally) -> None:
    if len(record) != len(names):
        raise Unreadable(f"record {out.rows}: {len(record)} fields, the layout has {len(names)}")
    for name, value in zip(names, record, strict=True):
        if not name or value == "":
            continue
        out.filled[name] += 1
        if name in out.totals:
            if not _AMOUNT.match(value):
                raise Unreadable(f"record {out.rows}: {name} {value!r} is not an amount")
            out.totals[name] += Decimal(value)
