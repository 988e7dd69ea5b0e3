"""A :class:`~reconcile.reading.rows.RowSource` answered by SQL pushed down into one database.

Counts, exact sums in cents, grouped totals and per-bucket checksums are computed by the
database; Python only receives aggregates, except for the rows of buckets that differ and
the rows looked up by key (rejected and filtered rows).

Every query reads the rows through the same nested subqueries (``_level_c``), each level
computing its expressions once per row:

1. on the table: the key text ``k``, extras ``e0..``, compared texts ``t0..`` and the ``pre``
   expressions (the trimmed amount text; on SQLite our exact parser ``mig_cents``);
2. the key hash ``h`` (from ``k``), cents ``v0..`` (the validity test written once) and
   presence flags ``pr0..``; then the text hash ``th`` when texts are compared;
3. unfenced: invalid flags ``i0..`` (present without cents), and in the consumers the row
   checksum ``rh``, integer arithmetic over ``h``, ``v``, ``i`` and ``th``.

The levels are fenced (PostgreSQL ``OFFSET 0``, SQLite ``LIMIT -1 OFFSET 0``) so the planner
cannot inline a parser or a hash into every place that uses its result, and only the named
columns travel between them. One scan answers both the totals by extras (grains and
identity) and the first-level buckets: on PostgreSQL one ``GROUPING SETS`` query, on MariaDB
a CTE read by two ``GROUP BY``s, on SQLite a temporary table of the scanned rows (kept for
the bucket descent and key lookups, see ``_kept``) read by two ``GROUP BY``s. Filters for
key or bucket lookups apply to the table rows, before anything is parsed.

A SQLite *file* is normally read as Arrow batches instead (``arrowside.py``, same answers, no
Python call per row); the SQLite SQL here serves in-memory databases, sides with compared
text columns, MD5 pairs and any question the batches cannot carry.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field, replace

from sqlalchemy import Connection, Engine, bindparam, text

from reconcile.reading.amount_sql import ValueSql
from reconcile.reading.blockranges import block_ranges, in_one_snapshot
from reconcile.reading.bucket_sql import bucket_sums_sql, picks_sql, within_sql
from reconcile.reading.cached import cached
from reconcile.reading.driver_rows import all_tuples, as_int, to_row
from reconcile.reading.hashing import MD5, NULL_TEXT, TEXT_SEP, Hasher, checksum_sql, text_piece
from reconcile.reading.rows import (
    HINT_BITS,
    BucketStats,
    GroupTotals,
    Picks,
    Profile,
    Row,
    Scan,
    Totals,
    Within,
    group_profile,
    merged_scans,
    totals_of,
)
from reconcile.reading.sqltext import bigint, concat, family

# keys per IN list: SQLite's old bound on bound parameters; PostgreSQL hashes long IN lists,
# and each list is one pass over a legacy table whose key expression has no index
_BATCH = {"sqlite": 900, "postgresql": 20_000}
FIRST_SHIFT = 19  # 32 - diff.FIRST_BITS (entity.paired sets both sides alike)
WORK_MEM = "64MB"  # PostgreSQL, per reconciliation query (server memory, not ours)


@dataclass(frozen=True)
class Relation:
    engine: Engine
    from_sql: str  # a quoted table name or "(SELECT ...) q"
    key_sql: str
    values: tuple[ValueSql, ...]
    extras: tuple[str, ...] = ()
    where_sql: str = "1 = 1"
    params: dict[str, object] = field(default_factory=dict)
    texts: tuple[str, ...] = ()  # normalised text of each compared text column
    pre: tuple[tuple[tuple[str, str], ...], ...] = ()  # levels of (alias, SQL), computed first
    hasher: Hasher = MD5
    first_shift: int = FIRST_SHIFT
    split: int = 1  # PostgreSQL: scan a large plain table as this many block ranges
    key_columns: tuple[str, ...] = ()  # the key's columns (SQL), for ``arrowside.py``'s checks

    @property
    def family(self) -> str:
        return family(self.engine.dialect.name)

    def using(self, hasher: Hasher, first_shift: int) -> Relation:
        return replace(self, hasher=hasher, first_shift=first_shift)

    def _fence(self) -> str:
        return {"postgresql": " OFFSET 0", "sqlite": " LIMIT -1 OFFSET 0"}.get(self.family, "")

    def _level_c(self, first_where: str = "1 = 1") -> str:
        """Subquery ``c``: k, h, e0.., t0.., v0.., i0.. (and ``th``), each computed once.

        Only the columns named here travel between levels (a ``SELECT *`` of a wide legacy
        table through each level costs more than the parsing it saves). ``first_where``
        filters the table rows before anything is parsed (key or bucket lookups)."""
        fam, m = self.family, len(self.texts)
        where = f"({self.where_sql}) AND ({first_where})"
        first = [f"{self.key_sql} AS k"]
        first += [f"{e} AS e{i}" for i, e in enumerate(self.extras)]
        first += [f"{t} AS t{i}" for i, t in enumerate(self.texts)]
        names = ["k", *(f"e{i}" for i in range(len(self.extras)))]
        names += [f"t{i}" for i in range(m)]
        values = [f"{v.cents} AS v{i}" for i, v in enumerate(self.values)]
        values += [f"{v.present} AS pr{i}" for i, v in enumerate(self.values)]
        if not self.pre:  # values read the table's own columns
            cols = [*first, f"{self._h()} AS h", *values]
            sql = f"SELECT {', '.join(cols)} FROM {self.from_sql} WHERE {where}"
        else:  # the key hash from the key text already built (not built twice)
            level0 = [f"{expr} AS {alias}" for alias, expr in self.pre[0]]
            sql = f"SELECT {', '.join(first + level0)} FROM {self.from_sql} WHERE {where}"
            carried = names + [alias for alias, _ in self.pre[0]]
            for level in self.pre[1:]:
                cols = carried + [f"{expr} AS {alias}" for alias, expr in level]
                sql = f"SELECT {', '.join(cols)} FROM ({sql}{self._fence()}) p"
                carried += [alias for alias, _ in level]
            cols = [*names, f"{self.hasher.sql('k', fam)} AS h", *values]
            sql = f"SELECT {', '.join(cols)} FROM ({sql}{self._fence()}) p"
        if m:
            sql = f"SELECT p.*, {self._th()} AS th FROM ({sql}{self._fence()}) p"
        flags = [
            f"(CASE WHEN pr{i} = 1 AND v{i} IS NULL THEN 1 ELSE 0 END) AS i{i}"
            for i in range(len(self.values))
        ]
        return f"(SELECT {', '.join(['q.*', *flags])} FROM ({sql}{self._fence()}) q) c"

    def _h(self) -> str:
        return self.hasher.sql(self.key_sql, self.family)

    def _th(self) -> str:
        """Hash of the compared texts ``t0..``, as :func:`text_hash_py` computes it."""
        fam = self.family
        pieces: list[str] = []
        for i in range(len(self.texts)):
            pieces += [f"'{TEXT_SEP}'"] if i else []
            present = concat(["'V'", f"t{i}"], fam)
            pieces.append(f"COALESCE({present}, '{NULL_TEXT}')")
        return self.hasher.sql(concat(pieces, fam), fam)

    def _rh(self) -> str:
        tagged = [
            (f"(CASE WHEN i{i} = 1 THEN 2 WHEN v{i} IS NULL THEN 1 ELSE 0 END)", f"v{i}")
            for i in range(len(self.values))
        ]
        zero = f"CAST(0 AS {bigint(self.family)})"
        return checksum_sql("h", tagged, "th" if self.texts else None, zero)

    def _rh_summed(self) -> str:
        """The checksum as summed: PostgreSQL sums an INTEGER (it is below 2^31) in a 64-bit
        accumulator, a third faster than the NUMERIC that ``SUM(BIGINT)`` would use."""
        rh = self._rh()
        return f"CAST({rh} AS INTEGER)" if self.family == "postgresql" else rh

    def _query(self, sql: str, params: dict[str, object] | None = None) -> list[tuple[object, ...]]:
        with self.engine.connect() as conn:
            return self._on(conn, sql, params)

    def _on(
        self, conn: Connection, sql: str, params: dict[str, object] | None = None
    ) -> list[tuple[object, ...]]:
        if self.family == "postgresql":  # room for the bucket groups without spilling
            conn.exec_driver_sql(f"SET LOCAL work_mem = '{WORK_MEM}'")
        return all_tuples(conn.execute(text(sql), {**self.params, **(params or {})}))

    def _profile_rows(self, rows: list[tuple[object, ...]]) -> Profile:
        n, k = len(self.values), len(self.extras)
        out: Profile = []
        for r in rows:
            nums = [as_int(x) for x in r[k:]]
            out.append((r[:k], nums[0], tuple(nums[1 : 1 + n]), tuple(nums[1 + n :])))
        return out

    @cached
    def _scan(self) -> Scan:
        """Totals by extras and first-level buckets, from one pass over the source."""
        if self.family == "postgresql":
            return self._grouping_sets()
        if self.family == "sqlite":
            return self._kept_scan()
        return self._materialized()

    @cached
    def _kept(self) -> Connection:
        """SQLite: one connection holding the scanned rows in a temporary table.

        SQLite has no hash function of its own, so every pass over the source calls Python
        once per row; keeping the rows (key, hashes, values: a temporary file, not memory)
        lets the bucket descent and the key lookups read them back without a second pass.
        :meth:`close` drops them."""
        return self.engine.connect()

    def _kept_table(self) -> str:
        return f"mig_kept_{id(self)}"

    def _kept_scan(self) -> Scan:
        n, m, k = len(self.values), len(self.texts), len(self.extras)
        cols = ["k", "h", f"{self._rh()} AS rh"] + [f"v{i}" for i in range(n)]
        cols += [f"i{i}" for i in range(n)] + [f"t{i}" for i in range(m)]
        cols += [f"e{i}" for i in range(k)]
        conn, table = self._kept, self._kept_table()
        conn.execute(
            text(f"CREATE TEMP TABLE {table} AS SELECT {', '.join(cols)} FROM {self._level_c()}"),
            self.params,
        )
        conn.commit()  # nothing held on the database itself; the rows live in temp storage
        shift = int(self.first_shift)
        sql = self._two_groupings(table, f"(h >> {shift})", self._sub("h", shift))
        return self._split(all_tuples(conn.execute(text(sql))))

    def _kept_rows(
        self, where: str, params: dict[str, object] | None = None, expanding: str | None = None
    ) -> list[Row]:
        n, m = len(self.values), len(self.texts)
        stmt = text(f"SELECT * FROM {self._kept_table()} WHERE {where}")
        if expanding:
            stmt = stmt.bindparams(bindparam(expanding, expanding=True))
        return [to_row(r, n, m) for r in all_tuples(self._kept.execute(stmt, params or {}))]

    def _is_kept(self) -> bool:
        return "_scan" in self.__dict__ and "_kept" in self.__dict__

    def close(self) -> None:
        """Release what the scan kept (SQLite's temporary table and its connection)."""
        conn = self.__dict__.pop("_kept", None)
        if conn is not None:
            conn.execute(text(f"DROP TABLE IF EXISTS {self._kept_table()}"))
            conn.close()

    def _scan_source(self, first_where: str = "1 = 1") -> str:
        n, k = len(self.values), len(self.extras)
        cols = [f"e{i}" for i in range(k)] + [f"v{i}" for i in range(n)]
        cols += [f"i{i}" for i in range(n)]
        shift = int(self.first_shift)
        cols += [f"(h >> {shift}) AS bk", f"{self._sub('h', shift)} AS sb"]
        cols += [f"{self._rh_summed()} AS rh"]
        return f"SELECT {', '.join(cols)} FROM {self._level_c(first_where)}"

    def _sub(self, h: str, shift: int) -> str:
        """SQL of :func:`~reconcile.reading.rows.sub_bucket` (an INTEGER on PostgreSQL, so that the
        weighted sum stays a 64-bit ``SUM`` of INTEGERs)."""
        if shift < HINT_BITS:
            return "0"
        sub = f"(({h}) >> {int(shift) - HINT_BITS}) & 15"
        return f"CAST({sub} AS INTEGER)" if self.family == "postgresql" else f"({sub})"

    def _materialized(self) -> Scan:
        """MariaDB: the rows, parsed and hashed once in a CTE, feed two GROUP BYs."""
        sql = f"WITH r AS ({self._scan_source()}) {self._two_groupings('r', 'bk', 'sb')}"
        return self._split(self._query(sql))

    def _two_groupings(self, rows: str, bk: str, sb: str) -> str:
        """Totals by extras (flag 1) and by first-level bucket ``bk`` (flag 0), one result;
        ``sb`` is the sub-bucket (SQL over the rows' columns)."""
        n, k = len(self.values), len(self.extras)
        ecols = [f"e{i}" for i in range(k)]
        sums = [f"SUM(v{i})" for i in range(n)] + [f"SUM(i{i})" for i in range(n)]
        group = f" GROUP BY {', '.join(ecols)}" if ecols else ""
        totals = ", ".join(["1", *ecols, "NULL", "COUNT(*)", *sums, *(["NULL"] * 4)])
        nulls = ["NULL"] * 2 * n
        buckets = ", ".join(["0", *(["NULL"] * k), bk, "COUNT(*)", *nulls, bucket_sums_sql(sb)])
        second = f"SELECT {buckets} FROM {rows} GROUP BY {bk}"
        return f"SELECT {totals} FROM {rows}{group} UNION ALL {second}"

    def _split(self, rows: list[tuple[object, ...]]) -> Scan:
        """Rows flagged 1 are totals by extras, rows flagged 0 first-level buckets."""
        n, k = len(self.values), len(self.extras)
        profile: list[tuple[object, ...]] = []
        buckets: BucketStats = {}
        for r in rows:
            if r[0]:
                profile.append(r[1 : 1 + k] + r[2 + k : 3 + k + 2 * n])
            else:  # bucket, count and checksum sums are never NULL here (int() says so)
                count, rh, w, t, u = (int(x) for x in (r[2 + k], *r[-4:]))  # type: ignore[call-overload]
                buckets[int(r[1 + k])] = (count, rh, w, t, u)  # type: ignore[call-overload]
        return Scan(self._profile_rows(profile), buckets)

    def _grouping_sets(self) -> Scan:
        """PostgreSQL: both groupings hashed in one pass (``GROUPING(bk)`` = 1: totals)."""
        n, k = len(self.values), len(self.extras)
        ecols = [f"e{i}" for i in range(k)]
        sums = [f"SUM(v{i})" for i in range(n)] + [f"SUM(i{i})" for i in range(n)]
        sel = ", ".join(["GROUPING(bk)", *ecols, "bk", "COUNT(*)", *sums, bucket_sums_sql("sb")])

        def sql(where: str) -> str:
            # fenced: the checksum ``rh`` is summed three ways, and is computed once per row
            return (
                f"SELECT {sel} FROM ({self._scan_source(where)}{self._fence()}) d "
                f"GROUP BY GROUPING SETS (({', '.join(ecols)}), (bk))"
            )

        ranges = block_ranges(self.engine, self.from_sql, self.split)
        if len(ranges) == 1:
            return self._split(self._query(sql(ranges[0])))
        results = in_one_snapshot(self.engine, [sql(r) for r in ranges], self._on)
        return merged_scans([self._split(rows) for rows in results])

    def scan(self) -> Scan:
        return self._scan

    def totals(self) -> Totals:
        return totals_of(self._scan.profile, len(self.values))

    def group_totals(self, extras: list[int]) -> GroupTotals:
        return group_profile(self._scan.profile, extras)

    def _rows(
        self,
        where: str,
        params: dict[str, object] | None = None,
        expanding: str | None = None,
        setup: str | None = None,
    ) -> list[Row]:
        n, m = len(self.values), len(self.texts)
        cols = ["k", "h", f"{self._rh()} AS rh"]
        cols += [f"v{i}" for i in range(n)] + [f"i{i}" for i in range(n)]
        cols += [f"t{i}" for i in range(m)] + [f"e{i}" for i in range(len(self.extras))]
        stmt = text(f"SELECT {', '.join(cols)} FROM {self._level_c(where)}")
        if expanding:
            stmt = stmt.bindparams(bindparam(expanding, expanding=True))
        with self.engine.connect() as conn:
            if setup:
                conn.exec_driver_sql(setup)
            result = conn.execute(stmt, {**self.params, **(params or {})})
            return [to_row(r, n, m) for r in all_tuples(result)]

    def rows_where(
        self, where: str, params: dict[str, object], setup: str | None = None
    ) -> list[Row]:
        """The rows whose table row ``where`` selects (SQL over the table's own columns, such
        as PostgreSQL's ``ctid``), read as every other question reads them; ``setup`` runs
        first in the same transaction (a ``SET LOCAL``)."""
        return self._rows(where, params, setup=setup)

    def rows_for_keys(self, keys: Collection[str]) -> list[Row]:
        wanted = sorted(set(keys))
        out: list[Row] = []
        size = _BATCH.get(self.family, 900)
        for start in range(0, len(wanted), size):
            batch: dict[str, object] = {"keys": wanted[start : start + size]}
            if self._is_kept():
                out += self._kept_rows("k IN :keys", batch, "keys")
            else:
                out += self._rows(f"{self.key_sql} IN :keys", batch, "keys")
        return out

    def _bucket_stats(self, shift: int, within: Within) -> BucketStats:
        sums = "COUNT(*), " + bucket_sums_sql(self._sub("h", shift) if self._is_kept() else "sb")
        if self._is_kept():
            sql = (
                f"SELECT h >> {int(shift)}, {sums} FROM {self._kept_table()} "
                f"WHERE {within_sql(within, 'h')} GROUP BY 1"
            )
            rows = all_tuples(self._kept.execute(text(sql)))
        else:
            inner = (
                f"SELECT (h >> {int(shift)}) AS b, {self._sub('h', shift)} AS sb, "
                f"{self._rh_summed()} AS rh "
                f"FROM {self._level_c(within_sql(within, self._h()))}{self._fence()}"
            )
            rows = self._query(f"SELECT b, {sums} FROM ({inner}) t GROUP BY b")
        return {
            as_int(r[0]): (as_int(r[1]), as_int(r[2]), as_int(r[3]), as_int(r[4]), as_int(r[5]))
            for r in rows
        }

    def bucket_stats(self, shift: int, within: Within) -> BucketStats:
        if shift == self.first_shift and within is None:
            return self._scan.buckets
        return self._bucket_stats(shift, within)

    def bucket_rows(self, picks: Picks) -> list[Row]:
        if self._is_kept():
            return self._kept_rows(picks_sql(picks, "h"))
        return self._rows(picks_sql(picks, self._h()))


def text_hash_py(hasher: Hasher, texts: tuple[str | None, ...]) -> int | None:
    """Python twin of ``th`` (None when there are no compared text columns)."""
    if not texts:
        return None
    return hasher.py(TEXT_SEP.join(text_piece(t) for t in texts))
