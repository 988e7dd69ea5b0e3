"""``migrate export`` on a SQLite demo run: FBDI files read back with Python's csv and the
layout files alone (order, formats, counts, totals) and proved PASS (EXCEPTIONS for the
columns a layout lacks); the generic CSV (a user's declared table too, the real Chinook
ledger); what fails an export, by row and column (too long, NUL, line break, an empty
required field, an unbalanced journal, money with three decimals); the command line's exit
codes. What the proof catches: ``test_export_verify.py``."""

from __future__ import annotations

import argparse
import csv
import io
import json
import re
import shutil
import sqlite3
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from cli.export import add_parsers
from migrate.config import Settings, load_settings
from migrate.export import ColumnFormat, ExportFailed, Unexpressible, export_run, render
from migrate.runs.runner import run_migration
from reconcile.exported import verify_export
from tests.test_pipeline import make_estate

MAPPINGS = Path(__file__).resolve().parents[1] / "mappings"
RECONCILE = Path(__file__).resolve().parents[1] / "reconcile"


@dataclass(frozen=True)
class Run:
    workdir: Path
    run_id: str
    layouts: Path


def make_run(tmp_path_factory: pytest.TempPathFactory, realdata: Path) -> Run:
    """The demo estate (scale 200) migrated into SQLite staging: a completed run."""
    folder = tmp_path_factory.mktemp("export")
    make_estate(folder, scale=200, seed=7)
    summary = run_migration(load_settings(folder), MAPPINGS, "full")
    return Run(folder, summary.run_id, realdata / "erp_target_schemas" / "oracle_fusion_interface")


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, realdata: Path) -> Run:
    return make_run(tmp_path_factory, realdata)


def copy_of(run: Run, tmp_path: Path, *statements: str) -> Settings:
    """A working folder with a copy of the run's staging (some SQL applied to it)."""
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(run.workdir / "staging.db", work / "staging.db")
    with sqlite3.connect(work / "staging.db") as conn:
        for sql in statements:
            conn.execute(sql)
    return load_settings(work)


def layout(path: Path) -> list[dict[str, str]]:
    """The layout's positioned columns in file order, read with csv alone."""
    with path.open(encoding="utf-8", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["csv_position"]]
    return sorted(rows, key=lambda r: int(r["csv_position"]))


def staged(settings: Settings, sql: str) -> object:
    with sqlite3.connect(settings.workdir / "staging.db") as conn:
        return conn.execute(sql).fetchone()[0]


def test_fbdi_files_read_back_with_csv_and_the_layouts_alone(run: Run, tmp_path: Path) -> None:
    settings = load_settings(run.workdir)
    out = tmp_path / "fbdi"
    export_run(settings, run.run_id, out, layouts=run.layouts)
    assert sorted(p.name for p in out.iterdir()) == [
        "ApInvoicesInterface.zip",
        "GlInterface.zip",
        "PoHeadersInterfaceOrder.zip",
        "export_manifest.json",
    ]
    with zipfile.ZipFile(out / "ApInvoicesInterface.zip") as zf:  # one ZIP, both tables
        assert zf.namelist() == ["ApInvoicesInterface.csv", "ApInvoiceLinesInterface.csv"]
    members = {
        "GL_INTERFACE": ("GlInterface.zip", "GlInterface.csv"),
        "AP_INVOICES_INTERFACE": ("ApInvoicesInterface.zip", "ApInvoicesInterface.csv"),
        "AP_INVOICE_LINES_INTERFACE": ("ApInvoicesInterface.zip", "ApInvoiceLinesInterface.csv"),
        "PO_LINES_INTERFACE": ("PoHeadersInterfaceOrder.zip", "PoLinesInterfaceOrder.csv"),
    }
    for table, (zip_name, member) in members.items():
        cols = layout(run.layouts / f"{table}.columns.csv")
        with zipfile.ZipFile(out / zip_name) as zf:
            text = zf.read(member).decode("utf-8")
        records = list(csv.reader(io.StringIO(text)))
        assert records and records[0][0] != cols[0]["column_name"]  # no header
        staged_rows = staged(
            settings, f"SELECT COUNT(*) FROM {table} WHERE MIG_RUN_ID = '{run.run_id}'"
        )
        assert len(records) == staged_rows
        for record in records:
            assert len(record) == int(cols[-1]["csv_position"])
            for col, value in zip(cols, record, strict=True):
                _assert_format(col, value)
    gl = list(csv.reader(io.StringIO(_member(out, "GlInterface.zip", "GlInterface.csv"))))
    names = [c["column_name"] for c in layout(run.layouts / "GL_INTERFACE.columns.csv")]
    for money in ("ENTERED_DR", "ENTERED_CR"):  # SQLite keeps integer cents
        total = sum(Decimal(r[names.index(money)] or 0) for r in gl)
        cents = staged(settings, f"SELECT SUM({money}) FROM GL_INTERFACE")
        assert total == Decimal(int(str(cents))).scaleb(-2) and total > 0
    first = dict(zip(names, gl[0], strict=True))
    assert re.fullmatch(r"\d{4}/\d{2}/\d{2}", first["ACCOUNTING_DATE"])
    assert first["LEDGER_NAME"] == "City Primary Ledger" and first["REFERENCE21"]


def _member(out: Path, zip_name: str, member: str) -> str:
    with zipfile.ZipFile(out / zip_name) as zf:
        return zf.read(member).decode("utf-8")


def _assert_format(col: dict[str, str], value: str) -> None:
    hint = col["load_transform_or_char_hint"]
    if not value:
        return
    if hint.startswith("date YYYY/MM/DD"):
        assert re.fullmatch(r"\d{4}/\d{2}/\d{2}", value), (col["column_name"], value)
    if hint.startswith("number"):
        assert re.fullmatch(r"-?\d+(\.\d+)?", value), (col["column_name"], value)
    size = re.fullmatch(r"char\((\d+)\)", hint)
    limit = int(size.group(1)) if size else None
    if col["oracle_type"] == "VARCHAR2" and col["length_or_precision"]:
        limit = int(col["length_or_precision"])
    if limit is not None:
        assert len(value) <= limit, (col["column_name"], value)
    assert "\n" not in value and "\r" not in value


def test_journals_alone_pass_and_a_layout_without_a_column_is_an_exception(
    run: Run, tmp_path: Path
) -> None:
    settings = load_settings(run.workdir)
    export_run(settings, run.run_id, tmp_path / "gl", tables=["GL_INTERFACE"], layouts=run.layouts)
    report = verify_export(settings, tmp_path / "gl")
    assert report.verdict == "PASS", report.lines()
    assert any(
        "GL_INTERFACE: 181 rows" in line or "GL_INTERFACE:" in line for line in report.agreed
    )
    export_run(settings, run.run_id, tmp_path / "all", layouts=run.layouts)
    report = verify_export(settings, tmp_path / "all")
    assert report.verdict == "EXCEPTIONS"
    left = [text for level, text in report.findings]
    assert any("PO_LINES_INTERFACE.QUANTITY" in t and "total" in t for t in left)
    assert all(level == "EXCEPTION" for level, _ in report.findings)
    log = (run.workdir / "artifacts" / "audit.log").read_text(encoding="utf-8")
    kinds = [json.loads(line)["kind"] for line in log.splitlines()]
    assert "export_written" in kinds and "export_verified" in kinds


def test_a_value_too_long_fails_the_export_naming_row_and_column(run: Run, tmp_path: Path) -> None:
    key = staged(load_settings(run.workdir), "SELECT MIN(REFERENCE21) FROM GL_INTERFACE")
    settings = copy_of(
        run,
        tmp_path,
        f"UPDATE GL_INTERFACE SET REFERENCE10 = '{'x' * 241}' WHERE REFERENCE21 = '{key}'",
    )
    out = tmp_path / "gl"
    with pytest.raises(ExportFailed) as failed:
        export_run(settings, run.run_id, out, layouts=run.layouts)
    (problem,) = failed.value.problems
    assert problem.row == 1 and problem.column == "REFERENCE10"
    assert problem.key == f"REFERENCE21={key}" and "241 characters" in problem.reason
    assert "GlInterface.csv row 1" in str(problem)
    assert not out.exists()  # nothing left behind, not even the folder it made


def test_a_line_break_fails_fbdi_but_a_csv_carries_it(run: Run, tmp_path: Path) -> None:
    settings = copy_of(
        run, tmp_path, "UPDATE GL_INTERFACE SET REFERENCE10 = 'two' || char(10) || 'lines'"
    )
    with pytest.raises(ExportFailed) as failed:
        export_run(settings, run.run_id, tmp_path / "fbdi", layouts=run.layouts)
    assert "line break" in failed.value.problems[0].reason
    export_run(settings, run.run_id, tmp_path / "csv", fmt="csv", tables=["GL_INTERFACE"])
    assert verify_export(settings, tmp_path / "csv").verdict == "PASS"


def test_generic_csv_of_every_table_passes(run: Run, tmp_path: Path) -> None:
    settings = load_settings(run.workdir)
    out = tmp_path / "csv"
    result = export_run(settings, run.run_id, out, fmt="csv")
    names = {f["file"] for f in result.manifest["files"]}
    assert {"WORKERS.csv", "SALARIES.csv", "GL_INTERFACE.csv"} <= names
    with (out / "SALARIES.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["PERSON_NUMBER", "DATE_FROM", "SALARY_BASIS", "SALARY_AMOUNT"]
    assert "MIG_RUN_ID" not in rows[0]
    cents = staged(
        settings, f"SELECT SUM(SALARY_AMOUNT) FROM SALARIES WHERE MIG_RUN_ID = '{run.run_id}'"
    )
    assert sum(Decimal(r["SALARY_AMOUNT"]) for r in rows) == Decimal(int(str(cents))).scaleb(-2)
    report = verify_export(settings, out)
    assert report.verdict == "PASS", report.lines()


def test_an_unknown_or_unfinished_run_is_refused(run: Run, tmp_path: Path) -> None:
    from migrate.errors import RunStateError

    settings = copy_of(run, tmp_path, "UPDATE MIG_RUNS SET STATUS = 'failed'")
    with pytest.raises(RunStateError, match="not complete"):
        export_run(settings, run.run_id, tmp_path / "a", fmt="csv")
    with pytest.raises(RunStateError, match="unknown run id"):
        export_run(settings, "nope", tmp_path / "b", fmt="csv")


def _cli(argv: list[str], settings: Settings) -> int:
    parser = argparse.ArgumentParser(prog="migrate")
    parser.add_argument("--mappings", default=str(MAPPINGS))
    parser.add_argument("--quiet", action="store_true")
    add_parsers(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    code: int = args.handler(args, settings)
    return code


def test_the_command_lines_exit_codes(
    run: Run, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = load_settings(run.workdir)
    gl, layouts = str(tmp_path / "gl"), str(run.layouts)
    argv = ["export", "--run", run.run_id, "--out", gl, "--table", "GL_INTERFACE"]
    assert _cli([*argv, "--layouts", layouts], settings) == 0
    assert "GlInterface.zip GlInterface.csv: 181 rows" in capsys.readouterr().out
    assert _cli(["export", "verify", gl], settings) == 0
    assert "verdict: PASS" in capsys.readouterr().out
    all_ = str(tmp_path / "all")
    assert _cli(["export", "--run", run.run_id, "--out", all_, "--layouts", layouts], settings) == 0
    assert _cli(["export", "verify", all_], settings) == 3
    (tmp_path / "all" / "GlInterface.zip").unlink()
    assert _cli(["export", "verify", all_], settings) == 1
    assert _cli(["export", "verify", str(tmp_path / "nowhere")], settings) == 2
    bad = copy_of(run, tmp_path, "UPDATE GL_INTERFACE SET REFERENCE10 = char(0)")
    capsys.readouterr()
    assert _cli([*argv[:4], str(tmp_path / "bad"), "--layouts", layouts], bad) == 1
    err = capsys.readouterr().err
    assert "GlInterface.csv row 1" in err and "column REFERENCE10: a NUL character" in err
    assert "... and 131 more" in err  # 50 shown of 181


@pytest.mark.parametrize(
    ("value", "fmt", "text"),
    [
        (date(2019, 9, 13), ColumnFormat("D", "date", date_format="%Y/%m/%d"), "2019/09/13"),
        (datetime(2019, 9, 13), ColumnFormat("D", "date", date_format="%Y/%m/%d"), "2019/09/13"),
        (Decimal("-5"), ColumnFormat("A", "money"), "-5.00"),
        (Decimal("1234.5"), ColumnFormat("N", "number"), "1234.5"),
        (42, ColumnFormat("N", "number", precision=18, scale=0), "42"),
        (None, ColumnFormat("T", "text", length=1), ""),
        ('a,b "c"', ColumnFormat("T", "text", length=9), 'a,b "c"'),
    ],
)
def test_a_value_as_written(value: object, fmt: ColumnFormat, text: str) -> None:
    assert render(value, fmt) == text


@pytest.mark.parametrize(
    ("value", "fmt", "why"),
    [
        (datetime(2019, 9, 13, 8, 30), ColumnFormat("D", "date"), "time of day"),
        (1.5, ColumnFormat("A", "money"), "not an exact number"),
        (Decimal("1.5"), ColumnFormat("N", "number", precision=18, scale=0), "more than 0"),
        ("END", ColumnFormat("P", "text", reads_as_null=("END",)), "as NULL"),
        ("\ud800", ColumnFormat("T", "text"), "UTF-8"),
        ("12,5", ColumnFormat("N", "number"), "not a number"),
        (Decimal("1.005"), ColumnFormat("A", "money"), "more than two decimals"),
    ],
)
def test_a_value_the_format_cannot_carry(value: object, fmt: ColumnFormat, why: str) -> None:
    with pytest.raises(Unexpressible, match=why):
        render(value, fmt)


EXAMPLE = Path(__file__).resolve().parents[1] / "docs" / "examples" / "targets"


def test_a_declared_table_exports_in_its_definitions_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A user's own target (docs/examples/targets): header in the YAML's column order, a
    date declared ``format: YYYY/MM/DD`` written so, proved PASS; ``--lineage`` adds the MIG_
    columns, proved too."""
    import yaml

    from cli.main import main

    shutil.copytree(EXAMPLE, tmp_path, dirs_exist_ok=True)
    with sqlite3.connect(tmp_path / "legacy_hr.db") as conn:
        conn.executescript((EXAMPLE / "legacy_hr.sql").read_text(encoding="utf-8"))
    base = ["--workdir", str(tmp_path), "--mappings", str(tmp_path / "mappings")]
    assert main([*base, "-q", "run"]) == 0
    run_id = capsys.readouterr().out.split("run ", 1)[1].split()[0]
    out = tmp_path / "out"
    argv = ["export", "--run", run_id, "--format", "csv", "--table", "departments"]
    assert main([*base, *argv, "--out", str(out)]) == 0
    definition = yaml.safe_load((EXAMPLE / "targets" / "departments.yaml").read_text())
    with (out / "DEPARTMENTS.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == list(definition["columns"])
    assert rows and all(
        re.fullmatch(r"\d{4}/\d{2}/\d{2}", r["OPENED"]) for r in rows if r["OPENED"]
    )
    assert main([*base, "export", "verify", str(out)]) == 0
    assert main([*base, *argv, "--lineage", "--out", str(tmp_path / "lin")]) == 0
    with (tmp_path / "lin" / "DEPARTMENTS.csv").open(encoding="utf-8") as fh:
        assert fh.readline().rstrip("\n").endswith(",MIG_SOURCE_KEY,MIG_SOURCE_HASH")
    assert main([*base, "export", "verify", str(tmp_path / "lin")]) == 0


def test_a_personal_value_named_in_a_failure_is_masked(
    run: Run, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ssn = str(staged(load_settings(run.workdir), "SELECT MIN(NATIONAL_IDENTIFIER) FROM WORKERS"))
    settings = copy_of(
        run,
        tmp_path,
        f"UPDATE WORKERS SET NATIONAL_IDENTIFIER = '{ssn}' || char(0) "
        f"WHERE NATIONAL_IDENTIFIER = '{ssn}'",
    )
    argv = ["export", "--run", run.run_id, "--format", "csv", "--table", "WORKERS"]
    assert _cli([*argv, "--out", str(tmp_path / "hr")], settings) == 1
    err = capsys.readouterr().err
    assert "column NATIONAL_IDENTIFIER: a NUL character" in err
    assert ssn not in err and "(value '***" + ssn.replace("-", "")[-4:] in err


@pytest.mark.realdata
def test_chinook_exported_as_csv_and_proved(realdata: Path, tmp_path: Path) -> None:
    """The real Chinook ledger (money stored as REAL): its AR tables as CSV, proved PASS
    with the README's exact total, 2,328.60, in the files themselves; FBDI is refused (no
    FBDI object holds AR)."""
    from migrate.errors import ConfigError

    shutil.copy(realdata / "chinook" / "Chinook_Sqlite.sqlite", tmp_path / "chinook.sqlite")
    urls = {
        "staging": f"sqlite:///{tmp_path / 'staging.db'}",
        "finance": f"sqlite:///{tmp_path / 'chinook.sqlite'}",
    }
    settings = Settings(urls=urls, workdir=tmp_path)
    run_id = run_migration(settings, MAPPINGS / "realdata" / "chinook", "full").run_id
    result = export_run(settings, run_id, tmp_path / "csv", fmt="csv")
    datasets = {d["table"]: d for f in result.manifest["files"] for d in f["datasets"]}
    assert {t: d["rows"] for t, d in datasets.items()} == {
        "AR_CUSTOMERS_INTERFACE": 59,
        "AR_INVOICES_INTERFACE": 412,
        "AR_INVOICE_LINES_INTERFACE": 2240,
    }
    with (tmp_path / "csv" / "AR_INVOICES_INTERFACE.csv").open(encoding="utf-8") as fh:
        total = sum(Decimal(r["TRX_AMOUNT"]) for r in csv.DictReader(fh))
    assert total == Decimal("2328.60")
    assert verify_export(settings, tmp_path / "csv").verdict == "PASS"
    with pytest.raises(ConfigError, match="no rows an FBDI import object holds"):
        export_run(
            settings,
            run_id,
            tmp_path / "fbdi",
            layouts=realdata / "erp_target_schemas" / "oracle_fusion_interface",
        )


def test_two_exports_of_a_run_are_the_same_bytes(run: Run, tmp_path: Path) -> None:
    settings = load_settings(run.workdir)
    hashes = []
    for name in ("one", "two"):
        result = export_run(settings, run.run_id, tmp_path / name, layouts=run.layouts)
        hashes.append({f["file"]: f["sha256"] for f in result.manifest["files"]})
    assert hashes[0] == hashes[1] and len(hashes[0]) == 3


def test_a_staging_that_cannot_be_reached_exits_4_never_a_verdict(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from cli.main import main

    settings = load_settings(run.workdir)
    export_run(settings, run.run_id, tmp_path / "gl", tables=["GL_INTERFACE"], layouts=run.layouts)
    monkeypatch.setenv("MIGRATE_STAGING_URL", "postgresql://postgres@127.0.0.1:1/staging")
    base = ["--workdir", str(run.workdir)]
    assert main([*base, "export", "--run", run.run_id, "--out", str(tmp_path / "x")]) == 4
    assert main([*base, "export", "verify", str(tmp_path / "gl")]) == 4
    err = capsys.readouterr().err
    assert "Traceback" not in err and "127.0.0.1" in err and not (tmp_path / "x").exists()


def test_an_empty_value_the_layout_requires_fails_the_export(run: Run, tmp_path: Path) -> None:
    """GL_INTERFACE.columns.csv says USER_JE_CATEGORY_NAME is required: the ERP's import
    would reject a row without it, so the export names it instead of writing it."""
    key = staged(load_settings(run.workdir), "SELECT MAX(REFERENCE21) FROM GL_INTERFACE")
    settings = copy_of(
        run,
        tmp_path,
        f"UPDATE GL_INTERFACE SET USER_JE_CATEGORY_NAME = ' ' WHERE REFERENCE21 = '{key}'",
    )
    with pytest.raises(ExportFailed) as failed:
        export_run(settings, run.run_id, tmp_path / "gl", layouts=run.layouts)
    # (the row is now a journal of its own category, so two journals no longer balance)
    (problem,) = [p for p in failed.value.problems if p.column == "USER_JE_CATEGORY_NAME"]
    assert problem.key == f"REFERENCE21={key}"
    assert "the layout requires a value" in problem.reason


def test_an_unbalanced_journal_fails_the_export(run: Run, tmp_path: Path) -> None:
    """A cent more on one debit line: Oracle's journal import would reject the journal, so
    the export names it (its first row and what makes it a journal) instead."""
    key = staged(
        load_settings(run.workdir),
        "SELECT MIN(REFERENCE21) FROM GL_INTERFACE WHERE ENTERED_DR IS NOT NULL",
    )
    settings = copy_of(
        run,
        tmp_path,
        f"UPDATE GL_INTERFACE SET ENTERED_DR = ENTERED_DR + 1 WHERE REFERENCE21 = '{key}'",
    )
    with pytest.raises(ExportFailed) as failed:
        export_run(
            settings, run.run_id, tmp_path / "gl", tables=["GL_INTERFACE"], layouts=run.layouts
        )
    (problem,) = failed.value.problems
    journal = str(key).rsplit("-", 1)[0]
    assert f"REFERENCE4={journal}" in problem.key and problem.column == "ENTERED_DR/ENTERED_CR"
    assert "journal unbalanced" in problem.reason and "credits" in problem.reason
    assert "(value" not in str(problem)
