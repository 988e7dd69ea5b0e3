"""Compared and personal columns checked row by row through reconciliation's own restatement.

For each column named in ``reconcile.compare`` that is neither an amount measure (diffed as
exact cents) nor a plain text column (diffed in SQL, ``textrule.py``), and for each field
marked ``personal``, the column's rule is either restated (``restate.py``) or reported as
**not verified**, with the reason, and then not compared at all: never a false difference,
never silently skipped.

A restated column is compared like this: the legacy rows (less the rejected and filtered
keys) are streamed and each row's value computed from its own columns; the run's staged
rows of the entity are streamed; both sides are diffed by key with the same hashed-bucket
diff as the amounts (``diff.py``, each side a :class:`~reconcile.stream.StreamSource`), so
memory holds bucket sums and the rows of differing buckets only, never a whole table.
Equal sides cost one pass each. A mismatch is a ``changed`` row naming the key and column
with both values as compared (ISO dates, amounts, text); a personal column shows ``hmac:``
and the first 12 hex digits of each side's keyed hash, never the value. Rows missing or
unexpected are the main row diff's to report, not this one's.

The legacy side is read as the pipeline reads it: a table through SQLAlchemy's reflected
column types (a ``DATE`` column gives ``date`` objects on SQLite, PostgreSQL and MariaDB
alike), a query as the driver returns it, a file as text.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from sqlalchemy import Engine, MetaData, Table, select, text

from migrate.spec.model import EntitySpec
from reconcile.diff import FIRST_BITS, keyed_diff
from reconcile.hashing import CRC32
from reconcile.personal import digest, shown
from reconcile.report import RowDifference
from reconcile.restate import Canonical, Restated, column_kind, target_column
from reconcile.restate import why_not as why_not_restated
from reconcile.rows import Row
from reconcile.sources import file_path, file_records, key_string, table_records
from reconcile.staging_side import Staging
from reconcile.stream import StreamSource
from reconcile.textrule import text_columns

PART = 20_000  # rows fetched per round trip while streaming

Crosswalks = Mapping[str, Mapping[str, str]]
Records = Callable[[], Iterator[Mapping[str, object]]]


@dataclass(frozen=True)
class ColumnCheck:
    """What this check found: differences, the rule of each restated column, and the
    columns not verified with why."""

    differences: tuple[RowDifference, ...] = ()
    compared: tuple[str, ...] = ()
    not_verified: tuple[tuple[str, str], ...] = ()


def columns_to_check(spec: EntitySpec) -> list[str]:
    """Compared columns that are neither measures nor diffed in SQL, then personal fields."""
    measures = {m.target_column for m in spec.reconcile.measures}
    in_sql = {c.target for c in text_columns(spec)[0]}
    wanted = [c for c in spec.reconcile.compare if c not in measures | in_sql]
    wanted += [n for n, f in spec.fields.items() if f.personal is not None]
    return list(dict.fromkeys(wanted))


def plan(spec: EntitySpec) -> tuple[list[Restated], list[tuple[str, str]]]:
    """(restated columns, (column, why) for each column that cannot be restated)."""
    restated: list[Restated] = []
    missing: list[tuple[str, str]] = []
    for name in columns_to_check(spec):
        field = spec.fields.get(name)
        column = target_column(spec.target.table, name)
        if field is None or column is None:
            missing.append((name, "no field of the mapping fills this staging column"))
            continue
        kind = column_kind(column)
        why = why_not_restated(field, kind)
        if why is not None or kind is None:
            missing.append((name, why or "unknown column type"))
        else:
            restated.append(Restated(name, field, kind))
    return restated, missing


def check_columns(
    spec: EntitySpec,
    crosswalks: Crosswalks,
    st: Staging,
    excluded: Collection[str],
    legacy: Engine | None,
    workdir: Path | None,
) -> ColumnCheck:
    """Restated columns diffed by key (``excluded``: rejected and filtered source keys)."""
    restated, not_verified = plan(spec)
    if not restated:
        return ColumnCheck(not_verified=tuple(not_verified))
    needed = [*spec.source.key, *(c for r in restated for c in r.source_columns())]
    records = legacy_records(spec, list(dict.fromkeys(needed)), legacy, workdir)
    if records is None:
        why = "the legacy side cannot be read here (no connection or working folder)"
        return ColumnCheck(not_verified=tuple(not_verified + [(r.target, why) for r in restated]))
    skip = frozenset(excluded)
    shift = 32 - FIRST_BITS
    source = StreamSource(lambda: _source_rows(spec, restated, records, crosswalks, skip), 0).using(
        CRC32, shift
    )
    staged = StreamSource(lambda: _staged_rows(spec, restated, st), 0).using(CRC32, shift)
    diffs, _ = keyed_diff(spec.entity, (), source, staged, [], tuple(r.target for r in restated))
    personal = {r.target for r in restated if r.personal}
    changed = tuple(_masked(d, d.column in personal) for d in diffs if d.kind == "changed")
    return ColumnCheck(changed, tuple(r.rule for r in restated), tuple(not_verified))


def _masked(d: RowDifference, personal: bool) -> RowDifference:
    if not personal:
        return d
    return replace(d, source_value=shown(d.source_value), staged_value=shown(d.staged_value))


def _compared(r: Restated, value: Canonical) -> Canonical:
    return digest(value, r.personal) if r.personal else value


def _source_rows(
    spec: EntitySpec,
    restated: list[Restated],
    records: Records,
    crosswalks: Crosswalks,
    skip: frozenset[str],
) -> Iterator[Row]:
    for record in records():
        key = key_string([record.get(c) for c in spec.source.key])
        if key not in skip:
            texts = tuple(_compared(r, r.source(record, crosswalks)) for r in restated)
            yield Row(key, (), (), texts)


def _staged_rows(spec: EntitySpec, restated: list[Restated], st: Staging) -> Iterator[Row]:
    q = st.engine.dialect.identifier_preparer.quote
    dialect = st.engine.dialect.name
    sql = text(
        f"SELECT {q('MIG_SOURCE_KEY')}, {', '.join(q(r.target) for r in restated)} "
        f"FROM {st.table(spec.target.table)} "
        f"WHERE {q('MIG_RUN_ID')} = :run AND {q('MIG_ENTITY')} = :entity"
    )
    with st.engine.connect() as conn:
        result = conn.execution_options(stream_results=True, max_row_buffer=PART).execute(
            sql, {"run": st.run_id, "entity": spec.entity}
        )
        for part in result.partitions(PART):
            for key, *values in part:
                texts = tuple(
                    _compared(r, r.staged(v, dialect))
                    for r, v in zip(restated, values, strict=True)
                )
                yield Row(str(key), (), (), texts)


def legacy_records(
    spec: EntitySpec, columns: list[str], legacy: Engine | None, workdir: Path | None
) -> Records | None:
    """The legacy rows as dicts of ``columns``, read as the pipeline reads them (None when
    that side cannot be read here)."""
    if spec.source.file is not None:
        if workdir is None:
            return None
        path = file_path(spec, workdir)
        return lambda: file_records(spec, path)
    if legacy is None:
        return None
    engine = legacy
    if spec.source.table is None:
        return lambda: table_records(spec, engine, columns)
    return lambda: _typed_records(spec.source.table or "", engine, columns)


def _typed_records(name: str, engine: Engine, columns: list[str]) -> Iterator[Mapping[str, object]]:
    """A table's rows through its reflected column types, as the pipeline's extract reads
    them (``DATE`` as ``date``, ``NUMERIC`` as ``Decimal``, on every backend)."""
    schema, _, table_name = name.rpartition(".")
    table = Table(table_name, MetaData(), schema=schema or None, autoload_with=engine)
    stmt = select(*(table.c[c] for c in columns))
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, max_row_buffer=PART).execute(stmt)
        for part in result.partitions(PART):
            for row in part:
                yield dict(zip(columns, row, strict=True))
