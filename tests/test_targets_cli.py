"""``migrate targets ...`` through its own parser (``add_parsers``), offline on SQLite."""

from __future__ import annotations

import argparse
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import MetaData, create_engine, select

from cli.targets import add_parsers
from migrate.config import Settings
from migrate.errors import ConfigError
from migrate.targets.build import build_table
from migrate.targets.definition import ColumnDef, TableDef

GOOD = """\
table: DEPARTMENTS
key: [DEPARTMENT_CODE]
columns:
  DEPARTMENT_CODE: {type: text, length: 30, required: true}
  NAME: {type: text, length: 240, required: true}
"""

LAYOUT = """\
table,csv_position,column_name,load_transform_or_char_hint,oracle_type,length_or_precision,required
XX_INTERFACE,1,ID,,,,
XX_INTERFACE,2,AMOUNT,number (decimal char normalised),,,
XX_INTERFACE,,CREATED_BY,"set by loader (constant/expression/sequence), not in CSV",,,
"""


def run(argv: list[str], tmp_path: Path) -> int:
    parser = argparse.ArgumentParser()
    add_parsers(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    settings = Settings(urls={"staging": f"sqlite:///{tmp_path / 'staging.db'}"}, workdir=tmp_path)
    return int(args.handler(args, settings))


def test_check_offline_lists_every_problem_at_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[Any]
) -> None:
    folder = tmp_path / "targets"
    folder.mkdir()
    (folder / "a.yaml").write_text(GOOD.replace("length: 240", "lenght: 240"), encoding="utf-8")
    (folder / "b.yaml").write_text(GOOD.replace("DEPARTMENTS", "JOBS").replace("[DEPARTMENT_CODE]",
                                   "[CODE]"), encoding="utf-8")  # fmt: skip
    assert run(["targets", "check", str(folder), "--offline"], tmp_path) == 1
    assert capsys.readouterr().out.splitlines() == [
        "targets/a.yaml:5 columns.NAME.lenght: unknown key 'lenght' (did you mean 'length'?)",
        "targets/b.yaml:2 key.0: unknown column 'CODE'",
        "2 problem(s) in the target definitions",
    ]


def test_check_against_an_absent_sqlite_staging_reports_the_missing_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[Any]
) -> None:
    folder = tmp_path / "targets"
    folder.mkdir()
    (folder / "departments.yaml").write_text(GOOD, encoding="utf-8")
    assert run(["targets", "check", str(folder), "--offline"], tmp_path) == 0
    assert run(["targets", "check", str(folder)], tmp_path) == 1
    out = capsys.readouterr().out
    assert "targets/departments.yaml:1 table: staging has no table DEPARTMENTS" in out
    assert 'CREATE TABLE "DEPARTMENTS"' in out
    assert not (tmp_path / "staging.db").exists()  # read only: nothing created


def test_check_defaults_to_targets_beside_the_mappings(tmp_path: Path) -> None:
    (tmp_path / "targets").mkdir()
    (tmp_path / "targets" / "d.yaml").write_text(GOOD, encoding="utf-8")
    parser = argparse.ArgumentParser()
    parser.add_argument("--mappings", default=str(tmp_path / "mappings"))
    add_parsers(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["targets", "check", "--offline"])
    assert args.handler(args, Settings(urls={}, workdir=tmp_path)) == 0


def test_import_fbdi_says_which_tables_need_a_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[Any]
) -> None:
    layouts = tmp_path / "layouts"
    layouts.mkdir()
    (layouts / "XX_INTERFACE.columns.csv").write_text(LAYOUT, encoding="utf-8")
    out = tmp_path / "targets"
    assert run(["targets", "import-fbdi", str(layouts), "--out", str(out)], tmp_path) == 0
    printed = capsys.readouterr().out
    assert "targets/xx_interface.yaml:3 key: a target needs a key" in printed
    assert "1 need a key" in printed
    text = (out / "xx_interface.yaml").read_text(encoding="utf-8")
    assert "  AMOUNT: {type: decimal, position: 2, hint: number (decimal char normalised)}" in text
    assert run(["targets", "import-fbdi", str(layouts), "--out", str(out), "--key",
                "XX_INTERFACE=ID"], tmp_path) == 0  # fmt: skip
    assert "ID: {type: text, required: true, position: 1, description: 'the target key" in (
        out / "xx_interface.yaml"
    ).read_text(encoding="utf-8")
    assert run(["targets", "check", str(out), "--offline"], tmp_path) == 0


def test_import_fbdi_refuses_a_key_column_the_layout_lacks(tmp_path: Path) -> None:
    layouts = tmp_path / "layouts"
    layouts.mkdir()
    (layouts / "XX_INTERFACE.columns.csv").write_text(LAYOUT, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"key column 'IDD' is not in the layout \(did you mean"):
        run(["targets", "import-fbdi", str(layouts), "--out", str(tmp_path / "t"), "--key",
             "XX_INTERFACE=IDD"], tmp_path)  # fmt: skip
    with pytest.raises(SystemExit):
        run(["targets", "import-fbdi", str(layouts), "--out", "x", "--key", "XX"], tmp_path)


def test_a_decimal_stays_exact_on_sqlite(tmp_path: Path) -> None:
    """SQLite turns a NUMERIC with a fraction into a float; a declared decimal is stored as
    integer units of its scale (or as text when it has no precision) and read back exact."""
    table = TableDef(
        table="RATES",
        key=["CODE"],
        columns={
            "CODE": ColumnDef(type="text", length=3, required=True),
            "RATE": ColumnDef(type="decimal", precision=12, scale=6),
            "ANY": ColumnDef(type="decimal"),
        },
    )
    md = MetaData()
    built = build_table(md, table)
    engine = create_engine(f"sqlite:///{tmp_path / 's.db'}")
    md.create_all(engine)
    lineage = {c: "x" for c in ("MIG_RUN_ID", "MIG_ENTITY", "MIG_SOURCE_SYSTEM",
                                "MIG_SOURCE_KEY", "MIG_SOURCE_HASH")}  # fmt: skip
    row = {"CODE": "EUR", "RATE": Decimal("1.100001"), "ANY": Decimal("0.1000000000000000000007")}
    with engine.begin() as conn:
        conn.execute(built.insert(), [{**row, **lineage, "MIG_BATCH_ID": 1}])
        back = conn.execute(select(built.c.RATE, built.c.ANY)).one()
        raw = conn.exec_driver_sql('SELECT typeof("RATE"), typeof("ANY") FROM "RATES"').one()
    assert (back.RATE, back.ANY) == (row["RATE"], row["ANY"])
    assert tuple(raw) == ("integer", "text")
    engine.dispose()


def test_through_the_main_command_line_once_wired(
    tmp_path: Path, capsys: pytest.CaptureFixture[Any]
) -> None:
    """``migrate targets ...`` through :func:`cli.main.main` (the lead adds the two lines
    that call :func:`add_parsers`)."""
    import cli.main

    sub = cli.main.build_parser()._subparsers
    assert sub is not None
    if "targets" not in sub._group_actions[0].choices:  # type: ignore[attr-defined]
        pytest.skip("cli/main.py does not call cli.targets.add_parsers yet")
    folder = tmp_path / "targets"
    folder.mkdir()
    (folder / "d.yaml").write_text(GOOD.replace("length: 30,", "lenght: 30,"), encoding="utf-8")
    code = cli.main.main(["--workdir", str(tmp_path), "targets", "check", str(folder)])
    assert code == 1
    assert "targets/d.yaml:4 columns.DEPARTMENT_CODE.lenght: unknown key" in capsys.readouterr().out


def test_bad_names_in_a_layout_or_a_live_table_are_one_line_errors(tmp_path: Path) -> None:
    layouts = tmp_path / "layouts"
    layouts.mkdir()
    (layouts / "MIG_X.columns.csv").write_text(LAYOUT.replace("XX_INTERFACE", "MIG_X"))
    with pytest.raises(ConfigError, match="MIG_X.columns.csv: table MIG_X: names starting MIG_"):
        run(["targets", "import-fbdi", str(layouts), "--out", str(tmp_path / "t")], tmp_path)
    engine = create_engine(f"sqlite:///{tmp_path / 'staging.db'}")
    with engine.begin() as conn:
        conn.exec_driver_sql('CREATE TABLE "MIG_OWN" ("A" VARCHAR(3) PRIMARY KEY)')
    engine.dispose()
    with pytest.raises(ConfigError, match="MIG_OWN: cannot be a target definition: table MIG_OWN"):
        run(["targets", "reflect", "MIG_OWN"], tmp_path)
