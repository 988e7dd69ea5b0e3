"""Where a target definition and the live staging table disagree, with the DDL to fix it.

Each difference (a column added to or removed from the definition, retyped, shortened or
lengthened, its required flag changed; the key's unique constraint or a declared index
missing; the whole table missing) is reported at the definition's ``file:line`` with the
statement a DBA would run on that dialect, compiled by SQLAlchemy. Nothing here writes:
the live table is read through a read-only engine and the DDL is only printed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, Index, MetaData, Table, UniqueConstraint, inspect
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.schema import AddConstraint, CreateColumn, CreateIndex, CreateTable

from migrate.errors import Location, SchemaMismatch
from migrate.staging.tables import LINEAGE_COLUMNS
from migrate.targets.build import build_table, index_name
from migrate.targets.loader import LoadedTable
from migrate.targets.typesig import signature, stored_signature


@dataclass(frozen=True)
class Drift:
    """One disagreement: where in the definition, what, and the DDL that would resolve it."""

    location: Location
    table: str
    column: str | None
    kind: str
    message: str
    ddl: str

    def __str__(self) -> str:
        ddl = "\n".join(f"    {line}" for line in self.ddl.splitlines())
        return f"{self.location}: {self.message}\n{ddl}"


def check_drift(engine: Engine, loaded: LoadedTable, schema: str | None = None) -> list[Drift]:
    """Every difference between one definition and its live table, then between the
    table's ``MIG_REPLACED_`` twin and the live twin (read only)."""
    md = MetaData(schema=schema)
    built = build_table(md, loaded.table)
    twin = next(t for t in md.tables.values() if t.info.get("replaces") == built.name)
    found = inspect(engine)
    out = _table_drift(loaded, built, found, engine.dialect, schema, "")
    if out and out[0].kind == "missing table":
        return out + _table_drift(loaded, twin, found, engine.dialect, schema, "")
    twin_note = f"{twin.name} (where a delta run keeps the rows it replaces): "
    return out + _table_drift(loaded, twin, found, engine.dialect, schema, twin_note)


def _table_drift(
    loaded: LoadedTable, built: Table, found: Any, dialect: Dialect, schema: str | None, note: str
) -> list[Drift]:
    """One table's differences; ``note`` prefixes each message (empty for the main table)."""
    if not found.has_table(built.name, schema=schema):
        create = ";\n".join(
            _sql(x, dialect) for x in (CreateTable(built), *map(CreateIndex, _indexes(built)))
        )
        msg = f"staging has no table {built.name}"
        where = loaded.locate("table")
        return [Drift(where, built.name, None, "missing table", msg, create + ";")]
    live = {c["name"]: c for c in found.get_columns(built.name, schema=schema)}
    ddl = _Ddl(built, dialect)
    out: list[Drift] = []
    for column in built.columns:
        where = _where(loaded, column.name)
        if column.name not in live:
            tool = " (a lineage column the tool adds)" if column.name in LINEAGE_COLUMNS else ""
            msg = f"{note}column {column.name}{tool} is declared but not in the live table"
            out.append(Drift(where, built.name, column.name, "added", msg, ddl.add(column)))
            continue
        out.extend(_compare(loaded, built, column, live[column.name], ddl, note))
    for name in live:
        if name not in built.c:
            msg = f"{note}the live table has column {name}, which the definition does not declare"
            drop = ddl.drop(name)
            out.append(Drift(loaded.locate("columns"), built.name, name, "removed", msg, drop))
    if not note:
        out.extend(_constraints(loaded, built, found, ddl, schema))
    return out


def _where(loaded: LoadedTable, column: str, attr: str | None = None) -> Location:
    if column not in loaded.table.columns:
        return loaded.locate("table")
    return loaded.locate("columns", column, *([attr] if attr else []))


def _compare(
    loaded: LoadedTable, built: Table, column: Column[Any], live: Any, ddl: _Ddl, note: str
) -> list[Drift]:
    want = stored_signature(column.type, ddl.dialect)
    have = signature(live["type"])
    name = column.name
    out: list[Drift] = []
    if (want.kind, want.precision, want.scale) != (have.kind, have.precision, have.scale):
        msg = f"{note}column {name} is {want} in the definition but {have} in the live table"
        attr = "type" if want.kind != have.kind else "precision"
        loc = _where(loaded, name, attr if name in loaded.table.columns else None)
        out.append(Drift(loc, built.name, name, "retyped", msg, ddl.alter(column, True)))
    elif want.length != have.length:
        shorter = have.length is not None and (want.length is None or have.length < want.length)
        kind = "shortened" if shorter else "lengthened"
        msg = f"{note}column {name} is {want} in the definition but {have} in the live table"
        out.append(
            Drift(_where(loaded, name, "length"), built.name, name, kind, msg, ddl.alter(column))
        )
    if bool(live["nullable"]) != column.nullable:
        said = "optional" if column.nullable else "required"
        live_said = "allows empty values" if live["nullable"] else "is NOT NULL"
        msg = f"{note}column {name} is {said} in the definition but the live table {live_said}"
        loc = _where(loaded, name, "required")
        out.append(Drift(loc, built.name, name, said, msg, ddl.nullability(column)))
    return out


def _constraints(
    loaded: LoadedTable, built: Table, found: Any, ddl: _Ddl, schema: str | None
) -> list[Drift]:
    uniques = found.get_unique_constraints(built.name, schema=schema)
    indexes = found.get_indexes(built.name, schema=schema)
    unique_sets = {frozenset(u["column_names"]) for u in uniques}
    unique_sets |= {frozenset(i["column_names"]) for i in indexes if i.get("unique")}
    out: list[Drift] = []
    key = tuple(loaded.table.key)
    if frozenset(key) not in unique_sets:
        msg = f"no unique constraint on the key ({', '.join(key)}): a re-run could duplicate rows"
        out.append(Drift(loaded.locate("key"), built.name, None, "no key", msg, ddl.key(key)))
    have = {(tuple(i["column_names"]), bool(i.get("unique"))) for i in indexes}
    have |= {(tuple(u["column_names"]), True) for u in uniques}
    for i, declared in enumerate(loaded.table.indexes):
        if (tuple(declared.columns), declared.unique) in have:
            continue
        index = next(ix for ix in built.indexes if ix.name == index_name(loaded.table, i))
        msg = f"index on ({', '.join(declared.columns)}) is declared but not in the live table"
        loc = loaded.locate("indexes", i)
        out.append(
            Drift(loc, built.name, None, "missing index", msg, _sql(index, ddl.dialect) + ";")
        )
    return out


def _indexes(table: Table) -> list[Index]:
    """Every index of the built table (declared and lineage), in a stable order."""
    return sorted(table.indexes, key=lambda ix: str(ix.name))


def _sql(element: Any, dialect: Dialect) -> str:
    return str(element.compile(dialect=dialect)).strip()


class _Ddl:
    """The statements a DBA would run, for one table on one dialect."""

    def __init__(self, table: Table, dialect: Dialect) -> None:
        self.table = table
        self.dialect = dialect
        self.q = dialect.identifier_preparer
        self.name = self.q.format_table(table)

    def add(self, column: Column[Any]) -> str:
        return f"ALTER TABLE {self.name} ADD COLUMN {_sql(CreateColumn(column), self.dialect)};"

    def drop(self, name: str) -> str:
        return f"ALTER TABLE {self.name} DROP COLUMN {self.q.quote(name)};"

    def alter(self, column: Column[Any], retype: bool = False) -> str:
        if self.dialect.name == "postgresql":
            col = self.q.format_column(column)
            kind = column.type.compile(dialect=self.dialect)
            using = f" USING {col}::{kind}" if retype else ""
            return f"ALTER TABLE {self.name} ALTER COLUMN {col} TYPE {kind}{using};"
        if self.dialect.name in ("mysql", "mariadb"):
            return (
                f"ALTER TABLE {self.name} MODIFY COLUMN {_sql(CreateColumn(column), self.dialect)};"
            )
        return self._rebuild()

    def nullability(self, column: Column[Any]) -> str:
        if self.dialect.name == "postgresql":
            change = "DROP NOT NULL" if column.nullable else "SET NOT NULL"
            col = self.q.format_column(column)
            return f"ALTER TABLE {self.name} ALTER COLUMN {col} {change};"
        return self.alter(column)

    def key(self, key: tuple[str, ...]) -> str:
        name = f"uq_{self.table.name.lower()}_key"
        if self.dialect.name == "sqlite":  # no ADD CONSTRAINT: a unique index does the same
            index = Index(name, *[self.table.c[k] for k in key], unique=True)
            return _sql(CreateIndex(index), self.dialect) + ";"
        constraint = next(
            c for c in self.table.constraints if isinstance(c, UniqueConstraint) and c.name == name
        )
        return _sql(AddConstraint(constraint), self.dialect) + ";"

    def _rebuild(self) -> str:
        create = _sql(CreateTable(self.table), self.dialect)
        return (
            f"-- SQLite cannot change a column in place: rebuild {self.table.name} "
            "(create it anew as below under another name, copy the rows, drop the old "
            "table, rename the new one)\n" + create + ";"
        )


def refuse_drift(url: str, targets: Mapping[str, LoadedTable], schema: str | None) -> None:
    """Stop a run before its first row when a declared table's live staging table differs
    from its definition (a table not there yet is created by the run, as ever): the tool
    never alters a table, so it says which statements a DBA would run."""
    if not targets:
        return
    from migrate.db import readonly_engine

    engine = readonly_engine(url)
    try:
        found = [d for t in targets.values() for d in check_drift(engine, t, schema)]
    finally:
        engine.dispose()
    found = [d for d in found if d.kind != "missing table"]
    if found:
        lines = "\n".join(str(d) for d in found)
        raise SchemaMismatch(
            f"staging differs from {len(found)} target definition line(s); nothing altered, "
            f"nothing staged (fix the definition or run the DDL shown):\n{lines}"
        )
