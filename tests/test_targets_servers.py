"""Reflect → build round trip and the drift check, on SQLite, PostgreSQL and MariaDB.

Each test makes its own database (``pg_url``, ``mysql_url``: created and dropped by the
fixtures in conftest) or SQLite file. The live tables are made by SQLAlchemy from a
"DBA's version" of a definition, then the definition is checked against them.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    inspect,
)
from sqlalchemy.engine import Engine
from sqlalchemy.schema import CreateIndex, CreateTable

from cli.targets import add_parsers
from migrate.config import Settings
from migrate.errors import ConfigError
from migrate.staging.tables import LINEAGE_COLUMNS
from migrate.targets.build import build_table
from migrate.targets.definition import TableDef
from migrate.targets.drift import check_drift
from migrate.targets.loader import LoadedTable, load_definition
from migrate.targets.reflect import reflect_table
from migrate.targets.typesig import stored_signature
from migrate.targets.write import to_yaml

pytestmark = pytest.mark.db

EVERY_TYPE = """\
table: DEPARTMENTS
description: the department master
key: [DEPARTMENT_CODE]
columns:
  DEPARTMENT_CODE: {type: text, length: 30, required: true, description: the code}
  NAME: {type: text, length: 240, required: true}
  NOTES: {type: text}
  BUDGET: {type: money}
  PETTY_CASH: {type: money, precision: 12}
  HEADCOUNT: {type: integer}
  COST_CENTER_ID: {type: bigint}
  FTE: {type: decimal, precision: 10, scale: 3}
  OPENED: {type: date, format: YYYY/MM/DD}
  UPDATED_AT: {type: timestamp}
  ACTIVE: {type: boolean, required: true}
indexes:
  - {columns: [NAME]}
  - {name: ix_departments_cc, columns: [COST_CENTER_ID, NAME], unique: true}
"""

DRIFT = """\
table: DEPARTMENTS
key: [DEPARTMENT_CODE]
columns:
  DEPARTMENT_CODE: {type: text, length: 30, required: true}
  NAME: {type: text, length: 240, required: true}
  HEADCOUNT: {type: integer}
  OPENED: {type: date}
"""
# the DBA's table: NAME shortened to 100, HEADCOUNT retyped to text, OPENED left out,
# EXTRA added
DBA = (
    DRIFT.replace("length: 240", "length: 100")
    .replace("HEADCOUNT: {type: integer}", "HEADCOUNT: {type: text, length: 10}")
    .replace("  OPENED: {type: date}\n", "  EXTRA: {type: text, length: 5}\n")
)


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'staging.db'}"
    else:
        url = request.getfixturevalue("pg_url" if request.param == "postgresql" else "mysql_url")
    eng = create_engine(url)
    try:
        yield eng
    finally:
        eng.dispose()


def load(tmp_path: Path, text: str, name: str = "departments.yaml") -> LoadedTable:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    [loaded] = load_definition(path, name)
    return loaded


def create(engine: Engine, table: TableDef) -> Table:
    md = MetaData()
    built = build_table(md, table)
    md.create_all(engine)
    return built


def ddl(table: Table, engine: Engine) -> list[str]:
    indexes = sorted(table.indexes, key=lambda i: str(i.name))
    return [str(CreateTable(table).compile(engine)).strip()] + [
        str(CreateIndex(ix).compile(engine)) for ix in indexes
    ]


def test_reflect_then_build_gives_back_the_table(engine: Engine, tmp_path: Path) -> None:
    declared = load(tmp_path, EVERY_TYPE)
    original = create(engine, declared.table)
    reflected = reflect_table(engine, "departments")
    # written and read back as YAML, as `migrate targets reflect --out` does
    again = load(tmp_path, to_yaml(reflected.table, "reflected"), "reflected.yaml").table
    rebuilt = build_table(MetaData(), again)
    for col in original.columns:
        other = rebuilt.c[col.name]
        assert stored_signature(other.type, engine.dialect) == stored_signature(
            col.type, engine.dialect
        ), col.name
        assert other.nullable == col.nullable, col.name
    assert [c.name for c in rebuilt.columns] == [c.name for c in original.columns]
    assert again.key == ["DEPARTMENT_CODE"]
    assert [(i.columns, i.unique) for i in again.indexes] == [
        (["NAME"], False),
        (["COST_CENTER_ID", "NAME"], True),
    ] or sorted((tuple(i.columns), i.unique) for i in again.indexes) == [
        (("COST_CENTER_ID", "NAME"), True),
        (("NAME",), False),
    ]
    assert check_drift(engine, LoadedTable(again, "reflected.yaml", declared.text)) == []
    assert check_drift(engine, declared) == []
    if engine.dialect.name == "sqlite":  # money is cents in a BIGINT: said, not guessed
        assert again.columns["BUDGET"].type == "bigint"
        assert any(n.startswith("BUDGET: SQLite keeps money") for n in reflected.notes)
    else:
        assert again.columns["BUDGET"].type == "money"
        assert again.columns["PETTY_CASH"].precision == 12
        assert again.description == "the department master"
        assert again.columns["DEPARTMENT_CODE"].description == "the code"
        assert ddl(rebuilt, engine) == ddl(original, engine)


def test_reflect_refuses_a_float_and_an_unknown_table(engine: Engine) -> None:
    md = MetaData()
    from sqlalchemy import Float

    Table("RATES", md, Column("CODE", String(3), primary_key=True), Column("RATE", Float))
    md.create_all(engine)
    with pytest.raises(ConfigError, match=r"cannot declare RATE \("):
        reflect_table(engine, "RATES")
    with pytest.raises(ConfigError, match="staging has no table 'NOPE'"):
        reflect_table(engine, "NOPE")


def expected_drift(dialect: str) -> list[tuple[str, str, str]]:
    q = "`" if dialect == "mysql" else '"'
    t = f"{q}DEPARTMENTS{q}"
    added = f"ALTER TABLE {t} ADD COLUMN {q}OPENED{q} DATE;"
    removed = f"ALTER TABLE {t} DROP COLUMN {q}EXTRA{q};"
    if dialect == "postgresql":
        retyped = (
            f'ALTER TABLE {t} ALTER COLUMN "HEADCOUNT" TYPE INTEGER USING "HEADCOUNT"::INTEGER;'
        )
        shortened = f'ALTER TABLE {t} ALTER COLUMN "NAME" TYPE VARCHAR(240);'
    elif dialect == "mysql":
        retyped = f"ALTER TABLE {t} MODIFY COLUMN `HEADCOUNT` INTEGER;"
        shortened = f"ALTER TABLE {t} MODIFY COLUMN `NAME` VARCHAR(240) NOT NULL;"
    else:
        retyped = shortened = "-- SQLite cannot change a column in place: rebuild DEPARTMENTS"
    return [
        ("shortened", "departments.yaml:5 columns.NAME.length: column NAME is text(240) in "
         "the definition but text(100) in the live table", shortened),
        ("retyped", "departments.yaml:6 columns.HEADCOUNT.type: column HEADCOUNT is integer in "
         "the definition but text(10) in the live table", retyped),
        ("added", "departments.yaml:7 columns.OPENED: column OPENED is declared but not in the "
         "live table", added),
        ("removed", "departments.yaml:3 columns: the live table has column EXTRA, which the "
         "definition does not declare", removed),
    ]  # fmt: skip


def test_drift_added_removed_retyped_shortened(engine: Engine, tmp_path: Path) -> None:
    create(engine, load(tmp_path, DBA, "dba.yaml").table)
    before = inspect(engine).get_columns("DEPARTMENTS")
    drifts = check_drift(engine, load(tmp_path, DRIFT))
    got = [(d.kind, f"{d.location}: {d.message}", d.ddl) for d in drifts]
    want = expected_drift(engine.dialect.name)
    assert [g[:2] for g in got[:4]] == [w[:2] for w in want]
    for (_, _, ddl_got), (_, _, ddl_want) in zip(got[:4], want, strict=True):
        assert ddl_got.startswith(ddl_want), (ddl_got, ddl_want)
    # the DBA's twin differs the same way: each said, with its own DDL
    twin = "MIG_REPLACED_DEPARTMENTS (where a delta run keeps the rows it replaces): "
    assert [(k, m.replace(twin, "")) for k, m, _ in got[4:]] == [w[:2] for w in want]
    assert all(twin in m and "MIG_REPLACED_DEPARTMENTS" in d for _, m, d in got[4:])
    if engine.dialect.name == "sqlite":
        assert '"NAME" VARCHAR(240) NOT NULL' in got[0][2]
    inspect(engine).clear_cache()
    assert [(c["name"], str(c["type"])) for c in inspect(engine).get_columns("DEPARTMENTS")] == [
        (c["name"], str(c["type"])) for c in before
    ]  # nothing was altered


def test_drift_required_flag_key_constraint_and_lineage(engine: Engine, tmp_path: Path) -> None:
    """A DBA's table without the key's unique constraint, with NAME nullable and no
    MIG_SOURCE_HASH: each is reported, the lineage column at the table's line."""
    md = MetaData()
    lineage = [c for c in LINEAGE_COLUMNS if c != "MIG_SOURCE_HASH"]
    Table(
        "DEPARTMENTS",
        md,
        Column("DEPARTMENT_CODE", String(30), nullable=False),
        Column("NAME", String(240), nullable=True),
        Column("HEADCOUNT", Integer),
        *[Column(c, Integer if c == "MIG_BATCH_ID" else String(36 if c == "MIG_RUN_ID" else 200))
          for c in lineage],
    )  # fmt: skip
    md.create_all(engine)
    drifts = check_drift(engine, load(tmp_path, DRIFT.replace("  OPENED: {type: date}\n", "")))
    kinds = [(d.kind, str(d.location)) for d in drifts]
    assert ("required", "departments.yaml:5 columns.NAME.required") in kinds
    assert ("added", "departments.yaml:1 table") in kinds  # MIG_SOURCE_HASH
    assert ("no key", "departments.yaml:2 key") in kinds
    key_ddl = next(d.ddl for d in drifts if d.kind == "no key")
    name_ddl = next(d.ddl for d in drifts if d.kind == "required")
    if engine.dialect.name == "sqlite":
        assert key_ddl == (
            'CREATE UNIQUE INDEX uq_departments_key ON "DEPARTMENTS" ("DEPARTMENT_CODE");'
        )
    elif engine.dialect.name == "postgresql":
        assert key_ddl == 'ALTER TABLE "DEPARTMENTS" ADD CONSTRAINT uq_departments_key ' \
            'UNIQUE ("DEPARTMENT_CODE");'  # fmt: skip
        assert name_ddl == 'ALTER TABLE "DEPARTMENTS" ALTER COLUMN "NAME" SET NOT NULL;'
    else:
        assert key_ddl == "ALTER TABLE `DEPARTMENTS` ADD CONSTRAINT uq_departments_key " \
            "UNIQUE (`DEPARTMENT_CODE`);"  # fmt: skip
        assert name_ddl == "ALTER TABLE `DEPARTMENTS` MODIFY COLUMN `NAME` VARCHAR(240) NOT NULL;"


def run(argv: list[str], settings: Settings) -> int:
    parser = argparse.ArgumentParser()
    add_parsers(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.handler(args, settings))


def test_commands_reflect_then_check(
    engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[Any]
) -> None:
    create(engine, load(tmp_path, EVERY_TYPE).table)
    settings = Settings(urls={"staging": engine.url.render_as_string(hide_password=False)},
                        workdir=tmp_path)  # fmt: skip
    folder = tmp_path / "targets"
    assert run(["targets", "reflect", "departments", "--out", f"{folder}/"], settings) == 0
    assert (folder / "departments.yaml").exists()
    assert run(["targets", "check", str(folder)], settings) == 0
    assert "1 target definition(s) match staging" in capsys.readouterr().out
    text = (folder / "departments.yaml").read_text(encoding="utf-8")
    (folder / "departments.yaml").write_text(
        text.replace("length: 240", "length: 300"), encoding="utf-8"
    )
    assert run(["targets", "check", str(folder)], settings) == 1
    out = capsys.readouterr().out
    line = text.splitlines().index(next(t for t in text.splitlines() if t.startswith("  NAME:")))
    assert f"targets/departments.yaml:{line + 1} columns.NAME.length: column NAME is text(300) " \
        "in the definition but text(240) in the live table" in out  # fmt: skip
    assert "nothing altered" in out


def test_postgresql_staging_schema(pg_url: str, tmp_path: Path) -> None:
    """Reflect and check read the configured staging schema, not ``public``."""
    engine = create_engine(pg_url)
    with engine.begin() as conn:
        conn.exec_driver_sql('CREATE SCHEMA "stg"')
    md = MetaData(schema="stg")
    build_table(md, load(tmp_path, DRIFT).table)
    md.create_all(engine)
    assert reflect_table(engine, "DEPARTMENTS", "stg").table.key == ["DEPARTMENT_CODE"]
    with pytest.raises(ConfigError, match="no table 'DEPARTMENTS'"):
        reflect_table(engine, "DEPARTMENTS")
    assert check_drift(engine, load(tmp_path, DRIFT), "stg") == []
    missing = check_drift(engine, load(tmp_path, DRIFT))
    assert [(d.kind, d.table) for d in missing] == [
        ("missing table", "DEPARTMENTS"),
        ("missing table", "MIG_REPLACED_DEPARTMENTS"),
    ]
    engine.dispose()


def test_a_time_zone_is_a_different_type(pg_url: str, tmp_path: Path) -> None:
    """A live ``TIMESTAMP WITH TIME ZONE`` is not the definition's timestamp: said, with the
    DDL; and reflection refuses it rather than dropping the zone silently."""
    engine = create_engine(pg_url)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            'CREATE TABLE "EVENTS" ("ID" BIGINT NOT NULL, "AT" TIMESTAMP WITH TIME ZONE, '
            'CONSTRAINT uq_events_key UNIQUE ("ID"))'
        )
    text = "table: EVENTS\nkey: [ID]\ncolumns:\n  ID: {type: bigint, required: true}\n" \
        "  AT: {type: timestamp}\n"  # fmt: skip
    drifts = [
        d for d in check_drift(engine, load(tmp_path, text, "events.yaml")) if d.table == "EVENTS"
    ]
    assert [(str(d.location), d.message, d.ddl) for d in drifts if d.column == "AT"] == [
        ("events.yaml:5 columns.AT.type", "column AT is timestamp in the definition but "
         "timestamp with time zone in the live table", 'ALTER TABLE "EVENTS" ALTER COLUMN "AT" '
         'TYPE TIMESTAMP WITHOUT TIME ZONE USING "AT"::TIMESTAMP WITHOUT TIME ZONE;'),
    ]  # fmt: skip
    with pytest.raises(ConfigError, match="cannot declare AT"):
        reflect_table(engine, "EVENTS")
    engine.dispose()
