"""A :class:`~reconcile.rows.RowSource` answered by SQL pushed down into one database.

Counts, exact sums in cents, grouped totals and per-bucket hash totals are computed by the
database; Python only receives aggregates, except for the rows of buckets that differ and
the rows looked up by key (rejected and filtered rows).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from functools import cached_property

from sqlalchemy import Engine, bindparam, text

from reconcile.rows import INVALID, BucketStats, GroupTotals, Row, Totals, Value, Within
from reconcile.sqltext import concat, hash_expr

_BATCH = 900


@dataclass(frozen=True)
class ValueSql:
    """One compared amount: its cents (NULL = no amount), an invalid flag, its hash text."""

    cents: str
    invalid: str
    piece: str


@dataclass(frozen=True)
class Relation:
    engine: Engine
    from_sql: str  # a quoted table name or "(SELECT ...) q"
    key_sql: str
    values: tuple[ValueSql, ...]
    extras: tuple[str, ...] = ()
    where_sql: str = "1 = 1"
    params: dict[str, object] = field(default_factory=dict)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def _inner(self) -> str:
        """Key, hashes, values and extras of every row, as a subquery ``s``."""
        row_text = concat(
            [self.key_sql, *[p for v in self.values for p in ("':'", v.piece)]], self.dialect
        )
        cols = [
            f"{self.key_sql} AS k",
            f"{hash_expr(self.key_sql, self.dialect)} AS h",
            f"{hash_expr(row_text, self.dialect)} AS rh",
        ]
        cols += [f"{v.cents} AS v{i}" for i, v in enumerate(self.values)]
        cols += [f"{v.invalid} AS i{i}" for i, v in enumerate(self.values)]
        cols += [f"{e} AS e{i}" for i, e in enumerate(self.extras)]
        return f"(SELECT {', '.join(cols)} FROM {self.from_sql} WHERE {self.where_sql}) s"

    def _query(self, sql: str, params: dict[str, object] | None = None) -> list[tuple[object, ...]]:
        stmt = text(sql)
        all_params = {**self.params, **(params or {})}
        with self.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(stmt, all_params)]

    @cached_property
    def _profile(self) -> list[tuple[tuple[object, ...], int, tuple[int, ...], tuple[int, ...]]]:
        """One scan: count, sums and invalid counts per combination of extras (grain values).

        Totals and every grain are folded from it, so the source is read once for both.
        """
        n, k = len(self.values), len(self.extras)
        cols = [f"e{i}" for i in range(k)]
        sums = [f"SUM(v{i})" for i in range(n)] + [f"SUM(i{i})" for i in range(n)]
        group = f" GROUP BY {', '.join(cols)}" if cols else ""
        sql = f"SELECT {', '.join([*cols, 'COUNT(*)', *sums])} FROM {self._inner()}{group}"
        out = []
        for r in self._query(sql):
            nums = [int(x or 0) for x in r[k:]]  # type: ignore[call-overload]
            out.append((r[:k], nums[0], tuple(nums[1 : 1 + n]), tuple(nums[1 + n :])))
        return out

    def totals(self) -> Totals:
        n = len(self.values)
        count, cents, invalid = 0, [0] * n, [0] * n
        for _, rows, sums, bad in self._profile:
            count += rows
            cents = [a + b for a, b in zip(cents, sums, strict=True)]
            invalid = [a + b for a, b in zip(invalid, bad, strict=True)]
        return Totals(count, tuple(cents), tuple(invalid))

    def group_totals(self, extras: list[int]) -> GroupTotals:
        acc: dict[tuple[object, ...], tuple[int, list[int]]] = {}
        for values, rows, sums, _ in self._profile:
            key = tuple(values[i] for i in extras)
            n, total = acc.get(key, (0, [0] * len(sums)))
            acc[key] = (n + rows, [a + b for a, b in zip(total, sums, strict=True)])
        return {k: (n, tuple(s)) for k, (n, s) in acc.items()}

    def _rows(
        self, where: str, params: dict[str, object] | None = None, expanding: str | None = None
    ) -> list[Row]:
        n = len(self.values)
        cols = [
            "k",
            *[f"v{i}" for i in range(n)],
            *[f"i{i}" for i in range(n)],
            *[f"e{i}" for i in range(len(self.extras))],
        ]
        stmt = text(f"SELECT {', '.join(cols)} FROM {self._inner()} WHERE {where}")
        if expanding:
            stmt = stmt.bindparams(bindparam(expanding, expanding=True))
        with self.engine.connect() as conn:
            result = conn.execute(stmt, {**self.params, **(params or {})})
            return [_row(tuple(r), n) for r in result]

    def rows_for_keys(self, keys: Collection[str]) -> list[Row]:
        wanted = sorted(set(keys))
        out: list[Row] = []
        for start in range(0, len(wanted), _BATCH):
            out += self._rows("k IN :keys", {"keys": wanted[start : start + _BATCH]}, "keys")
        return out

    def bucket_stats(self, shift: int, within: Within) -> BucketStats:
        where = _within_sql(within)
        sql = (
            f"SELECT b, COUNT(*), SUM(rh) FROM (SELECT (h >> {int(shift)}) AS b, rh "
            f"FROM {self._inner()} WHERE {where}) t GROUP BY b"
        )
        return {int(b): (int(c), int(s)) for b, c, s in self._query(sql)}  # type: ignore[call-overload]

    def bucket_rows(self, shift: int, buckets: frozenset[int]) -> list[Row]:
        return self._rows(_within_sql((shift, buckets)))


def _within_sql(within: Within) -> str:
    if within is None:
        return "1 = 1"
    shift, buckets = within
    if not buckets:
        return "1 = 0"
    listed = ", ".join(str(int(b)) for b in sorted(buckets))
    return f"(h >> {int(shift)}) IN ({listed})"


def _row(r: tuple[object, ...], n: int) -> Row:
    values: list[Value] = []
    for i in range(n):
        if int(r[1 + n + i] or 0):  # type: ignore[call-overload]
            values.append(INVALID)
        else:
            v = r[1 + i]
            values.append(None if v is None else int(v))  # type: ignore[call-overload]
    return Row(str(r[0]), tuple(values), r[1 + 2 * n :])
