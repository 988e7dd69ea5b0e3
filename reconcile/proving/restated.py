"""Every column a mapping fills, checked row by row through reconciliation's own restatement.

Each target column the mapping fills (every field, and the ERP key the entity issues) is
checked, whether or not ``reconcile.compare`` names it: amount measures are diffed as exact
cents and ``compare``'s plain text columns in SQL, by the main row diff; every other column
here. Its rule is either restated (``restate.py``; an ERP key through the key map the
pipeline recorded, ``restate_keys.py``) or reported as **not verified**, with the reason, and
then not compared at all: never a false difference, never silently skipped. ``compare`` thus
only chooses which text columns the main diff carries (the cheapest way to diff them, in the
database's own scan) and which columns the report lists first; a name in it that no field
fills is reported as not verified.

A restated column is compared like this: the legacy rows (less the rejected and filtered
keys) are streamed and each row's value computed from its own columns (the ERP keys its
lookups need fetched from ``MIG_KEY_MAP`` a block of :data:`PART` rows at a time); the run's
staged rows of the entity are streamed; both sides are diffed by key with the same
hashed-bucket diff as the amounts (``diff.py``, each side a
:class:`~reconcile.reading.stream.StreamSource`), so memory holds bucket sums and the rows of
differing buckets only, never a whole table. Equal sides cost one pass each. A mismatch is a
``changed`` row naming the key and column with both values as compared (ISO dates, amounts,
text); a personal column shows ``hmac:`` and the first 12 hex digits of each side's keyed
hash, never the value. Rows missing or unexpected are the main row diff's to report, not
this one's. Where the mapping has filters, the same diff carries the first filter each legacy
row meets (staged rows: none), so a staged row the mapping drops is a ``filtered_wrongly``
difference; the rows the pipeline says it filtered are restated by ``filtered.py``.

The legacy side is read as the pipeline reads it: a table through SQLAlchemy's reflected
column types (a ``DATE`` column gives ``date`` objects on SQLite, PostgreSQL and MariaDB
alike), a query as the driver returns it, a file as text.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from functools import partial
from itertools import chain, islice
from pathlib import Path

from sqlalchemy import Engine, Float, MetaData, Numeric, Table, select, text
from sqlalchemy.types import NullType

from migrate.spec.model import EntitySpec
from reconcile.proving.diff import FIRST_BITS, iter_keyed_diff
from reconcile.proving.doubled import Doubled, staged_among
from reconcile.proving.erpkeys import erp_keys
from reconcile.proving.filtered import (
    FILTERS,
    check_filtered,
    filter_columns,
    first_rule,
    staged_but_dropped,
)
from reconcile.proving.personal import digest, shown
from reconcile.proving.restate import Canonical, Restated, column_kind, target_column
from reconcile.proving.restate import why_not as why_not_restated
from reconcile.proving.restate_keys import KeyLookup, Wanted, issued_field, wanted
from reconcile.proving.restate_memo import Memo
from reconcile.reading.files import file_path, file_records
from reconcile.reading.hashing import CRC32
from reconcile.reading.rows import Row
from reconcile.reading.sources import key_string, table_records
from reconcile.reading.staging_side import Staging
from reconcile.reading.stream import StreamSource
from reconcile.reading.textrule import text_columns
from reconcile.report import RowDifference

PART = 20_000  # rows fetched per round trip while streaming; legacy rows per key map block

Crosswalks = Mapping[str, Mapping[str, str]]
Records = Callable[[], Iterator[Mapping[str, object]]]


@dataclass(frozen=True)
class ColumnCheck:
    """What this check found: differences (read lazily, once: the caller keeps the first
    and counts the rest), the rule of each restated column, and the columns not verified
    with why."""

    differences: Iterable[RowDifference] = ()
    compared: tuple[str, ...] = ()
    not_verified: tuple[tuple[str, str], ...] = ()


def columns_to_check(spec: EntitySpec) -> list[str]:
    """Every column the mapping fills (those ``compare`` names first, then the fields, then
    the issued key) that is neither a measure nor diffed in SQL."""
    skip = {m.target_column for m in spec.reconcile.measures}
    skip |= {c.target for c in text_columns(spec)[0]}
    issued = [spec.issues_keys.column] if spec.issues_keys is not None else []
    filled = [*spec.reconcile.compare, *spec.fields, *issued]
    return [c for c in dict.fromkeys(filled) if c not in skip]


def plan(spec: EntitySpec) -> tuple[list[Restated], list[tuple[str, str]]]:
    """(restated columns, (column, why) for each column that cannot be restated)."""
    restated: list[Restated] = []
    missing: list[tuple[str, str]] = []
    issued = issued_field(spec)
    issued_column = spec.issues_keys.column if spec.issues_keys is not None else None
    for name in columns_to_check(spec):
        is_issued = name == issued_column  # the key map's key wins over any field
        field = issued if is_issued else spec.fields.get(name)
        column = target_column(spec.target.table, name)
        if field is None or column is None:
            missing.append((name, "no field of the mapping fills this staging column"))
            continue
        kind = column_kind(column)
        why = why_not_restated(field, kind)
        if why is not None or kind is None:
            missing.append((name, why or "unknown column type"))
        else:
            restated.append(Restated(name, field, kind, spec.source.system, is_issued))
    return restated, missing


def check_columns(
    spec: EntitySpec,
    crosswalks: Crosswalks,
    st: Staging,
    excluded: Collection[str],
    legacy: Engine | None,
    workdir: Path | None,
    filtered: Collection[tuple[str, str]] = (),
) -> ColumnCheck:
    """Restated columns diffed by key (``excluded``: rejected and filtered source keys), and
    the ``filtered`` rows' (rule, source key) restated (``filtered.py``)."""
    restated, not_verified = plan(spec)
    drops = bool(spec.source.filters)
    needed = [*spec.source.key, *(c for r in restated for c in r.source_columns())]
    needed += filter_columns(spec) + (spec.issues_keys.legacy if spec.issues_keys else [])
    records = legacy_records(spec, list(dict.fromkeys(needed)), legacy, workdir)
    rows_filtered = check_filtered(spec, st, filtered, records)
    not_verified += rows_filtered.not_verified
    if not restated and not drops:
        return ColumnCheck(rows_filtered.differences, (), tuple(not_verified))
    if records is None:
        why = "the legacy side cannot be read here (no connection or working folder)"
        not_verified += [(r.target, why) for r in restated]
        return ColumnCheck(rows_filtered.differences, (), tuple(not_verified))
    skip = frozenset(excluded)
    sides = _Sides(spec, restated, crosswalks, st, skip, Doubled(staged_among(st, spec, skip)))
    shift = 32 - FIRST_BITS
    source = StreamSource(lambda: _source_rows(sides, records), 0).using(CRC32, shift)
    staged = StreamSource(lambda: _staged_rows(sides), 0).using(CRC32, shift)
    names = tuple(r.target for r in restated) + ((FILTERS,) if drops else ())
    found, _ = iter_keyed_diff(spec.entity, (), source, staged, [], names)
    personal = {r.target for r in restated if r.personal}
    doubled = sides.doubled.differences(spec.entity, names)  # after the scans above
    changed = (_shown(spec, d, personal) for d in chain(found, doubled) if d.kind == "changed")
    rules = tuple(r.rule for r in restated)
    return ColumnCheck(chain(changed, rows_filtered.differences), rules, tuple(not_verified))


@dataclass(frozen=True)
class _Sides:
    """What both streams of the restated diff read."""

    spec: EntitySpec
    restated: list[Restated]
    crosswalks: Crosswalks
    st: Staging
    skip: frozenset[str]  # rejected and filtered source keys
    doubled: Doubled  # those of them also staged: set aside (``doubled.py``)


def _shown(spec: EntitySpec, d: RowDifference, personal: set[str]) -> RowDifference:
    """A difference as the report shows it: a personal value masked, a staged row its
    mapping drops named so."""
    if d.column == FILTERS:
        return staged_but_dropped(spec, d)
    if d.column not in personal:
        return d
    return replace(d, source_value=shown(d.source_value), staged_value=shown(d.staged_value))


def _compared(r: Restated, value: Canonical) -> Canonical:
    return digest(value, r.personal) if r.personal else value


def _source_rows(sides: _Sides, records: Records) -> Iterator[Row]:
    spec, restated, crosswalks = sides.spec, sides.restated, sides.crosswalks
    skip, doubled = sides.skip, sides.doubled
    lookups = [r for r in restated if r.field.lookup is not None]
    reads = [tuple(r.source_columns()) for r in restated]
    memos = [
        None if r.field.lookup is not None else Memo(partial(_restated, r, crosswalks))
        for r in restated
    ]
    tests = tuple(filter_columns(spec))
    drops = Memo(partial(first_rule, spec)) if tests else None
    stream = records()
    aside = doubled.source.collect()
    while part := list(islice(stream, PART)):
        block = [(key_string([r.get(c) for c in spec.source.key]), r) for r in part]
        block = [(k, r) for k, r in block if k not in skip or k in doubled.keys]
        keys = _erp_keys(sides.st, lookups, [record for _, record in block])
        for key, record in block:
            texts = tuple(
                _compared(r, r.source(record, crosswalks, keys))
                if memo is None
                else memo(tuple(map(record.get, cols)), record)
                for r, cols, memo in zip(restated, reads, memos, strict=True)
            )
            if drops is not None:
                texts += (drops(tuple(map(record.get, tests)), record),)
            if key not in skip:
                yield Row(key, (), (), texts)
            elif aside is not None:
                aside.setdefault(key, []).append(texts)
    doubled.source.commit(aside)


def _restated(r: Restated, crosswalks: Crosswalks, record: Mapping[str, object]) -> Canonical:
    """One column's value as compared, from a legacy row (not a lookup)."""
    return _compared(r, r.source(record, crosswalks))


def _staged(r: Restated, dialect: str, value: object) -> Canonical:
    return _compared(r, r.staged(value, dialect))


def _erp_keys(
    st: Staging, lookups: list[Restated], block: list[Mapping[str, object]]
) -> KeyLookup | None:
    """The ERP keys a block of legacy rows' lookups need, fetched at once from the key map."""
    if not lookups:
        return None
    asked: dict[tuple[str, str], set[str]] = {}
    for record in block:
        for r in lookups:
            w = wanted(r.field, r.system, record)
            if w is not None:
                asked.setdefault(w[:2], set()).add(w[2])
    found: dict[Wanted, int] = {}
    for (domain, system), legacy in asked.items():
        answers = erp_keys(st, domain, system, legacy)
        found.update(((domain, system, k), v) for k, v in answers.items())
    return lambda domain, system, legacy: found.get((domain, system, legacy))


def _staged_rows(sides: _Sides) -> Iterator[Row]:
    spec, restated, st, doubled = sides.spec, sides.restated, sides.st, sides.doubled
    q = st.engine.dialect.identifier_preparer.quote
    dialect = st.engine.dialect.name
    columns = "".join(f", {q(r.target)}" for r in restated)
    sql = text(
        f"SELECT {q('MIG_SOURCE_KEY')}{columns} "
        f"FROM {st.table(spec.target.table)} "
        f"WHERE {q('MIG_RUN_ID')} = :run AND {q('MIG_ENTITY')} = :entity"
    )
    drops: tuple[Canonical, ...] = (None,) if spec.source.filters else ()
    memos = [Memo(partial(_staged, r, dialect)) for r in restated]
    aside = doubled.staged.collect()
    with st.engine.connect() as conn:
        result = conn.execution_options(stream_results=True, max_row_buffer=PART).execute(
            sql, {"run": st.run_id, "entity": spec.entity}
        )
        for part in result.partitions(PART):
            for key, *values in part:
                texts = tuple(memo((v,), v) for memo, v in zip(memos, values, strict=True))
                if str(key) not in doubled.keys:
                    yield Row(str(key), (), (), texts + drops)
                elif aside is not None:
                    aside.setdefault(str(key), []).append(texts + drops)
    doubled.staged.commit(aside)


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
    them (``DATE`` as ``date``, ``NUMERIC`` as ``Decimal`` where the server holds it exactly;
    a float, and anything in a SQLite NUMERIC column, as stored)."""
    schema, _, table_name = name.rpartition(".")
    table = Table(table_name, MetaData(), schema=schema or None, autoload_with=engine)
    sqlite = engine.dialect.name == "sqlite"
    for col in table.columns:  # a float as stored: never rounded to a declared scale
        if isinstance(col.type, Float) and col.type.asdecimal:
            col.type = Float(asdecimal=False)  # MariaDB's DOUBLE reflects as a Decimal
        elif sqlite and isinstance(col.type, Numeric) and not isinstance(col.type, Float):
            col.type = NullType()  # SQLite's NUMERIC(10,2) may hold a REAL: read as stored
    stmt = select(*(table.c[c] for c in columns))
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, max_row_buffer=PART).execute(stmt)
        for part in result.partitions(PART):
            for row in part:
                yield dict(zip(columns, row, strict=True))
