"""Read a table a DBA created into a target definition (SQLite, PostgreSQL, MariaDB).

Only reads (through a read-only engine). The tool's own lineage columns are left out (the
builder adds them back); the key is the table's ``uq_<table>_key`` constraint, else its
primary key, else its only unique constraint. What a definition cannot declare (a float,
a blob) is refused with the column named; what reflection cannot tell apart (money kept as
cents in a SQLite ``BIGINT``) is said in a note, never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy import inspect
from sqlalchemy.engine import Engine

from migrate.errors import ConfigError
from migrate.staging.tables import LINEAGE_COLUMNS
from migrate.targets.definition import ColumnDef, IndexDef, TableDef, table_problems
from migrate.targets.typesig import Signature, signature

_DECLARABLE = {"text", "integer", "bigint", "decimal", "date", "timestamp", "boolean"}


@dataclass(frozen=True)
class Reflected:
    """The definition read from the live table, and what the reader should know about it."""

    table: TableDef
    notes: list[str] = field(default_factory=list)


def reflect_table(engine: Engine, name: str, schema: str | None = None) -> Reflected:
    """The live table ``name`` as a definition; :class:`ConfigError` if it cannot be one."""
    found = inspect(engine)
    actual = _actual_name(found.get_table_names(schema=schema), name)
    if actual is None:
        where = f" in schema {schema}" if schema else ""
        raise ConfigError(f"staging has no table {name!r}{where}")
    dialect = engine.dialect.name
    notes: list[str] = []
    columns: dict[str, ColumnDef] = {}
    bad: list[str] = []
    for col in found.get_columns(actual, schema=schema):
        if col["name"] in LINEAGE_COLUMNS:
            continue
        sig = signature(col["type"])
        if sig.kind not in _DECLARABLE:
            bad.append(f"{col['name']} ({col['type']})")
            continue
        columns[col["name"]] = _column(sig, col)
        if dialect == "sqlite" and sig.kind == "bigint":
            notes.append(
                f"{col['name']}: SQLite keeps money as integer cents in a BIGINT; "
                "declare `type: money` if the column holds amounts"
            )
    if bad:
        raise ConfigError(
            f"{actual}: a target definition cannot declare {', '.join(bad)} (it declares "
            "text, money, integer, bigint, decimal, date, timestamp without time zone and "
            "boolean; a float is never exact): change the column's type"
        )
    key, key_note = _key(found, actual, schema)
    notes.extend(key_note)
    try:
        table = TableDef(
            table=actual,
            key=key,
            columns=columns,
            indexes=_indexes(found, actual, schema, key),
            description=_comment(found, actual, schema),
        )
    except ValidationError as exc:
        problems = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
        raise ConfigError(f"{actual}: cannot be a target definition: {problems}") from None
    notes.extend(f"{'.'.join(map(str, p))}: {m}" for p, m in table_problems(table))
    return Reflected(table, notes)


def _actual_name(names: list[str], wanted: str) -> str | None:
    if wanted in names:
        return wanted
    folded = [n for n in names if n.lower() == wanted.lower()]
    return folded[0] if len(folded) == 1 else None


def _column(sig: Signature, col: Any) -> ColumnDef:
    spec: dict[str, Any] = {"type": sig.kind, "required": not col["nullable"]}
    if sig.kind == "text" and sig.length:
        spec["length"] = sig.length
    if sig.kind == "decimal":
        if sig.scale == 2 and sig.precision is not None and sig.precision <= 18:
            spec["type"] = "money"  # this tool's money: NUMERIC(p, 2)
            if sig.precision != 18:
                spec["precision"] = sig.precision
        elif sig.precision is not None:
            spec.update(precision=sig.precision, scale=sig.scale)
    if col.get("comment"):
        spec["description"] = col["comment"]
    return ColumnDef.model_validate(spec)


def _key(found: Any, table: str, schema: str | None) -> tuple[list[str], list[str]]:
    uniques = found.get_unique_constraints(table, schema=schema)
    uniques += [i for i in found.get_indexes(table, schema=schema) if i.get("unique")]
    own = [u for u in uniques if (u.get("name") or "").lower() == f"uq_{table.lower()}_key"]
    if own:
        return list(own[0]["column_names"]), []
    pk = found.get_pk_constraint(table, schema=schema).get("constrained_columns") or []
    if pk:
        return list(pk), []
    distinct = {tuple(u["column_names"]) for u in uniques}
    if len(distinct) == 1:
        return list(next(iter(distinct))), []
    return [], [
        f"{table}: no primary key or single unique constraint names the target key; "
        "set `key:` to the columns that identify a row"
    ]


def _indexes(found: Any, table: str, schema: str | None, key: list[str]) -> list[IndexDef]:
    out: dict[tuple[str, ...], IndexDef] = {}
    uniques = [{**u, "unique": True} for u in found.get_unique_constraints(table, schema=schema)]
    for ix in [*uniques, *found.get_indexes(table, schema=schema)]:
        cols = tuple(ix["column_names"])
        if cols == tuple(key) or any(c in LINEAGE_COLUMNS for c in cols) or cols in out:
            continue
        out[cols] = IndexDef(name=ix.get("name"), columns=list(cols), unique=bool(ix["unique"]))
    return list(out.values())


def _comment(found: Any, table: str, schema: str | None) -> str | None:
    try:
        text = found.get_table_comment(table, schema=schema).get("text")
    except NotImplementedError:  # SQLite keeps no comments
        return None
    return str(text) if text else None
