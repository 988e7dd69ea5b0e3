"""Target definitions: every mistake named at its file:line, and the builder adding the
tool's own columns so a definition of a shipped table builds that very table."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest
from sqlalchemy import MetaData, Table
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.schema import CreateIndex, CreateTable

from migrate.errors import SpecErrors
from migrate.staging.tables import LINEAGE_COLUMNS, build_metadata
from migrate.staging.types import Money
from migrate.targets.build import build_table
from migrate.targets.definition import ColumnDef, IndexDef, TableDef
from migrate.targets.loader import load_definition, load_targets

GOOD = """\
table: DEPARTMENTS
key: [DEPARTMENT_CODE]
columns:
  DEPARTMENT_CODE: {type: text, length: 30, required: true}
  NAME: {type: text, length: 240, required: true}
  BUDGET: {type: money}
  OPENED: {type: date, format: YYYY/MM/DD}
  STATUS: {type: text, length: 1, allowed: [A, I], default: A}
"""


def errors_of(tmp_path: Path, text: str, name: str = "dept.yaml") -> list[str]:
    path = tmp_path / name
    path.write_text(dedent(text), encoding="utf-8")
    with pytest.raises(SpecErrors) as exc:
        load_definition(path, name)
    return [str(e) for e in exc.value.errors]


def test_a_good_definition_loads(tmp_path: Path) -> None:
    (tmp_path / "dept.yaml").write_text(GOOD, encoding="utf-8")
    [loaded] = load_definition(tmp_path / "dept.yaml")
    assert loaded.table.key == ["DEPARTMENT_CODE"]
    assert loaded.table.columns["STATUS"].allowed == ["A", "I"]
    assert loaded.locate("columns", "BUDGET").line == 6


@pytest.mark.parametrize(
    ("replace", "by", "expected"),
    [
        ("length: 30,", "lenght: 30,", "dept.yaml:4 columns.DEPARTMENT_CODE.lenght: unknown key "
         "'lenght' (did you mean 'length'?)"),
        ("type: money", "type: mony", "dept.yaml:6 columns.BUDGET.type: unknown type 'mony' (did "
         "you mean 'money'?); one of text, money, integer, bigint, decimal, date, timestamp, "
         "boolean"),
        ("type: date,", "type: date, length: 10,", "dept.yaml:7 columns.OPENED: length does not "
         "apply to type date"),
        ("key: [DEPARTMENT_CODE]", "key: [DEPT_CODE]", "dept.yaml:2 key.0: unknown column "
         "'DEPT_CODE' (did you mean 'DEPARTMENT_CODE'?)"),
        ("length: 30, required: true", "length: 30", "dept.yaml:4 "
         "columns.DEPARTMENT_CODE.required: key column DEPARTMENT_CODE must be required"),
        ("{type: money}", "{type: money, scale: 3}", "dept.yaml:6 columns.BUDGET: money has "
         "scale 2 (the pipeline keeps amounts as integer cents); declare decimal for another "
         "scale"),
        ("default: A", "default: X", "dept.yaml:8 columns.STATUS: default 'X' is not one of "
         "the allowed values"),
        ("table: DEPARTMENTS", "table: DEPARTMENTS\ntabel: X", "dept.yaml:2 tabel: unknown "
         "key 'tabel' (did you mean 'table'?)"),
        ("  BUDGET: {type: money}", "  BUDGET: {type: money}\n  MIG_RUN_ID: {type: text}",
         "dept.yaml:7 columns.MIG_RUN_ID: MIG_RUN_ID is added by the tool: do not declare it"),
        ("  BUDGET: {type: money}", "  BUDGET: {type: money}\n  NAME: {type: text}",
         "dept.yaml:7 columns.NAME: duplicate key 'NAME' (first defined on line 5)"),
        ("key: [DEPARTMENT_CODE]\n", "", "dept.yaml:1 key: missing required key 'key'"),
        ("table: DEPARTMENTS", "table: MIG_DEPARTMENTS", "dept.yaml:1 table: table "
         "MIG_DEPARTMENTS: names starting MIG_ are the tool's own"),
        ("table: DEPARTMENTS", "table: " + "D" * 44, "dept.yaml:1 table: table name "
         f"'{'D' * 44}' is longer than 43 characters"),
        ("  NAME:", "  NA-ME:", "dept.yaml:5 columns.NA-ME: column name 'NA-ME' is not a "
         "plain SQL identifier"),
    ],
)  # fmt: skip
def test_each_mistake_is_named_at_its_line(
    tmp_path: Path, replace: str, by: str, expected: str
) -> None:
    assert replace in GOOD
    assert errors_of(tmp_path, GOOD.replace(replace, by, 1)) == [expected]


def test_key_column_not_required_points_at_its_required_flag(tmp_path: Path) -> None:
    text = GOOD.replace("length: 30, required: true", "length: 30, required: false")
    assert errors_of(tmp_path, text) == [
        "dept.yaml:4 columns.DEPARTMENT_CODE.required: key column DEPARTMENT_CODE must be required"
    ]


def test_an_object_file_locates_errors_inside_its_tables(tmp_path: Path) -> None:
    text = """\
    object: payables_invoice
    tables:
      - table: INV_HEADERS
        key: [ID]
        columns:
          ID: {type: bigint, required: true}
      - table: INV_LINES
        key: [ID, LINE]
        columns:
          ID: {type: bigint, required: true}
          LINE: {type: integr, required: true}
    """
    assert errors_of(tmp_path, text) == [
        "dept.yaml:11 tables.1.columns.LINE.type: unknown type 'integr' (did you mean "
        "'integer'?); one of text, money, integer, bigint, decimal, date, timestamp, boolean"
    ]


def test_a_table_declared_in_two_files_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "targets"
    folder.mkdir()
    (folder / "a.yaml").write_text(GOOD, encoding="utf-8")
    (folder / "b.yaml").write_text(GOOD.replace("DEPARTMENTS", "departments"), encoding="utf-8")
    with pytest.raises(SpecErrors) as exc:
        load_targets(folder)
    assert [str(e) for e in exc.value.errors] == [
        "targets/b.yaml:1 table: table departments is also declared at targets/a.yaml:1 table"
    ]


def test_the_builder_adds_lineage_key_constraint_and_replaced_twin(tmp_path: Path) -> None:
    (tmp_path / "dept.yaml").write_text(GOOD, encoding="utf-8")
    [loaded] = load_definition(tmp_path / "dept.yaml")
    md = MetaData()
    table = build_table(md, loaded.table)
    assert [c.name for c in table.columns][-len(LINEAGE_COLUMNS) :] == list(LINEAGE_COLUMNS)
    assert table.info["target_key"] == ("DEPARTMENT_CODE",)
    assert isinstance(table.c.BUDGET.type, Money)
    assert not table.c.DEPARTMENT_CODE.nullable and table.c.BUDGET.nullable
    assert "MIG_REPLACED_DEPARTMENTS" in md.tables


def as_definition(table: Table) -> TableDef:
    """A shipped table written as a definition (what the generated pack will declare)."""
    from migrate.targets.typesig import signature

    columns = {}
    for col in table.columns:
        if col.name in LINEAGE_COLUMNS:
            continue
        sig = signature(col.type)
        spec: dict[str, object] = {"type": sig.kind, "required": not col.nullable}
        if isinstance(col.type, Money):
            spec["type"] = "money"
        elif sig.kind == "text" and sig.length:
            spec["length"] = sig.length
        if col.comment:
            spec["description"] = col.comment
        columns[col.name] = ColumnDef.model_validate(spec)
    indexes = [
        IndexDef(name=ix.name, columns=[c.name for c in ix.columns], unique=bool(ix.unique))
        for ix in sorted(table.indexes, key=lambda i: str(i.name))
        if not any(c.name in LINEAGE_COLUMNS for c in ix.columns)
    ]
    return TableDef(
        table=table.name, key=list(table.info["target_key"]), columns=columns, indexes=indexes
    )


@pytest.mark.parametrize("dialect", [sqlite.dialect(), postgresql.dialect(), mysql.dialect()])
def test_a_definition_of_each_shipped_table_builds_the_same_ddl(dialect: object) -> None:
    shipped = build_metadata()
    targets = [t for t in shipped.tables.values() if "target_key" in t.info]
    assert len(targets) >= 15
    for table in targets:
        built_md = MetaData()
        built = build_table(built_md, as_definition(table))
        for ours, theirs in ((built, table), (built_md.tables["MIG_REPLACED_" + table.name],
                             shipped.tables["MIG_REPLACED_" + table.name])):  # fmt: skip
            assert ddl(ours, dialect) == ddl(theirs, dialect), ours.name


def ddl(table: Table, dialect: object) -> list[str]:
    indexes = sorted(table.indexes, key=lambda i: str(i.name))
    return [str(CreateTable(table).compile(dialect=dialect))] + [  # type: ignore[arg-type]
        str(CreateIndex(ix).compile(dialect=dialect))  # type: ignore[arg-type]
        for ix in indexes
    ]
