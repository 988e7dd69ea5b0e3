"""Legacy keys that occur more than once in an entity with variants
(``reconcile/proving/variants.py``).

One legacy row of such a key was staged (its lines restated must match the staged lines),
the others were rejected (``duplicate_key``, usually) or filtered: each is settled once the
staged lines of the key are known, as ``doubled.py`` settles them for one-row entities.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

from migrate.spec.model import EntitySpec
from reconcile.proving.restate import Canonical
from reconcile.proving.restated import Records
from reconcile.reading.sources import key_string
from reconcile.report import RowDifference

if TYPE_CHECKING:
    from reconcile.proving.variants import _Sums as Sums

SEP = "@"
Values = dict[str, Canonical]


@dataclass(frozen=True)
class Row:
    """A legacy row restated: each variant's values, and each measure's amounts."""

    lines: dict[str, Values]
    amounts: list[list[Canonical]]


def key_counts(spec: EntitySpec, records: Records | None) -> Counter[str]:
    """How often each legacy key occurs (a first pass: keys only)."""
    if records is None:
        return Counter()
    return Counter(key_string([r.get(c) for c in spec.source.key]) for r in records())


def settle(
    name: str,
    key: str,
    found: list[Row],
    lines: dict[str, Values],
    left: tuple[Counter[str], Counter[str]],
    sums: Sums,
) -> list[RowDifference]:
    """The legacy rows sharing one key: the one the staged lines restate (the first that
    matches every line, else the first) is staged, the others account for the key's rejects,
    then its filtered rows; what is left is missing. As ``doubled.py`` does for one-row
    entities."""
    rows = list(found)
    diffs: list[RowDifference] = []
    if lines:
        staged = next((r for r in rows if r.lines == lines), rows[0])
        rows.remove(staged)
        sums.add("source", key, staged.amounts)
        diffs += line_diffs(name, key, staged.lines, lines)
    rejected, filtered = left
    for row in rows:
        if rejected[key] > 0:
            rejected[key] -= 1
            sums.add("rejected", key, row.amounts)
        elif filtered[key] > 0:
            filtered[key] -= 1
            sums.add("filtered", key, row.amounts)
        else:
            sums.add("source", key, row.amounts)
            diffs += [
                RowDifference(name, f"{key}{SEP}{v}", "missing", None, "legacy row", None)
                for v in row.lines
            ]
    return diffs


def line_diffs(
    name: str, key: str, want: dict[str, Values], lines: dict[str, Values]
) -> list[RowDifference]:
    """A legacy row's variants against the staged lines of its key (no personal values:
    shown as compared, i.e. already as keyed hashes)."""
    out: list[RowDifference] = []
    for v, values in want.items():
        got = lines.get(v)
        if got is None:
            out.append(RowDifference(name, f"{key}{SEP}{v}", "missing", None, "legacy row", None))
            continue
        out += [
            RowDifference(name, f"{key}{SEP}{v}", "changed", c, values.get(c), got.get(c))
            for c in values
            if values.get(c) != got.get(c)
        ]
    extra = [v for v in lines if v not in want]
    return out + [
        RowDifference(name, f"{key}{SEP}{v}", "unexpected", None, None, "staged") for v in extra
    ]
