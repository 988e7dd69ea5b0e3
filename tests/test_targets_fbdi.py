"""FBDI layouts → target definitions: every column, position and hint carried; and the
differences between the generated definitions and today's shipped Python tables, listed.

The layout CSVs are read here with Python's ``csv`` alone (never through the importer), so
a column the importer drops, renumbers or retypes is caught.
"""

from __future__ import annotations

import argparse
import csv
import os
import re
from pathlib import Path

import pytest
from sqlalchemy import Table

from cli.targets import add_parsers
from migrate.config import Settings
from migrate.staging.tables import LINEAGE_COLUMNS, build_metadata
from migrate.targets.definition import TableDef
from migrate.targets.loader import load_targets
from migrate.targets.typesig import signature

pytestmark = pytest.mark.realdata

SHIPPED = (
    "AP_INVOICES_INTERFACE",
    "AP_INVOICE_LINES_INTERFACE",
    "GL_INTERFACE",
    "PO_HEADERS_INTERFACE",
    "PO_LINES_INTERFACE",
)
KEYS = {
    t.name: list(t.info["target_key"])
    for t in build_metadata().tables.values()
    if t.name in SHIPPED
}
GOLDEN = Path(__file__).parent / "data" / "targets_fbdi_vs_shipped.txt"


def layouts(realdata: Path) -> Path:
    return realdata / "erp_target_schemas" / "oracle_fusion_interface"


def run(argv: list[str], tmp_path: Path) -> int:
    parser = argparse.ArgumentParser()
    add_parsers(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    settings = Settings(urls={"staging": f"sqlite:///{tmp_path / 'staging.db'}"}, workdir=tmp_path)
    return int(args.handler(args, settings))


@pytest.fixture(scope="module")
def imported(realdata: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, TableDef]:
    out = tmp_path_factory.mktemp("fbdi") / "targets"
    keys = [f"--key={t}={','.join(k)}" for t, k in KEYS.items()]
    tmp = out.parent
    assert (
        run(["targets", "import-fbdi", str(layouts(realdata)), "--out", str(out), *keys], tmp) == 0
    )
    return {name: loaded.table for name, loaded in load_targets(out).items()}


def test_every_layout_becomes_one_definition(imported: dict[str, TableDef]) -> None:
    assert sorted(imported) == sorted(SHIPPED)


@pytest.mark.parametrize("table", SHIPPED)
def test_every_column_position_and_hint_is_carried(
    realdata: Path, imported: dict[str, TableDef], table: str
) -> None:
    with (layouts(realdata) / f"{table}.columns.csv").open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    definition = imported[table]
    in_file = [r for r in rows if r["csv_position"]]
    assert list(definition.columns) == [r["column_name"] for r in in_file]
    assert definition.layout is not None
    assert definition.layout.loader_columns == [
        r["column_name"] for r in rows if not r["csv_position"]
    ]
    for row in in_file:
        col = definition.columns[row["column_name"]]
        hint = row["load_transform_or_char_hint"]
        assert col.position == int(row["csv_position"])
        assert col.hint == (hint or None)
        assert col.required == (row["required"] == "Y" or row["column_name"] in KEYS[table])
        char = re.fullmatch(r"char\((\d+)\)", hint)
        if row["oracle_type"] == "VARCHAR2":
            assert (col.type, col.length) == ("text", int(row["length_or_precision"]))
        elif row["oracle_type"] == "DATE" or hint.startswith("date YYYY/MM/DD"):
            assert (col.type, col.format) == ("date", "YYYY/MM/DD")
        elif row["oracle_type"] == "NUMBER" or hint.startswith("number"):
            size = row["length_or_precision"]
            assert (col.type, col.precision) == ("decimal", int(size) if size else None)
        elif hint.startswith("timestamp"):
            assert (col.type, col.format) == ("timestamp", "YYYY/MM/DD HH24:MI:SS:FF")
        elif char:
            assert (col.type, col.length) == ("text", int(char.group(1)))
        else:  # the layout says nothing of the type: text, no length claimed
            assert (col.type, col.length) == ("text", None)


def differences(defined: TableDef, shipped: Table) -> list[str]:
    """Every way the generated definition and the shipped table differ, one line each."""
    from migrate.targets.build import column_type

    out: list[str] = []
    name = shipped.name
    ours = [c for c in shipped.columns if c.name not in LINEAGE_COLUMNS]
    for col in ours:
        if col.name not in defined.columns:
            out.append(f"{name}.{col.name}: shipped, not in the layout")
    for cname, cdef in defined.columns.items():
        if cname not in shipped.c:
            continue
        col = shipped.c[cname]
        have = "money" if type(col.type).__name__ == "Money" else str(signature(col.type))
        want = str(signature(column_type(cdef)))
        if have != want:
            out.append(f"{name}.{cname}: type: layout {want}, shipped {have}")
        if cdef.required != (not col.nullable):
            said = "required" if cdef.required else "optional"
            shipped_said = "optional" if col.nullable else "required"
            out.append(f"{name}.{cname}: layout {said}, shipped {shipped_said}")
    missing = [c for c in defined.columns if c not in shipped.c]
    out.append(f"{name}: {len(missing)} layout column(s) not shipped")
    return out


def test_generated_definitions_vs_shipped_tables(imported: dict[str, TableDef]) -> None:
    """The list that decides how the shipped pack is replaced: kept in a golden file, so a
    change to either side shows up here."""
    md = build_metadata()
    lines = [line for t in SHIPPED for line in differences(imported[t], md.tables[t])]
    text = "\n".join(lines) + "\n"
    if os.environ.get("MIGRATE_UPDATE_GOLDEN") == "1":
        GOLDEN.write_text(text, encoding="utf-8")
    assert text == GOLDEN.read_text(encoding="utf-8"), "MIGRATE_UPDATE_GOLDEN=1 rewrites it"
