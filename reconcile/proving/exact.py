"""Every amount of an entity exact, including those the cents scans flagged (``residue.py``).

The scans give integer cents and a count of flagged values per measure; :class:`Exact`
reads the flagged rows again and answers, for any source row, its exact amount per
measure, so that the Source, Rejected and Filtered columns (and the grains) are the
legacy's true totals. A flagged value that is not an amount at any scale is counted as
unreadable: never as 0. Under a rounding policy it also reads every value finer than a cent
(the scans counted it rounded), and restates the rounding the staged rows must carry.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine

from migrate.spec.model import EntitySpec
from reconcile.proving.grains import Amounts
from reconcile.proving.residue import LISTED, ExactRow, Residue, read_residue
from reconcile.reading.money import cents_to_decimal
from reconcile.reading.rounding import Reading, reading_of
from reconcile.reading.rows import Row, Totals


class Exact:
    """The flagged amounts of one entity's source, per measure."""

    def __init__(
        self, spec: EntitySpec, source: Totals, legacy: Engine | None, workdir: Path | None
    ) -> None:
        self.width = len(spec.reconcile.measures)
        self.flagged = source.invalid
        self.readings = tuple(reading_of(spec, m) for m in spec.reconcile.measures)
        self.residues: dict[int, Residue | None] = {
            i: read_residue(spec, i, legacy, workdir)
            for i, n in enumerate(source.invalid)
            if n or self.readings[i].rounding is not None
        }

    def amounts(self, row: Row) -> Amounts:
        """A rejected or filtered source row's exact amount per measure (0 where it has
        none, or where it is unreadable: the measure then fails as unverified)."""
        out = []
        for i, v in enumerate(row.values):
            residue = self.residues.get(i)
            rounded = isinstance(v, int) and self.readings[i].rounding is not None
            if isinstance(v, int) and not (rounded and residue is not None):
                out.append(cents_to_decimal(v))
                continue
            found = None
            if v is not None and residue is not None:
                found = residue.take(row.key)
            if found is None and isinstance(v, int):
                out.append(cents_to_decimal(v))  # whole cents: not among the finer rows
                continue
            out.append(found.amount if found and found.amount is not None else Decimal(0))
        return row.extras, tuple(out)

    def finer(self) -> list[Amounts]:
        """What the grains add to the scans' cents, each as (grain values, amount per
        measure): a flagged amount whole; a rounded one taken as rejected or filtered, the
        part its rounding left out (a staged one stays rounded: a grain compares the staged
        rows with the legacy rows rounded as the mapping declares)."""
        out = []
        for i, residue in self.residues.items():
            left = {id(r) for r in residue.left()} if residue else set()
            for r in residue.rows if residue else []:
                if r.amount is None or (r.rounded is not None and id(r) in left):
                    continue
                amounts = [Decimal(0)] * self.width
                amounts[i] = r.amount - cents_to_decimal(r.rounded or 0)
                out.append((r.extras, tuple(amounts)))
        return out

    def finer_total(self, i: int) -> Decimal:
        """What the scans' cents leave out of the legacy total at its own precision."""
        residue = self.residues.get(i)
        rows = residue.rows if residue else []
        return sum(
            (r.amount - cents_to_decimal(r.rounded or 0) for r in rows if r.amount is not None),
            Decimal(0),
        )

    def reading(self, i: int) -> Reading:
        return self.readings[i]

    def rounded_rows(self, i: int) -> list[ExactRow]:
        """The legacy rows finer than a cent that were neither rejected nor filtered: each
        staged row among them carries its rounding."""
        residue = self.residues.get(i)
        return [r for r in residue.left() if r.rounded is not None] if residue else []

    def rounding(self, i: int) -> Decimal:
        """The rounding the staged rows must carry, restated row by row: the sum of
        (rounded cents - the legacy amount) over :meth:`rounded_rows`."""
        return sum(
            (cents_to_decimal(r.rounded or 0) - (r.amount or 0) for r in self.rounded_rows(i)),
            Decimal(0),
        )

    def unreadable_count(self, i: int) -> int:
        """Flagged values not read as an amount at any scale; all of them when the source
        cannot be read again here; and as many as the two readings disagree by (a table
        changed in between, or a value one reading flags and the other does not): a
        disagreement is never taken as agreement."""
        residue = self.residues.get(i)
        if residue is None:  # under a rounding policy the source's precision is unknown too
            return self.flagged[i] or int(self.readings[i].rounding is not None)
        if not self.flagged[i] and not residue.rounding:
            return 0
        return len(residue.unreadable) + abs(self.flagged[i] - residue.flagged)

    def unreadable_rows(self, i: int) -> tuple[tuple[str, str], ...]:
        residue = self.residues.get(i)
        return tuple((r.key, r.text) for r in residue.unreadable[:LISTED]) if residue else ()

    def rule(self, i: int) -> str:
        """What the source rule adds about the flagged values, in words."""
        residue = self.residues.get(i)
        if residue is None:
            if not self.flagged[i]:
                return ""
            return (
                f"; {self.flagged[i]:,} value(s) that are not whole cents could not be read "
                "again here: unverified"
            )
        finer = [r for r in residue.rows if r.amount is not None]
        text = ""
        if finer:
            total = sum((r.amount for r in finer if r.amount is not None), Decimal(0))
            text += (
                f"; {len(finer):,} value(s) finer than a cent summed exactly at their own "
                f"scale ({total:,})"
            )
        if n := self.unreadable_count(i):
            text += f"; {n:,} value(s) that are not amounts at any scale: unverified, never 0"
        return text
