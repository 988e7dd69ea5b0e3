"""The shipped target pack: generated from a recipe and the vendor layouts, committed as data,
and the only place the shipped staging tables are declared.

The DDL those files build is held byte for byte by ``test_target_pack_ddl.py``; here: the
committed files are what the generator makes from the recipe and the real FBDI layouts, the
generator carries what a layout says and reports a recipe's mistakes at their line, and
``migrate targets build-pack`` writes, checks and never overwrites a hand-written file.
"""

from __future__ import annotations

import argparse
import ast
import csv
import hashlib
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cli.targets import add_parsers
from migrate.config import Settings
from migrate.errors import SpecErrors
from migrate.staging import catalog
from migrate.staging.lineage_columns import LINEAGE_COLUMNS
from migrate.staging.tables import build_metadata
from migrate.targets.loader import load_targets
from migrate.targets.pack import RECIPE, SHIPPED, shipped_pack
from migrate.targets.pack_generate import GENERATED, check_pack, generate

ROOT = Path(__file__).resolve().parents[1]
LAYOUT_HEADER = (
    "table,csv_position,column_name,load_transform_or_char_hint,oracle_type,"
    "length_or_precision,required\n"
)
SMALL_LAYOUT = LAYOUT_HEADER + (
    "XX_INTERFACE,1,XX_ID,,,,\n"
    "XX_INTERFACE,2,AMOUNT,number (decimal char normalised),,,\n"
    "XX_INTERFACE,3,TXN_DATE,date YYYY/MM/DD,,,\n"
    "XX_INTERFACE,4,NOTE,char(240),,,\n"
    "XX_INTERFACE,5,CODE,,VARCHAR2,30,Y\n"
    "XX_INTERFACE,,LOAD_REQUEST_ID,,,,\n"
)
SMALL_RECIPE = """\
pack: small
objects:
  - object: things
    file: things.yaml
    tables:
      - layout: XX_INTERFACE.columns.csv
        key: [XX_ID]
        columns:
          XX_ID: {type: bigint}
          AMOUNT: {type: money, required: true}
          TXN_DATE:
          NOTE: {description: free text}
          VENDOR_ID: {extra: true, type: bigint, required: true}
"""


def fbdi_layouts(realdata: Path) -> Path:
    return realdata / "erp_target_schemas" / "oracle_fusion_interface"


def run(argv: list[str], tmp_path: Path) -> int:
    parser = argparse.ArgumentParser()
    add_parsers(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.handler(args, Settings(urls={}, workdir=tmp_path)))


@pytest.fixture
def small(tmp_path: Path) -> tuple[Path, Path]:
    """A one-table layout folder and a recipe for it."""
    layouts = tmp_path / "layouts"
    layouts.mkdir()
    (layouts / "XX_INTERFACE.columns.csv").write_text(SMALL_LAYOUT, encoding="utf-8")
    recipe = tmp_path / "small.recipe.yaml"
    recipe.write_text(SMALL_RECIPE, encoding="utf-8")
    return layouts, recipe


def test_the_committed_pack_is_what_the_recipe_makes(realdata: Path) -> None:
    files = generate(RECIPE, fbdi_layouts(realdata))
    assert sorted(f.path for f in files) == [
        "finance/journals.yaml",
        "finance/payables_invoices.yaml",
        "procurement/purchase_orders.yaml",
    ]
    assert check_pack(files, SHIPPED) == [], (
        "run: migrate targets build-pack --layouts ../shared/realdata/erp_target_schemas/"
        "oracle_fusion_interface"
    )


def test_the_cli_check_agrees(realdata: Path, tmp_path: Path, capsys: Any) -> None:
    assert (
        run(
            ["targets", "build-pack", "--layouts", str(fbdi_layouts(realdata)), "--check"], tmp_path
        )
        == 0
    )
    assert "the 3 generated file(s) are what the recipe makes" in capsys.readouterr().out


def test_generated_columns_carry_what_the_layout_says(realdata: Path) -> None:
    """Position, hint, date format and length, read back from the layout CSVs with csv
    alone, wherever the recipe does not change them."""
    pack = {t.table: t for t in shipped_pack()}
    checked = 0
    for table in ("GL_INTERFACE", "AP_INVOICES_INTERFACE", "PO_HEADERS_INTERFACE"):
        path = fbdi_layouts(realdata) / f"{table}.columns.csv"
        with path.open(encoding="utf-8", newline="") as fh:
            rows = {r["column_name"]: r for r in csv.DictReader(fh)}
        definition = pack[table]
        assert definition.layout is not None and definition.layout.file == path.name
        for name, col in definition.columns.items():
            if name not in rows:
                assert col.position is None  # a column the layout lacks (VENDOR_ID)
                continue
            row = rows[name]
            assert col.position == int(row["csv_position"])
            assert col.hint == (row["load_transform_or_char_hint"] or None)
            if row["load_transform_or_char_hint"] == "date YYYY/MM/DD":
                assert (col.type, col.format) == ("date", "YYYY/MM/DD")
            if row["load_transform_or_char_hint"].startswith("char("):
                assert col.length == int(row["load_transform_or_char_hint"][5:-1])
            if row["oracle_type"] == "VARCHAR2":
                assert col.length == int(row["length_or_precision"])
            checked += 1
    assert checked == 18 + 12 + 9


def test_the_pack_is_the_shipped_tables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(catalog, "_directories", [])
    md = build_metadata()
    shipped = {t.name for t in md.tables.values() if "target_key" in t.info}
    assert shipped == {t.table for t in shipped_pack()}
    assert len(shipped) == 19
    for table in shipped_pack():  # the tool's columns are never the pack's
        assert not {c.upper() for c in table.columns} & set(LINEAGE_COLUMNS)
        assert md.tables[table.table].info["definition"] == table


def test_every_pack_file_is_generated_or_says_it_is_hand_written() -> None:
    for path in sorted(SHIPPED.rglob("*.yaml")):
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first.startswith((GENERATED, "# Hand-written target definition")), path
    assert len(load_targets(SHIPPED)) == 19


def test_small_recipe_generates_with_layout_and_changes(
    small: tuple[Path, Path], tmp_path: Path, capsys: Any
) -> None:
    layouts, recipe = small
    out = tmp_path / "pack"
    assert (
        run(
            [
                "targets",
                "build-pack",
                "--layouts",
                str(layouts),
                "--recipe",
                str(recipe),
                "--out",
                str(out),
            ],
            tmp_path,
        )
        == 0
    )
    [loaded] = load_targets(out).values()
    cols = loaded.table.columns
    assert list(cols) == ["XX_ID", "AMOUNT", "TXN_DATE", "NOTE", "VENDOR_ID"]
    assert (cols["XX_ID"].type, cols["XX_ID"].required, cols["XX_ID"].position) == (
        "bigint",
        True,  # a key column is required
        1,
    )
    assert (cols["AMOUNT"].type, cols["AMOUNT"].precision, cols["AMOUNT"].hint) == (
        "money",
        None,
        "number (decimal char normalised)",
    )
    assert (cols["TXN_DATE"].format, cols["TXN_DATE"].required) == ("YYYY/MM/DD", False)
    assert (cols["NOTE"].length, cols["NOTE"].description) == (240, "free text")
    assert cols["VENDOR_ID"].position is None
    assert loaded.table.layout is not None
    assert loaded.table.layout.loader_columns == ["LOAD_REQUEST_ID"]
    text = (out / "things.yaml").read_text(encoding="utf-8")
    assert text.startswith(GENERATED) and "XX_INTERFACE.columns.csv: 4 of its 5 columns" in text


def test_build_pack_checks_rewrites_and_spares_hand_written_files(
    small: tuple[Path, Path], tmp_path: Path, capsys: Any
) -> None:
    layouts, recipe = small
    out = tmp_path / "pack"
    base = ["targets", "build-pack", "--layouts", str(layouts), "--recipe", str(recipe)]
    assert run([*base, "--out", str(out)], tmp_path) == 0
    made = out / "things.yaml"
    made.write_text(made.read_text(encoding="utf-8") + "# edited\n", encoding="utf-8")
    capsys.readouterr()
    assert run([*base, "--out", str(out), "--check"], tmp_path) == 1
    assert f"{made}: differs from what the recipe makes" in capsys.readouterr().out
    (out / "old.yaml").write_text(made.read_text(encoding="utf-8"), encoding="utf-8")
    assert run([*base, "--out", str(out)], tmp_path) == 0  # rewrites, drops the stale one
    assert "removed" in capsys.readouterr().out and not (out / "old.yaml").exists()
    assert run([*base, "--out", str(out), "--check"], tmp_path) == 0
    made.write_text("table: MINE\nkey: [A]\ncolumns: {A: {type: text, required: true}}\n")
    with pytest.raises(Exception, match="hand-written"):
        run([*base, "--out", str(out)], tmp_path)
    assert made.read_text(encoding="utf-8").startswith("table: MINE")


@pytest.mark.parametrize(
    ("change", "line", "message"),
    [
        ("NOTE: {description: free text}", 12, "NOTE: {lenght: 10}"),
        ("TXN_DATE:", 11, "TXN_DAT:"),
        (
            "VENDOR_ID: {extra: true, type: bigint, required: true}",
            13,
            "VENDOR_ID: {required: true}",
        ),
        ("AMOUNT: {type: money, required: true}", 10, "AMOUNT: {type: mony}"),
        ("AMOUNT: {type: money, required: true}", 10, "AMOUNT: {extra: true, type: money}"),
    ],
)
def test_recipe_mistakes_are_reported_at_their_line(
    small: tuple[Path, Path], change: str, line: int, message: str
) -> None:
    layouts, recipe = small
    recipe.write_text(SMALL_RECIPE.replace(change, message), encoding="utf-8")
    with pytest.raises(SpecErrors) as caught:
        generate(recipe, layouts)
    [error] = caught.value.errors
    assert error.location.line == line, str(error)
    expected = {
        "NOTE: {lenght: 10}": "unknown key 'lenght' (did you mean 'length'?)",
        "TXN_DAT:": "TXN_DAT is not in the layout XX_INTERFACE.columns.csv (did you mean "
        "'TXN_DATE'?); a column the layout lacks says 'extra: true'",
        "VENDOR_ID: {required: true}": "VENDOR_ID is not in the layout",
        "AMOUNT: {type: mony}": "unknown type 'mony' (did you mean 'money'?)",
        "AMOUNT: {extra: true, type: money}": "AMOUNT is in the layout (position 2)",
    }[message]
    assert expected in error.message


def test_a_missing_layout_is_named_at_the_recipe_line(small: tuple[Path, Path]) -> None:
    layouts, recipe = small
    (layouts / "XX_INTERFACE.columns.csv").unlink()
    with pytest.raises(SpecErrors) as caught:
        generate(recipe, layouts)
    assert str(caught.value) == (
        f"{recipe}:6 objects.0.tables.0.layout: no layout file XX_INTERFACE.columns.csv in "
        f"{layouts}"
    )


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}


def test_no_private_imports_and_no_cycle_between_staging_and_targets() -> None:
    lineage = ROOT / "migrate" / "staging" / "lineage_columns.py"
    assert not {m for m in _imports(lineage) if m.startswith("migrate")}
    for name in ("build.py", "definition.py", "reference.py", "pack.py"):
        assert "migrate.staging.tables" not in _imports(ROOT / "migrate" / "targets" / name)
    code = (
        "import migrate.targets.build\n"
        "from migrate.staging.tables import METADATA, build_metadata\n"
        "assert len(build_metadata().tables) == len(METADATA.tables)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_a_generated_table_carries_what_its_import_file_needs(small: tuple[Path, Path]) -> None:
    """The layout's hash, a record's fields, the ZIP and member, and the required column the
    recipe does not keep (CODE): the export writes from these without the layout file."""
    layouts, recipe = small
    recipe.write_text(
        SMALL_RECIPE.replace(
            "    file: things.yaml\n", "    file: things.yaml\n    import_file: X.zip\n"
        ).replace("        key: [XX_ID]\n", "        key: [XX_ID]\n        member: X.csv\n"),
        encoding="utf-8",
    )
    [made] = generate(recipe, layouts)
    assert "required_unstaged: [CODE]" in made.text or "required_unstaged:\n" in made.text
    out = recipe.parent / "pack"
    out.mkdir()
    (out / made.path).write_text(made.text, encoding="utf-8")
    [loaded] = load_targets(out).values()
    layout = loaded.table.layout
    assert layout is not None
    digest = hashlib.sha256((layouts / "XX_INTERFACE.columns.csv").read_bytes()).hexdigest()
    assert (layout.sha256, layout.fields, layout.import_file, layout.member) == (
        digest,
        5,
        "X.zip",
        "X.csv",
    )
    assert layout.required_unstaged == ["CODE"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("CODE: {length: 40}", "CODE: the layout allows at most 30 characters"),
        ("CODE: {required: false}", "CODE: the layout requires it"),
        ("CODE: {type: text}", None),  # the same type: the layout's length stays
        ("TXN_DATE: {type: text}", "TXN_DATE: the layout says date, the pack text"),
        ("NOTE: {length: 300}", "NOTE: the layout allows at most 240 characters"),
        ("AMOUNT: {type: text}", "AMOUNT: the layout says decimal, the pack text"),
    ],
)
def test_a_recipe_narrows_the_layout_never_widens_it(
    small: tuple[Path, Path], change: str, message: str | None
) -> None:
    """The export writes a generated table's file from the pack: a value the pack lets
    through must be one the ERP's import takes."""
    layouts, recipe = small
    text = SMALL_RECIPE.replace("          TXN_DATE:\n", "")
    text = text.replace("          NOTE: {description: free text}\n", "")
    text = text.replace("          AMOUNT: {type: money, required: true}\n", "")
    recipe.write_text(text + f"          {change}\n", encoding="utf-8")
    if message is None:
        generate(recipe, layouts)
        return
    with pytest.raises(SpecErrors) as caught:
        generate(recipe, layouts)
    [error] = caught.value.errors
    assert message in error.message and "never widens" in error.message, error.message


def test_an_import_file_and_its_members_go_together(small: tuple[Path, Path]) -> None:
    layouts, recipe = small
    recipe.write_text(
        SMALL_RECIPE.replace(
            "    file: things.yaml\n", "    file: things.yaml\n    import_file: X.zip\n"
        ),
        encoding="utf-8",
    )
    with pytest.raises(SpecErrors) as caught:
        generate(recipe, layouts)
    assert "a table of X.zip names its member" in str(caught.value)
