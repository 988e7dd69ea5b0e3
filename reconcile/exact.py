"""Every amount of an entity exact, including those the cents scans flagged (``residue.py``).

The scans give integer cents and a count of flagged values per measure; :class:`Exact`
reads the flagged rows again and answers, for any source row, its exact amount per
measure, so that the Source, Rejected and Filtered columns (and the grains) are the
legacy's true totals. A flagged value that is not an amount at any scale is counted as
unreadable: never as 0.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine

from migrate.spec.model import EntitySpec
from reconcile.grains import Amounts
from reconcile.money import cents_to_decimal
from reconcile.residue import LISTED, Residue, read_residue
from reconcile.rows import Row, Totals


class Exact:
    """The flagged amounts of one entity's source, per measure."""

    def __init__(
        self, spec: EntitySpec, source: Totals, legacy: Engine | None, workdir: Path | None
    ) -> None:
        self.width = len(spec.reconcile.measures)
        self.flagged = source.invalid
        self.residues: dict[int, Residue | None] = {
            i: read_residue(spec, i, legacy, workdir) for i, n in enumerate(source.invalid) if n
        }

    def amounts(self, row: Row) -> Amounts:
        """A rejected or filtered source row's exact amount per measure (0 where it has
        none, or where it is unreadable: the measure then fails as unverified)."""
        out = []
        for i, v in enumerate(row.values):
            if isinstance(v, int):
                out.append(cents_to_decimal(v))
                continue
            found = None
            residue = self.residues.get(i)
            if v is not None and residue is not None:
                found = residue.take(row.key)
            out.append(found.amount if found and found.amount is not None else Decimal(0))
        return row.extras, tuple(out)

    def finer(self) -> list[Amounts]:
        """The amounts finer than a cent, each as (grain values, amount per measure)."""
        out = []
        for i, residue in self.residues.items():
            for r in residue.rows if residue else []:
                if r.amount is not None:
                    amounts = [Decimal(0)] * self.width
                    amounts[i] = r.amount
                    out.append((r.extras, tuple(amounts)))
        return out

    def finer_total(self, i: int) -> Decimal:
        residue = self.residues.get(i)
        return residue.total if residue else Decimal(0)

    def unreadable_count(self, i: int) -> int:
        """Flagged values not read as an amount at any scale; all of them when the source
        cannot be read again here; and as many as the two readings disagree by (a table
        changed in between, or a value one reading flags and the other does not): a
        disagreement is never taken as agreement."""
        if not self.flagged[i]:
            return 0
        residue = self.residues.get(i)
        if residue is None:
            return self.flagged[i]
        return len(residue.unreadable) + abs(self.flagged[i] - len(residue.rows))

    def unreadable_rows(self, i: int) -> tuple[tuple[str, str], ...]:
        residue = self.residues.get(i)
        return tuple((r.key, r.text) for r in residue.unreadable[:LISTED]) if residue else ()

    def rule(self, i: int) -> str:
        """What the source rule adds about the flagged values, in words."""
        if not self.flagged[i]:
            return ""
        residue = self.residues.get(i)
        if residue is None:
            return (
                f"; {self.flagged[i]:,} value(s) that are not whole cents could not be read "
                "again here: unverified"
            )
        finer = [r for r in residue.rows if r.amount is not None]
        text = ""
        if finer:
            text += (
                f"; {len(finer):,} value(s) finer than a cent summed exactly at their own "
                f"scale ({residue.total:,})"
            )
        if n := self.unreadable_count(i):
            text += f"; {n:,} value(s) that are not amounts at any scale: unverified, never 0"
        return text
