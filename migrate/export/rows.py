"""Staged rows to CSV bytes, counted, totalled and hashed as they are written.

One :class:`Dataset` is one CSV (a file of its own, or a member of an FBDI ZIP): which staged
column goes in each field, in order, and how each is written. :func:`write_dataset` streams
the rows into a binary sink and keeps what the manifest says of them: the row count, the
total of each money column, the SHA-256 of the bytes, and for a staged column the format
has no field for, how many values it holds (and their total) so that nothing leaves
without a word. A value the format cannot express is a :class:`Problem` (row, column,
value, why); the caller throws the file away when there is any.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import IO, Any

from migrate.export.balance import BalanceRule, Balances
from migrate.export.values import ColumnFormat, Unexpressible, render
from migrate.lineage.masking import mask_value

MAX_PROBLEMS = 50
Progress = Callable[[str, int], None]


@dataclass(frozen=True)
class Dataset:
    """``fields``: per field of the file, in order, the staged column written there (None:
    an empty field the staging does not fill)."""

    table: str
    name: str  # the CSV's name: the file, or the member of a ZIP
    fields: list[ColumnFormat | None]
    header: list[str] | None
    money: frozenset[str]
    left_out: list[str]  # staged columns with no field
    key: list[str]  # columns naming a row in a problem
    personal: dict[str, str] = field(default_factory=dict)  # column -> kind, masked in problems
    balanced: BalanceRule | None = None  # journals that must balance (GL)


@dataclass(frozen=True)
class Problem:
    """A value the format cannot carry: file row (1-based, data rows), key, column, why."""

    name: str
    row: int
    key: str
    column: str
    value: str
    reason: str

    def __str__(self) -> str:
        shown = self.value if len(self.value) <= 60 else self.value[:57] + "..."
        value = f" (value {shown!r})" if self.value else ""
        return f"{self.name} row {self.row} ({self.key}) column {self.column}: {self.reason}{value}"


@dataclass
class Written:
    """What one CSV holds, for the manifest."""

    rows: int = 0
    sha256: str = ""
    bytes: int = 0
    totals: dict[str, Decimal] = field(default_factory=dict)
    left_out: dict[str, dict[str, Any]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0


def write_dataset(
    ds: Dataset,
    rows: Iterable[dict[str, Any]],
    sink: IO[bytes],
    progress: Progress | None = None,
) -> Written:
    """Write ``rows`` (dicts keyed by staged column) as CSV into ``sink``."""
    out = Written(totals={c: Decimal(0) for c in sorted(ds.money)})
    balances = Balances(ds.balanced) if ds.balanced is not None else None
    kept = {c: {"values": 0} for c in ds.left_out}
    digest = hashlib.sha256()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if ds.header is not None:
        writer.writerow(ds.header)
    for row in rows:
        out.rows += 1
        writer.writerow(_fields(ds, row, out))
        _account(ds, row, out, kept)
        if balances is not None:
            balances.add(out.rows, row)
        if buffer.tell() > 1 << 20:
            _flush(buffer, sink, digest, out)
        if progress is not None and out.rows % 100_000 == 0:
            progress(ds.name, out.rows)
    _flush(buffer, sink, digest, out)
    out.sha256 = digest.hexdigest()
    out.left_out = {c: _shown(v) for c, v in kept.items()}
    for first, journal, why in balances.unbalanced() if balances is not None else []:
        out.problem_count += 1
        if len(out.problems) < MAX_PROBLEMS:
            column = f"{ds.balanced.debit}/{ds.balanced.credit}" if ds.balanced else ""
            out.problems.append(Problem(ds.name, first, journal, column, "", why))
    return out


def _fields(ds: Dataset, row: dict[str, Any], out: Written) -> list[str]:
    values = []
    for fmt in ds.fields:
        if fmt is None:
            values.append("")
            continue
        try:
            values.append(render(row[fmt.name], fmt))
        except Unexpressible as exc:
            out.problem_count += 1
            if len(out.problems) < MAX_PROBLEMS:
                key = ", ".join(f"{k}={row.get(k)}" for k in ds.key)
                kind = ds.personal.get(fmt.name) or ds.personal.get("*")
                shown = str(mask_value(kind, row[fmt.name]))
                out.problems.append(Problem(ds.name, out.rows, key, fmt.name, shown, str(exc)))
            values.append("")
    return values


def _account(ds: Dataset, row: dict[str, Any], out: Written, kept: dict[str, Any]) -> None:
    for column in ds.money:
        if isinstance(row.get(column), Decimal | int):  # another value failed in _fields
            out.totals[column] += Decimal(row[column])
    for column in ds.left_out:
        value = row.get(column)
        if value is None:
            continue
        kept[column]["values"] += 1
        if isinstance(value, Decimal):
            kept[column]["total"] = kept[column].get("total", Decimal(0)) + value


def _shown(counts: dict[str, Any]) -> dict[str, Any]:
    return {k: (format(v, "f") if isinstance(v, Decimal) else v) for k, v in counts.items()}


def _flush(buffer: io.StringIO, sink: IO[bytes], digest: Any, out: Written) -> None:
    data = buffer.getvalue().encode("utf-8")
    digest.update(data)
    sink.write(data)
    out.bytes += len(data)
    buffer.seek(0)
    buffer.truncate()
