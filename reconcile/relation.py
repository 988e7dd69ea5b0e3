"""A :class:`~reconcile.rows.RowSource` answered by SQL pushed down into one database.

Counts, exact sums in cents, grouped totals and per-bucket hash totals are computed by the
database; Python only receives aggregates, except for the rows of buckets that differ and
the rows looked up by key (rejected and filtered rows).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

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

    def totals(self) -> Totals:
        n = len(self.values)
        sums = [f"SUM(v{i})" for i in range(n)] + [f"SUM(i{i})" for i in range(n)]
        row = self._query(f"SELECT {', '.join(['COUNT(*)', *sums])} FROM {self._inner()}")[0]
        as_int = [int(x or 0) for x in row]  # type: ignore[call-overload]
        return Totals(as_int[0], tuple(as_int[1:1 + n]), tuple(as_int[1 + n:]))

    def group_totals(self, extras: list[int]) -> GroupTotals:
        cols = [f"e{i}" for i in extras]
        sums = [f"SUM(v{i})" for i in range(len(self.values))]
        sql = (f"SELECT {', '.join([*cols, 'COUNT(*)', *sums])} FROM {self._inner()} "
               f"GROUP BY {', '.join(cols)}")
        out: GroupTotals = {}
        for r in self._query(sql):
            k = len(cols)
            out[r[:k]] = (int(r[k] or 0), tuple(int(x or 0) for x in r[k + 1:]))  # type: ignore[call-overload]
        return out

    def _rows(self, where: str, params: dict[str, object] | None = None,
              expanding: str | None = None) -> list[Row]:
        n = len(self.values)
        cols = ["k", *[f"v{i}" for i in range(n)], *[f"i{i}" for i in range(n)],
                *[f"e{i}" for i in range(len(self.extras))]]
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
            out += self._rows("k IN :keys", {"keys": wanted[start:start + _BATCH]}, "keys")
        return out

    def bucket_stats(self, shift: int, within: Within) -> BucketStats:
        where = _within_sql(within)
        sql = (f"SELECT b, COUNT(*), SUM(rh) FROM (SELECT (h >> {int(shift)}) AS b, rh "
               f"FROM {self._inner()} WHERE {where}) t GROUP BY b")
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
    return Row(str(r[0]), tuple(values), r[1 + 2 * n:])
